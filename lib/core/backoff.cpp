// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/backoff.hpp"

namespace tether {
namespace {
// MQTT 5 reason codes that retrying soon cannot fix.
constexpr std::uint16_t kReasonClientIdNotValid = 0x85;
constexpr std::uint16_t kReasonBanned = 0x8A;
constexpr std::uint16_t kReasonSessionTakenOver = 0x8E;
}  // namespace

FailureClass classify_failure(Status reason) {
  switch (reason.code()) {
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kInvalidArgument:
      return FailureClass::kFatal;
    default:
      break;
  }
  if (reason.origin() == Origin::kMqtt) {
    switch (reason.detail()) {
      case kReasonClientIdNotValid:
      case kReasonBanned:
      case kReasonSessionTakenOver:
        return FailureClass::kFatal;
      default:
        break;
    }
  }
  return FailureClass::kTransient;
}

std::uint64_t Prng::next() {
  // SplitMix64 (Steele, Lea, Flood 2014): tiny state, good enough for jitter, not for crypto.
  state_ += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t Prng::uniform(std::uint64_t bound) {
  if (bound == 0) return 0;
  if (bound == UINT64_MAX) return next();
  // Rejection sampling keeps the distribution exactly uniform.
  const std::uint64_t range = bound + 1;
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return x % range;
}

Milliseconds Backoff::exponential(Milliseconds initial, Milliseconds cap, std::uint32_t n) {
  const auto base = initial.count() > 0 ? initial.count() : 1;
  auto value = base;
  for (std::uint32_t i = 0; i < n && value < cap.count(); ++i) value *= 2;
  return Milliseconds(value < cap.count() ? value : cap.count());
}

Milliseconds Backoff::next_delay(FailureClass kind) {
  if (kind == FailureClass::kFatal) {
    const Milliseconds d = exponential(settings_.fatal_initial, settings_.fatal_max, fatal_count_);
    if (fatal_count_ < UINT32_MAX) ++fatal_count_;
    const auto half = static_cast<std::uint64_t>(d.count()) / 2;
    return Milliseconds(static_cast<Milliseconds::rep>(half + prng_.uniform(static_cast<std::uint64_t>(d.count()) - half)));
  }
  const Milliseconds d = exponential(settings_.initial, settings_.max, transient_count_);
  if (transient_count_ < UINT32_MAX) ++transient_count_;
  return Milliseconds(static_cast<Milliseconds::rep>(prng_.uniform(static_cast<std::uint64_t>(d.count()))));
}

void Backoff::reset() {
  transient_count_ = 0;
  fatal_count_ = 0;
}

}  // namespace tether
