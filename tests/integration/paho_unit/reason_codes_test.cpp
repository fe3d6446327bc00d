// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Paho port's pure translations: reason codes, Paho return codes, URI, topic checks.

#include "reason_codes.hpp"

#include <catch2/catch.hpp>
#include <cerrno>

#include "test_support.hpp"
#include "tls_probe.hpp"

namespace tether::port::paho_detail {
namespace {

Status mqtt(StatusCode code, std::uint8_t reason) { return Status(code, Origin::kMqtt, reason); }

TEST_CASE("CONNACK reason codes map to the statuses the agent acts on", "[paho][unit]") {
  CHECK(status_from_reason_code(Packet::kConnack, 0x00).ok());
  CHECK(status_from_reason_code(Packet::kConnack, 0x86) == mqtt(StatusCode::kUnauthenticated, 0x86));
  CHECK(status_from_reason_code(Packet::kConnack, 0x87) == mqtt(StatusCode::kUnauthenticated, 0x87));
  CHECK(status_from_reason_code(Packet::kConnack, 0x8C) == mqtt(StatusCode::kUnauthenticated, 0x8C));
  CHECK(status_from_reason_code(Packet::kConnack, 0x8A) == mqtt(StatusCode::kPermissionDenied, 0x8A));
  CHECK(status_from_reason_code(Packet::kConnack, 0x85) == mqtt(StatusCode::kInvalidArgument, 0x85));
  CHECK(status_from_reason_code(Packet::kConnack, 0x84) == mqtt(StatusCode::kUnimplemented, 0x84));
  CHECK(status_from_reason_code(Packet::kConnack, 0x88) == mqtt(StatusCode::kUnavailable, 0x88));
  CHECK(status_from_reason_code(Packet::kConnack, 0x89) == mqtt(StatusCode::kUnavailable, 0x89));
  CHECK(status_from_reason_code(Packet::kConnack, 0x80) == mqtt(StatusCode::kUnavailable, 0x80));
  CHECK(status_from_reason_code(Packet::kConnack, 0x9F) == mqtt(StatusCode::kUnavailable, 0x9F));
  CHECK(status_from_reason_code(Packet::kConnack, 0x97) == mqtt(StatusCode::kResourceExhausted, 0x97));
  CHECK(status_from_reason_code(Packet::kConnack, 0x82) == mqtt(StatusCode::kInternal, 0x82));
}

TEST_CASE("A server DISCONNECT says whether to reconnect", "[paho][unit]") {
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x8E) == mqtt(StatusCode::kAborted, 0x8E));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x87) == mqtt(StatusCode::kPermissionDenied, 0x87));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x8A) == mqtt(StatusCode::kPermissionDenied, 0x8A));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x86) == mqtt(StatusCode::kUnauthenticated, 0x86));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x8B) == mqtt(StatusCode::kUnavailable, 0x8B));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x8D) == mqtt(StatusCode::kUnavailable, 0x8D));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x98) == mqtt(StatusCode::kUnavailable, 0x98));
  CHECK(status_from_reason_code(Packet::kDisconnect, 0x82) == mqtt(StatusCode::kUnavailable, 0x82));
}

TEST_CASE("PUBACK, SUBACK and UNSUBACK reason codes map per request", "[paho][unit]") {
  CHECK(status_from_reason_code(Packet::kPuback, 0x00).ok());
  CHECK(status_from_reason_code(Packet::kPuback, 0x10).ok());  // no matching subscribers
  CHECK(status_from_reason_code(Packet::kPuback, 0x87) == mqtt(StatusCode::kPermissionDenied, 0x87));
  CHECK(status_from_reason_code(Packet::kPuback, 0x90) == mqtt(StatusCode::kInvalidArgument, 0x90));
  CHECK(status_from_reason_code(Packet::kPuback, 0x97) == mqtt(StatusCode::kResourceExhausted, 0x97));
  CHECK(status_from_reason_code(Packet::kPuback, 0x99) == mqtt(StatusCode::kInvalidArgument, 0x99));
  CHECK(status_from_reason_code(Packet::kPuback, 0x95) == mqtt(StatusCode::kOutOfRange, 0x95));
  CHECK(status_from_reason_code(Packet::kPuback, 0x80) == mqtt(StatusCode::kUnknown, 0x80));
  CHECK(status_from_reason_code(Packet::kPuback, 0x83) == mqtt(StatusCode::kUnknown, 0x83));
  CHECK(status_from_reason_code(Packet::kSuback, 0x01).ok());  // granted QoS 1
  CHECK(status_from_reason_code(Packet::kSuback, 0x87) == mqtt(StatusCode::kPermissionDenied, 0x87));
  CHECK(status_from_reason_code(Packet::kSuback, 0x8F) == mqtt(StatusCode::kInvalidArgument, 0x8F));
  CHECK(status_from_reason_code(Packet::kSuback, 0x9E) == mqtt(StatusCode::kUnimplemented, 0x9E));
  CHECK(status_from_reason_code(Packet::kSuback, 0xA2) == mqtt(StatusCode::kUnimplemented, 0xA2));
  CHECK(status_from_reason_code(Packet::kUnsuback, 0x11).ok());  // no subscription existed
}

TEST_CASE("MQTT 3.1.1 return codes are translated to MQTT 5 reason codes", "[paho][unit]") {
  CHECK(reason_from_connack_v3(0) == 0x00);
  CHECK(reason_from_connack_v3(1) == 0x84);
  CHECK(reason_from_connack_v3(2) == 0x85);
  CHECK(reason_from_connack_v3(3) == 0x88);
  CHECK(reason_from_connack_v3(4) == 0x86);
  CHECK(reason_from_connack_v3(5) == 0x87);
  CHECK(reason_from_connack_v3(42) == 0x80);
  CHECK(status_from_suback_v3(1).ok());
  CHECK(status_from_suback_v3(0x80) == mqtt(StatusCode::kPermissionDenied, 0x80));
}

TEST_CASE("Paho return codes map with origin paho and the negated code as detail", "[paho][unit]") {
  CHECK(status_from_paho_rc(0).ok());
  CHECK(status_from_paho_rc(-1) == Status(StatusCode::kUnavailable, Origin::kPaho, 1));
  CHECK(status_from_paho_rc(-3) == Status(StatusCode::kUnavailable, Origin::kPaho, 3));
  CHECK(status_from_paho_rc(-4) == Status(StatusCode::kResourceExhausted, Origin::kPaho, 4));
  CHECK(status_from_paho_rc(-5) == Status(StatusCode::kInvalidArgument, Origin::kPaho, 5));
  CHECK(status_from_paho_rc(-11) == Status(StatusCode::kUnavailable, Origin::kPaho, 11));
  CHECK(status_from_paho_rc(-12) == Status(StatusCode::kResourceExhausted, Origin::kPaho, 12));
  CHECK(status_from_paho_rc(-15) == Status(StatusCode::kInvalidArgument, Origin::kPaho, 15));
  CHECK(status_from_paho_rc(-18) == Status(StatusCode::kFailedPrecondition, Origin::kPaho, 18));
  CHECK(status_from_paho_rc(-99) == Status(StatusCode::kUnknown, Origin::kPaho, 99));
  CHECK(status_from_paho_rc(128) == Status(StatusCode::kUnknown, Origin::kPaho, 128));
}

TEST_CASE("Request completions combine Paho's return code and the MQTT reason code", "[paho][unit]") {
  CHECK(completion_status(Packet::kPuback, true, 0, 0).ok());
  CHECK(completion_status(Packet::kPuback, true, 0, 255).ok());  // MQTT 3.1.1: no reason code
  CHECK(completion_status(Packet::kPuback, false, -1, 0x87) == mqtt(StatusCode::kPermissionDenied, 0x87));
  CHECK(completion_status(Packet::kPuback, false, -3, 0) == Status(StatusCode::kUnavailable, Origin::kPaho, 3));
  CHECK(completion_status(Packet::kPuback, false, -3, 255) == Status(StatusCode::kUnavailable, Origin::kPaho, 3));
  CHECK(completion_status(Packet::kPuback, false, 0, 0) == Status(StatusCode::kUnknown, Origin::kPaho, 0));
  // A refusal reported as a "successful" SUBACK is still a refusal.
  CHECK(completion_status(Packet::kSuback, true, 0, 0x87) == mqtt(StatusCode::kPermissionDenied, 0x87));
  CHECK(completion_status(Packet::kSuback, false, 0x80, 255) == mqtt(StatusCode::kPermissionDenied, 0x80));
}

TEST_CASE("Failed connect attempts are classified by layer", "[paho][unit]") {
  ConnectFailure v5_refused;
  v5_refused.return_code = -1;
  v5_refused.reason_code = 0x87;
  CHECK(classify_connect_failure(v5_refused) == mqtt(StatusCode::kUnauthenticated, 0x87));

  ConnectFailure v3_refused;
  v3_refused.mqtt5 = false;
  v3_refused.return_code = 5;
  v3_refused.reason_code = 255;
  v3_refused.message = "CONNACK return code";
  CHECK(classify_connect_failure(v3_refused) == mqtt(StatusCode::kUnauthenticated, 0x87));
  v3_refused.return_code = 3;
  CHECK(classify_connect_failure(v3_refused) == mqtt(StatusCode::kUnavailable, 0x88));

  ConnectFailure transport;
  transport.return_code = -1;
  transport.message = "TCP/TLS connect failure";
  CHECK(classify_connect_failure(transport) == Status(StatusCode::kUnavailable, Origin::kSocket, 0));
  transport.message = "TCP connect timeout";
  CHECK(classify_connect_failure(transport) == Status(StatusCode::kUnavailable, Origin::kSocket, ETIMEDOUT));

  ConnectFailure bad_option;
  bad_option.return_code = -15;
  CHECK(classify_connect_failure(bad_option) == Status(StatusCode::kInvalidArgument, Origin::kPaho, 15));
}

TEST_CASE("The server URI is ssl:// with IPv6 literals bracketed", "[paho][unit]") {
  CHECK(server_uri("example.com", 8883) == "ssl://example.com:8883");
  CHECK(server_uri("127.0.0.1", 443) == "ssl://127.0.0.1:443");
  CHECK(server_uri("::1", 8883) == "ssl://[::1]:8883");
  CHECK(server_uri("[fe80::1]", 8883) == "ssl://[fe80::1]:8883");
}

TEST_CASE("Topic names and filters are checked before they reach Paho", "[paho][unit]") {
  CHECK(valid_topic_name("things/device-1/state"));
  CHECK_FALSE(valid_topic_name(""));
  CHECK_FALSE(valid_topic_name("things/+/state"));
  CHECK_FALSE(valid_topic_name("things/#"));
  CHECK_FALSE(valid_topic_name(std::string_view("a\0b", 3)));
  CHECK(valid_topic_filter("things/device-1/#"));
  CHECK(valid_topic_filter("things/+/state"));
  CHECK(valid_topic_filter("#"));
  CHECK(valid_topic_filter("+"));
  CHECK_FALSE(valid_topic_filter(""));
  CHECK_FALSE(valid_topic_filter("things/#/state"));
  CHECK_FALSE(valid_topic_filter("things/dev+/state"));
  CHECK_FALSE(valid_topic_filter("things/dev#"));
}

TEST_CASE("TLS alerts about certificates are identity refusals, others are transient", "[paho][unit]") {
  CHECK(status_from_tls_alert_reason(1048) == Status(StatusCode::kUnauthenticated, Origin::kTls, 1048));  // unknown CA
  CHECK(status_from_tls_alert_reason(1042) == Status(StatusCode::kUnauthenticated, Origin::kTls, 1042));  // bad cert
  CHECK(status_from_tls_alert_reason(1045) == Status(StatusCode::kUnauthenticated, Origin::kTls, 1045));  // expired
  CHECK(status_from_tls_alert_reason(1116) == Status(StatusCode::kUnauthenticated, Origin::kTls, 1116));  // required
  CHECK(status_from_tls_alert_reason(1040) ==
        Status(StatusCode::kUnavailable, Origin::kTls, 1040));  // handshake failure
  CHECK(status_from_tls_alert_reason(1070) ==
        Status(StatusCode::kUnavailable, Origin::kTls, 1070));  // protocol version
}

TEST_CASE("The TLS probe reports a refused TCP connection with its errno", "[paho][unit]") {
  // Port 1 on the loopback interface: nothing listens there, the kernel refuses at once.
  TlsProbeSettings settings;
  settings.host = "127.0.0.1";
  settings.port = 1;
  const std::atomic<bool> cancel{false};
  const TlsProbeResult result = probe_tls(settings, cancel);
  CHECK(result.explained);
  CHECK(result.status == Status(StatusCode::kUnavailable, Origin::kSocket, ECONNREFUSED));
}

}  // namespace
}  // namespace tether::port::paho_detail
