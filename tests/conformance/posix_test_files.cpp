// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "posix_test_files.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tether::conformance {

namespace {

int make_writable(const char* path, const struct stat* st, int type, FTW*) {
  if (type == FTW_D || type == FTW_DNR) ::chmod(path, (st->st_mode & 07777) | S_IRWXU);
  return 0;
}
int remove_entry(const char* path, const struct stat*, int, FTW*) {
  ::remove(path);
  return 0;  // keep going: remove what can be removed
}

}  // namespace

TempDir::TempDir(const char* prefix) {
  const char* base = std::getenv("TMPDIR");
  if (base == nullptr || *base == '\0') base = "/tmp";
  std::string name = std::string(base) + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  REQUIRE(::mkdtemp(buf.data()) != nullptr);
  path_ = buf.data();
}

TempDir::~TempDir() {
  // Tests may leave directories read-only: make them writable first (pre-order), then remove.
  ::nftw(path_.c_str(), make_writable, 16, FTW_PHYS);
  ::nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

EffectiveUid::EffectiveUid(uid_t uid) : ok_(::seteuid(uid) == 0) {}

EffectiveUid::~EffectiveUid() {
  if (ok_ && ::seteuid(0) != 0) std::abort();  // the rest of the run would not be root
}

bool contains(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

void write_file(const std::string& path, std::size_t size, std::uint8_t fill) {
  write_file(path, Bytes(size, fill));
}

void write_file(const std::string& path, const Bytes& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

Bytes file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  Bytes bytes(static_cast<std::size_t>(st.st_size));
  REQUIRE(::pread(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
  return bytes;
}

int exit_code_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(body());
  int wait_status = 0;
  REQUIRE(::waitpid(pid, &wait_status, 0) == pid);
  REQUIRE(WIFEXITED(wait_status));
  return WEXITSTATUS(wait_status);
}

}  // namespace tether::conformance
