// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Helpers for the tests of the POSIX store ports: temporary directories, files written or read
/// without the store, the umask, and running as another user.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "bytes.hpp"

namespace tether::conformance {

/// A fresh directory `<$TMPDIR or /tmp>/<prefix>-XXXXXX`, removed with everything in it (also
/// read-only subdirectories) when the object goes.
class TempDir {
 public:
  explicit TempDir(const char* prefix = "tether-store");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Sets the umask for its lifetime.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : previous_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(previous_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t previous_;
};

/// Runs as `uid` (effective) for its lifetime; only root can do this, and gets root back.
class EffectiveUid {
 public:
  explicit EffectiveUid(uid_t uid);
  ~EffectiveUid();
  EffectiveUid(const EffectiveUid&) = delete;
  EffectiveUid& operator=(const EffectiveUid&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

bool contains(const char* text, const char* part);
/// Whether anything (a file, a directory, a dangling link) is at `path`.
bool exists(const std::string& path);
/// lstat of `path` (REQUIREs that it succeeds).
struct stat stat_of(const std::string& path);
/// Writes a file of `size` bytes of `fill`, as a crash or another program could have left it.
void write_file(const std::string& path, std::size_t size, std::uint8_t fill);
/// Replaces the whole contents of `path` with `bytes`.
void write_file(const std::string& path, const Bytes& bytes);
/// The whole contents of a file, read without the store.
Bytes file_bytes(const std::string& path);

/// Runs `body` in a forked child that then exits with what it returned (0..255), and returns that
/// exit code (REQUIREs that the child exited rather than died of a signal). The child runs no Catch2
/// assertions: it reports by its exit code.
int exit_code_in_child(const std::function<int()>& body);

}  // namespace tether::conformance
