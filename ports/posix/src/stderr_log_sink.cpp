// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/stderr_log_sink.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tether/limits.hpp"

namespace tether::port {
namespace {
int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return 3;
    case LogLevel::kWarn: return 4;
    case LogLevel::kInfo: return 6;
    default: return 7;
  }
}
}  // namespace

StderrLogSink::StderrLogSink() : journald_(std::getenv("JOURNAL_STREAM") != nullptr) {}

void StderrLogSink::do_write(const LogRecord& record) {
  char line[kLogLine + 160];
  int n = 0;
  if (journald_) {
    n = std::snprintf(line, sizeof line, "<%d>%s: ", syslog_priority(record.level), to_string(record.origin));
  } else {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1000000,
                      to_string(record.level), to_string(record.origin));
  }
  if (n < 0) return;
  std::size_t used = static_cast<std::size_t>(n);
  auto append = [&](const char* text, std::size_t len) {
    const std::size_t room = sizeof line - 1 - (used < sizeof line - 1 ? used : sizeof line - 1);
    if (len > room) len = room;
    std::memcpy(line + sizeof line - 1 - room, text, len);
    used = sizeof line - 1 - room + len;
  };
  append(record.message.data(), record.message.size());
  if (!record.status.ok()) {
    char status[48];
    format_status(record.status, status, sizeof status);
    append(" [", 2);
    append(status, std::strlen(status));
    append("]", 1);
  }
  line[used++] = '\n';
  // One write(2) per line keeps lines from different threads whole.
  ssize_t written = ::write(STDERR_FILENO, line, used);
  (void)written;
}

}  // namespace tether::port
