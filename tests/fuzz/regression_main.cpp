// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Replays inputs through LLVMFuzzerTestOneInput without libFuzzer, so that the seed corpus and every
// crash reproducer run as a ctest test in every build (any compiler, cross builds under qemu).
//
// Usage: <runner> PATH...   PATH is a corpus directory (its regular files, not recursively, names
// starting with '.' skipped, in name order) or a single input file. Fails when a path cannot be read
// or when there is no input at all (an empty or missing corpus must not pass silently); an input
// that breaks an invariant aborts the run.

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Appends the regular files of `dir` (sorted by name) to `out`.
bool list_directory(const std::string& dir, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = dir + "/" + entry->d_name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      std::fprintf(stderr, "%s: cannot stat: %s\n", path.c_str(), std::strerror(errno));
      ::closedir(d);
      return false;
    }
    if (S_ISREG(st.st_mode)) names.push_back(path);
    errno = 0;
  }
  const int read_error = errno;  // readdir returns NULL at the end (errno unchanged) or on error
  ::closedir(d);
  if (read_error != 0) {
    std::fprintf(stderr, "%s: cannot list: %s\n", dir.c_str(), std::strerror(read_error));
    return false;
  }
  std::sort(names.begin(), names.end());
  out.insert(out.end(), names.begin(), names.end());
  return true;
}

// Runs one file. The input lives in a heap block of exactly its size, so that a sanitizer build
// catches a read past its end as libFuzzer would.
bool run_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  std::vector<char> bytes;
  char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[bytes.size() == 0 ? 1 : bytes.size()]);
  if (!bytes.empty()) std::memcpy(exact.get(), bytes.data(), bytes.size());
  std::printf("run %s (%zu bytes)\n", path.c_str(), bytes.size());
  std::fflush(stdout);  // the name must be out before a crash
  LLVMFuzzerTestOneInput(exact.get(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    if (is_directory(path)) {
      if (!list_directory(path, files)) {
        std::fprintf(stderr, "cannot list %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
      }
    } else if (is_regular_file(path)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "no such corpus directory or file: %s\n", path.c_str());
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "no inputs: the corpus is empty (a regression run that replays nothing proves nothing)\n");
    return 1;
  }
  for (const std::string& file : files) {
    if (!run_file(file)) return 1;
  }
  std::printf("%zu inputs replayed, no invariant violated\n", files.size());
  return 0;
}
