// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/posix_log_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "store_files.hpp"
#include "tether/contract.hpp"

namespace tether::port {

using namespace posix_detail;  // the helpers the POSIX stores share (store_files.hpp)

namespace {

constexpr std::size_t kChunk = 64 * 1024;  // zeroing and scanning buffer (heap)
// The mapping's pages behind the write position are released each time this many have gathered.
constexpr std::uint32_t kReleaseBytes = 64 * 1024;
constexpr char kLockName[] = "lock";

// "0000002a.seg"
struct SegmentName {
  char text[16];
};
SegmentName segment_name(SegmentId id) {
  SegmentName name{};
  std::snprintf(name.text, sizeof name.text, "%08x.seg", static_cast<unsigned>(id));
  return name;
}

// Accepts exactly 8 lowercase hex digits and ".seg" (the names segment_name() makes).
bool parse_segment_name(const char* name, SegmentId& id) {
  if (std::strlen(name) != 12 || std::strcmp(name + 8, ".seg") != 0) return false;
  std::uint32_t value = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = name[i];
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    value = (value << 4) | digit;
  }
  id = value;
  return true;
}

// posix_fallocate of the whole file, retried on EINTR. Returns 0 or an errno value.
int fallocate_retry(int fd, std::uint32_t size) {
  int rc = 0;
  do {
    rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  return rc;
}

// Whether appends may go through a shared mapping of the files of the directory `dir_fd`: only on
// Linux (fdatasync is known there to write back pages dirtied through a MAP_SHARED mapping) and
// only on file systems that overwrite allocated blocks in place, so a write fault on a
// preallocated file never needs space (btrfs, f2fs, NFS, FUSE, overlayfs... may: a fault that finds
// none raises SIGBUS, where pwrite would return ENOSPC).
bool file_system_can_map(int dir_fd) {
#if defined(__linux__)
  struct statfs fs {};
  if (::fstatfs(dir_fd, &fs) != 0) return false;
  switch (static_cast<std::uint32_t>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // ext2, ext3 and ext4 share it
    case XFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
      return true;
    default:
      return false;
  }
#else
  (void)dir_fd;
  return false;
#endif
}

}  // namespace

PosixLogStore::PosixLogStore(PosixLogStoreSettings settings) : settings_(std::move(settings)) {}

PosixLogStore::~PosixLogStore() { close_all(); }

void PosixLogStore::close_all() {
  unmap_active();
  for (Segment& segment : segments_) {
    if (segment.fd >= 0) ::close(segment.fd);
  }
  segments_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  if (dir_fd_ >= 0) ::close(dir_fd_);
  lock_fd_ = -1;
  dir_fd_ = -1;
  opened_ = false;
  position_known_ = false;
  position_ = 0;
  appended_since_open_ = false;
  needs_roll_ = false;
  fs_can_map_ = false;
}

// Maps the active segment for appends and reads when the settings, the platform, the file system
// and the file allow it (see the header); otherwise leaves map_ null and appends use pwrite. Never
// fails: not mapping is the fallback, not an error.
void PosixLogStore::map_active() {
  unmap_active();
  if (!settings_.use_mmap || !fs_can_map_ || segments_.empty()) return;
  Segment& active = segments_.back();
  if (!active.allocated) {
    // A segment this object did not create (a reopened store): make sure every block is allocated,
    // so no write fault needs space. Idempotent on a preallocated file; fails (no mapping) where
    // the file system cannot preallocate or has no room to fill a hole.
    if (fallocate_retry(active.fd, settings_.segment_bytes) != 0) return;
    active.allocated = true;
  }
  void* map = ::mmap(nullptr, settings_.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, active.fd, 0);
  if (map == MAP_FAILED) return;  // e.g. ENOMEM: no room in a 32-bit address space
  map_ = static_cast<std::uint8_t*>(map);
  released_ = 0;
}

// Drops the mapping. The bytes copied into it stay in the page cache (dirty until a sync writes
// them back, which fdatasync of the segment's descriptor still does after munmap).
void PosixLogStore::unmap_active() {
  if (map_ == nullptr) return;
  ::munmap(map_, settings_.segment_bytes);
  map_ = nullptr;
  released_ = 0;
}

Status PosixLogStore::fail(int err, const char* what, const char* name) const {
  return file_error(&last_error_, settings_.directory, err, what, name);
}

Status PosixLogStore::sync_directory(const char* what) {
  const int err = fsync_retry(dir_fd_, false);
  if (err != 0) return fail(err, what, nullptr);
  return Status();
}

const PosixLogStore::Segment* PosixLogStore::find(SegmentId id) const {
  for (const Segment& segment : segments_) {
    if (segment.id == id) return &segment;
  }
  return nullptr;
}

SegmentId PosixLogStore::do_segment_id(std::size_t index) const {
  TETHER_EXPECTS(index < segments_.size());
  if (index >= segments_.size()) return 0;
  return segments_[index].id;
}

// --- open -----------------------------------------------------------------------------------------

Status PosixLogStore::do_open() {
  if (opened_) {
    set_error_text(&last_error_, "%s: the store is open already", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  if (settings_.directory.empty() || settings_.segment_bytes == 0 || settings_.max_segments == 0) {
    set_error_text(&last_error_, "log store settings: a directory, segment_bytes > 0 and max_segments > 0 are needed");
    return store_error(StatusCode::kInvalidArgument);
  }
  TETHER_RETURN_IF_ERROR(
      open_locked_directory(settings_.directory, kLockName, &dir_fd_, &lock_fd_, &last_error_));

  fs_can_map_ = file_system_can_map(dir_fd_);
  SegmentId first_id = 1;
  Status status = open_segments(first_id);
  if (status.ok() && segments_.empty()) {
    Result<Segment> first = create_segment(first_id);
    if (first.ok()) {
      segments_.push_back(*first);
      position_known_ = true;
      position_ = 0;
      map_active();
    } else {
      status = first.status();
    }
  }
  if (!status.ok()) {
    close_all();
    return status;
  }
  opened_ = true;
  appended_since_open_ = false;
  needs_roll_ = false;
  return Status();
}

Status PosixLogStore::open_segments(SegmentId& first_id) {
  std::vector<std::string> names;
  if (const int err = list_directory(dir_fd_, &names); err != 0) {
    return fail(err, "cannot list the directory", nullptr);
  }
  std::vector<SegmentId> ids;
  for (const std::string& name : names) {
    SegmentId id = 0;
    if (parse_segment_name(name.c_str(), id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());

  if (!ids.empty()) first_id = ids.back();  // if a torn first segment goes, its id is made again
  TETHER_RETURN_IF_ERROR(check_newest_size(ids));

  // More files than max_segments (the setting was lowered): kept; roll() refuses until
  // drop_head() has brought the count below the limit.
  segments_.reserve(std::max(ids.size(), std::min<std::size_t>(settings_.max_segments, 1024)));
  for (SegmentId id : ids) {
    const SegmentName name = segment_name(id);
    const int fd = ::openat(dir_fd_, name.text, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fail(errno, "cannot open the segment", name.text);
    segments_.push_back(Segment{id, fd, false, false});
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fail(errno, "cannot stat the segment", name.text);
    if (!S_ISREG(st.st_mode)) {
      set_error_text(&last_error_, "%s/%s: not a regular file", settings_.directory.c_str(), name.text);
      return store_error(StatusCode::kDataLoss);
    }
    if (static_cast<std::uint64_t>(st.st_size) != settings_.segment_bytes) {
      set_error_text(&last_error_, "%s/%s: segment is %lld bytes, the store's segments are %u bytes",
                     settings_.directory.c_str(), name.text, static_cast<long long>(st.st_size),
                     static_cast<unsigned>(settings_.segment_bytes));
      return store_error(StatusCode::kDataLoss);
    }
  }
  return Status();
}

// A newest segment shorter than segment_bytes is a roll() that power interrupted before the
// preallocation was synced. Nothing was appended to it (roll() had not returned), so it holds only
// zeros: it is deleted. Anything else of the wrong size (an older segment, a longer file, a file with
// data: segment_bytes changed, the file was damaged) is refused by open_segments(); this function
// then changes nothing, so a refused store is left exactly as it was found.
Status PosixLogStore::check_newest_size(std::vector<SegmentId>& ids) {
  if (ids.empty()) return Status();
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    struct stat st {};
    const SegmentName older = segment_name(ids[i]);
    if (::fstatat(dir_fd_, older.text, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(errno, "cannot stat the segment", older.text);
    }
    if (static_cast<std::uint64_t>(st.st_size) != settings_.segment_bytes) return Status();
  }
  const SegmentName name = segment_name(ids.back());
  struct stat st {};
  if (::fstatat(dir_fd_, name.text, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(errno, "cannot stat the segment", name.text);
  }
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) >= settings_.segment_bytes) {
    return Status();
  }
  const int fd = ::openat(dir_fd_, name.text, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(errno, "cannot open the segment", name.text);
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[kChunk]);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  bool zeros = true;
  int err = 0;
  for (std::uint64_t offset = 0; offset < size && zeros && err == 0; offset += kChunk) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - offset));
    err = pread_full(fd, buf.get(), n, static_cast<off_t>(offset));
    zeros = err == 0 && std::all_of(buf.get(), buf.get() + n, [](std::uint8_t b) { return b == 0; });
  }
  ::close(fd);
  if (err != 0) return fail(err, "cannot read the segment", name.text);
  if (!zeros) return Status();  // refused with a clear message by open_segments()
  if (::unlinkat(dir_fd_, name.text, 0) != 0) return fail(errno, "cannot remove the torn new segment", name.text);
  ids.pop_back();
  return sync_directory("cannot sync the directory after removing a torn new segment");
}

// --- roll -----------------------------------------------------------------------------------------

Result<PosixLogStore::Segment> PosixLogStore::create_segment(SegmentId id) {
  const SegmentName name = segment_name(id);
  const int fd = ::openat(dir_fd_, name.text, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errno, "cannot create the segment", name.text);
  // Undoes the half-created file; the caller gets the first failure.
  auto abandon = [&](int err, const char* what) {
    const Status status = fail(err, what, name.text);
    ::close(fd);
    ::unlinkat(dir_fd_, name.text, 0);
    fsync_retry(dir_fd_, false);
    return status;
  };
  if (::fchmod(fd, 0600) != 0) return abandon(errno, "cannot set the segment's mode");
  const int rc = fallocate_retry(fd, settings_.segment_bytes);
  if (rc == EOPNOTSUPP || rc == EINVAL) {
    // The file system cannot preallocate: set the size only (space is taken as data is written).
    if (::ftruncate(fd, static_cast<off_t>(settings_.segment_bytes)) != 0) return abandon(errno, "cannot size the segment");
  } else if (rc != 0) {
    return abandon(rc, "cannot preallocate the segment");
  }
  if (const int err = fsync_retry(fd, false); err != 0) return abandon(err, "cannot sync the new segment");
  if (const int err = fsync_retry(dir_fd_, false); err != 0) return abandon(err, "cannot sync the directory");
  return Segment{id, fd, false, rc == 0};
}

Result<SegmentId> PosixLogStore::do_roll() {
  if (!opened_) {
    set_error_text(&last_error_, "%s: roll before open", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  if (segments_.size() >= settings_.max_segments || segments_.back().id == UINT32_MAX) {
    set_error_text(&last_error_, "%s: %zu segments exist, at most %zu allowed", settings_.directory.c_str(),
                   segments_.size(), settings_.max_segments);
    return store_error(StatusCode::kResourceExhausted);
  }
  TETHER_ASSIGN_OR_RETURN(const Segment segment, create_segment(segments_.back().id + 1));
  // The old segment's bytes are in the page cache (a later sync() still fdatasyncs its descriptor):
  // its mapping has no further use.
  unmap_active();
  segments_.push_back(segment);
  position_known_ = true;
  position_ = 0;
  needs_roll_ = false;
  map_active();
  return segment.id;
}

// --- data -----------------------------------------------------------------------------------------

Result<std::size_t> PosixLogStore::do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const {
  if (!opened_) {
    set_error_text(&last_error_, "%s: read before open", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  const Segment* segment = find(id);
  if (segment == nullptr) return store_error(StatusCode::kNotFound);
  if (offset > settings_.segment_bytes) return store_error(StatusCode::kOutOfRange);
  const std::size_t n = std::min<std::size_t>(out.size(), settings_.segment_bytes - offset);
  if (map_ != nullptr && segment == &segments_.back()) {
    if (n > 0) std::memcpy(out.data(), map_ + offset, n);
    return n;
  }
  if (const int err = pread_full(segment->fd, out.data(), n, static_cast<off_t>(offset)); err != 0) {
    return fail(err, "read failed", segment_name(id).text);
  }
  return n;
}

Result<std::uint32_t> PosixLogStore::do_append(Span<const std::uint8_t> bytes) {
  if (!opened_ || !position_known_ || needs_roll_) {
    set_error_text(&last_error_, "%s: append %s", settings_.directory.c_str(),
                   !opened_           ? "before open"
                   : !position_known_ ? "before set_write_position"
                                      : "after a failed append or sync (roll first)");
    return store_error(StatusCode::kFailedPrecondition);
  }
  if (bytes.size() > settings_.segment_bytes - position_) return store_error(StatusCode::kOutOfRange);
  Segment& active = segments_.back();
  const std::uint32_t offset = position_;
  if (map_ != nullptr) {
    // Into the page cache: the file's pages themselves, as pwrite would put them.
    if (!bytes.empty()) std::memcpy(map_ + offset, bytes.data(), bytes.size());
  } else if (const int err = pwrite_full(active.fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
             err != 0) {
    needs_roll_ = true;
    return fail(err, "write failed", segment_name(active.id).text);
  }
  active.dirty = active.dirty || !bytes.empty();
  position_ = offset + static_cast<std::uint32_t>(bytes.size());
  appended_since_open_ = true;
  if (map_ != nullptr && position_ - released_ >= 2 * kReleaseBytes) {
    // Release the pages written before the last kReleaseBytes from the mapping (they stay in the
    // page cache, dirty until synced), so the resident size does not grow with the segment.
    const std::uint32_t end = (position_ - kReleaseBytes) & ~(kReleaseBytes - 1);
    ::madvise(map_ + released_, end - released_, MADV_DONTNEED);
    released_ = end;
  }
  return offset;
}

Status PosixLogStore::do_sync() {
  if (!opened_) {
    set_error_text(&last_error_, "%s: sync before open", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  Status first_failure;
  for (Segment& segment : segments_) {
    if (!segment.dirty) continue;
    segment.dirty = false;
    const int err = fsync_retry(segment.fd, true);
    if (err != 0 && first_failure.ok()) {
      fail(err, "fdatasync failed", segment_name(segment.id).text).ignore();
      first_failure = store_error(StatusCode::kDataLoss, err);
    }
  }
  if (!first_failure.ok()) {
    // Linux may have dropped the dirty pages: a later fdatasync would succeed without them.
    needs_roll_ = true;
  }
  return first_failure;
}

Status PosixLogStore::do_drop_head() {
  if (!opened_ || segments_.size() <= 1) {
    set_error_text(&last_error_, "%s: drop_head %s", settings_.directory.c_str(),
                   !opened_ ? "before open" : "of the only (active) segment");
    return store_error(StatusCode::kFailedPrecondition);
  }
  Segment& head = segments_.front();
  const SegmentName name = segment_name(head.id);
  if (::unlinkat(dir_fd_, name.text, 0) != 0) return fail(errno, "cannot remove the segment", name.text);
  ::close(head.fd);
  segments_.erase(segments_.begin());
  return sync_directory("cannot sync the directory after removing a segment");
}

Status PosixLogStore::do_set_write_position(std::uint32_t offset) {
  if (!opened_ || appended_since_open_) {
    set_error_text(&last_error_, "%s: set_write_position %s", settings_.directory.c_str(),
                   !opened_ ? "before open" : "after an append");
    return store_error(StatusCode::kFailedPrecondition);
  }
  const std::uint32_t capacity = settings_.segment_bytes;
  if (offset > capacity) return store_error(StatusCode::kOutOfRange);
  // The erasure goes through the descriptor; the segment is mapped again (if it may be) after it.
  unmap_active();
  Segment& active = segments_.back();
  const SegmentName name = segment_name(active.id);
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[kChunk]);

  // The last non-zero byte at or after `offset`: only up to there is there anything to erase.
  std::uint32_t end = offset;
  for (std::uint32_t chunk_end = capacity; chunk_end > offset && end == offset;) {
    const std::uint32_t chunk_begin = chunk_end - std::min<std::uint32_t>(kChunk, chunk_end - offset);
    const std::size_t n = chunk_end - chunk_begin;
    if (const int err = pread_full(active.fd, buf.get(), n, static_cast<off_t>(chunk_begin)); err != 0) {
      return fail(err, "read failed", name.text);
    }
    for (std::size_t i = n; i > 0; --i) {
      if (buf[i - 1] != 0) {
        end = chunk_begin + static_cast<std::uint32_t>(i);
        break;
      }
    }
    chunk_end = chunk_begin;
  }
  std::memset(buf.get(), 0, kChunk);
  for (std::uint32_t at = offset; at < end;) {
    const std::size_t n = std::min<std::size_t>(kChunk, end - at);
    if (const int err = pwrite_full(active.fd, buf.get(), n, static_cast<off_t>(at)); err != 0) {
      return fail(err, "write failed", name.text);
    }
    at += static_cast<std::uint32_t>(n);
  }
  if (const int err = fsync_retry(active.fd, true); err != 0) return fail(err, "fdatasync failed", name.text);
  active.dirty = false;
  position_known_ = true;
  position_ = offset;
  map_active();
  return Status();
}

Result<std::uint64_t> PosixLogStore::do_free_space() const {
  if (!opened_) {
    set_error_text(&last_error_, "%s: free_space before open", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  const std::uint64_t capacity = settings_.segment_bytes;
  std::uint64_t space = position_known_ && !needs_roll_ ? capacity - position_ : 0;
  if (segments_.size() < settings_.max_segments) {
    struct statvfs vfs {};
    if (::fstatvfs(dir_fd_, &vfs) != 0) return fail(errno, "statvfs failed", nullptr);
    const std::uint64_t medium = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    // New segments are preallocated whole: count only those the medium has room for.
    const std::uint64_t creatable =
        std::min<std::uint64_t>(settings_.max_segments - segments_.size(), medium / capacity);
    space += creatable * capacity;
  }
  return space;
}

}  // namespace tether::port
