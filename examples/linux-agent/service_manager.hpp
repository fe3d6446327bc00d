// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// tether-agent under systemd (Type=notify): READY=1 once the agent has started its first
// connection attempt, WATCHDOG=1 from the agent loop at half the unit's WatchdogSec=, STOPPING=1
// on the way out. Outside systemd (NOTIFY_SOCKET unset) every call does nothing.
//
// The notification protocol is written here rather than taken from libsystemd: it is one datagram
// on the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract namespace), and
// systemd documents it as a stable interface meant to be reimplemented (sd_notify(3), "Notes";
// systemd.io/PORTABILITY_AND_STABILITY). libsystemd would map six more shared libraries (lz4, zstd,
// lzma, gcrypt, gpg-error, cap) into the agent for it: about 1 MB of resident memory
// (docs/memory.md). tests/integration/linux_agent_test.cpp checks the datagrams.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace tether::agent_app {

class ServiceManager {
 public:
  /// Reads what systemd set for this process: NOTIFY_SOCKET, WATCHDOG_USEC (and WATCHDOG_PID,
  /// which must be this process when set).
  ServiceManager() {
    const char* socket_path = std::getenv("NOTIFY_SOCKET");
    if (socket_path != nullptr && (socket_path[0] == '/' || socket_path[0] == '@') &&
        std::strlen(socket_path) < sizeof address_.sun_path) {
      address_.sun_family = AF_UNIX;
      address_length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(socket_path));
      std::memcpy(address_.sun_path, socket_path, std::strlen(socket_path));
      if (address_.sun_path[0] == '@') {
        address_.sun_path[0] = '\0';  // abstract namespace: no terminating NUL in the length
      } else {
        ++address_length_;
      }
      fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    const char* usec_text = std::getenv("WATCHDOG_USEC");
    const char* pid_text = std::getenv("WATCHDOG_PID");
    const bool for_us = pid_text == nullptr || std::strtol(pid_text, nullptr, 10) == static_cast<long>(::getpid());
    if (fd_ >= 0 && usec_text != nullptr && for_us) {
      char* end = nullptr;
      const unsigned long long usec = std::strtoull(usec_text, &end, 10);
      if (end != usec_text && *end == '\0' && usec > 0) {
        watchdog_period_ = std::chrono::milliseconds(static_cast<std::int64_t>(usec / 2000));
        if (watchdog_period_.count() == 0) watchdog_period_ = std::chrono::milliseconds(1);
      }
    }
  }
  ~ServiceManager() {
    if (fd_ >= 0) ::close(fd_);
  }
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;

  /// READY=1 with a status line.
  void ready(const char* status) {
    char message[256];
    std::snprintf(message, sizeof message, "READY=1\nSTATUS=%s", status);
    notify(message);
  }

  /// WATCHDOG=1, at most once per half watchdog interval; `now` is the monotonic clock.
  void alive(std::chrono::milliseconds now) {
    if (watchdog_period_.count() == 0 || now < next_ping_) return;
    next_ping_ = now + watchdog_period_;
    notify("WATCHDOG=1");
  }

  void stopping() { notify("STOPPING=1"); }

  /// The watchdog interval halved (0: no watchdog).
  std::chrono::milliseconds watchdog_period() const { return watchdog_period_; }

 private:
  // One datagram; a lost one is not an error the agent can act on (systemd restarts a unit whose
  // watchdog pings stop arriving, which is the point).
  void notify(std::string_view message) {
    if (fd_ < 0) return;
    (void)::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address_),
                   address_length_);
  }

  int fd_ = -1;
  sockaddr_un address_{};
  socklen_t address_length_ = 0;
  std::chrono::milliseconds watchdog_period_{0};
  std::chrono::milliseconds next_ping_{0};
};

}  // namespace tether::agent_app
