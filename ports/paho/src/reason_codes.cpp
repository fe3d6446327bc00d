// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "reason_codes.hpp"

#include <cerrno>

namespace tether::port::paho_detail {
namespace {

// MQTT 5 reason codes used below (OASIS MQTT 5.0, section 2.4).
constexpr std::uint8_t kUnspecifiedError = 0x80;
constexpr std::uint8_t kMalformedPacket = 0x81;
constexpr std::uint8_t kProtocolError = 0x82;
constexpr std::uint8_t kUnsupportedProtocolVersion = 0x84;
constexpr std::uint8_t kClientIdNotValid = 0x85;
constexpr std::uint8_t kBadUserNameOrPassword = 0x86;
constexpr std::uint8_t kNotAuthorized = 0x87;
constexpr std::uint8_t kServerUnavailable = 0x88;
constexpr std::uint8_t kBanned = 0x8A;
constexpr std::uint8_t kBadAuthenticationMethod = 0x8C;
constexpr std::uint8_t kSessionTakenOver = 0x8E;
constexpr std::uint8_t kTopicFilterInvalid = 0x8F;
constexpr std::uint8_t kTopicNameInvalid = 0x90;
constexpr std::uint8_t kPacketIdInUse = 0x91;
constexpr std::uint8_t kPacketTooLarge = 0x95;
constexpr std::uint8_t kQuotaExceeded = 0x97;
constexpr std::uint8_t kPayloadFormatInvalid = 0x99;
constexpr std::uint8_t kRetainNotSupported = 0x9A;
constexpr std::uint8_t kQosNotSupported = 0x9B;
constexpr std::uint8_t kSharedSubscriptionsNotSupported = 0x9E;
constexpr std::uint8_t kSubscriptionIdsNotSupported = 0xA1;
constexpr std::uint8_t kWildcardSubscriptionsNotSupported = 0xA2;

// The port marks "no MQTT 5 reason code" (an MQTT 3.1.1 session) with 255, as Paho C++ did.
constexpr int kPahoV3Marker = 255;

// Paho C return codes (MQTTAsync.h), repeated so this file needs no Paho header.
constexpr int kPahoFailure = -1;
constexpr int kPahoPersistenceError = -2;
constexpr int kPahoDisconnected = -3;
constexpr int kPahoMaxMessagesInflight = -4;
constexpr int kPahoBadUtf8String = -5;
constexpr int kPahoNullParameter = -6;
constexpr int kPahoTopicNameTruncated = -7;
constexpr int kPahoBadStructure = -8;
constexpr int kPahoBadQos = -9;
constexpr int kPahoNoMoreMsgIds = -10;
constexpr int kPahoOperationIncomplete = -11;
constexpr int kPahoMaxBufferedMessages = -12;
constexpr int kPahoSslNotSupported = -13;
constexpr int kPahoBadProtocol = -14;
constexpr int kPahoBadMqttOption = -15;
constexpr int kPahoWrongMqttVersion = -16;
constexpr int kPahoZeroLengthWillTopic = -17;
constexpr int kPahoCommandIgnored = -18;
constexpr int kPahoMaxBuffered = -19;

Status mqtt_status(StatusCode code, std::uint8_t reason) { return Status(code, Origin::kMqtt, reason); }

// Codes whose meaning does not depend on the packet.
StatusCode common_code(std::uint8_t reason) {
  switch (reason) {
    case kMalformedPacket:
    case kProtocolError:
    case kPacketIdInUse:
      return StatusCode::kInternal;  // we sent something the broker could not accept: a bug
    case kUnsupportedProtocolVersion:
    case kRetainNotSupported:
    case kQosNotSupported:
    case kSharedSubscriptionsNotSupported:
    case kSubscriptionIdsNotSupported:
    case kWildcardSubscriptionsNotSupported:
      return StatusCode::kUnimplemented;
    case kClientIdNotValid:
    case kTopicFilterInvalid:
    case kTopicNameInvalid:
    case kPayloadFormatInvalid:
      return StatusCode::kInvalidArgument;
    case kPacketTooLarge:
      return StatusCode::kOutOfRange;
    case kQuotaExceeded:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kUnknown;
  }
}

}  // namespace

Status status_from_reason_code(Packet packet, std::uint8_t reason) {
  if (reason < kUnspecifiedError) return ok_status();
  switch (packet) {
    case Packet::kConnack:
      switch (reason) {
        case kBadUserNameOrPassword:
        case kNotAuthorized:
        case kBadAuthenticationMethod:
          return mqtt_status(StatusCode::kUnauthenticated, reason);
        case kBanned:
          return mqtt_status(StatusCode::kPermissionDenied, reason);
        default: {
          StatusCode code = common_code(reason);
          // Everything else a CONNACK refuses with (server unavailable or busy, use another
          // server, connection rate exceeded, unspecified) is worth retrying later.
          if (code == StatusCode::kUnknown) code = StatusCode::kUnavailable;
          return mqtt_status(code, reason);
        }
      }
    case Packet::kDisconnect:
      switch (reason) {
        case kSessionTakenOver:
          return mqtt_status(StatusCode::kAborted, reason);
        case kNotAuthorized:
        case kBanned:
          return mqtt_status(StatusCode::kPermissionDenied, reason);
        case kBadUserNameOrPassword:
        case kBadAuthenticationMethod:
          return mqtt_status(StatusCode::kUnauthenticated, reason);
        default:
          // Server shutting down, keep-alive timeout, administrative action, protocol errors, ...:
          // the connection is gone and a new one may work.
          return mqtt_status(StatusCode::kUnavailable, reason);
      }
    case Packet::kPuback:
    case Packet::kSuback:
    case Packet::kUnsuback:
      if (reason == kNotAuthorized) return mqtt_status(StatusCode::kPermissionDenied, reason);
      if (reason == kServerUnavailable) return mqtt_status(StatusCode::kUnavailable, reason);
      return mqtt_status(common_code(reason), reason);
  }
  return mqtt_status(StatusCode::kUnknown, reason);
}

std::uint8_t reason_from_connack_v3(int return_code) {
  switch (return_code) {
    case 0:
      return 0;
    case 1:
      return kUnsupportedProtocolVersion;
    case 2:
      return kClientIdNotValid;
    case 3:
      return kServerUnavailable;
    case 4:
      return kBadUserNameOrPassword;
    case 5:
      return kNotAuthorized;
    default:
      return kUnspecifiedError;
  }
}

Status status_from_suback_v3(int return_code) {
  if (return_code >= 0 && return_code <= 2) return ok_status();
  return mqtt_status(StatusCode::kPermissionDenied, kUnspecifiedError);
}

Status status_from_paho_rc(int rc) {
  if (rc == 0) return ok_status();
  if (rc > 0) {
    const std::uint16_t detail = rc > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(rc);
    return Status(StatusCode::kUnknown, Origin::kPaho, detail);
  }
  const std::uint16_t detail = rc < -0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(-rc);
  StatusCode code = StatusCode::kUnknown;
  switch (rc) {
    case kPahoFailure:
      code = StatusCode::kUnavailable;
      break;
    case kPahoPersistenceError:
      code = StatusCode::kInternal;
      break;
    case kPahoDisconnected:
      code = StatusCode::kUnavailable;
      break;
    case kPahoMaxMessagesInflight:
      code = StatusCode::kResourceExhausted;
      break;
    case kPahoBadUtf8String:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoNullParameter:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoTopicNameTruncated:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoBadStructure:
      code = StatusCode::kInternal;
      break;
    case kPahoBadQos:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoNoMoreMsgIds:
      code = StatusCode::kResourceExhausted;
      break;
    case kPahoOperationIncomplete:
      code = StatusCode::kUnavailable;
      break;
    case kPahoMaxBufferedMessages:
      code = StatusCode::kResourceExhausted;
      break;
    case kPahoSslNotSupported:
      code = StatusCode::kUnimplemented;
      break;
    case kPahoBadProtocol:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoBadMqttOption:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoWrongMqttVersion:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoZeroLengthWillTopic:
      code = StatusCode::kInvalidArgument;
      break;
    case kPahoCommandIgnored:
      code = StatusCode::kFailedPrecondition;
      break;
    case kPahoMaxBuffered:
      code = StatusCode::kResourceExhausted;
      break;
    default:
      code = StatusCode::kUnknown;
      break;
  }
  return Status(code, Origin::kPaho, detail);
}

Status completion_status(Packet packet, bool success, int return_code, int reason_code) {
  const bool refusal = reason_code >= kUnspecifiedError && reason_code < kPahoV3Marker;
  if (refusal) return status_from_reason_code(packet, static_cast<std::uint8_t>(reason_code));
  if (success) return ok_status();
  // MQTT 3.1.1 SUBACK failure: Paho fails the token with the SUBACK code 0x80 as return code.
  if (packet == Packet::kSuback && return_code == kUnspecifiedError) return status_from_suback_v3(return_code);
  if (return_code == 0) return Status(StatusCode::kUnknown, Origin::kPaho, 0);
  return status_from_paho_rc(return_code);
}

Status classify_connect_failure(const ConnectFailure& failure) {
  // MQTT 5: the CONNACK refused us (Paho puts its reason code in the failure data).
  if (failure.mqtt5 && failure.reason_code >= kUnspecifiedError && failure.reason_code != kPahoV3Marker &&
      failure.reason_code <= 0xFF) {
    return status_from_reason_code(Packet::kConnack, static_cast<std::uint8_t>(failure.reason_code));
  }
  // MQTT 3.1.1: Paho reports the CONNACK return code (1..5) as the return code.
  if (failure.return_code > 0 && failure.return_code <= 5) {
    return status_from_reason_code(Packet::kConnack, reason_from_connack_v3(failure.return_code));
  }
  if (failure.return_code == kPahoFailure) {
    // TCP or TLS failure: Paho says "TCP/TLS connect failure" for both and keeps errno and the
    // OpenSSL error to itself; only a timeout is told apart.
    const bool timed_out = failure.message.find("timeout") != std::string_view::npos ||
                           failure.message.find("timed out") != std::string_view::npos;
    return Status(StatusCode::kUnavailable, Origin::kSocket, timed_out ? ETIMEDOUT : 0);
  }
  if (failure.return_code == 0) {
    // A failure without any code: say so rather than pretend it succeeded.
    return Status(StatusCode::kUnknown, Origin::kPaho, 0);
  }
  return status_from_paho_rc(failure.return_code);
}

std::string server_uri(std::string_view host, std::uint16_t port) {
  std::string uri = "ssl://";
  const bool ipv6_literal = !host.empty() && host.front() != '[' && host.find(':') != std::string_view::npos;
  if (ipv6_literal) uri += '[';
  uri += host;
  if (ipv6_literal) uri += ']';
  uri += ':';
  uri += std::to_string(port);
  return uri;
}

bool valid_topic_name(std::string_view topic) {
  if (topic.empty() || topic.size() > 0xFFFF) return false;
  for (char c : topic) {
    if (c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

bool valid_topic_filter(std::string_view filter) {
  if (filter.empty() || filter.size() > 0xFFFF) return false;
  for (std::size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c == '\0') return false;
    const bool level_start = i == 0 || filter[i - 1] == '/';
    const bool level_end = i + 1 == filter.size() || filter[i + 1] == '/';
    if (c == '+' && !(level_start && level_end)) return false;
    if (c == '#' && !(level_start && i + 1 == filter.size())) return false;
  }
  return true;
}

}  // namespace tether::port::paho_detail
