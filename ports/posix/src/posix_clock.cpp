// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/posix_clock.hpp"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

namespace tether::port {
namespace {
// 2026-01-01T00:00:00Z: a wall clock reading earlier than this has not been set.
constexpr std::int64_t kEarliestValidWallMs = 1767225600000LL;

std::int64_t read_ms(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

Milliseconds PosixClock::do_now() const { return Milliseconds(read_ms(CLOCK_MONOTONIC)); }

Result<std::int64_t> PosixClock::do_wall_time_ms() const {
  const std::int64_t ms = read_ms(CLOCK_REALTIME);
  if (ms < kEarliestValidWallMs) return Status(StatusCode::kUnavailable, Origin::kOs);
  return ms;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof seed)) return seed;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  seed = static_cast<std::uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull;
  seed ^= static_cast<std::uint64_t>(read_ms(CLOCK_REALTIME)) << 16;
  seed ^= static_cast<std::uint64_t>(getpid());
  return seed;
}

}  // namespace tether::port
