// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "board.hpp"

#include <cstdio>

extern "C" {
void board_init(void);       // startup.c calls it before the static constructors
void SysTick_Handler(void);  // in the vector table (startup.c)
}

namespace mps2 {
namespace {

// SysTick (ARMv7-M architecture, the same on every Cortex-M).
struct SysTickRegs {
  volatile std::uint32_t ctrl;
  volatile std::uint32_t load;
  volatile std::uint32_t val;
  volatile std::uint32_t calib;
};
SysTickRegs* const kSysTick = reinterpret_cast<SysTickRegs*>(0xE000E010u);
constexpr std::uint32_t kSysTickEnable = 1u << 0;
constexpr std::uint32_t kSysTickInterrupt = 1u << 1;
constexpr std::uint32_t kSysTickCpuClock = 1u << 2;

volatile std::uint64_t g_ticks_ms = 0;

}  // namespace

std::uint64_t uptime_ms() {
  // A 64-bit load is two loads on a 32-bit core: keep the SysTick interrupt out in between.
  std::uint32_t primask;
  __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
  const std::uint64_t ticks = g_ticks_ms;
  __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
  return ticks;
}

void BoardClock::set_wall_time_ms(std::int64_t epoch_ms) {
  wall_offset_ms_ = epoch_ms - static_cast<std::int64_t>(uptime_ms());
  wall_valid_ = true;
}

tether::Milliseconds BoardClock::do_now() const { return tether::Milliseconds(uptime_ms()); }

tether::Result<std::int64_t> BoardClock::do_wall_time_ms() const {
  if (!wall_valid_) return tether::Status(tether::StatusCode::kUnavailable, tether::Origin::kOs);
  return wall_offset_ms_ + static_cast<std::int64_t>(uptime_ms());
}

void SemihostingLogSink::do_write(const tether::LogRecord& record) {
  char status[64] = "";
  if (!record.status.ok()) tether::format_status(record.status, status, sizeof status);
  // newlib-nano's printf has no %ll: milliseconds as unsigned long (wraps after 49 days, in logs only).
  std::printf("%8lu %-5s %s: %.*s%s%s%s\n", static_cast<unsigned long>(uptime_ms()),
              tether::to_string(record.level), tether::to_string(record.origin),
              static_cast<int>(record.message.size()), record.message.data(), status[0] ? " [" : "", status,
              status[0] ? "]" : "");
}

}  // namespace mps2

// Called by Reset_Handler (startup.c) before the static constructors: SysTick at 1 kHz from the core clock.
extern "C" void board_init(void) {
  using namespace mps2;
  kSysTick->load = kCpuHz / 1000 - 1;
  kSysTick->val = 0;
  kSysTick->ctrl = kSysTickEnable | kSysTickInterrupt | kSysTickCpuClock;
}

extern "C" void SysTick_Handler(void) { mps2::g_ticks_ms = mps2::g_ticks_ms + 1; }
