// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/testing/capturing_log_sink.hpp"

#include <cstdio>

namespace tether::testing {

void CapturingLogSink::do_write(const LogRecord& record) {
  lines_.push_back(CapturedLine{record.level, record.origin, record.status, std::string(record.message)});
  if (echo_) {
    std::fprintf(stderr, "[%s] %s: %.*s\n", to_string(record.level), to_string(record.origin),
                 static_cast<int>(record.message.size()), record.message.data());
  }
}

std::size_t CapturingLogSink::count(LogLevel level, std::string_view text) const {
  std::size_t n = 0;
  for (const CapturedLine& line : lines_) {
    if (line.level == level && line.message.find(text) != std::string::npos) ++n;
  }
  return n;
}

bool CapturingLogSink::contains(std::string_view text) const {
  for (const CapturedLine& line : lines_) {
    if (line.message.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace tether::testing
