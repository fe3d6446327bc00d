// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// PosixClock: CLOCK_MONOTONIC for timers, CLOCK_REALTIME for wall time. Wall time counts as not yet
/// valid while the clock reads earlier than Tether's build year (a board without RTC boots in 1970
/// until NTP has run).

#include "tether/port/clock.hpp"

namespace tether::port {

class PosixClock final : public Clock {
 private:
  Milliseconds do_now() const override;
  Result<std::int64_t> do_wall_time_ms() const override;
};

/// 64 bits from the kernel's random source (getrandom), for seeds such as the backoff jitter.
/// Falls back to mixing the clocks and the pid if getrandom is unavailable.
std::uint64_t random_seed();

}  // namespace tether::port
