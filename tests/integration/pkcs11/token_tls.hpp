// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// What the tests that connect with a key inside a PKCS#11 token share (pkcs11/tls_key_test.cpp,
// provisioning/provision_test.cpp): a round trip through the test broker that proves the broker
// took the certificate's identity.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "../broker_fixture.hpp"
#include "../mqtt_harness.hpp"
#include "test_support.hpp"  // operator<< for Status
#include "tether/port/paho/paho_mqtt_client.hpp"

namespace tether::test {

/// MQTT connect options for a test client: `client_id`, keep-alive 30 s, 5 s to connect.
inline ConnectOptions tls_connect_options(std::string_view client_id) {
  using namespace std::chrono_literals;
  ConnectOptions options;
  options.client_id = client_id;
  options.keep_alive_s = 30;
  options.connect_timeout = 5s;
  return options;
}

/// Connects as `device` with `cert_file` and `key_file` (a key file, or the URI PEM
/// enable_pkcs11_tls_key() wrote), then proves the broker took the certificate's identity: its ACL
/// lets `things/<CN>/#` through for that user only, and a message on `things/<device>/echo` comes
/// back.
inline void round_trip_as(const TestBroker& broker, const std::string& device, const std::string& cert_file,
                          const std::string& key_file) {
  port::PahoSettings settings = broker.client_settings("device-1");
  settings.cert_file = cert_file;
  settings.key_file = key_file;
  port::PahoMqttClient client(settings);
  Recorder recorder;
  client.set_listener(&recorder);
  const Status connected = connect_and_wait(client, recorder, tls_connect_options(device));
  INFO("connect: " << connected << "\nbroker log:\n" << broker.log_tail());
  REQUIRE(connected.ok());
  const std::string topic = "things/" + device + "/echo";
  auto sub = client.subscribe(topic, Qos::k1);
  REQUIRE(sub.ok());
  REQUIRE(poll_until({&client}, [&] { return recorder.subscriptions.count(*sub) == 1; }));
  REQUIRE(recorder.subscriptions[*sub].first.ok());
  OutgoingMessage message;
  message.topic = topic;
  message.payload = Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("signed in the token"), 19);
  message.qos = Qos::k1;
  auto pub = client.publish(message);
  REQUIRE(pub.ok());
  REQUIRE(poll_until({&client}, [&] { return recorder.count_messages(topic) == 1; }));
  CHECK(recorder.messages.back().payload == "signed in the token");
}

}  // namespace tether::test
