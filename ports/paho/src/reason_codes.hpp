// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Pure translations used by the Paho port: MQTT reason codes, MQTT 3.1.1 return codes and Paho
/// return codes to `tether::Status`, and the server URI. No Paho types here, so the table can be
/// unit-tested without a broker (tests/integration/paho_reason_codes_test.cpp).
///
/// Conventions
/// - An MQTT refusal has origin kMqtt and the MQTT 5 reason code as detail. MQTT 3.1.1 CONNACK
///   return codes are translated to their MQTT 5 equivalents (1 -> 0x84, 2 -> 0x85, 3 -> 0x88,
///   4 -> 0x86, 5 -> 0x87), so the detail always speaks one vocabulary.
/// - A Paho return code (MQTTASYNC_*, negative) has origin kPaho and the code negated as detail.
/// - A connect attempt that failed below MQTT (TCP or TLS, which Paho reports alike as
///   "TCP/TLS connect failure", -1) is kUnavailable with origin kSocket (detail ETIMEDOUT when Paho
///   says the attempt timed out, else 0: Paho does not expose errno).

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/status.hpp"

namespace tether::port::paho_detail {

/// The packet that carried a reason code; the same code means different things in different
/// packets (0x87 in a CONNACK refuses the identity, in a PUBACK it refuses one publish).
enum class Packet : std::uint8_t { kConnack, kPuback, kSuback, kUnsuback, kDisconnect };

/// MQTT 5 reason code -> Status (origin kMqtt, detail = reason). Success codes (< 0x80: granted
/// QoS, "no matching subscribers", "no subscription existed", ...) give ok.
Status status_from_reason_code(Packet packet, std::uint8_t reason);

/// MQTT 3.1.1 CONNACK return code (1..5) -> its MQTT 5 equivalent (0x84, 0x85, 0x88, 0x86, 0x87);
/// unknown values -> 0x80 (unspecified error), 0 -> 0.
std::uint8_t reason_from_connack_v3(int return_code);

/// MQTT 3.1.1 SUBACK return code: 0..2 granted (ok), 0x80 failure -> kPermissionDenied/kMqtt/0x80
/// (brokers such as AWS IoT answer 0x80 to a subscription the policy does not allow).
Status status_from_suback_v3(int return_code);

/// Paho return code -> Status (origin kPaho, detail = -rc for negative codes). 0 gives ok.
/// Positive codes are MQTT codes Paho passes through; they map as 0x80 "failure" (kUnknown).
Status status_from_paho_rc(int rc);

/// Outcome of a publish, subscribe or unsubscribe request as Paho completed its token.
/// `reason_code` is the MQTT 5 reason code (PUBACK, or the SUBACK/UNSUBACK code of the filter),
/// the 3.1.1 SUBACK return code, or 255 (the port's "MQTT 3.1.1, no reason code"). A failure
/// without an MQTT refusal maps the Paho return code (e.g. -3 disconnected -> kUnavailable/kPaho/3).
Status completion_status(Packet packet, bool success, int return_code, int reason_code);

/// What Paho reported when a connect attempt failed.
struct ConnectFailure {
  int return_code = -1;      ///< token return code (MQTTASYNC_*, or a 3.1.1 CONNACK code 1..5)
  int reason_code = 0;       ///< MQTT 5 CONNACK reason code (255 under 3.1.1: none)
  bool mqtt5 = true;         ///< the attempt used MQTT 5
  std::string_view message;  ///< Paho's text ("TCP/TLS connect failure", "CONNACK return code")
};

/// Classifies a failed connect attempt (see the file comment for the conventions).
Status classify_connect_failure(const ConnectFailure& failure);

/// Paho server URI for a TLS connection: `ssl://host:port`, IPv6 literals bracketed.
std::string server_uri(std::string_view host, std::uint16_t port);

/// True if `topic` is a valid topic name to publish to (non-empty, at most 65535 bytes, no
/// wildcards, no NUL).
bool valid_topic_name(std::string_view topic);

/// True if `filter` is a valid topic filter ('+' alone in a level, '#' alone and last).
bool valid_topic_filter(std::string_view filter);

}  // namespace tether::port::paho_detail
