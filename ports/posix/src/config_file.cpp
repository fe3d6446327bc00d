// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace tether::port {

Status load_config_file(const char* path, AgentConfig& out, ErrorText* error) {
  if (path == nullptr || *path == '\0') {
    set_error_text(error, "configuration file: no path given");
    return Status(StatusCode::kInvalidArgument, Origin::kConfig);
  }
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    set_error_text(error, "%s: cannot open: %s", path, std::strerror(err));
    StatusCode code = err == ENOENT ? StatusCode::kNotFound
                      : err == EACCES ? StatusCode::kPermissionDenied
                                      : StatusCode::kUnavailable;
    return Status(code, Origin::kOs, static_cast<std::uint16_t>(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    set_error_text(error, "%s: not a regular file", path);
    return Status(StatusCode::kInvalidArgument, Origin::kConfig);
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxJsonInput) {
    ::close(fd);
    set_error_text(error, "%s: file is %lld bytes, at most %zu allowed", path, static_cast<long long>(st.st_size),
                   kMaxJsonInput);
    return Status(StatusCode::kOutOfRange, Origin::kConfig);
  }
  // Linux port: one heap buffer of kMaxJsonInput bytes, freed on return (ports/posix/README.md).
  std::unique_ptr<char[]> buf(new char[kMaxJsonInput + 1]);
  std::size_t used = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.get() + used, kMaxJsonInput + 1 - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      set_error_text(error, "%s: read failed: %s", path, std::strerror(err));
      return Status(StatusCode::kUnavailable, Origin::kOs, static_cast<std::uint16_t>(err));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
    if (used > kMaxJsonInput) {
      ::close(fd);
      set_error_text(error, "%s: file is larger than %zu bytes", path, kMaxJsonInput);
      return Status(StatusCode::kOutOfRange, Origin::kConfig);
    }
  }
  ::close(fd);
  return parse_config(std::string_view(buf.get(), used), path, out, error);
}

}  // namespace tether::port
