// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/posix_kv_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "store_files.hpp"
#include "tether/crc32c.hpp"

namespace tether::port {

using namespace posix_detail;  // the helpers the POSIX stores share (store_files.hpp)

namespace {

constexpr char kLockName[] = "lock";
constexpr char kValueSuffix[] = ".kv";
constexpr char kTemporarySuffix[] = ".kv.tmp";
constexpr char kOldSuffix[] = ".kv.old";

// The file header (posix_kv_store.hpp, "Layout").
constexpr std::size_t kHeaderSize = 16;
constexpr std::uint8_t kMagic[4] = {'T', 'K', 'V', 'S'};
constexpr std::uint16_t kFormatVersion = 1;
constexpr std::size_t kCrcChunk = 4096;  // size()'s stack buffer

struct FileName {
  char text[kMaxKvKey + sizeof kTemporarySuffix];
};

// `key` + `suffix`; `key` has been validated (so it fits).
FileName file_name(std::string_view key, const char* suffix) {
  FileName name{};
  std::snprintf(name.text, sizeof name.text, "%.*s%s", static_cast<int>(key.size()), key.data(), suffix);
  return name;
}

// Whether `name` is `<valid key><suffix>`.
bool has_key_and_suffix(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return false;
  return validate_kv_key(name.substr(0, name.size() - suffix.size())).ok();
}

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint16_t get_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

// Closes a descriptor when the scope ends.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() { ::close(fd_); }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

Status resource_exhausted_for(std::size_t length) {
  return store_error(StatusCode::kResourceExhausted, static_cast<int>(std::min<std::size_t>(length, 0xFFFF)));
}

}  // namespace

PosixKvStore::PosixKvStore(PosixKvStoreSettings settings) : settings_(std::move(settings)) {}

PosixKvStore::~PosixKvStore() { close_all(); }

void PosixKvStore::close_all() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  if (dir_fd_ >= 0) ::close(dir_fd_);
  lock_fd_ = -1;
  dir_fd_ = -1;
  opened_ = false;
}

Status PosixKvStore::fail(int err, const char* what, const char* name) {
  return file_error(&last_error_, settings_.directory, err, what, name);
}

Status PosixKvStore::damaged(const char* name, const char* what) {
  set_error_text(&last_error_, "%s/%s: %s", settings_.directory.c_str(), name, what);
  return store_error(StatusCode::kDataLoss);
}

// Every call but open(): the store must be open and the key valid.
Status PosixKvStore::check_call(const char* call, std::string_view key) {
  if (!opened_) {
    set_error_text(&last_error_, "%s: %s before open", settings_.directory.c_str(), call);
    return store_error(StatusCode::kFailedPrecondition);
  }
  return validate_kv_key(key);
}

// --- open -----------------------------------------------------------------------------------------

Status PosixKvStore::open() {
  if (opened_) {
    set_error_text(&last_error_, "%s: the store is open already", settings_.directory.c_str());
    return store_error(StatusCode::kFailedPrecondition);
  }
  if (settings_.directory.empty() || settings_.max_value_size > UINT32_MAX) {
    set_error_text(&last_error_, "kv store settings: a directory and a max_value_size below 4 GiB are needed");
    return store_error(StatusCode::kInvalidArgument);
  }
  TETHER_RETURN_IF_ERROR(
      open_locked_directory(settings_.directory, kLockName, &dir_fd_, &lock_fd_, &last_error_));
  const Status status = remove_leftovers();
  if (!status.ok()) {
    close_all();
    return status;
  }
  opened_ = true;
  return Status();
}

// Deletes the `.kv.tmp` and `.kv.old` files of interrupted puts and removes (see the header).
Status PosixKvStore::remove_leftovers() {
  std::vector<std::string> names;
  if (const int err = list_directory(dir_fd_, &names); err != 0) {
    return fail(err, "cannot list the directory", nullptr);
  }
  bool removed = false;
  for (const std::string& name : names) {
    if (!has_key_and_suffix(name, kTemporarySuffix) && !has_key_and_suffix(name, kOldSuffix)) continue;
    if (::unlinkat(dir_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
      return fail(errno, "cannot remove the leftover of an interrupted put or remove", name.c_str());
    }
    removed = true;
  }
  if (removed) {
    if (const int err = fsync_retry(dir_fd_, false); err != 0) {
      fail(err, "cannot sync the directory after removing leftovers", nullptr).ignore();
      return store_error(StatusCode::kDataLoss, err);
    }
  }
  return Status();
}

// --- get and size ---------------------------------------------------------------------------------

// Opens `<key>.kv`, checks its header against its size and the value's CRC. With `out`, reads the
// value into *out (kResourceExhausted, nothing read, when it is too small); without, reads it
// through a stack buffer. Returns the value's length.
Result<std::size_t> PosixKvStore::read_value(std::string_view key, Span<std::uint8_t>* out) {
  const FileName name = file_name(key, kValueSuffix);
  const int fd = ::openat(dir_fd_, name.text, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return store_error(StatusCode::kNotFound);
    return fail(errno, "cannot open the value", name.text);
  }
  const FileCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno, "cannot stat the value", name.text);
  if (!S_ISREG(st.st_mode)) return damaged(name.text, "not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  char what[96];
  if (file_size < kHeaderSize) {
    std::snprintf(what, sizeof what, "truncated: %llu bytes, shorter than the %zu-byte header",
                  static_cast<unsigned long long>(file_size), kHeaderSize);
    return damaged(name.text, what);
  }
  std::uint8_t header[kHeaderSize];
  if (const int err = pread_full(fd, header, kHeaderSize, 0); err != 0) return fail(err, "cannot read", name.text);
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0) return damaged(name.text, "wrong magic: not a value file");
  if (const std::uint16_t version = get_u16(header + 4); version != kFormatVersion) {
    std::snprintf(what, sizeof what, "unsupported format version %u", static_cast<unsigned>(version));
    return damaged(name.text, what);
  }
  if (get_u16(header + 6) != 0) return damaged(name.text, "unknown flags in the header");
  const std::uint32_t length = get_u32(header + 8);
  const std::uint32_t stored_crc = get_u32(header + 12);
  if (file_size != kHeaderSize + std::uint64_t{length}) {
    std::snprintf(what, sizeof what, "%s: %llu bytes, the header says %zu + %lu",
                  file_size < kHeaderSize + std::uint64_t{length} ? "truncated" : "too long",
                  static_cast<unsigned long long>(file_size), kHeaderSize, static_cast<unsigned long>(length));
    return damaged(name.text, what);
  }

  std::uint32_t crc = 0;
  if (out != nullptr) {
    if (out->size() < length) return resource_exhausted_for(length);
    if (const int err = pread_full(fd, out->data(), length, kHeaderSize); err != 0) {
      return fail(err, "cannot read", name.text);
    }
    crc = crc32c(Span<const std::uint8_t>(out->data(), length));
  } else {
    std::uint8_t chunk[kCrcChunk];
    for (std::uint32_t done = 0; done < length;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint32_t>(kCrcChunk, length - done));
      if (const int err = pread_full(fd, chunk, n, static_cast<off_t>(kHeaderSize + done)); err != 0) {
        return fail(err, "cannot read", name.text);
      }
      crc = crc32c(Span<const std::uint8_t>(chunk, n), crc);
      done += static_cast<std::uint32_t>(n);
    }
  }
  if (crc != stored_crc) {
    if (out != nullptr && length > 0) std::memset(out->data(), 0, length);  // never hand out damaged bytes
    return damaged(name.text, "checksum mismatch: the value is damaged");
  }
  return std::size_t{length};
}

Result<std::size_t> PosixKvStore::do_get(std::string_view key, Span<std::uint8_t> out) {
  TETHER_RETURN_IF_ERROR(check_call("get", key));
  return read_value(key, &out);
}

Result<std::size_t> PosixKvStore::do_size(std::string_view key) {
  TETHER_RETURN_IF_ERROR(check_call("size", key));
  return read_value(key, nullptr);
}

// --- put and remove -------------------------------------------------------------------------------

// Writes header and value to the temporary file `name` and fsyncs it; on failure the file is gone.
Status PosixKvStore::write_temporary(const char* name, Span<const std::uint8_t> value) {
  const int fd = ::openat(dir_fd_, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errno, "cannot create the temporary file", name);
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof kMagic);
  put_u16(header + 4, kFormatVersion);
  put_u16(header + 6, 0);
  put_u32(header + 8, static_cast<std::uint32_t>(value.size()));
  put_u32(header + 12, crc32c(value));
  const char* what = nullptr;
  int err = 0;
  bool sync_failed = false;
  if (::fchmod(fd, 0600) != 0) {
    err = errno;
    what = "cannot set the file's mode";
  } else if ((err = pwrite_full(fd, header, kHeaderSize, 0)) != 0 ||
             (err = pwrite_full(fd, value.data(), value.size(), kHeaderSize)) != 0) {
    what = "cannot write";
  } else if ((err = fsync_retry(fd, false)) != 0) {
    what = "fsync failed";
    sync_failed = true;
  }
  ::close(fd);
  if (what == nullptr) return Status();
  Status status = fail(err, what, name);
  ::unlinkat(dir_fd_, name, 0);
  // Every failed fsync is kDataLoss (the port contract); the old value is untouched either way.
  if (sync_failed) status = store_error(StatusCode::kDataLoss, err);
  return status;
}

Status PosixKvStore::do_put(std::string_view key, Span<const std::uint8_t> value) {
  TETHER_RETURN_IF_ERROR(check_call("put", key));
  if (value.size() > settings_.max_value_size) {
    return store_error(StatusCode::kOutOfRange, static_cast<int>(std::min<std::size_t>(value.size(), 0xFFFF)));
  }
  const FileName temporary = file_name(key, kTemporarySuffix);
  const FileName current = file_name(key, kValueSuffix);
  const FileName old = file_name(key, kOldSuffix);
  TETHER_RETURN_IF_ERROR(write_temporary(temporary.text, value));

  // Keep the current value reachable under a second name until the new one is durable, so a failed
  // directory fsync can put it back. ENOENT: a new key. Any other failure (a file system without
  // hard links): go on without the second name.
  int link_err = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    link_err = ::linkat(dir_fd_, current.text, dir_fd_, old.text, 0) == 0 ? 0 : errno;
    if (link_err != EEXIST) break;
    ::unlinkat(dir_fd_, old.text, 0);  // a leftover of a put whose last step failed
  }
  const bool linked = link_err == 0;
  if (::renameat(dir_fd_, temporary.text, dir_fd_, current.text) != 0) {
    const Status status = fail(errno, "cannot rename the temporary file over the value", temporary.text);
    ::unlinkat(dir_fd_, temporary.text, 0);
    if (linked) ::unlinkat(dir_fd_, old.text, 0);
    return status;
  }
  if (const int err = fsync_retry(dir_fd_, false); err != 0) {
    bool restored = false;
    if (linked) {
      restored = ::renameat(dir_fd_, old.text, dir_fd_, current.text) == 0;
    } else if (link_err == ENOENT) {
      restored = ::unlinkat(dir_fd_, current.text, 0) == 0;
    }
    fail(err, restored ? "cannot sync the directory after the rename (the old value was put back)"
                       : "cannot sync the directory after the rename (the old value could not be put back)",
         current.text)
        .ignore();
    return store_error(StatusCode::kDataLoss, err);
  }
  if (linked) ::unlinkat(dir_fd_, old.text, 0);  // not synced: open() removes it if it comes back
  return Status();
}

Status PosixKvStore::do_remove(std::string_view key) {
  TETHER_RETURN_IF_ERROR(check_call("remove", key));
  const FileName current = file_name(key, kValueSuffix);
  const FileName old = file_name(key, kOldSuffix);
  if (::renameat(dir_fd_, current.text, dir_fd_, old.text) != 0) {
    if (errno == ENOENT) return store_error(StatusCode::kNotFound);
    return fail(errno, "cannot remove the value", current.text);
  }
  if (const int err = fsync_retry(dir_fd_, false); err != 0) {
    const bool restored = ::renameat(dir_fd_, old.text, dir_fd_, current.text) == 0;
    fail(err, restored ? "cannot sync the directory after the remove (the value was put back)"
                       : "cannot sync the directory after the remove (the value could not be put back)",
         current.text)
        .ignore();
    return store_error(StatusCode::kDataLoss, err);
  }
  ::unlinkat(dir_fd_, old.text, 0);  // not synced: open() removes it if it comes back
  return Status();
}

}  // namespace tether::port
