// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Logging front end: formats into a fixed buffer (no heap) and hands a LogRecord to the LogSink.
///
/// The compile-time level `TETHER_LOG_LEVEL` (0 error .. 4 trace, default 3 debug; -1 none)
/// removes the calls above it from the binary, format strings included; `Logger::set_level` filters
/// at run time below that.

#include <cstdarg>

#include "tether/port/log_sink.hpp"

#ifndef TETHER_LOG_LEVEL
#define TETHER_LOG_LEVEL 3
#endif

#if defined(__GNUC__)
#define TETHER_PRINTF_FORMAT(fmt_index, args_index) __attribute__((format(printf, fmt_index, args_index)))
#else
#define TETHER_PRINTF_FORMAT(fmt_index, args_index)
#endif

namespace tether {

class Logger {
 public:
  explicit Logger(port::LogSink* sink = nullptr, LogLevel level = LogLevel::kInfo)
      : sink_(sink), level_(level) {}

  void set_sink(port::LogSink* sink) { sink_ = sink; }
  void set_level(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  bool enabled(LogLevel level) const {
    return sink_ != nullptr && static_cast<int>(level) <= static_cast<int>(level_);
  }

  /// Formats and writes one line. A message longer than kLogLine bytes is cut and ends in "...".
  void log(LogLevel level, Origin origin, Status status, const char* format, ...) const
      TETHER_PRINTF_FORMAT(5, 6);

 private:
  port::LogSink* sink_;
  LogLevel level_;
};

}  // namespace tether

#define TETHER_LOG_AT_(logger, lvl, lvl_num, origin, status, ...)                   \
  do {                                                                              \
    if constexpr (TETHER_LOG_LEVEL >= (lvl_num)) {                                  \
      if ((logger).enabled(lvl)) (logger).log(lvl, origin, status, __VA_ARGS__);    \
    }                                                                               \
  } while (0)

/// TETHER_LOG_ERROR(logger, origin, status, "fmt", ...): a failure the application should see.
#define TETHER_LOG_ERROR(logger, origin, status, ...) \
  TETHER_LOG_AT_(logger, ::tether::LogLevel::kError, 0, origin, status, __VA_ARGS__)
#define TETHER_LOG_WARN(logger, origin, status, ...) \
  TETHER_LOG_AT_(logger, ::tether::LogLevel::kWarn, 1, origin, status, __VA_ARGS__)
#define TETHER_LOG_INFO(logger, origin, ...) \
  TETHER_LOG_AT_(logger, ::tether::LogLevel::kInfo, 2, origin, ::tether::Status(), __VA_ARGS__)
#define TETHER_LOG_DEBUG(logger, origin, ...) \
  TETHER_LOG_AT_(logger, ::tether::LogLevel::kDebug, 3, origin, ::tether::Status(), __VA_ARGS__)
#define TETHER_LOG_TRACE(logger, origin, ...) \
  TETHER_LOG_AT_(logger, ::tether::LogLevel::kTrace, 4, origin, ::tether::Status(), __VA_ARGS__)
