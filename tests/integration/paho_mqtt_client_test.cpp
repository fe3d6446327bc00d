// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// PahoMqttClient against a real mosquitto: mutual TLS, per-device ACLs, MQTT 5 and 3.1.1.

#include "tether/port/paho/paho_mqtt_client.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "broker_fixture.hpp"
#include "mqtt_harness.hpp"
#include "test_support.hpp"
#include "tether/port/log_sink.hpp"

namespace tether {
namespace {

using port::PahoMqttClient;
using port::PahoSettings;
using test::connect_and_wait;
using test::poll_until;
using test::Recorder;
using test::TestBroker;
using namespace std::chrono_literals;

// Keeps the log lines a client wrote (all from the test thread: the port never logs from Paho's).
class LogLines final : public port::LogSink {
 public:
  std::vector<std::string> lines;
  bool contains(std::string_view text) const {
    for (const auto& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  void do_write(const LogRecord& record) override {
    char status[64];
    lines.push_back(std::string(to_string(record.level)) + " [" + format_status(record.status, status, sizeof status) +
                    "] " + std::string(record.message));
  }
};

ConnectOptions options_for(std::string_view client_id, MqttVersion version = MqttVersion::k5) {
  ConnectOptions options;
  options.client_id = client_id;
  options.version = version;
  options.keep_alive_s = 30;
  options.connect_timeout = 5s;
  return options;
}

// A connected client with its recorder.
struct Device {
  Device(const TestBroker& broker, std::string_view device, std::string_view client_id,
         MqttVersion version = MqttVersion::k5, PahoSettings settings_override = PahoSettings())
      : client(settings_override.host.empty() ? broker.client_settings(device) : std::move(settings_override), &log) {
    client.set_listener(&recorder);
    const Status status = connect_and_wait(client, recorder, options_for(client_id, version));
    INFO("connect " << client_id << ": " << status);
    REQUIRE(status.ok());
    REQUIRE(client.connected());
  }

  PacketToken subscribe(std::string_view filter, Qos qos = Qos::k1) {
    auto token = client.subscribe(filter, qos);
    REQUIRE(token.ok());
    REQUIRE(poll_until({&client}, [&] { return recorder.subscriptions.count(*token) == 1; }));
    INFO("subscribe " << filter << ": " << recorder.subscriptions[*token].first);
    REQUIRE(recorder.subscriptions[*token].first.ok());
    return *token;
  }

  void unsubscribe(std::string_view filter) {
    auto token = client.unsubscribe(filter);
    REQUIRE(token.ok());
    REQUIRE(poll_until({&client}, [&] { return recorder.subscriptions.count(*token) == 1; }));
    INFO("unsubscribe " << filter << ": " << recorder.subscriptions[*token].first);
    REQUIRE(recorder.subscriptions[*token].first.ok());
  }

  // Publishes and polls until the completion; returns its status.
  Status publish_and_wait(const OutgoingMessage& message) {
    auto token = client.publish(message);
    if (!token.ok()) return token.status();
    REQUIRE(poll_until({&client}, [&] { return recorder.publishes.count(*token) == 1; }));
    return recorder.publishes[*token];
  }

  LogLines log;
  Recorder recorder;
  PahoMqttClient client;
};

OutgoingMessage message_to(std::string_view topic, std::string_view payload, Qos qos = Qos::k1) {
  OutgoingMessage message;
  message.topic = topic;
  message.payload = as_bytes(payload);
  message.qos = qos;
  return message;
}

// Publishes `count` messages as fast as the client takes them: when it answers
// kResourceExhausted (max_inflight, or the broker's Receive Maximum, reached) it polls, which
// delivers completions and makes room. Returns the tokens in order.
std::vector<PacketToken> publish_burst(Device& publisher, std::string_view topic, std::size_t count,
                                       std::size_t* refusals = nullptr) {
  std::vector<PacketToken> tokens;
  const auto deadline = test::Clock::now() + 60s;
  while (tokens.size() < count) {
    const std::string payload = "message " + std::to_string(tokens.size());
    auto token = publisher.client.publish(message_to(topic, payload, Qos::k1));
    if (token.ok()) {
      tokens.push_back(*token);
      continue;
    }
    INFO("publish " << tokens.size() << ": " << token.status());
    REQUIRE(token.status().code() == StatusCode::kResourceExhausted);
    if (refusals != nullptr) ++*refusals;
    REQUIRE(test::Clock::now() < deadline);
    REQUIRE(publisher.client.poll(20ms).ok());
  }
  return tokens;
}

// A refused connect attempt must end in exactly one kConnectFailed, and the client must then stay
// quiet: no reconnect of its own, no busy loop (poll() really waits).
void check_refused_without_retry(PahoMqttClient& client, Recorder& recorder, Status reason) {
  REQUIRE(recorder.connections.size() == 1);
  CHECK(recorder.connections[0].state == ConnectionState::kConnectFailed);
  CHECK_FALSE(reason.ok());
  CHECK_FALSE(client.connected());
  const auto start = test::Clock::now();
  for (int i = 0; i < 5; ++i) REQUIRE(client.poll(200ms).ok());
  const auto waited = test::Clock::now() - start;
  CHECK(waited >= 900ms);                   // five polls with nothing to deliver waited ~1 s: no spinning
  CHECK(recorder.connections.size() == 1);  // and Paho did not reconnect on its own
}

TEST_CASE("MQTT 5 round trip at QoS 0 and 1 preserves the message properties", "[paho][integration]") {
  TestBroker broker;
  Device subscriber(broker, "device-1", "device-1-sub");
  Device publisher(broker, "device-1", "device-1-pub");
  const PacketToken sub_token = subscriber.subscribe("things/device-1/#", Qos::k1);
  CHECK(subscriber.recorder.subscriptions[sub_token].second == Qos::k1);

  const std::uint8_t correlation[] = {0x00, 0x01, 0xFF, 0x7F};
  const UserProperty user[] = {{"origin", "test"}, {"seq", "42"}, {"origin", "again"}};
  const std::string binary_payload("bin\0ary", 7);
  for (Qos qos : {Qos::k0, Qos::k1}) {
    OutgoingMessage message =
        message_to(qos == Qos::k0 ? "things/device-1/q0" : "things/device-1/q1", binary_payload, qos);
    message.properties.content_type = "application/octet-stream";
    message.properties.message_expiry_s = 300;
    message.properties.response_topic = "things/device-1/reply";
    message.properties.correlation_data = Span<const std::uint8_t>(correlation);
    message.properties.user_properties = Span<const UserProperty>(user);
    REQUIRE(publisher.publish_and_wait(message).ok());
  }
  REQUIRE(poll_until({&subscriber.client}, [&] { return subscriber.recorder.messages.size() == 2; }));

  for (const auto& received : subscriber.recorder.messages) {
    INFO("topic " << received.topic);
    CHECK(received.payload == binary_payload);
    CHECK(received.content_type == "application/octet-stream");
    REQUIRE(received.message_expiry_s.has_value());
    CHECK(*received.message_expiry_s <= 300);  // the broker forwards the remaining lifetime
    CHECK(*received.message_expiry_s >= 290);
    CHECK(received.response_topic == "things/device-1/reply");
    CHECK(received.correlation_data == std::string("\x00\x01\xFF\x7F", 4));
    REQUIRE(received.user_properties.size() == 3);  // order and repeated keys preserved
    CHECK(received.user_properties[0] == std::make_pair(std::string("origin"), std::string("test")));
    CHECK(received.user_properties[1] == std::make_pair(std::string("seq"), std::string("42")));
    CHECK(received.user_properties[2] == std::make_pair(std::string("origin"), std::string("again")));
  }
  CHECK(subscriber.recorder.messages[0].topic == "things/device-1/q0");
  CHECK(subscriber.recorder.messages[0].qos == Qos::k0);
  CHECK(subscriber.recorder.messages[1].topic == "things/device-1/q1");
  CHECK(subscriber.recorder.messages[1].qos == Qos::k1);

  // UNSUBACK under MQTT 5; afterwards nothing more arrives on that filter.
  subscriber.unsubscribe("things/device-1/#");
  subscriber.subscribe("things/device-1/marker", Qos::k0);
  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/q1", "after unsubscribe")).ok());
  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/marker", "marker")).ok());
  REQUIRE(poll_until({&subscriber.client},
                     [&] { return subscriber.recorder.count_messages("things/device-1/marker") == 1; }));
  CHECK(subscriber.recorder.count_messages("things/device-1/q1") == 1);
}

TEST_CASE("Received user properties beyond the limit are cut and reported", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  device.subscribe("things/device-1/props", Qos::k1);
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back("key-" + std::to_string(i));
  std::vector<UserProperty> user;
  for (const auto& key : keys) user.push_back(UserProperty{key, "value"});
  OutgoingMessage message = message_to("things/device-1/props", "many");
  message.properties.user_properties = Span<const UserProperty>(user.data(), user.size());
  REQUIRE(device.publish_and_wait(message).ok());
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.messages.size() == 1; }));
  const auto& received = device.recorder.messages[0].user_properties;
  REQUIRE(received.size() == 16);  // TETHER_MAX_USER_PROPERTIES
  CHECK(received.front().first == "key-0");
  CHECK(received.back().first == "key-15");
  CHECK(device.log.contains("4 user properties beyond 16 not delivered"));
}

TEST_CASE("MQTT 3.1.1 round trip works and MQTT 5 properties are refused before sending", "[paho][integration]") {
  TestBroker broker;
  Device subscriber(broker, "device-1", "device-1-sub", MqttVersion::k3_1_1);
  Device publisher(broker, "device-1", "device-1-pub", MqttVersion::k3_1_1);
  const PacketToken sub_token = subscriber.subscribe("things/device-1/#", Qos::k1);
  CHECK(subscriber.recorder.subscriptions[sub_token].second == Qos::k1);  // granted QoS from the SUBACK

  OutgoingMessage with_properties = message_to("things/device-1/x", "dropped?");
  with_properties.properties.content_type = "text/plain";
  const auto refused = publisher.client.publish(with_properties);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(publisher.log.contains("MQTT 5 properties"));

  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/q0", "zero", Qos::k0)).ok());
  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/q1", "one", Qos::k1)).ok());
  REQUIRE(poll_until({&subscriber.client}, [&] { return subscriber.recorder.messages.size() == 2; }));
  CHECK(subscriber.recorder.messages[0].payload == "zero");
  CHECK(subscriber.recorder.messages[0].qos == Qos::k0);
  CHECK(subscriber.recorder.messages[1].payload == "one");
  CHECK(subscriber.recorder.messages[1].qos == Qos::k1);
  CHECK(subscriber.recorder.messages[1].content_type.empty());
  CHECK(subscriber.recorder.count_messages("things/device-1/x") == 0);  // the refused one never left

  // After UNSUBSCRIBE nothing more arrives (a second subscription proves delivery still works).
  subscriber.unsubscribe("things/device-1/#");
  subscriber.subscribe("things/device-1/marker", Qos::k1);
  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/q1", "after unsubscribe")).ok());
  REQUIRE(publisher.publish_and_wait(message_to("things/device-1/marker", "marker")).ok());
  REQUIRE(poll_until({&subscriber.client},
                     [&] { return subscriber.recorder.count_messages("things/device-1/marker") == 1; }));
  CHECK(subscriber.recorder.count_messages("things/device-1/q1") == 1);
}

TEST_CASE("A server certificate from another CA is refused once, without retries", "[paho][integration]") {
  TestBroker broker(TestBroker::ServerCert::kOtherCa);
  LogLines log;
  Recorder recorder;
  PahoSettings settings = broker.client_settings("device-1");

  SECTION("diagnosed: kUnauthenticated/kTls/X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY") {
    PahoMqttClient client(settings, &log);
    client.set_listener(&recorder);
    const Status reason = connect_and_wait(client, recorder, options_for("device-1"));
    CHECK(reason == Status(StatusCode::kUnauthenticated, Origin::kTls, 20));
    check_refused_without_retry(client, recorder, reason);
    CHECK(log.contains("server certificate refused: unable to get local issuer certificate"));
  }
  SECTION("undiagnosed: all Paho says is kUnavailable") {
    settings.diagnose_tls_failures = false;
    PahoMqttClient client(settings, &log);
    client.set_listener(&recorder);
    const Status reason = connect_and_wait(client, recorder, options_for("device-1"));
    CHECK(reason == Status(StatusCode::kUnavailable, Origin::kSocket, 0));
    check_refused_without_retry(client, recorder, reason);
    CHECK(log.contains("TCP/TLS connect failure"));
  }
}

TEST_CASE("A server certificate for another host name is refused", "[paho][integration]") {
  TestBroker broker(TestBroker::ServerCert::kWrongHost);  // issued by our CA, for wrong.example
  // By name (checked against DNS names) and by address (checked against IP addresses).
  const std::pair<std::string, std::uint16_t> cases[] = {{"localhost", 62}, {"127.0.0.1", 64}};
  for (const auto& [host, verify_error] : cases) {
    INFO("host " << host);
    LogLines log;
    Recorder recorder;
    PahoSettings settings = broker.client_settings("device-1");
    settings.host = host;
    PahoMqttClient client(settings, &log);
    client.set_listener(&recorder);
    const Status reason = connect_and_wait(client, recorder, options_for("device-1"));
    // X509_V_ERR_HOSTNAME_MISMATCH / X509_V_ERR_IP_ADDRESS_MISMATCH
    CHECK(reason == Status(StatusCode::kUnauthenticated, Origin::kTls, verify_error));
    check_refused_without_retry(client, recorder, reason);
  }
}

TEST_CASE("A client certificate from another CA is refused by the broker", "[paho][integration]") {
  TestBroker broker;
  for (MqttVersion version : {MqttVersion::k5, MqttVersion::k3_1_1}) {
    LogLines log;
    Recorder recorder;
    PahoMqttClient client(broker.client_settings("rogue"), &log);  // CN=device-1, issued by other-ca
    client.set_listener(&recorder);
    const Status reason = connect_and_wait(client, recorder, options_for("device-1", version));
    INFO("mosquitto.log:\n" << broker.log_tail());
    // The broker's TLS alert "unknown CA" (1000 + 48), seen after the TLS 1.3 handshake.
    CHECK(reason == Status(StatusCode::kUnauthenticated, Origin::kTls, 1048));
    check_refused_without_retry(client, recorder, reason);
    CHECK(log.contains("unknown ca"));
  }
}

TEST_CASE("A device subscribed to another device's topic receives nothing", "[paho][integration]") {
  TestBroker broker;
  Device device1(broker, "device-1", "device-1");
  Device device2(broker, "device-2", "device-2");
  // mosquitto grants the subscription (the ACL is applied when delivering)...
  device2.subscribe("things/device-1/#", Qos::k1);
  device2.subscribe("things/device-2/#", Qos::k1);
  REQUIRE(device1.publish_and_wait(message_to("things/device-1/secret", "for device-1 only")).ok());
  // ...and delivers nothing. A later message on device-2's own topic proves the subscription
  // path works and that anything routed earlier would have arrived first.
  REQUIRE(device2.publish_and_wait(message_to("things/device-2/marker", "own")).ok());
  REQUIRE(
      poll_until({&device2.client}, [&] { return device2.recorder.count_messages("things/device-2/marker") == 1; }));
  CHECK(device2.recorder.messages.size() == 1);
  CHECK(device2.recorder.count_messages("things/device-1/secret") == 0);
}

TEST_CASE("Under MQTT 5 a publish to another device's topic is refused with PUBACK 0x87", "[paho][integration]") {
  TestBroker broker;
  Device device1(broker, "device-1", "device-1");
  const Status result = device1.publish_and_wait(message_to("things/device-2/cmd", "not yours"));
  INFO("result " << result);
  CHECK(result == Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87));
  // The connection survives a refused publish.
  CHECK(device1.client.connected());
  CHECK(device1.publish_and_wait(message_to("things/device-1/ok", "mine")).ok());
}

TEST_CASE("Under MQTT 3.1.1 a publish to another device's topic is acknowledged but not delivered",
          "[paho][integration]") {
  // MQTT 3.1.1 has no way to refuse a PUBLISH: mosquitto drops it and still sends the PUBACK, so
  // the sender cannot tell. (Documented in ports/paho/README.md; use MQTT 5 to see refusals.)
  TestBroker broker;
  Device device2(broker, "device-2", "device-2", MqttVersion::k3_1_1);
  device2.subscribe("things/device-2/#", Qos::k1);
  Device device1(broker, "device-1", "device-1", MqttVersion::k3_1_1);
  CHECK(device1.publish_and_wait(message_to("things/device-2/cmd", "not yours")).ok());
  REQUIRE(device2.publish_and_wait(message_to("things/device-2/marker", "own")).ok());
  REQUIRE(
      poll_until({&device2.client}, [&] { return device2.recorder.count_messages("things/device-2/marker") == 1; }));
  CHECK(device2.recorder.count_messages("things/device-2/cmd") == 0);
}

TEST_CASE("Unusable TLS files are reported by connect() before any network traffic", "[paho][integration]") {
  TestBroker broker;
  LogLines log;
  Recorder recorder;
  PahoSettings settings = broker.client_settings("device-1");

  SECTION("missing key file") {
    settings.key_file = broker.path("devices/missing.key");
    PahoMqttClient client(settings, &log);
    client.set_listener(&recorder);
    const Status status = client.connect(options_for("device-1"));
    CHECK(status == Status(StatusCode::kInvalidArgument, Origin::kTls, ENOENT));
    CHECK(log.contains("devices/missing.key"));
    CHECK(log.contains("key file"));
    REQUIRE(client.poll(100ms).ok());
    CHECK(recorder.connections.empty());  // nothing was started
    CHECK_FALSE(client.connected());
  }
  SECTION("no CA file configured") {
    settings.ca_file.clear();
    PahoMqttClient client(settings, &log);
    CHECK(client.connect(options_for("device-1")) == Status(StatusCode::kInvalidArgument, Origin::kTls, EINVAL));
    CHECK(log.contains("CA file"));
  }
  SECTION("a directory instead of a certificate") {
    settings.cert_file = broker.path("devices");
    PahoMqttClient client(settings, &log);
    CHECK(client.connect(options_for("device-1")) == Status(StatusCode::kInvalidArgument, Origin::kTls, EISDIR));
  }
  SECTION("a PKCS#11 URI instead of a key file") {
    settings.key_file = "pkcs11:token=tether;object=device?pin-value=123456";
    PahoMqttClient client(settings, &log);
    CHECK(client.connect(options_for("device-1")) == Status(StatusCode::kInvalidArgument, Origin::kTls, EINVAL));
    CHECK(log.contains("PKCS#11"));
    CHECK_FALSE(log.contains("123456"));  // a URI may carry a PIN: it is never logged
  }
  for (const auto& line : log.lines) {
    CHECK(line.find("PRIVATE KEY") == std::string::npos);  // paths only, never key material
  }
}

TEST_CASE("Stopping the broker ends the session with kUnavailable and a restart lets it reconnect",
          "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  device.subscribe("things/device-1/#", Qos::k1);

  broker.stop();
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.connections.size() == 2; }));
  const ConnectionEvent& lost = device.recorder.connections.back();
  INFO("reason " << lost.reason);
  CHECK(lost.state == ConnectionState::kDisconnected);
  CHECK(lost.reason.code() == StatusCode::kUnavailable);
  CHECK_FALSE(device.client.connected());
  CHECK(device.client.publish(message_to("things/device-1/x", "offline")).status().code() ==
        StatusCode::kFailedPrecondition);

  // Nothing listens now: the attempt fails fast and says so.
  const Status refused = connect_and_wait(device.client, device.recorder, options_for("device-1"));
  CHECK(refused == Status(StatusCode::kUnavailable, Origin::kSocket, ECONNREFUSED));

  broker.restart();
  REQUIRE(connect_and_wait(device.client, device.recorder, options_for("device-1")).ok());
  REQUIRE(device.client.connected());
  CHECK(device.publish_and_wait(message_to("things/device-1/back", "again")).ok());
}

TEST_CASE("A second connection with the same client id ends the first one and fires its will", "[paho][integration]") {
  TestBroker broker;
  Device watcher(broker, "cloudsim", "cloudsim");
  watcher.subscribe("things/device-1/status", Qos::k1);

  Recorder first_recorder;
  PahoMqttClient first(broker.client_settings("device-1"));
  first.set_listener(&first_recorder);
  ConnectOptions with_will = options_for("device-1");
  with_will.will = WillMessage{"things/device-1/status", as_bytes("offline"), Qos::k1, false};
  REQUIRE(connect_and_wait(first, first_recorder, with_will).ok());

  Device second(broker, "device-1", "device-1");  // same client id
  REQUIRE(poll_until({&first, &watcher.client},
                     [&] { return first_recorder.connections.size() == 2 && watcher.recorder.messages.size() == 1; }));
  const ConnectionEvent& ended = first_recorder.connections.back();
  CHECK(ended.state == ConnectionState::kDisconnected);
  // MQTT 5 lets the broker say why (DISCONNECT 0x8E session taken over -> kAborted/kMqtt/0x8E),
  // but mosquitto 2.0.11 just closes the socket: all the client sees is a lost connection.
  CHECK(ended.reason == Status(StatusCode::kUnavailable, Origin::kSocket, 0));
  CHECK_FALSE(first.connected());
  CHECK(watcher.recorder.messages[0].payload == "offline");
  CHECK(second.client.connected());
}

TEST_CASE("A burst of 1000 QoS 1 publishes completes and is delivered", "[paho][integration]") {
  TestBroker broker;
  PahoSettings settings = broker.client_settings("device-1");
  settings.max_inflight = 1000;
  Device publisher(broker, "device-1", "device-1-pub", MqttVersion::k5, settings);
  PahoSettings sub_settings = broker.client_settings("device-1");
  sub_settings.inbox_capacity = 2000;
  Device subscriber(broker, "device-1", "device-1-sub", MqttVersion::k5, sub_settings);
  subscriber.subscribe("things/device-1/burst", Qos::k1);

  constexpr std::size_t kCount = 1000;
  const auto start = test::Clock::now();
  std::size_t refusals = 0;
  const std::vector<PacketToken> tokens = publish_burst(publisher, "things/device-1/burst", kCount, &refusals);
  REQUIRE(poll_until(
      {&publisher.client, &subscriber.client},
      [&] { return publisher.recorder.publishes.size() == kCount && subscriber.recorder.messages.size() == kCount; },
      60s));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(test::Clock::now() - start);
  WARN("1000 QoS 1 publishes acknowledged and delivered in " << elapsed.count() << " ms (" << refusals
                                                             << " kResourceExhausted answers on the way)");
  for (PacketToken token : tokens) {
    INFO("token " << token);
    REQUIRE(publisher.recorder.publishes[token].ok());
  }
  CHECK(subscriber.client.dropped_messages() == 0);
  CHECK(subscriber.recorder.messages.front().payload == "message 0");
  CHECK(subscriber.recorder.messages.back().payload == "message 999");
}

TEST_CASE("Publishes beyond max_inflight are refused until acknowledgements arrive", "[paho][integration]") {
  TestBroker broker;
  PahoSettings settings = broker.client_settings("device-1");
  settings.max_inflight = 10;
  Device device(broker, "device-1", "device-1", MqttVersion::k5, settings);
  for (int i = 0; i < 10; ++i) REQUIRE(device.client.publish(message_to("things/device-1/x", "m")).ok());
  const auto refused = device.client.publish(message_to("things/device-1/x", "one too many"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kResourceExhausted);
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.publishes.size() == 10; }));
  CHECK(device.client.publish(message_to("things/device-1/x", "room again")).ok());
}

TEST_CASE("A full inbox drops inbound messages, counts them and warns", "[paho][integration]") {
  TestBroker broker;
  PahoSettings small = broker.client_settings("device-1");
  small.inbox_capacity = 5;
  Device subscriber(broker, "device-1", "device-1-sub", MqttVersion::k5, small);
  subscriber.subscribe("things/device-1/flood", Qos::k1);
  Device publisher(broker, "device-1", "device-1-pub");

  constexpr std::size_t kCount = 50;
  publish_burst(publisher, "things/device-1/flood", kCount);
  // Only the publisher is polled, so the subscriber's inbox fills up.
  REQUIRE(poll_until({&publisher.client}, [&] {
    return publisher.recorder.publishes.size() == kCount && subscriber.client.dropped_messages() > 0;
  }));
  REQUIRE(poll_until({&subscriber.client}, [&] {
    return subscriber.recorder.messages.size() + subscriber.client.dropped_messages() == kCount;
  }));
  CHECK(subscriber.client.dropped_messages() > 0);
  CHECK(subscriber.log.contains("inbox full"));
  CHECK(subscriber.client.connected());  // drops do not hurt the session
}

TEST_CASE("A persistent session delivers what arrived while the device was offline", "[paho][integration]") {
  TestBroker broker;
  Recorder recorder;
  PahoMqttClient client(broker.client_settings("device-1"));
  client.set_listener(&recorder);
  ConnectOptions options = options_for("device-1");
  options.clean_start = true;
  options.session_expiry_s = 300;
  REQUIRE(connect_and_wait(client, recorder, options).ok());
  CHECK_FALSE(recorder.connections.back().session_present);
  auto sub = client.subscribe("things/device-1/inbox", Qos::k1);
  REQUIRE(sub.ok());
  REQUIRE(poll_until({&client}, [&] { return recorder.subscriptions.count(*sub) == 1; }));
  REQUIRE(client.disconnect().ok());
  REQUIRE(poll_until({&client}, [&] { return recorder.connections.size() == 2; }));
  CHECK(recorder.connections.back().state == ConnectionState::kDisconnected);
  CHECK(recorder.connections.back().reason.ok());  // we asked for it

  Device cloud(broker, "cloudsim", "cloudsim");
  REQUIRE(cloud.publish_and_wait(message_to("things/device-1/inbox", "while you were away")).ok());

  options.clean_start = false;
  REQUIRE(connect_and_wait(client, recorder, options).ok());
  CHECK(recorder.connections.back().session_present);
  REQUIRE(poll_until({&client}, [&] { return recorder.messages.size() == 1; }));
  CHECK(recorder.messages[0].payload == "while you were away");
}

TEST_CASE("disconnect() ends with an ok kDisconnected and later calls are refused", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  REQUIRE(device.client.disconnect().ok());
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.connections.size() == 2; }));
  CHECK(device.recorder.connections[1].state == ConnectionState::kDisconnected);
  CHECK(device.recorder.connections[1].reason.ok());
  CHECK_FALSE(device.client.connected());
  CHECK(device.client.disconnect().ok());  // idempotent, no second event
  CHECK(device.client.subscribe("things/device-1/#", Qos::k1).status().code() == StatusCode::kFailedPrecondition);
  REQUIRE(device.client.poll(200ms).ok());
  CHECK(device.recorder.connections.size() == 2);
}

TEST_CASE("connect() while connected is refused and bad options are rejected", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  CHECK(device.client.connect(options_for("device-1")).code() == StatusCode::kFailedPrecondition);
  CHECK(device.client.publish(message_to("things/+/x", "wildcard")).status().code() == StatusCode::kInvalidArgument);
  CHECK(device.client.subscribe("things/#/x", Qos::k1).status().code() == StatusCode::kInvalidArgument);

  PahoMqttClient fresh(broker.client_settings("device-1"));
  CHECK(fresh.connect(options_for("")).code() == StatusCode::kInvalidArgument);
  ConnectOptions bad_will = options_for("device-1");
  bad_will.will = WillMessage{"things/device-1/#", as_bytes("gone"), Qos::k1, false};
  CHECK(fresh.connect(bad_will).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("wake() makes a waiting poll() return promptly", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  device.client.wake();  // before the poll: the next poll() does not wait
  auto start = test::Clock::now();
  REQUIRE(device.client.poll(10s).ok());
  CHECK(test::Clock::now() - start < 2s);

  std::thread waker([&] {
    std::this_thread::sleep_for(100ms);  // not synchronisation: poll() returns either way
    device.client.wake();
  });
  start = test::Clock::now();
  REQUIRE(device.client.poll(10s).ok());
  CHECK(test::Clock::now() - start < 5s);
  waker.join();
}

// Ends the device's session and connects it again with the same client id (Paho's client is reused).
void reconnect(Device& device) {
  const std::size_t before = device.recorder.connections.size();
  REQUIRE(device.client.disconnect().ok());
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.connections.size() == before + 1; }));
  REQUIRE(device.recorder.connections.back().state == ConnectionState::kDisconnected);
  const Status status = connect_and_wait(device.client, device.recorder, options_for("device-1"));
  INFO("reconnect: " << status);
  REQUIRE(status.ok());
}

// Which device the broker takes the client for: its ACL confines each certificate's CN to
// things/<CN>/#, and under MQTT 5 refuses a publish elsewhere with PUBACK 0x87 (135).
void check_broker_sees(Device& device, std::string_view own, std::string_view other) {
  CHECK(device.publish_and_wait(message_to("things/" + std::string(own) + "/id", "mine")).ok());
  CHECK(device.publish_and_wait(message_to("things/" + std::string(other) + "/id", "not mine")) ==
        Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87));
}

TEST_CASE("set_tls_identity() makes the next connect use the new certificate and key", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  const PahoSettings device2 = broker.client_settings("device-2");
  REQUIRE(device.client.set_tls_identity(device2.cert_file, device2.key_file).ok());
  CHECK(device.client.settings().cert_file == device2.cert_file);
  CHECK(device.client.settings().key_file == device2.key_file);
  // The connection under way keeps its identity.
  CHECK(device.client.connected());
  check_broker_sees(device, "device-1", "device-2");

  reconnect(device);  // same client id: Paho's client is reused, its TLS material is not
  INFO("mosquitto.log:\n" << broker.log_tail());
  check_broker_sees(device, "device-2", "device-1");
  CHECK(device.log.contains("TLS identity from the next connect"));
}

TEST_CASE("set_tls_identity() with an unusable file changes nothing", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  const PahoSettings device1 = device.client.settings();
  const PahoSettings device2 = broker.client_settings("device-2");

  CHECK(device.client.set_tls_identity(device2.cert_file, broker.path("devices/missing.key")) ==
        Status(StatusCode::kInvalidArgument, Origin::kTls, ENOENT));
  CHECK(device.client.set_tls_identity(broker.path("devices/missing.crt"), device2.key_file) ==
        Status(StatusCode::kInvalidArgument, Origin::kTls, ENOENT));
  CHECK(device.client.set_tls_identity(broker.path("devices"), device2.key_file) ==
        Status(StatusCode::kInvalidArgument, Origin::kTls, EISDIR));
  CHECK(device.client.set_tls_identity(device2.cert_file, "") ==
        Status(StatusCode::kInvalidArgument, Origin::kTls, EINVAL));
  CHECK(device.client.set_tls_identity(device2.cert_file, "pkcs11:token=tether;object=device?pin-value=123456") ==
        Status(StatusCode::kInvalidArgument, Origin::kTls, EINVAL));
  CHECK(device.log.contains("devices/missing.key"));
  CHECK(device.log.contains("PKCS#11"));
  CHECK_FALSE(device.log.contains("123456"));  // a URI may carry a PIN: it is never logged
  CHECK_FALSE(device.log.contains("TLS identity from the next connect"));
  CHECK(device.client.settings().cert_file == device1.cert_file);
  CHECK(device.client.settings().key_file == device1.key_file);

  reconnect(device);
  check_broker_sees(device, "device-1", "device-2");
}

TEST_CASE("After set_tls_identity() a refused connect is diagnosed with the new files", "[paho][integration]") {
  TestBroker broker;
  Device device(broker, "device-1", "device-1");
  const PahoSettings device1 = device.client.settings();
  const PahoSettings device2 = broker.client_settings("device-2");
  // Both files open, but device-2's certificate does not carry device-1's key (a certificate
  // issued for another key): only the handshake and the probe can tell.
  REQUIRE(device.client.set_tls_identity(device2.cert_file, device1.key_file).ok());
  const std::size_t before = device.recorder.connections.size();
  REQUIRE(device.client.disconnect().ok());
  REQUIRE(poll_until({&device.client}, [&] { return device.recorder.connections.size() == before + 1; }));
  const Status reason = connect_and_wait(device.client, device.recorder, options_for("device-1"));
  INFO("connect: " << reason);
  // The probe (with device-1's files it would connect: kUnavailable/kSocket/0) finds OpenSSL's
  // X509_R_KEY_VALUES_MISMATCH (116).
  CHECK(reason == Status(StatusCode::kInvalidArgument, Origin::kTls, 116));
  CHECK(device.recorder.connections.back().state == ConnectionState::kConnectFailed);
  CHECK(device.log.contains("key values mismatch"));  // OpenSSL's text, from the probe

  // Rotation abandoned: back to the old identity, which connects.
  REQUIRE(device.client.set_tls_identity(device1.cert_file, device1.key_file).ok());
  const Status again = connect_and_wait(device.client, device.recorder, options_for("device-1"));
  INFO("connect again: " << again);
  REQUIRE(again.ok());
  check_broker_sees(device, "device-1", "device-2");
}

}  // namespace
}  // namespace tether
