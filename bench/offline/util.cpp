// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Clocks, CPU time, /proc/self/status, malloc statistics, free space and temporary directories for
// bench-offline (Linux, glibc).

#include <linux/magic.h>
#include <malloc.h>
#include <stdlib.h>  // mkdtemp
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "bench_offline.hpp"
#include "tether/port/posix/posix_clock.hpp"

namespace tether::bench_offline {

const char* level_name(Level level) {
  switch (level) {
    case Level::kMemory: return "memory";
    case Level::kBatch: return "batch";
    case Level::kAlways: return "always";
  }
  return "?";
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double process_cpu_seconds() {
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long process_context_switches() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

double broker_cpu_seconds() {
  const char* dir = std::getenv("TETHER_BROKER_DIR");
  if (dir == nullptr) return -1;
  long pid = -1;
  {
    std::ifstream in(std::string(dir) + "/mosquitto.pid");
    if (!(in >> pid) || pid <= 0) return -1;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  // After "(comm) ": field 3 is the state; utime and stime are fields 14 and 15.
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long ticks_used = 0;
  for (int index = 3; index <= 15 && (fields >> field); ++index) {
    if (index == 14 || index == 15) ticks_used += std::stoull(field);
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(ticks_used) / static_cast<double>(ticks) : -1;
}

long proc_status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  const std::string prefix = std::string(field) + ":";
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  }
  return -1;
}

long heap_in_use_kib() {
  const struct mallinfo2 info = ::mallinfo2();
  return static_cast<long>((info.uordblks + info.hblkhd) / 1024);
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

long long free_bytes(const std::string& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return -1;
  return static_cast<long long>(info.f_bavail) * static_cast<long long>(info.f_frsize);
}

bool on_memory_fs(const std::string& path) {
  struct statfs info {};
  if (::statfs(path.c_str(), &info) != 0) return false;
  return info.f_type == TMPFS_MAGIC || info.f_type == RAMFS_MAGIC;
}

std::vector<std::uint8_t> make_payload(std::size_t size) {
  std::vector<std::uint8_t> payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>('a' + i % 26);
  return payload;
}

std::uint32_t make_boot_id() {
  const std::uint64_t seed = port::random_seed();
  const auto id = static_cast<std::uint32_t>(seed ^ (seed >> 32));
  return id != 0 ? id : 1;
}

TempDir::TempDir(const std::string& base, const char* tag) {
  std::string pattern = base + "/tether-bench-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace tether::bench_offline
