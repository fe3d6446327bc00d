// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Board support for the Arm MPS2 AN386 (Cortex-M4F, 25 MHz) as QEMU models it: a 1 kHz SysTick
/// behind tether::port::Clock and a LogSink that prints over semihosting. The same two classes are
/// what a real board needs (a timer and a UART or RTT instead of semihosting).

#include <cstdint>

#include "tether/port/clock.hpp"
#include "tether/port/log_sink.hpp"

namespace mps2 {

/// Core clock of the AN386 image (and of QEMU's model of it).
inline constexpr std::uint32_t kCpuHz = 25'000'000;

/// Milliseconds since reset, counted by the SysTick interrupt (64 bits: never wraps).
std::uint64_t uptime_ms();

/// Monotonic time from SysTick. No RTC on this board: wall time is kUnavailable/kOs until the
/// application learns it (from the cloud, for instance) and calls set_wall_time_ms().
class BoardClock final : public tether::port::Clock {
 public:
  /// Wall time is now `epoch_ms` and advances with the monotonic clock from here on.
  void set_wall_time_ms(std::int64_t epoch_ms);

 private:
  tether::Milliseconds do_now() const override;
  tether::Result<std::int64_t> do_wall_time_ms() const override;

  bool wall_valid_ = false;
  std::int64_t wall_offset_ms_ = 0;
};

/// Prints each line to the semihosting console (stdout through newlib's librdimon) as
/// "<uptime> <level> <origin>: <message> [<status>]".
class SemihostingLogSink final : public tether::port::LogSink {
 private:
  void do_write(const tether::LogRecord& record) override;
};

}  // namespace mps2
