// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Private to ports/posix: the file handling PosixLogStore and PosixKvStore share (the errno →
/// Status mapping of the store ports and their error texts, whole reads and writes, fsync, the
/// store's directory, its lock file and its listing).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tether/error_text.hpp"
#include "tether/status.hpp"

namespace tether::port::posix_detail {

/// The store ports' errno mapping: EACCES, EPERM, EROFS → kPermissionDenied; ENOSPC, EDQUOT →
/// kResourceExhausted; EIO → kDataLoss; anything else → kUnavailable.
StatusCode code_for_errno(int err);

/// Status(code, kStore, detail).
Status store_error(StatusCode code, int detail = 0);

/// pread/pwrite of exactly `size` bytes, retried on EINTR and short transfers. Return 0 or an errno
/// value (EIO when the file ends early).
int pread_full(int fd, std::uint8_t* data, std::size_t size, off_t offset);
int pwrite_full(int fd, const std::uint8_t* data, std::size_t size, off_t offset);

/// fsync (fdatasync with `data_only`), retried on EINTR. Returns 0 or an errno value.
int fsync_retry(int fd, bool data_only);

/// Sets `*text` to "<dir>/<name>: <what>: <strerror(err)>" ("<dir>: <what>: ..." when `name` is
/// null) and returns the mapped status, origin kStore, detail `err`.
Status file_error(ErrorText* text, const std::string& dir, int err, const char* what, const char* name);

/// Opens the store directory `dir` into `*dir_fd`, creating it first (one level: its parent must
/// exist) with mode exactly 0700 whatever the umask and syncing its parent so the new entry survives
/// a power cut (an existing directory keeps its mode); then opens (creating, 0600) the lock file
/// `lock_name` in it and takes flock(LOCK_EX|LOCK_NB) on it into `*lock_fd`, kept until that is
/// closed. Returns ok, kFailedPrecondition/kStore/EWOULDBLOCK when another descriptor holds the
/// lock, or the mapped errno; on failure `*text` says what failed and both descriptors are -1.
Status open_locked_directory(const std::string& dir, const char* lock_name, int* dir_fd, int* lock_fd,
                             ErrorText* text);

/// The names in the directory `dir_fd`, "." and ".." included. Returns 0 or an errno value.
int list_directory(int dir_fd, std::vector<std::string>* names);

}  // namespace tether::port::posix_detail
