// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "store_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tether::port::posix_detail {

namespace {

// The directory that holds `path` ("." for a relative name without a slash).
std::string parent_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// pread or pwrite (`io`) of exactly `size` bytes, retried on EINTR and short transfers.
template <typename Byte, typename Io>
int transfer_full(Io io, int fd, Byte* data, std::size_t size, off_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = io(fd, data + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// Opens (creating) `path` with mode exactly 0700, syncing its parent when it creates it. Returns 0
// or an errno value with `*what` saying which step failed.
int open_directory(const std::string& path, int* dir_fd, const char** what) {
  bool created = false;
  if (::mkdir(path.c_str(), 0700) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    *what = "cannot create the directory";
    return errno;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *what = "cannot open the directory";
    return errno;
  }
  *dir_fd = fd;
  if (!created) return 0;
  // mkdir's mode is narrowed by the umask; the store wants exactly 0700. And the new directory
  // entry must survive a power cut like everything else.
  if (::fchmod(fd, 0700) != 0) {
    *what = "cannot set the directory's mode";
    return errno;
  }
  const std::string parent = parent_of(path);
  const int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int err = parent_fd < 0 ? errno : fsync_retry(parent_fd, false);
  if (parent_fd >= 0) ::close(parent_fd);
  *what = "cannot sync the parent directory";
  return err;
}

// Opens (creating, 0600) the lock file and takes the lock. Returns 0 or an errno value.
int lock_directory(int dir_fd, const char* name, int* lock_fd, const char** what) {
  const int fd = ::openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *what = "cannot open the lock file";
    return errno;
  }
  *lock_fd = fd;
  *what = "cannot lock";
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace

StatusCode code_for_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return StatusCode::kPermissionDenied;
    case ENOSPC:
#if defined(EDQUOT)
    case EDQUOT:
#endif
      return StatusCode::kResourceExhausted;
    case EIO:
      return StatusCode::kDataLoss;
    default:
      return StatusCode::kUnavailable;
  }
}

Status store_error(StatusCode code, int detail) {
  return Status(code, Origin::kStore, static_cast<std::uint16_t>(detail));
}

int pread_full(int fd, std::uint8_t* data, std::size_t size, off_t offset) {
  return transfer_full(::pread, fd, data, size, offset);
}

int pwrite_full(int fd, const std::uint8_t* data, std::size_t size, off_t offset) {
  return transfer_full(::pwrite, fd, data, size, offset);
}

int fsync_retry(int fd, bool data_only) {
  for (;;) {
    const int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
    if (rc == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

Status file_error(ErrorText* text, const std::string& dir, int err, const char* what, const char* name) {
  if (name != nullptr) {
    set_error_text(text, "%s/%s: %s: %s", dir.c_str(), name, what, std::strerror(err));
  } else {
    set_error_text(text, "%s: %s: %s", dir.c_str(), what, std::strerror(err));
  }
  return store_error(code_for_errno(err), err);
}

Status open_locked_directory(const std::string& dir, const char* lock_name, int* dir_fd, int* lock_fd,
                             ErrorText* text) {
  *dir_fd = -1;
  *lock_fd = -1;
  const char* what = "";
  Status status;
  if (const int err = open_directory(dir, dir_fd, &what); err != 0) {
    status = file_error(text, dir, err, what, nullptr);
  } else if (const int lock_err = lock_directory(*dir_fd, lock_name, lock_fd, &what); lock_err == EWOULDBLOCK) {
    set_error_text(text, "%s: the store is in use: another process (or another store object) holds %s/%s",
                   dir.c_str(), dir.c_str(), lock_name);
    status = store_error(StatusCode::kFailedPrecondition, EWOULDBLOCK);
  } else if (lock_err != 0) {
    status = file_error(text, dir, lock_err, what, lock_name);
  }
  if (!status.ok()) {
    if (*lock_fd >= 0) ::close(*lock_fd);
    if (*dir_fd >= 0) ::close(*dir_fd);
    *lock_fd = -1;
    *dir_fd = -1;
  }
  return status;
}

int list_directory(int dir_fd, std::vector<std::string>* names) {
  const int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list_fd < 0) return errno;
  DIR* listing = ::fdopendir(list_fd);
  if (listing == nullptr) {
    const int err = errno;
    ::close(list_fd);
    return err;
  }
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(listing);
    if (entry == nullptr) break;
    names->emplace_back(entry->d_name);
  }
  const int err = errno;
  ::closedir(listing);
  return err;
}

}  // namespace tether::port::posix_detail
