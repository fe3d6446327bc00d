// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// LinuxMetricsSource with its default settings on this machine: the listeners and the connection
// the test opens must be in the snapshot.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "test_support.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"

namespace tether::port {
namespace {

using metrics::IpAddress;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string loopback_name() {
  ifaddrs* list = nullptr;
  REQUIRE(getifaddrs(&list) == 0);
  std::string name;
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if ((ifa->ifa_flags & IFF_LOOPBACK) != 0 && ifa->ifa_name != nullptr) {
      name = ifa->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  return name;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

bool has_listener(const metrics::Snapshot& snap, std::uint16_t port, const IpAddress& address,
                  const std::string& interface) {
  for (const auto& p : snap.tcp_listen.view()) {
    if (p.port == port && p.address == address && p.interface == interface) return true;
  }
  return false;
}

bool has_connection(const metrics::Snapshot& snap, std::uint16_t remote_port, std::uint16_t local,
                    const std::string& interface) {
  for (const auto& c : snap.connections.view()) {
    if (c.remote == IpAddress::v4(127, 0, 0, 1) && c.remote_port == remote_port && c.local_port == local &&
        c.local_interface == interface) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("on this machine a snapshot shows the loopback listeners and connection the test opened") {
  const std::string lo = loopback_name();
  REQUIRE_FALSE(lo.empty());

  Fd listen4(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listen4.get() >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listen4.get(), reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(::listen(listen4.get(), 4) == 0);
  const std::uint16_t port4 = local_port(listen4.get());
  sin.sin_port = htons(port4);

  Fd listen6(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listen6.get() < 0) FAIL("IPv6 is unavailable here (an AF_INET6 socket: " << std::strerror(errno) << ")");
  const int one = 1;
  REQUIRE(::setsockopt(listen6.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0);
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  const bool bound6 = ::bind(listen6.get(), reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6) == 0;
  if (!bound6) FAIL("IPv6 is unavailable here (bind to [::1] failed: " << std::strerror(errno) << ")");
  REQUIRE(::listen(listen6.get(), 4) == 0);
  const std::uint16_t port6 = local_port(listen6.get());

  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(client.get() >= 0);
  REQUIRE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0);
  Fd server(::accept4(listen4.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(server.get() >= 0);
  const std::uint16_t client_port = local_port(client.get());

  // The default settings; on a machine with more sockets than the lists hold, other seeds until
  // the sample includes ours (each try keeps a given entry with probability capacity / total).
  metrics::Snapshot snap;
  bool found = false;
  for (std::uint64_t attempt = 0; attempt < 300 && !found; ++attempt) {
    LinuxMetricsSourceSettings settings;
    if (attempt > 0) settings.seed = attempt;
    LinuxMetricsSource source(settings);
    const Status status = source.snapshot(snap);
    INFO(source.last_error());
    REQUIRE(status == ok_status());
    found = has_listener(snap, port4, IpAddress::v4(127, 0, 0, 1), lo) &&
            has_listener(snap, port6, *metrics::parse_address("::1"), lo) &&
            has_connection(snap, port4, client_port, lo) && has_connection(snap, client_port, port4, lo);
    if (!found && !snap.tcp_listen.truncated() && !snap.connections.truncated()) break;  // not sampling: missing
  }
  INFO("127.0.0.1:" << port4 << ", [::1]:" << port6 << ", client port " << client_port << ", loopback " << lo
                    << "; listeners " << snap.tcp_listen.total << ", connections " << snap.connections.total);
  CHECK(has_listener(snap, port4, IpAddress::v4(127, 0, 0, 1), lo));
  CHECK(has_listener(snap, port6, *metrics::parse_address("::1"), lo));
  CHECK(has_connection(snap, port4, client_port, lo));  // the client's side
  CHECK(has_connection(snap, client_port, port4, lo));  // the accepted side
  CHECK(snap.tcp_listen.total >= 2);
  CHECK(snap.connections.total >= 2);

  bool loopback_up = false;
  for (const auto& i : snap.interfaces.view()) {
    if (i.name == lo) loopback_up = i.up && i.loopback;
  }
  CHECK(loopback_up);
  CHECK(snap.extras.process_count >= 1);
  CHECK(snap.extras.memory_total_bytes > 0);
  CHECK(snap.extras.memory_available_bytes <= snap.extras.memory_total_bytes);
  CHECK(snap.taken_at.count() > 0);
}

}  // namespace tether::port
