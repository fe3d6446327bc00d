// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::Status`: the error vocabulary of every Tether API.
///
/// A Status is four bytes and trivially copyable: a canonical code (what went wrong, in terms a
/// caller can act on), the origin layer (which part of Tether or which backend said so) and a 16-bit
/// backend detail (errno, CKR_*, MQTT reason code, mbedTLS error, a Paho return code, or a
/// Tether-specific sub-code documented by the function that returns it). Functions list every code
/// they can return in their contract. No exceptions cross the public API.

#include <cstddef>
#include <cstdint>

namespace tether {

/// Canonical codes. The numbering follows the gRPC/absl canon so that logs read familiarly.
enum class StatusCode : std::uint8_t {
  kOk = 0,
  kCancelled = 1,           ///< The operation was stopped by the caller (e.g. `Agent::stop()`).
  kUnknown = 2,             ///< A backend failed in a way it did not explain.
  kInvalidArgument = 3,     ///< The input is malformed, whatever the state of the system.
  kDeadlineExceeded = 4,    ///< A time limit passed before the operation completed.
  kNotFound = 5,            ///< A named thing (file, key, subscription) does not exist.
  kAlreadyExists = 6,       ///< The thing to create exists already.
  kPermissionDenied = 7,    ///< Authenticated, but not allowed (MQTT 0x87, ACL refusal, EACCES).
  kResourceExhausted = 8,   ///< A fixed capacity or a quota is used up (buffer, queue, disk).
  kFailedPrecondition = 9,  ///< The system is not in a state for this call (not started, offline).
  kAborted = 10,            ///< A concurrency conflict (version conflict, session taken over).
  kOutOfRange = 11,         ///< A value is outside its allowed range (too long, too many).
  kUnimplemented = 12,      ///< Not supported by this build or this backend.
  kInternal = 13,           ///< An invariant broke inside Tether or a backend: a bug.
  kUnavailable = 14,        ///< Transient: try again later (broker unreachable, not connected).
  kDataLoss = 15,           ///< Data was corrupted or lost (CRC mismatch, truncated file).
  kUnauthenticated = 16,    ///< Identity refused (bad certificate, TLS handshake, MQTT 0x86/0x8C).
};

/// The layer a Status came from. Together with the detail it pins down who said what.
enum class Origin : std::uint8_t {
  kNone = 0,
  kCore,      ///< generic core code
  kConfig,    ///< configuration parser
  kTopic,     ///< topic and thing-name validation
  kJson,      ///< JSON codec (cJSON)
  kAgent,     ///< agent / connection manager
  kMqtt,      ///< MQTT protocol (detail: MQTT reason code)
  kTls,       ///< TLS layer (detail: backend specific)
  kSocket,    ///< network (detail: errno)
  kPaho,      ///< Paho client library (detail: Paho return code, negated if negative)
  kOs,        ///< operating system call (detail: errno)
  kStore,     ///< persistent storage (detail: errno)
  kCrypto,    ///< crypto backend (detail: mbedTLS/OpenSSL error, low 16 bits)
  kKey,       ///< key store (detail: CKR_* low 16 bits)
  kApp,       ///< application callbacks
  kQueue,     ///< offline queue (detail: documented by the call)
  kShadow,    ///< shadow sync (detail: the service's error code, e.g. 409)
  kCommands,  ///< command inbox (detail: documented by the call)
  kMetrics,   ///< metrics collection and reports (detail: documented by the call)
  kProvisioning,  ///< fleet provisioning (detail: the service's statusCode, e.g. 400)
};

/// A compact, trivially copyable result of an operation.
class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr Status(StatusCode code, Origin origin, std::uint16_t detail = 0)
      : code_(code), origin_(origin), detail_(detail) {}

  constexpr bool ok() const { return code_ == StatusCode::kOk; }
  constexpr StatusCode code() const { return code_; }
  constexpr Origin origin() const { return origin_; }
  constexpr std::uint16_t detail() const { return detail_; }

  /// Discards a status on purpose; makes the intent visible at the call site.
  constexpr void ignore() const {}

  friend constexpr bool operator==(Status a, Status b) {
    return a.code_ == b.code_ && a.origin_ == b.origin_ && a.detail_ == b.detail_;
  }
  friend constexpr bool operator!=(Status a, Status b) { return !(a == b); }

 private:
  StatusCode code_ = StatusCode::kOk;
  Origin origin_ = Origin::kNone;
  std::uint16_t detail_ = 0;
};

/// The success value.
constexpr Status ok_status() { return Status(); }

/// Stable, lowercase names for logs ("invalid_argument", "mqtt").
const char* to_string(StatusCode code);
const char* to_string(Origin origin);

/// Formats "code/origin/detail" (e.g. "unauthenticated/mqtt/134") into `buf`; always terminated.
/// Returns `buf`.
const char* format_status(Status status, char* buf, std::size_t size);

}  // namespace tether

/// Returns early from the enclosing function if `expr` (a Status) is not ok.
#define TETHER_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::tether::Status tether_status_ = (expr);     \
    if (!tether_status_.ok()) return tether_status_; \
  } while (0)
