// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// LogSink port: where Tether's structured log lines go (stderr, journald, a UART, a ring buffer).

#include <cstdint>
#include <string_view>

#include "tether/status.hpp"

namespace tether {

enum class LogLevel : std::uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

const char* to_string(LogLevel level);

/// One log line. `message` is only valid during `LogSink::write`. `status` is ok() for lines that
/// do not report an error; otherwise it carries the origin layer and backend code.
struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  Origin origin = Origin::kNone;
  Status status;
  std::string_view message;
};

namespace port {

/// Receives log lines. Called only from the thread that owns the Tether core (and, for ports that
/// document it, from their own threads: implementations shared with such ports must be thread-safe).
/// Must not call back into Tether. Never receives secrets: Tether does not log keys, PINs or tokens.
class LogSink {
 public:
  virtual ~LogSink() = default;
  void write(const LogRecord& record) { do_write(record); }

 private:
  virtual void do_write(const LogRecord& record) = 0;
};

}  // namespace port
}  // namespace tether
