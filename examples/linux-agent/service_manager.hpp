// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// tether-agent under systemd (Type=notify): READY=1 once the agent has started its first
// connection attempt, WATCHDOG=1 from the agent loop at half the unit's WatchdogSec=, STOPPING=1
// on the way out. Built with libsystemd (pkg-config `libsystemd`) when TETHER_AGENT_HAVE_SYSTEMD
// is defined; without it every call does nothing (the build says so). Outside systemd
// (NOTIFY_SOCKET unset) sd_notify does nothing either.

#include <chrono>
#include <cstdint>

#if defined(TETHER_AGENT_HAVE_SYSTEMD)
#include <systemd/sd-daemon.h>
#endif

namespace tether::agent_app {

class ServiceManager {
 public:
  /// Reads the watchdog interval systemd set for this process (WATCHDOG_USEC/WATCHDOG_PID).
  ServiceManager() {
#if defined(TETHER_AGENT_HAVE_SYSTEMD)
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      watchdog_period_ = std::chrono::milliseconds(static_cast<std::int64_t>(usec / 2000));
      if (watchdog_period_.count() == 0) watchdog_period_ = std::chrono::milliseconds(1);
    }
#endif
  }

  /// READY=1 with a status line.
  void ready(const char* status) {
#if defined(TETHER_AGENT_HAVE_SYSTEMD)
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
#else
    (void)status;
#endif
  }

  /// WATCHDOG=1, at most once per half watchdog interval; `now` is the monotonic clock.
  void alive(std::chrono::milliseconds now) {
    if (watchdog_period_.count() == 0 || now < next_ping_) return;
    next_ping_ = now + watchdog_period_;
#if defined(TETHER_AGENT_HAVE_SYSTEMD)
    sd_notify(0, "WATCHDOG=1");
#endif
  }

  void stopping() {
#if defined(TETHER_AGENT_HAVE_SYSTEMD)
    sd_notify(0, "STOPPING=1");
#endif
  }

  /// The watchdog interval halved (0: no watchdog).
  std::chrono::milliseconds watchdog_period() const { return watchdog_period_; }

 private:
  std::chrono::milliseconds watchdog_period_{0};
  std::chrono::milliseconds next_ping_{0};
};

}  // namespace tether::agent_app
