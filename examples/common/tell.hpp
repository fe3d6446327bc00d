// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// examples::tell(): the example programs' own lines on stderr, at a syslog priority. A header of its
// own (C library only) so that code outside the agent's loop, such as tether-agent's terminate
// handler, can use it without the rest of example_support.hpp.

#include <syslog.h>

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace tether::examples {

/// One line for whoever runs the program, on stderr (`format` ends with its "\n"), at a syslog
/// priority: LOG_CRIT, LOG_ERR, LOG_WARNING or LOG_INFO. Under systemd (JOURNAL_STREAM: stderr is the journal)
/// the line starts with "<priority>", which journald records as the entry's priority, as
/// StderrLogSink does for log lines, so `journalctl -p err` shows the errors; elsewhere the text
/// alone. One write, so that a line is not cut by one from another thread.
inline void tell(int priority, const char* format, ...) __attribute__((format(printf, 2, 3)));
inline void tell(int priority, const char* format, ...) {
  char line[1024];
  int used = std::getenv("JOURNAL_STREAM") != nullptr ? std::snprintf(line, sizeof line, "<%d>", priority) : 0;
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(line + used, sizeof line - static_cast<std::size_t>(used), format, args);
  va_end(args);
  if (n < 0) return;
  used += n;
  if (static_cast<std::size_t>(used) >= sizeof line) {  // cut: end it with its newline
    used = sizeof line - 1;
    line[used - 1] = '\n';
  }
  std::fwrite(line, 1, static_cast<std::size_t>(used), stderr);
}

}  // namespace tether::examples
