// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Reconnect backoff: capped exponential backoff with full jitter for transient failures, and a
/// long, separately capped backoff for failures that retrying soon cannot fix (identity refused,
/// not authorized, client id taken by another device).

#include <cstdint>

#include "tether/port/clock.hpp"
#include "tether/status.hpp"

namespace tether {

struct BackoffSettings {
  Milliseconds initial{1000};        ///< first transient retry: uniform in [0, initial]
  Milliseconds max{120000};          ///< transient cap (before jitter)
  Milliseconds fatal_initial{300000};  ///< first retry after a fatal-class failure (5 min)
  Milliseconds fatal_max{3600000};   ///< fatal-class cap (1 h)
};

/// How a connection failure should be retried.
enum class FailureClass : std::uint8_t {
  kTransient,  ///< network, broker restart, timeout: retry soon with full jitter
  kFatal,      ///< identity refused, not authorized, bad TLS material, client id conflict
};

/// Classifies a connection failure reason (ConnectionEvent::reason).
/// kFatal: kUnauthenticated, kPermissionDenied, kInvalidArgument (bad configuration or material),
/// kAborted/kMqtt/0x8E (session taken over: another client uses our client id),
/// kMqtt reason 0x85 (client identifier not valid) and 0x8A (banned). Everything else: kTransient.
FailureClass classify_failure(Status reason);

/// A deterministic small PRNG (SplitMix64) for jitter; seed it from a real entropy source.
class Prng {
 public:
  explicit Prng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, bound] (inclusive); 0 when bound is 0.
  std::uint64_t uniform(std::uint64_t bound);

 private:
  std::uint64_t state_;
};

class Backoff {
 public:
  Backoff(const BackoffSettings& settings, std::uint64_t seed) : settings_(settings), prng_(seed) {}

  /// The delay before the next attempt after a failure of class `kind`, and counts the attempt.
  /// Transient: uniform in [0, min(max, initial * 2^n)] (full jitter), n = consecutive transient
  /// failures so far. Fatal: d = min(fatal_max, fatal_initial * 2^m), uniform in [d/2, d]
  /// (never short), m = consecutive fatal failures so far.
  Milliseconds next_delay(FailureClass kind);

  /// Starts over from the initial delays. The agent calls it when a connection that lasted at least
  /// Agent::kStableConnection ends (a connection that drops at once keeps escalating).
  void reset();

  std::uint32_t consecutive_failures() const { return transient_count_ + fatal_count_; }
  const BackoffSettings& settings() const { return settings_; }

 private:
  static Milliseconds exponential(Milliseconds initial, Milliseconds cap, std::uint32_t n);

  BackoffSettings settings_;
  Prng prng_;
  std::uint32_t transient_count_ = 0;
  std::uint32_t fatal_count_ = 0;
};

}  // namespace tether
