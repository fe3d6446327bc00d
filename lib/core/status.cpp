// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/status.hpp"

#include <cstdio>

#include "tether/port/log_sink.hpp"

namespace tether {

const char* to_string(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kUnknown: return "unknown";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kAborted: return "aborted";
    case StatusCode::kOutOfRange: return "out_of_range";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDataLoss: return "data_loss";
    case StatusCode::kUnauthenticated: return "unauthenticated";
  }
  return "invalid_status_code";
}

const char* to_string(Origin origin) {
  switch (origin) {
    case Origin::kNone: return "none";
    case Origin::kCore: return "core";
    case Origin::kConfig: return "config";
    case Origin::kTopic: return "topic";
    case Origin::kJson: return "json";
    case Origin::kAgent: return "agent";
    case Origin::kMqtt: return "mqtt";
    case Origin::kTls: return "tls";
    case Origin::kSocket: return "socket";
    case Origin::kPaho: return "paho";
    case Origin::kOs: return "os";
    case Origin::kStore: return "store";
    case Origin::kCrypto: return "crypto";
    case Origin::kKey: return "key";
    case Origin::kApp: return "app";
    case Origin::kQueue: return "queue";
    case Origin::kShadow: return "shadow";
    case Origin::kCommands: return "commands";
    case Origin::kMetrics: return "metrics";
    case Origin::kProvisioning: return "provisioning";
  }
  return "invalid_origin";
}

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kTrace: return "trace";
  }
  return "invalid_level";
}

const char* format_status(Status status, char* buf, std::size_t size) {
  if (buf == nullptr || size == 0) return "";
  std::snprintf(buf, size, "%s/%s/%u", to_string(status.code()), to_string(status.origin()),
                static_cast<unsigned>(status.detail()));
  return buf;
}

}  // namespace tether
