// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// FakeMetricsSource: a MetricsSource whose device the test edits (`device`), with scripted
/// failures. Each snapshot() copies `device`, stamped with the clock's time when one is given.

#include "tether/port/clock.hpp"
#include "tether/port/metrics_source.hpp"

namespace tether::testing {

class FakeMetricsSource final : public port::MetricsSource {
 public:
  explicit FakeMetricsSource(const port::Clock* clock = nullptr) : clock_(clock) {}

  /// What the next snapshots show.
  metrics::Snapshot device;
  /// The next snapshot() returns this (after filling `out`); ok = no failure.
  Status fail_next;
  std::size_t calls = 0;

 private:
  Status do_snapshot(metrics::Snapshot& out) override {
    ++calls;
    out = device;
    if (clock_ != nullptr) out.taken_at = clock_->now();
    const Status result = fail_next;
    fail_next = Status();
    return result;
  }

  const port::Clock* clock_;
};

}  // namespace tether::testing
