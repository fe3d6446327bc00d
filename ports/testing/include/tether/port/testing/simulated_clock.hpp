// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// SimulatedClock: a Clock that moves only when told to. Tests advance it instead of sleeping.

#include <cstdint>

#include "tether/port/clock.hpp"

namespace tether::testing {

class SimulatedClock final : public port::Clock {
 public:
  explicit SimulatedClock(Milliseconds start = Milliseconds(1000)) : now_(start) {}

  void advance(Milliseconds delta) { now_ += delta; }
  void set_now(Milliseconds now) { now_ = now; }
  /// Makes wall time valid (epoch milliseconds at the current monotonic instant).
  void set_wall_time_ms(std::int64_t epoch_ms) {
    wall_valid_ = true;
    wall_offset_ms_ = epoch_ms - now_.count();
  }
  /// Makes wall time invalid again (as before NTP sync).
  void invalidate_wall_time() { wall_valid_ = false; }

 private:
  Milliseconds do_now() const override { return now_; }
  Result<std::int64_t> do_wall_time_ms() const override {
    if (!wall_valid_) return Status(StatusCode::kUnavailable, Origin::kOs);
    return now_.count() + wall_offset_ms_;
  }

  Milliseconds now_;
  bool wall_valid_ = false;
  std::int64_t wall_offset_ms_ = 0;
};

}  // namespace tether::testing
