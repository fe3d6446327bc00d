// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Agent configuration: one JSON document (docs/configuration.md lists every key).
///
/// `parse_config` validates everything it reads; on failure it returns kInvalidArgument (origin
/// kConfig) or kOutOfRange and, when `error` is given, text of the form `<source>: <key>: <problem>`
/// (for example `agent.json: mqtt.keep_alive_s: must be between 0 and 65535, got 70000`). Unknown keys
/// are errors too (a typo must not silently fall back to a default).

#include <cstdint>
#include <string_view>

#include "tether/backoff.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/limits.hpp"
#include "tether/port/log_sink.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/topics.hpp"

namespace tether {

/// Where and how to reach the broker (used by the MqttClient implementation).
struct BrokerSettings {
  FixedString<kMaxHost> endpoint;      ///< "endpoint": host name or IP (required)
  std::uint16_t port = 8883;           ///< "port"
  FixedString<kMaxPath> ca_file;       ///< "tls.ca_file": CA bundle for the server (required)
  FixedString<kMaxPath> cert_file;     ///< "tls.cert_file": device certificate (required)
  FixedString<kMaxPath> key;           ///< "tls.key": key file path or `pkcs11:` URI (required)
  bool alpn = false;                   ///< "tls.alpn": send ALPN x-amzn-mqtt-ca (AWS on port 443)
};

/// MQTT session settings (see ConnectOptions).
struct MqttSettings {
  MqttVersion version = MqttVersion::k5;   ///< "mqtt.version": 5 or "3.1.1"
  std::uint16_t keep_alive_s = 60;         ///< "mqtt.keep_alive_s": 0..65535 (AWS clamps to 30..1200)
  bool clean_session = true;               ///< "mqtt.clean_session"
  std::uint32_t session_expiry_s = 0;      ///< "mqtt.session_expiry_s" (MQTT 5)
  Milliseconds connect_timeout{10000};     ///< "mqtt.connect_timeout_ms": 100..600000
};

/// The heartbeat the example agents publish (feature section "heartbeat").
struct HeartbeatSettings {
  bool enabled = true;                     ///< "heartbeat.enabled"
  std::uint32_t interval_s = 30;           ///< "heartbeat.interval_s": 1..86400
};

struct AgentConfig {
  FixedString<kMaxThingName> thing_name;   ///< "thing_name" (required; validated for `profile`)
  FixedString<kMaxClientId> client_id;     ///< "client_id" (default: the thing name)
  TopicProfile profile = TopicProfile::kAws;  ///< "profile": "aws" or "neutral"
  BrokerSettings broker;
  MqttSettings mqtt;
  BackoffSettings reconnect;               ///< "reconnect.{initial_ms,max_ms,fatal_initial_ms,fatal_max_ms}"
  LogLevel log_level = LogLevel::kInfo;    ///< "log.level": error|warn|info|debug|trace
  HeartbeatSettings heartbeat;
};

/// Parses `json` (at most kMaxJsonInput bytes) into `out`. `source` names the input in error texts
/// (normally the file name). On error `out` may be partly filled and must not be used.
/// Returns ok, kInvalidArgument/kConfig (malformed JSON, unknown key, wrong type, invalid value;
/// detail = byte offset for JSON syntax errors), kOutOfRange/kConfig (a number or string too large).
Status parse_config(std::string_view json, std::string_view source, AgentConfig& out, ErrorText* error);

/// Checks cross-field rules of a config built in code (what parse_config also enforces): required
/// fields present, thing name valid for the profile, client id set (defaults to the thing name).
Status validate_config(AgentConfig& config, std::string_view source, ErrorText* error);

}  // namespace tether
