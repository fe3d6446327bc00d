// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// PosixLogStore: the LogStore port over segment files in one directory (Linux, any POSIX system
/// with posix_fallocate, fdatasync and flock).
///
/// ## Layout
/// `<directory>/<id as 8 lowercase hex digits>.seg`, each exactly `segment_bytes` long
/// (preallocated when it is created, so appends never run out of space and a segment's size is
/// never a record of how much was written), mode 0600; `<directory>/lock`, the lock file. Other
/// files in the directory are ignored. open() creates the directory (mode 0700, one level: its
/// parent must exist); an existing directory keeps its mode.
///
/// ## Durability (the port contract, and how it is kept)
/// - roll(): the file is created with O_CREAT|O_EXCL, fchmod 0600 (whatever the umask),
///   preallocated with posix_fallocate (ftruncate where the file system cannot preallocate), then
///   the file and the directory are fsynced. If power is cut before that completes, the newest
///   file can be short; open() deletes a newest segment shorter than segment_bytes that holds only
///   zeros (a segment nobody appended to yet) when every older segment has the right size, and
///   refuses (kDataLoss) any other segment of the wrong size without changing anything.
/// - append(): a memcpy into a shared mapping of the active segment (`use_mmap`, see "Appends
///   through a mapping"), otherwise a pwrite at the write position (retried on EINTR and short
///   writes). Either way the bytes are in the kernel's page cache when append() returns: they
///   survive the process being killed (SIGKILL, a crash), not a power cut. Nothing is buffered in
///   the process.
/// - sync(): fdatasync of every segment written since the last sync (on Linux this also writes back
///   the pages dirtied through the mapping: msync(MS_SYNC) is the same operation on a range).
/// - drop_head(): unlink, then fsync of the directory.
/// - set_write_position(): zeroes from the offset to the last non-zero byte, then fdatasync.
///
/// ## Appends through a mapping
/// With `use_mmap` (the default) the active segment is mapped MAP_SHARED, PROT_READ|PROT_WRITE,
/// when roll() or open() creates it and when set_write_position() has erased it; the mapping is
/// dropped on roll(), on set_write_position() (before the erasure) and on destruction. append()
/// copies into the mapping and read() of the active segment copies from it (other segments: pread).
/// Every 64 KiB, the pages more than 64 KiB behind the write position are released from the mapping
/// (madvise MADV_DONTNEED: they stay in the page cache, dirty until synced), so the process's
/// resident size does not grow with the segment. A mapping
/// is made only on Linux, on ext2/3/4, XFS or tmpfs, and only of a segment whose blocks are all
/// allocated (posix_fallocate succeeded): there a write into the mapping never needs space.
/// Otherwise, or when mmap fails (address space, a file system without mmap), append() uses pwrite
/// and appends_mapped() reads false; the behaviour is the same but for the one case below.
/// A store into the mapping cannot return an error: where pwrite would fail with EIO or EROFS, the
/// kernel raises SIGBUS instead (default action: the process dies as with SIGKILL; the store installs
/// no handler). That happens only if the segment file is truncated by someone else, if the medium
/// fails to read back a page the kernel had evicted, or if the file system has shut down or turned
/// read-only after an error; ports/posix/README.md says why each is acceptable. Set `use_mmap =
/// false` to have those reported as statuses instead.
///
/// ## Exclusivity
/// open() takes flock(LOCK_EX|LOCK_NB) on the lock file and keeps it until the object is
/// destroyed: a second store over the same directory (another process, or another object in this
/// one) gets kFailedPrecondition/kStore/EWOULDBLOCK. Two agents on one queue would corrupt it.
///
/// ## Errors
/// errno maps to: EACCES, EPERM, EROFS → kPermissionDenied; ENOSPC, EDQUOT → kResourceExhausted;
/// EIO → kDataLoss; anything else → kUnavailable; origin kStore, detail errno. sync() returns
/// kDataLoss/kStore/errno for every failure (the contract: the data may be lost). A failed append
/// or sync leaves the active segment in an unknown state: append() returns kFailedPrecondition
/// until roll(). After open() over existing segments the write position is unknown:
/// write_position() reads 0 and append() returns kFailedPrecondition until set_write_position().
/// Bad settings (empty directory, segment_bytes or max_segments 0) make open() return
/// kInvalidArgument/kStore. last_error() describes the last failure and names the file.
///
/// ## Resources
/// Allocates (std::string, std::vector, a 64 KiB buffer in open() and set_write_position()): a
/// Linux port. Keeps one file descriptor per segment, one for the directory and one for the lock,
/// and (with `use_mmap`) one mapping of segment_bytes of address space, of which about 128 KiB at
/// most plus what read() touched is resident. Not thread-safe, like the port.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tether/error_text.hpp"
#include "tether/port/log_store.hpp"

namespace tether::port {

struct PosixLogStoreSettings {
  /// The store's directory; its parent must exist.
  std::string directory;
  /// Bytes per segment file.
  std::uint32_t segment_bytes = 1024u * 1024u;
  /// Most segment files.
  std::size_t max_segments = 64;
  /// Append to (and read) the active segment through a shared memory mapping of its file instead of
  /// one pwrite per append, where that is safe (see "Appends through a mapping"); false: always
  /// pwrite and pread. Same durability either way.
  bool use_mmap = true;
};

class PosixLogStore final : public LogStore {
 public:
  explicit PosixLogStore(PosixLogStoreSettings settings);
  /// Closes the files and releases the lock (nothing is synced: call sync() first).
  ~PosixLogStore() override;
  PosixLogStore(const PosixLogStore&) = delete;
  PosixLogStore& operator=(const PosixLogStore&) = delete;

  /// A description of the last failure, naming the file ("" if none).
  const char* last_error() const { return last_error_.c_str(); }
  const PosixLogStoreSettings& settings() const { return settings_; }
  /// True while appends to the active segment go through a mapping (`use_mmap` and the mapping was
  /// possible), false while they use pwrite.
  bool appends_mapped() const { return map_ != nullptr; }

 private:
  struct Segment {
    SegmentId id = 0;
    int fd = -1;
    bool dirty = false;      // written since the last sync
    bool allocated = false;  // posix_fallocate succeeded on the whole file (this object knows)
  };

  Status do_open() override;
  std::size_t do_segment_count() const override { return segments_.size(); }
  SegmentId do_segment_id(std::size_t index) const override;
  std::uint32_t do_segment_capacity() const override { return settings_.segment_bytes; }
  std::size_t do_max_segments() const override { return settings_.max_segments; }
  std::uint32_t do_write_position() const override { return position_known_ ? position_ : 0; }
  Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const override;
  Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) override;
  Status do_sync() override;
  Result<SegmentId> do_roll() override;
  Status do_drop_head() override;
  Status do_set_write_position(std::uint32_t offset) override;
  Result<std::uint64_t> do_free_space() const override;

  Status open_segments(SegmentId& first_id);
  Status check_newest_size(std::vector<SegmentId>& ids);
  Result<Segment> create_segment(SegmentId id);
  Status sync_directory(const char* what);
  Status fail(int err, const char* what, const char* name) const;
  void map_active();
  void unmap_active();
  void close_all();
  const Segment* find(SegmentId id) const;

  PosixLogStoreSettings settings_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  std::vector<Segment> segments_;
  bool opened_ = false;
  bool position_known_ = false;
  std::uint32_t position_ = 0;
  bool appended_since_open_ = false;
  bool needs_roll_ = false;
  bool fs_can_map_ = false;          // the directory's file system is one a mapping is safe on
  std::uint8_t* map_ = nullptr;      // MAP_SHARED mapping of the active segment, or null (pwrite)
  std::uint32_t released_ = 0;       // the mapping's pages below this offset were released
  mutable ErrorText last_error_;
};

}  // namespace tether::port
