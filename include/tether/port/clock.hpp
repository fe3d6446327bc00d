// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Clock port: monotonic time for timers and backoff, wall time for documents and timestamps.

#include <chrono>
#include <cstdint>

#include "tether/result.hpp"

namespace tether {

/// Milliseconds. Monotonic readings count from an arbitrary, fixed origin.
using Milliseconds = std::chrono::milliseconds;

namespace port {

class Clock {
 public:
  virtual ~Clock() = default;

  /// Monotonic time: never goes backwards, unaffected by wall-clock changes. Never fails.
  Milliseconds now() const { return do_now(); }

  /// Wall time in milliseconds since the Unix epoch.
  /// Returns kUnavailable (origin kOs) while wall time is not yet valid (no RTC, NTP not synced);
  /// callers treat that as a state to handle, not an error to crash on.
  Result<std::int64_t> wall_time_ms() const { return do_wall_time_ms(); }

 private:
  virtual Milliseconds do_now() const = 0;
  virtual Result<std::int64_t> do_wall_time_ms() const = 0;
};

}  // namespace port
}  // namespace tether
