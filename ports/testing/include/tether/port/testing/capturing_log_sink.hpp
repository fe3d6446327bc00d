// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// CapturingLogSink: keeps every log line so tests can assert on what was logged.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tether/port/log_sink.hpp"

namespace tether::testing {

struct CapturedLine {
  LogLevel level;
  Origin origin;
  Status status;
  std::string message;
};

class CapturingLogSink final : public port::LogSink {
 public:
  /// With `echo`, lines are also printed to stderr (handy when a test fails).
  explicit CapturingLogSink(bool echo = false) : echo_(echo) {}

  const std::vector<CapturedLine>& lines() const { return lines_; }
  /// Number of lines at `level` whose message contains `text`.
  std::size_t count(LogLevel level, std::string_view text = {}) const;
  /// True if any line (any level) contains `text`.
  bool contains(std::string_view text) const;
  void clear() { lines_.clear(); }

 private:
  void do_write(const LogRecord& record) override;

  bool echo_;
  std::vector<CapturedLine> lines_;
};

}  // namespace tether::testing
