// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// What the in-process device rigs of the integration tests share: running the agent for a while or
// until a condition holds, and the tail of the device's log for failure messages.

#include <chrono>
#include <cstddef>
#include <functional>
#include <ostream>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"

namespace tether::test {

/// Runs `agent` for `duration` (turns of at most 20 ms).
inline void run_agent_for(Agent& agent, std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) agent.run_once(std::chrono::milliseconds(20)).ignore();
}

/// Runs `agent` until `done()` (checked every 50 ms) or `timeout`; false on the timeout.
inline bool run_agent_until(Agent& agent, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    run_agent_for(agent, std::chrono::milliseconds(50));
  }
  return true;
}

/// The last `count` lines of `log`, one per line with level and status, after a heading.
inline void write_log_tail(std::ostream& out, const testing::CapturingLogSink& log, std::size_t count = 40) {
  const auto& lines = log.lines();
  const std::size_t from = lines.size() > count ? lines.size() - count : 0;
  out << "device log (last " << (lines.size() - from) << " of " << lines.size() << " lines):\n";
  for (std::size_t i = from; i < lines.size(); ++i) {
    out << "  " << to_string(lines[i].level) << " " << lines[i].message;
    if (!lines[i].status.ok()) out << " (" << lines[i].status << ")";
    out << "\n";
  }
}

}  // namespace tether::test
