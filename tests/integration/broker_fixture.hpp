// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// A real mosquitto with mutual TLS and per-device ACLs for the integration tests, started by
// scripts/test-broker.sh in a fresh temporary directory and always stopped and removed again.

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/port/paho/paho_mqtt_client.hpp"

namespace tether::test {

class TestBroker {
 public:
  /// Which certificate the broker presents.
  enum class ServerCert {
    kGood,       ///< server.crt: CN/SAN localhost, 127.0.0.1, issued by ca.crt
    kWrongHost,  ///< server-wronghost.crt: issued by ca.crt, but for wrong.example only
    kOtherCa,    ///< server-otherca.crt: localhost, but issued by an unrelated CA
  };

  /// Starts the broker. Fails the current test (loudly, never a silent skip) when mosquitto or
  /// openssl is missing or the broker does not start.
  explicit TestBroker(ServerCert cert = ServerCert::kGood);
  /// Stops the broker and removes its directory (certificates, keys, logs).
  ~TestBroker();

  TestBroker(const TestBroker&) = delete;
  TestBroker& operator=(const TestBroker&) = delete;

  /// Stops the broker (clients see their connection end).
  void stop();
  /// Starts it again on the same port with the same certificates.
  void restart();

  const std::string& dir() const { return dir_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  /// Absolute path of a file in the broker directory ("ca.crt", "devices/device-1.key").
  std::string path(std::string_view relative) const;

  /// Client settings for devices/<device>.crt/.key (or "cloudsim" for the privileged client),
  /// trusting ca.crt.
  port::PahoSettings client_settings(std::string_view device) const;

  /// The last lines of mosquitto's log (for failure messages).
  std::string log_tail() const;

 private:
  void run_script(std::string_view command);
  void discard();
  void read_env();

  std::string script_;
  std::string dir_;
  std::string host_;
  std::string server_cert_;
  std::uint16_t port_ = 0;
};

}  // namespace tether::test
