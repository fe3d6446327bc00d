// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// StderrLogSink: one line per record on stderr:
/// `2026-11-22T11:40:01.123Z warn  agent: connect failed (...) [unavailable/socket/111]`.
/// Under systemd (JOURNAL_STREAM set) the timestamp is left out and a `<N>` syslog priority prefix
/// is written instead, so journald records the right level. Thread-safe (one write per line).

#include "tether/port/log_sink.hpp"

namespace tether::port {

class StderrLogSink final : public LogSink {
 public:
  StderrLogSink();

 private:
  void do_write(const LogRecord& record) override;
  bool journald_;
};

}  // namespace tether::port
