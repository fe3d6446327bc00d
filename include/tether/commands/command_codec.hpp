// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Command codecs (pure: no I/O, no clock, no session state, no heap): the topics, request
/// decoding, status-update encoding and answer decoding of AWS IoT Commands (PROTOCOLS.md §3) and
/// of the cloud-neutral `cmd/<thing>` pattern (DESIGN.md §6, docs/cloudsim.md "Commands").
///
/// | | kAws (device type `things` or `clients`) | kNeutral |
/// |---|---|---|
/// | request (service → device) | `$aws/commands/<type>/<id>/executions/<x>/request/json`, `.../request/cbor`, `.../request` | `cmd/<thing>/<x>/request` |
/// | status update (device → service) | `$aws/commands/<type>/<id>/executions/<x>/response/json` | `cmd/<thing>/<x>/response` |
/// | answers | `.../executions/<x>/response/accepted/json`, `.../response/rejected/json` | `cmd/<thing>/<x>/response/accepted`, `.../rejected` |
///
/// `<x>` is the execution id: 1..kMaxExecutionId bytes of `[A-Za-z0-9_-]` (the AWS pattern; the
/// emulator uses the same). Under kNeutral `jobs` is not an execution id: `cmd/<thing>/jobs/...`
/// belongs to the Jobs topics. Both profiles use the same status-update body and answer documents:
/// ```
/// update   {"status": "IN_PROGRESS|SUCCEEDED|FAILED|REJECTED|TIMED_OUT",
///           "statusReason": {"reasonCode": "CODE", "reasonDescription": "text"},   (optional)
///           "result": {"<key>": {"s": "text"} | {"b": true} | {"bin": "<base64>"}}} (optional)
/// accepted {"executionId": "<x>"}
/// rejected {"error": "InvalidRequest", "errorMessage": "...", "executionId": "<x>"}
/// ```
///
/// Every Status these functions return for bad input has origin kCommands (topic and device-name
/// problems found by init: kTopic, like the shadow topics) and a CodecDetail as detail, and comes
/// with an explanation on one printable line in `why` (optional) that never copies control
/// characters or broken UTF-8 out of the input.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tether/commands/jobs_codec.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/inplace_function.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/topics.hpp"

namespace tether::commands {

/// AWS IoT: execution ids are 1..64 characters of `[a-zA-Z0-9_-]`.
inline constexpr std::size_t kMaxExecutionId = 64;
/// AWS IoT StatusReason: `reasonCode` at most 64 characters of `[A-Z0-9_-]`.
inline constexpr std::size_t kMaxStatusReasonCode = 64;
/// AWS IoT StatusReason: `reasonDescription` at most 1024 characters (counted here in UTF-16 code
/// units, the stricter of the service's and the emulator's readings), no control characters.
inline constexpr std::size_t kMaxStatusReasonDescription = 1024;
/// AWS IoT message broker: a payload is at most 128 KB.
inline constexpr std::size_t kMaxCommandPayload = 128 * 1024;
/// Bytes of a rejected answer's `error` kept in ExecutionAnswer (every documented code fits).
inline constexpr std::size_t kMaxRejectedErrorCode = 64;

/// The detail of a kCommands Status returned by these codecs: which rule the input broke.
enum class CodecDetail : std::uint16_t {
  kNone = 0,
  kForeignTopic = 1,          ///< not a commands topic of this device (classify: kNotFound)
  kExecutionId = 2,           ///< an execution id that is empty, too long or has a bad character
  kTopicKind = 3,             ///< a topic of the wrong kind for the call, or not initialized
  kPayloadTooLarge = 4,       ///< a JSON payload over kMaxJsonInput, an update over kMaxCommandPayload
  kPayloadNotJson = 5,        ///< a payload that should be JSON does not parse
  kOperation = 6,             ///< a request's "operation" member is not a string
  kNotObject = 7,             ///< a document that must be a JSON object is not one
  kStatus = 8,                ///< missing, unknown or (for a device) not settable status
  kStatusReason = 9,          ///< statusReason not an object, unknown member, or description without code
  kReasonCode = 10,           ///< reasonCode of the wrong type, length or characters
  kReasonDescription = 11,    ///< reasonDescription of the wrong type, length or characters
  kResult = 12,               ///< result not an object
  kResultKey = 13,            ///< a result key that is empty, duplicated, not UTF-8 or holds a control
  kResultValue = 14,          ///< a result value that is not exactly one of {"s"}, {"b"}, {"bin"}
  kExecutionIdMismatch = 15,  ///< an answer's executionId differs from its topic's
  kErrorField = 16,           ///< a rejected answer's error or errorMessage is not a string
  kBufferTooSmall = 17,       ///< the caller's buffer cannot hold the document
};

/// Which AWS IoT Commands device type the topics address (kNeutral has things only).
enum class DeviceType : std::uint8_t { kThing, kClient };

/// The format of a request payload.
enum class PayloadFormat : std::uint8_t {
  kJson,   ///< `.../request/json`, or content type application/json
  kCbor,   ///< `.../request/cbor`, or content type application/cbor
  kOther,  ///< opaque bytes: the topic names no format and the content type names neither
};
const char* to_string(PayloadFormat format);  ///< "json", "cbor", "other"

/// The kinds of per-execution topics.
enum class CommandTopic : std::uint8_t {
  kRequest,   ///< service → device: the command
  kResponse,  ///< device → service: a status update
  kAccepted,  ///< service → device: the update was recorded
  kRejected,  ///< service → device: the update was refused
};
const char* to_string(CommandTopic topic);  ///< "request", "response", "accepted", "rejected"

/// Subscription filters (wildcard `+` for the execution id).
enum class CommandFilter : std::uint8_t {
  kRequestJson,     ///< kAws only: `.../executions/+/request/json`
  kRequestCbor,     ///< kAws only: `.../executions/+/request/cbor`
  kRequestGeneric,  ///< kAws: `.../executions/+/request` (no format); kNeutral: `cmd/<t>/+/request`
  kAccepted,        ///< `.../+/response/accepted/json`; kNeutral `cmd/<t>/+/response/accepted`
  kRejected,        ///< `.../+/response/rejected/json`; kNeutral `cmd/<t>/+/response/rejected`
};

/// What an inbound topic is. `execution_id` is a view into the classified topic.
struct InboundTopic {
  CommandTopic kind = CommandTopic::kRequest;
  std::string_view execution_id;
  /// kRequest: the format the topic names (kOther for `.../request` and every kNeutral request);
  /// other kinds: kJson.
  PayloadFormat format = PayloadFormat::kJson;
};

/// Checks an execution id: 1..kMaxExecutionId bytes of `[A-Za-z0-9_-]`; under kNeutral not `jobs`.
/// ok or kInvalidArgument/kCommands/kExecutionId.
Status validate_execution_id(std::string_view id, TopicProfile profile, ErrorText* why = nullptr);

/// The topics of one device under one profile. Holds a copy of its prefix (no views kept).
class CommandTopics {
 public:
  /// Device type `things`: `$aws/commands/things/<thing>/executions` (kAws) or `cmd/<thing>`
  /// (kNeutral), from the scheme's validated thing name. Returns ok, the TopicScheme::build errors
  /// (origin kTopic), or kOutOfRange/kTopic when the longest topic would exceed kMaxTopic.
  Status init(const TopicScheme& scheme, ErrorText* why = nullptr);

  /// kAws device type `clients`: `$aws/commands/clients/<client_id>/executions`. The client id is
  /// 1..kMaxClientId bytes of UTF-8 that can stand as a topic level: no `+`, `#`, `/`, no leading
  /// `$`, no control characters. ok, kOutOfRange/kTopic (empty or too long; detail = length),
  /// kInvalidArgument/kTopic (detail = byte offset), kOutOfRange/kTopic (longest topic too long).
  Status init_client(std::string_view client_id, ErrorText* why = nullptr);

  bool initialized() const { return !prefix_.empty(); }
  TopicProfile profile() const { return profile_; }
  DeviceType device_type() const { return device_type_; }
  /// `$aws/commands/<type>/<id>/executions` or `cmd/<thing>`.
  std::string_view prefix() const { return prefix_.view(); }

  /// A subscription filter. kNotFound/kCommands/kTopicKind for kRequestJson and kRequestCbor under
  /// kNeutral (its request topic names no format), kFailedPrecondition/kCommands/kTopicKind before
  /// a successful init (also a contract violation).
  Result<std::string_view> filter(CommandFilter which, FixedString<kMaxTopic>& out) const;

  /// The `kind` topic of execution `execution_id`. `request_format` matters only for a kRequest
  /// topic under kAws (kJson `/request/json`, kCbor `/request/cbor`, kOther `/request`); status
  /// updates and answers use the JSON topics. Errors: kInvalidArgument/kCommands/kExecutionId,
  /// kFailedPrecondition/kCommands/kTopicKind before init (a contract violation).
  Result<std::string_view> build(CommandTopic kind, std::string_view execution_id, FixedString<kMaxTopic>& out,
                                 PayloadFormat request_format = PayloadFormat::kJson, ErrorText* why = nullptr) const;

  /// Which of this device's command topics `topic` is. Errors (origin kCommands):
  /// - kNotFound/kForeignTopic: not one of them (another device, another family, another suffix;
  ///   under kNeutral `cmd/<thing>/jobs/...`, the Jobs topics); nothing to answer
  /// - kInvalidArgument/kExecutionId: the shape of a commands topic with an invalid execution id
  /// - kFailedPrecondition/kTopicKind: not initialized
  /// The InboundTopic holds views into `topic`.
  Result<InboundTopic> classify(std::string_view topic, ErrorText* why = nullptr) const;

 private:
  Status finish_init(std::string_view prefix, ErrorText* why);

  FixedString<kMaxTopic> prefix_;
  TopicProfile profile_ = TopicProfile::kAws;
  DeviceType device_type_ = DeviceType::kThing;
};

// ---- requests ------------------------------------------------------------------------------------

/// The format a content type names: `application/json` → kJson, `application/cbor` → kCbor
/// (type and subtype case-insensitive, parameters such as `; charset=utf-8` ignored), else kOther.
PayloadFormat format_of_content_type(std::string_view content_type);

/// A decoded request. Every view is valid only during the visitor call.
struct RequestView {
  std::string_view execution_id;
  /// The topic's format; where the topic names none, the content type's (format_of_content_type).
  PayloadFormat format = PayloadFormat::kOther;
  std::string_view content_type;     ///< MQTT 5 content type; empty = absent
  Span<const std::uint8_t> payload;  ///< the payload as received
  /// MQTT 5 message expiry: the seconds left before the service sets TIMED_OUT (the deadline).
  std::optional<std::uint32_t> message_expiry_s;
  json::Value document;  ///< kJson: the parsed root; otherwise invalid
  /// The root object's "operation" (names the handler); empty when absent or not kJson.
  std::string_view operation;
};

using RequestVisitor = InplaceFunction<Status(const RequestView& request), 8 * sizeof(void*)>;

/// Decodes the request `message` whose topic classified as `topic` (kind kRequest) and calls
/// `visit` with it; returns what `visit` returns. A kJson payload is parsed (bounded, the tree is
/// freed before the return); kCbor and kOther payloads are handed over as bytes. Errors before the
/// visit (origin kCommands unless said otherwise):
/// - kInvalidArgument/kTopicKind: `topic` is not a request (also a contract violation)
/// - kOutOfRange/kPayloadTooLarge: a kJson payload over kMaxJsonInput bytes
/// - kInvalidArgument/kPayloadNotJson (kOutOfRange/kPayloadNotJson when nested too deep): a kJson
///   payload that does not parse; `why` gives the position
/// - kInvalidArgument/kOperation: "operation" present but not a string
/// - kResourceExhausted/kJson: the JSON parser could not allocate its tree
Status decode_request(const InboundMessage& message, const InboundTopic& topic, const RequestVisitor& visit,
                      ErrorText* why = nullptr);

// ---- status updates ------------------------------------------------------------------------------

/// Execution statuses as the protocol names them. A device reports kInProgress (repeatedly),
/// kSucceeded, kFailed, kRejected or kTimedOut; kCreated is the service's alone.
enum class ExecutionStatus : std::uint8_t { kCreated, kInProgress, kSucceeded, kFailed, kRejected, kTimedOut };
const char* to_string(ExecutionStatus status);  ///< "CREATED", "IN_PROGRESS", ...
/// The status a protocol string names (exact, case-sensitive), or nullopt.
std::optional<ExecutionStatus> parse_execution_status(std::string_view text);
/// SUCCEEDED, FAILED, REJECTED: any later update is refused (TerminalStateReached). TIMED_OUT is not
/// terminal in the protocol: a late SUCCEEDED, FAILED or REJECTED may still be recorded.
bool is_terminal(ExecutionStatus status);

/// The type of a typed result entry.
enum class ResultType : std::uint8_t { kString, kBool, kBinary };

/// One typed entry of an update's `result` map. Build with the factories; views must live until
/// encode_update returns.
struct ResultEntry {
  std::string_view key;
  ResultType type = ResultType::kString;
  std::string_view text;           ///< kString: `{"s": text}`
  bool flag = false;               ///< kBool: `{"b": flag}`
  Span<const std::uint8_t> bytes;  ///< kBinary: `{"bin": base64(bytes)}`

  static ResultEntry string(std::string_view key, std::string_view value) {
    ResultEntry e;
    e.key = key;
    e.type = ResultType::kString;
    e.text = value;
    return e;
  }
  static ResultEntry boolean(std::string_view key, bool value) {
    ResultEntry e;
    e.key = key;
    e.type = ResultType::kBool;
    e.flag = value;
    return e;
  }
  static ResultEntry binary(std::string_view key, Span<const std::uint8_t> value) {
    ResultEntry e;
    e.key = key;
    e.type = ResultType::kBinary;
    e.bytes = value;
    return e;
  }
};

/// A status update to encode.
struct StatusUpdate {
  ExecutionStatus status = ExecutionStatus::kInProgress;
  std::string_view reason_code;         ///< empty = no statusReason
  std::string_view reason_description;  ///< empty = absent; needs a reason_code
  Span<const ResultEntry> result;       ///< empty = no result
};

/// Length of the base64 (RFC 4648, padded) text of `size` bytes.
constexpr std::size_t base64_size(std::size_t size) { return (size + 2) / 3 * 4; }

/// Encodes `update` as the compact JSON body (the same for both profiles) into `out` and returns it
/// (a view into `out`, not NUL-terminated). Nothing is sent that the service would refuse:
/// - kInvalidArgument/kStatus: kCreated (or a value outside the enum)
/// - kInvalidArgument/kStatusReason: a reason_description without a reason_code
/// - kInvalidArgument/kReasonCode: a reason code over kMaxStatusReasonCode or not `[A-Z0-9_-]`
/// - kInvalidArgument/kReasonDescription: not UTF-8, a control character (C0, DEL, C1), or over
///   kMaxStatusReasonDescription UTF-16 code units
/// - kInvalidArgument/kResultKey: an empty or duplicated key, one that is not UTF-8 or holds a
///   control character (C0, DEL, C1)
/// - kInvalidArgument/kResultValue: an empty string or binary value (AWS: at least 1), a string
///   that is not UTF-8 or holds U+0000 (JSON parsers, the one of json.hpp included, refuse it)
/// - kOutOfRange/kPayloadTooLarge: the body would exceed kMaxCommandPayload
/// - kResourceExhausted/kBufferTooSmall: `out` is too small
Result<std::string_view> encode_update(const StatusUpdate& update, Span<char> out, ErrorText* why = nullptr);

/// A status update as the service reads it. Views are valid while the parsed tree lives.
struct UpdateView {
  ExecutionStatus status = ExecutionStatus::kInProgress;
  bool has_status_reason = false;
  std::string_view reason_code;         ///< empty when absent
  std::string_view reason_description;  ///< empty when absent
  json::Value result;                   ///< the result object, or invalid when absent
};

/// Reads an update body (a parsed document) with the service's rules as the emulator applies them
/// (tools/cloudsim commands_model.validate_update; unknown top-level members are ignored, a null
/// member counts as absent): ok, or kInvalidArgument/kCommands with detail kNotObject, kStatus
/// (missing, not a string, unknown; CREATED is read, the service refuses it later), kStatusReason,
/// kReasonCode (not a string of 1..64 characters), kReasonDescription (not a string of at most
/// 1024 characters), kResult, kResultValue (not exactly one of `{"s": string}`, `{"b": bool}`,
/// `{"bin": padded base64}`). The service answers each with `InvalidRequest` (kNotObject:
/// `InvalidJson`). For tests, emulators and the fuzzer; a device only writes updates.
Status read_update(const json::Value& root, UpdateView& out, ErrorText* why = nullptr);

// ---- answers -------------------------------------------------------------------------------------

/// The `error` of a rejected answer (PROTOCOLS.md §3, RejectedErrorCode): the very codes of the Jobs
/// API, so the same enum. `to_string` gives the protocol string ("unknown" for kUnknown: absent, or a
/// code this version does not know; ExecutionAnswer::error_code has the text).
using RejectedError = jobs::ErrorCode;
/// The code a protocol string names (exact, case-sensitive), kUnknown for anything else.
inline RejectedError parse_rejected_error(std::string_view text) { return jobs::error_code_from(text); }
/// Whether sending the same update again later can succeed (kInternalError, kRequestThrottled).
bool is_retryable(RejectedError error);

/// A decoded answer to a status update.
struct ExecutionAnswer {
  bool accepted = false;
  FixedString<kMaxExecutionId> execution_id;
  RejectedError error = RejectedError::kUnknown;    ///< rejected only
  FixedString<kMaxRejectedErrorCode> error_code;    ///< rejected: `error` as sent
  FixedString<ErrorText::kCapacity> error_message;  ///< rejected: `errorMessage`
  bool truncated = false;  ///< error_code or error_message was cut (at a UTF-8 boundary) to fit
};

/// Decodes the answer `payload` on a topic classified as `topic` (kAccepted or kRejected) into
/// `out` (reset first). `executionId`, when present, must be the topic's. Errors (kCommands):
/// - kInvalidArgument/kTopicKind: `topic` is not an answer (also a contract violation)
/// - kOutOfRange/kPayloadTooLarge, kInvalidArgument/kPayloadNotJson: as decode_request
/// - kInvalidArgument/kNotObject: not a JSON object
/// - kInvalidArgument/kExecutionId: executionId not a string
/// - kInvalidArgument/kExecutionIdMismatch: executionId differs from the topic's
/// - kInvalidArgument/kErrorField: error or errorMessage not a string
/// - kResourceExhausted/kJson: the JSON parser could not allocate its tree
Status decode_answer(const InboundTopic& topic, Span<const std::uint8_t> payload, ExecutionAnswer& out,
                     ErrorText* why = nullptr);

}  // namespace tether::commands
