// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/log.hpp"

#include <cstdio>
#include <cstring>

#include "tether/limits.hpp"

namespace tether {

void Logger::log(LogLevel level, Origin origin, Status status, const char* format, ...) const {
  if (!enabled(level)) return;
  char buf[kLogLine + 1];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  std::size_t len = 0;
  if (n > 0) len = static_cast<std::size_t>(n);
  if (len >= sizeof buf) {  // cut: say so rather than pretend the line is whole
    len = sizeof buf - 1;
    std::memcpy(buf + len - 3, "...", 3);
  }
  LogRecord record;
  record.level = level;
  record.origin = origin;
  record.status = status;
  record.message = std::string_view(buf, len);
  sink_->write(record);
}

}  // namespace tether
