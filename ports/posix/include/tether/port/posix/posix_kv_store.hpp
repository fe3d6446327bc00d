// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// PosixKvStore: the KvStore port over one file per key in one directory (Linux, any POSIX system
/// with fsync, renameat, linkat and flock).
///
/// ## Layout
/// `<directory>/<key>.kv`, mode 0600, holds a 16-byte header and the value:
///
/// | offset | size | field |
/// |---:|---:|---|
/// | 0 | 4 | magic `TKVS` |
/// | 4 | 2 | format version, little-endian: 1 |
/// | 6 | 2 | flags, little-endian: 0 (anything else is refused) |
/// | 8 | 4 | value length, little-endian |
/// | 12 | 4 | CRC-32C of the value (tether/crc32c.hpp), little-endian |
/// | 16 | length | the value |
///
/// `<directory>/lock` is the lock file. `<key>.kv.tmp` and `<key>.kv.old` exist only during a put()
/// or remove() (or after one was interrupted). Other files in the directory are ignored. open()
/// creates the directory (mode 0700, one level: its parent must exist); an existing directory keeps
/// its mode.
///
/// ## Durability (the port contract, and how it is kept)
/// - put(): writes `<key>.kv.tmp` (O_CREAT|O_TRUNC, fchmod 0600 whatever the umask) and fsyncs it,
///   links the current `<key>.kv` (if any) as `<key>.kv.old`, renames the temporary file over
///   `<key>.kv`, fsyncs the directory, then unlinks `<key>.kv.old`. The rename is the commit point: a
///   power cut at any step leaves `<key>.kv` holding the old or the new value, each complete. If the
///   directory fsync fails (kDataLoss), `<key>.kv.old` is renamed back (for a new key `<key>.kv` is
///   unlinked), so get() returns the old value as the contract asks; which of the two a power cut
///   after such a failure leaves is unknown (the medium failed), but it is one of them. On a file
///   system without hard links (vfat, exfat) there is no `.old` link and that restore is impossible:
///   after a failed directory fsync get() may return the new value (the README says so).
/// - remove(): renames `<key>.kv` to `<key>.kv.old`, fsyncs the directory (a failure renames it back:
///   kDataLoss, the value is still there), then unlinks `<key>.kv.old`.
/// - open(): deletes every `<key>.kv.tmp` and `<key>.kv.old` (for a valid key) that an interrupted
///   put() or remove() left, and fsyncs the directory if it deleted any. `<key>.kv` then holds the
///   old or the new value (or, for a remove, the value or nothing).
/// - get() and size() read `<key>.kv` and check the magic, the version, the flags, the length
///   against the file's size and the CRC of the value: a file that fails any check is kDataLoss
///   (never returned: get() zeroes what it had read into the caller's buffer), and last_error()
///   names it and says which check failed.
///
/// ## Exclusivity
/// open() takes flock(LOCK_EX|LOCK_NB) on the lock file and keeps it until the object is
/// destroyed: a second store over the same directory (another process, or another object in this
/// one) gets kFailedPrecondition/kStore/EWOULDBLOCK. It would delete the first one's temporary
/// files. Give each store its own directory (a PosixLogStore's lock file has the same name).
///
/// ## Errors
/// As the port (include/tether/port/kv_store.hpp), origin kStore, detail errno: EACCES, EPERM,
/// EROFS → kPermissionDenied; ENOSPC, EDQUOT → kResourceExhausted; EIO and every failed fsync →
/// kDataLoss; anything else (e.g. ELOOP: `<key>.kv` is a symbolic link) → kUnavailable. A damaged
/// file is kDataLoss/kStore/0. Every call before a successful open() returns
/// kFailedPrecondition/kStore. open() returns kFailedPrecondition when the store is open already or
/// locked (detail EWOULDBLOCK), kInvalidArgument for bad settings (an empty directory, a
/// max_value_size that the header's 32-bit length cannot hold), or the errno mapping above (a
/// missing parent directory is kUnavailable/ENOENT). last_error() describes the last failure and
/// names the file.
///
/// ## Resources
/// Allocates (std::string): a Linux port. Holds two file descriptors (the directory and the lock)
/// while open and one more during each call. get() reads straight into the caller's buffer; size()
/// reads the value through a 4 KiB stack buffer to check its CRC. Not thread-safe, like the port.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/port/kv_store.hpp"

namespace tether::port {

struct PosixKvStoreSettings {
  /// The store's directory; its parent must exist.
  std::string directory;
  /// Largest value put() accepts (at most 2^32 - 1 bytes: the header's length field).
  std::size_t max_value_size = 65536;
};

class PosixKvStore final : public KvStore {
 public:
  explicit PosixKvStore(PosixKvStoreSettings settings);
  /// Closes the directory and releases the lock.
  ~PosixKvStore() override;
  PosixKvStore(const PosixKvStore&) = delete;
  PosixKvStore& operator=(const PosixKvStore&) = delete;

  /// Opens (or creates) the store and cleans up after interrupted puts; must be called once before
  /// any other call. Returns ok or an error listed under "Errors".
  Status open();

  /// A description of the last failure, naming the file ("" if none).
  const char* last_error() const { return last_error_.c_str(); }
  const PosixKvStoreSettings& settings() const { return settings_; }

 private:
  Result<std::size_t> do_get(std::string_view key, Span<std::uint8_t> out) override;
  Result<std::size_t> do_size(std::string_view key) override;
  Status do_put(std::string_view key, Span<const std::uint8_t> value) override;
  Status do_remove(std::string_view key) override;
  std::size_t do_max_value_size() const override { return settings_.max_value_size; }

  Status check_call(const char* call, std::string_view key);
  Status remove_leftovers();
  Result<std::size_t> read_value(std::string_view key, Span<std::uint8_t>* out);
  Status write_temporary(const char* name, Span<const std::uint8_t> value);
  Status fail(int err, const char* what, const char* name);
  Status damaged(const char* name, const char* what);
  void close_all();

  PosixKvStoreSettings settings_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  bool opened_ = false;
  ErrorText last_error_;
};

}  // namespace tether::port
