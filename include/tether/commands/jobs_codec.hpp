// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// AWS IoT Jobs codec (MQTT device API, PROTOCOLS.md §2): pure functions over topics and JSON text,
/// with no I/O, no clock and no session state, shared by the jobs session and driven directly by
/// the unit tests and the fuzzer (fuzz_jobs).
///
/// - **Topics**: JobsTopics builds the request topics and the subscription topics of one thing
///   under a topic profile, and classifies an inbound topic (which one, and the job ID it names).
///   The root comes from TopicScheme (family kJobs):
///
///   | profile  | root                  | example                                        |
///   |----------|-----------------------|------------------------------------------------|
///   | kAws     | `$aws/things/<t>/jobs` | `$aws/things/dev-1/jobs/job-7/update/accepted` |
///   | kNeutral | `cmd/<t>/jobs`         | `cmd/dev-1/jobs/start-next`                    |
///
/// - **Decoding**: each response kind has a decode function that parses the payload and calls a
///   visitor with a struct of views into the parsed tree. The views (strings, json::Value, status
///   details) are valid during the visitor call only: copy what must outlive it. Every field is
///   type-checked before the visitor runs; what the visitor returns, decode returns.
/// - **Encoding**: the three requests with a body (start-next, `<jobId>/get`, `<jobId>/update`)
///   plus the pending-jobs `get` are validated against the service's limits first and then written
///   into a caller buffer; the result is a view into it (not NUL-terminated).
///
/// Statuses use origin kCommands with a Field as detail (which field was wrong), except those that
/// come from a lower layer unchanged: JSON syntax and size (kJson, see json::parse), a buffer too
/// small for an encoded request (kResourceExhausted/kJson), and topic scheme errors (kTopic).
/// Every error comes with an explanation in `why` (optional) naming the field, e.g.
/// `"execution.statusDetails.reason" is not a string (is number)`; the explanation is one line of
/// printable ASCII (bytes from the input that are not are never copied into it).
///
/// Timestamps (`timestamp`, `queuedAt`, `startedAt`, `lastUpdatedAt`) are read as int64 whatever
/// their unit: the Jobs documentation says seconds, its examples are milliseconds, and the
/// emulator (tools/cloudsim) can send either.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/inplace_function.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/topics.hpp"

namespace tether::commands::jobs {

// ---- limits (PROTOCOLS.md §2) ------------------------------------------------------------------

/// Job ID: 1..64 characters of `[a-zA-Z0-9_-]`.
inline constexpr std::size_t kMaxJobId = 64;
/// clientToken: 1..64 characters (encoding: printable ASCII).
inline constexpr std::size_t kMaxClientToken = 64;
/// Job document: at most 32 KB, measured as compact JSON (see JobExecution::job_document).
inline constexpr std::size_t kMaxJobDocument = 32 * 1024;
/// statusDetails keys: 1..128 characters of `[a-zA-Z0-9:_-]`.
inline constexpr std::size_t kMaxStatusDetailKey = 128;
/// statusDetails values: 1..1024 characters (Unicode code points), no control characters.
inline constexpr std::size_t kMaxStatusDetailValue = 1024;
/// stepTimeoutInMinutes: 1..10080 (one week).
inline constexpr std::uint32_t kMaxStepTimeoutMinutes = 10080;
/// Largest integer written or read for versions and execution numbers (2^53 - 1: exact in JSON),
/// json::kMaxSafeInteger as an integer.
inline constexpr std::int64_t kMaxSafeInteger = static_cast<std::int64_t>(json::kMaxSafeInteger);
static_assert(kMaxSafeInteger == 9007199254740991, "2^53 - 1");
/// The job ID that names the next pending execution in `<jobId>/get` (DescribeJobExecution).
inline constexpr std::string_view kNextJobId = "$next";

// ---- vocabulary --------------------------------------------------------------------------------

/// The status of a job execution (the service's full set).
enum class JobStatus : std::uint8_t {
  kQueued,
  kInProgress,
  kSucceeded,
  kFailed,
  kCanceled,
  kTimedOut,
  kRejected,
  kRemoved,
};
inline constexpr std::size_t kJobStatusCount = 8;

/// The wire name: "QUEUED", "IN_PROGRESS", ...
const char* to_string(JobStatus status);
/// The status a wire name stands for (case-sensitive), or nullopt.
std::optional<JobStatus> job_status_from(std::string_view text);
/// SUCCEEDED, FAILED, CANCELED, TIMED_OUT, REJECTED, REMOVED: the execution will not change again.
bool is_terminal(JobStatus status);
/// IN_PROGRESS, SUCCEEDED, FAILED, REJECTED: the statuses a device may send in an update.
bool is_device_settable(JobStatus status);

/// The `code` of an error response (jobs-api.md); kUnknown keeps any other code readable (its text
/// is in ErrorResponse::code_text).
enum class ErrorCode : std::uint8_t {
  kInvalidTopic,
  kInvalidJson,
  kInvalidRequest,
  kInvalidStateTransition,
  kResourceNotFound,
  kVersionMismatch,
  kInternalError,
  kRequestThrottled,
  kTerminalStateReached,
  kUnknown,
};

/// The wire name ("VersionMismatch"); "unknown" for kUnknown.
const char* to_string(ErrorCode code);
/// The code a wire name stands for (case-sensitive); kUnknown for anything else.
ErrorCode error_code_from(std::string_view text);

/// Which field a Status is about: the detail of every kCommands status this codec returns.
enum class Field : std::uint16_t {
  kNone = 0,     ///< the document as a whole (e.g. its root is not an object)
  kJobId,        ///< `jobId` (in a document or a topic)
  kThingName,
  kJobDocument,
  kStatus,
  kStatusDetails,
  kQueuedAt,
  kStartedAt,
  kLastUpdatedAt,
  kVersionNumber,
  kExecutionNumber,
  kExecution,
  kExecutionState,
  kClientToken,
  kTimestamp,
  kCode,
  kMessage,
  kInProgressJobs,
  kQueuedJobs,
  kJobs,
  kExpectedVersion,
  kStepTimeoutInMinutes,
  kTopic,        ///< the topic is none of this thing's jobs topics
};

/// The JSON member name ("statusDetails"); "document" for kNone, "topic" for kTopic.
const char* to_string(Field field);

/// Checks a job ID: 1..kMaxJobId bytes of `[a-zA-Z0-9_-]`. ok, kOutOfRange/kCommands (empty or too
/// long; detail kJobId) or kInvalidArgument/kCommands (a bad character; detail kJobId).
Status validate_job_id(std::string_view job_id, ErrorText* why = nullptr);

/// Checks a clientToken to send: 1..kMaxClientToken bytes of printable ASCII (0x20..0x7E). ok,
/// kOutOfRange/kCommands or kInvalidArgument/kCommands (detail kClientToken).
Status validate_client_token(std::string_view token, ErrorText* why = nullptr);

// ---- topics ------------------------------------------------------------------------------------

/// The jobs topics of one thing. Requests are published, responses subscribed to.
enum class Topic : std::uint8_t {
  kGetPending,          ///< `get`: GetPendingJobExecutions
  kStartNext,           ///< `start-next`: StartNextPendingJobExecution
  kDescribe,            ///< `<jobId>/get`: DescribeJobExecution (`<jobId>` may be `$next`)
  kUpdate,              ///< `<jobId>/update`: UpdateJobExecution
  kNotify,              ///< `notify`: JobExecutionsChanged
  kNotifyNext,          ///< `notify-next`: NextJobExecutionChanged
  kGetPendingAccepted,  ///< `get/accepted`
  kGetPendingRejected,  ///< `get/rejected`
  kStartNextAccepted,   ///< `start-next/accepted`
  kStartNextRejected,   ///< `start-next/rejected`
  kDescribeAccepted,    ///< `<jobId>/get/accepted`
  kDescribeRejected,    ///< `<jobId>/get/rejected`
  kUpdateAccepted,      ///< `<jobId>/update/accepted`
  kUpdateRejected,      ///< `<jobId>/update/rejected`
};
inline constexpr std::size_t kTopicCount = 14;

/// The suffix after the root, for logs: "get", "start-next/accepted", "<jobId>/update", ...
const char* to_string(Topic topic);
/// Whether the topic has a `<jobId>` level (kDescribe*, kUpdate*).
bool names_job(Topic topic);
/// Whether the device publishes to it (kGetPending, kStartNext, kDescribe, kUpdate).
bool is_request(Topic topic);
/// Whether it carries an error response (the `.../rejected` topics).
bool is_rejected(Topic topic);

/// An inbound topic, classified. `job_id` is a view into the classified topic (empty for topics
/// without a job ID).
struct TopicMatch {
  Topic topic = Topic::kNotify;
  std::string_view job_id;
};

class JobsTopics {
 public:
  /// Builds the root for the thing of `scheme` (family kJobs). ok, the TopicScheme::build error
  /// (kTopic), or kOutOfRange/kTopic (detail = the root's length) when the longest jobs topic
  /// (`<root>/<64-byte job ID>/update/accepted`) would exceed kMaxTopic.
  Status init(const TopicScheme& scheme, ErrorText* why = nullptr);

  /// `<root>/<suffix>`, with `job_id` as the `<jobId>` level of the topics that have one.
  /// `job_id` must be empty for the others; for kDescribe, kDescribeAccepted and kDescribeRejected
  /// it may be kNextJobId; for the four response topics with a job ID it may be `+`, which makes the
  /// result a subscription filter for every job. Errors (origin kCommands, detail kJobId):
  /// kInvalidArgument when a job ID is missing, given where none belongs, or is not valid
  /// (validate_job_id: also kOutOfRange); kFailedPrecondition (detail kNone) when init() did not
  /// succeed (also a contract violation).
  Result<std::string_view> build(Topic topic, FixedString<kMaxTopic>& out, std::string_view job_id = {},
                                 ErrorText* why = nullptr) const;

  /// Which of this thing's jobs topics `topic` is, and the job ID it names (validated; `$next`
  /// only for the kDescribe topics). Errors (origin kCommands): kNotFound (detail kTopic) when it
  /// is none of them (another thing's, another family's, an unknown suffix, or init() did not
  /// succeed: also a contract violation); kInvalidArgument or kOutOfRange (detail kJobId) when it
  /// has the shape of a job topic of this thing but its job ID is not valid.
  Result<TopicMatch> classify(std::string_view topic, ErrorText* why = nullptr) const;

  /// `$aws/things/<t>/jobs` or `cmd/<t>/jobs`; empty before init().
  std::string_view root() const { return root_.view(); }

 private:
  FixedString<kMaxTopic> root_;
};

// ---- decoded documents -------------------------------------------------------------------------

class StatusDetails;
class SummaryList;

/// `value` must be an object of strings (kInvalidArgument/kCommands, detail kStatusDetails; `why`
/// names it "statusDetails"). An invalid `value` (absent) reads as absent.
Status read_status_details(const json::Value& value, StatusDetails& out, ErrorText* why = nullptr);
/// `value` must be an array of JobExecutionSummary objects (an invalid `value` reads as empty).
/// `path` names it in `why` ("queuedJobs"); `field` is the detail when it is not an array or an
/// element is not an object (errors inside an element name the element's field).
Status read_summary_list(const json::Value& value, std::string_view path, Field field, SummaryList& out,
                         ErrorText* why = nullptr);

/// One member of a statusDetails map.
struct StatusDetail {
  std::string_view key;
  std::string_view value;
};

/// A read-only view of a decoded statusDetails object (string → string), valid while its tree
/// lives. Iterates members in document order; of duplicate keys only the first counts (for
/// iteration, size() and find()). Only the types are checked when decoding (every member a
/// string): the service's key and value rules apply to what a device sends.
class StatusDetails {
 public:
  class Iterator {
   public:
    StatusDetail operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return member_.is(other.member_); }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class StatusDetails;
    Iterator(json::Value object, json::Value member);
    json::Value object_;
    json::Value member_;
  };

  /// Absent (no statusDetails in the document).
  StatusDetails() = default;

  /// Whether the document had a statusDetails object (possibly empty).
  bool present() const { return object_.valid(); }
  /// Number of distinct keys.
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  /// The value for `key`, or nullopt.
  std::optional<std::string_view> find(std::string_view key) const;
  Iterator begin() const;
  Iterator end() const;
  /// The object itself (invalid when absent), e.g. to copy it with json::Writer.
  json::Value value() const { return object_; }

 private:
  friend Status read_status_details(const json::Value& value, StatusDetails& out, ErrorText* why);
  explicit StatusDetails(json::Value object) : object_(object) {}
  json::Value object_;
};

/// A JobExecution (`execution` in notify-next, start-next/accepted, `<jobId>/get/accepted`).
/// Numbers absent from the document read as -1.
struct JobExecution {
  std::string_view job_id;          ///< required, validated (validate_job_id)
  std::string_view thing_name;      ///< empty when absent (compare with yours)
  /// An object of at most kMaxJobDocument bytes when written compactly with json::Writer
  /// (integers as integers: the size of a copy made with a writer); invalid when absent (the
  /// request asked for no document).
  json::Value job_document;
  JobStatus status = JobStatus::kQueued;  ///< required
  StatusDetails status_details;
  std::int64_t queued_at = -1;
  std::int64_t started_at = -1;
  std::int64_t last_updated_at = -1;
  std::int64_t version_number = -1;
  std::int64_t execution_number = -1;
};

/// A JobExecutionState (`executionState` in update/accepted and in error responses).
struct JobExecutionState {
  JobStatus status = JobStatus::kQueued;  ///< required
  StatusDetails status_details;
  std::int64_t version_number = -1;
};

/// notify-next `{execution?, timestamp}`, start-next/accepted and `<jobId>/get/accepted`
/// `{execution?, timestamp, clientToken}`. No execution: nothing is pending (notify-next,
/// start-next, `$next/get`).
struct ExecutionResponse {
  std::optional<JobExecution> execution;
  std::string_view client_token;  ///< empty when absent
  std::int64_t timestamp = -1;
};

/// update/accepted `{executionState?, jobDocument?, timestamp, clientToken}`.
struct UpdateAccepted {
  std::optional<JobExecutionState> execution_state;
  json::Value job_document;  ///< as JobExecution::job_document
  std::string_view client_token;
  std::int64_t timestamp = -1;
};

/// An error response (every `.../rejected` topic) `{code, message, clientToken, timestamp,
/// executionState?}`.
struct ErrorResponse {
  ErrorCode code = ErrorCode::kUnknown;
  std::string_view code_text;  ///< the code as sent (required)
  std::string_view message;
  std::string_view client_token;
  std::int64_t timestamp = -1;
  std::optional<JobExecutionState> execution_state;  ///< VersionMismatch and others
};

/// A JobExecutionSummary (pending-jobs lists and notify).
struct JobExecutionSummary {
  std::string_view job_id;  ///< required, validated
  std::int64_t queued_at = -1;
  std::int64_t started_at = -1;
  std::int64_t last_updated_at = -1;
  std::int64_t version_number = -1;
  std::int64_t execution_number = -1;
};

/// A read-only view of a decoded array of JobExecutionSummary (each element already checked), in
/// document order; valid while its tree lives. Empty when the array was absent.
class SummaryList {
 public:
  class Iterator {
   public:
    JobExecutionSummary operator*() const;
    Iterator& operator++() {
      element_ = element_.next();
      return *this;
    }
    bool operator==(const Iterator& other) const { return element_.is(other.element_); }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class SummaryList;
    explicit Iterator(json::Value element) : element_(element) {}
    json::Value element_;
  };

  SummaryList() = default;
  std::size_t size() const { return array_.size(); }
  bool empty() const { return size() == 0; }
  Iterator begin() const { return Iterator(array_.first_child()); }
  Iterator end() const { return Iterator(json::Value()); }

 private:
  friend Status read_summary_list(const json::Value& value, std::string_view path, Field field, SummaryList& out,
                                  ErrorText* why);
  explicit SummaryList(json::Value array) : array_(array) {}
  json::Value array_;
};

/// get/accepted `{inProgressJobs, queuedJobs, timestamp, clientToken}`.
struct PendingJobs {
  SummaryList in_progress;
  SummaryList queued;
  std::string_view client_token;
  std::int64_t timestamp = -1;
};

/// notify `{jobs: {"<status>": [JobExecutionSummary...]}, timestamp}`: the pending executions by
/// status (the service lists QUEUED and IN_PROGRESS).
struct JobsChanged {
  SummaryList queued;
  SummaryList in_progress;
  std::int64_t timestamp = -1;
};

// ---- decoding ----------------------------------------------------------------------------------

template <typename T>
using DecodeVisitor = InplaceFunction<Status(const T&), 4 * sizeof(void*)>;

/// Each decode function parses `payload` (at most kMaxJsonInput bytes), checks it and calls `visit`
/// once; it returns what `visit` returns, or, without calling it:
/// - the json::parse error (origin kJson: not JSON, too large, nested too deep, out of memory);
/// - kInvalidArgument/kCommands: the root is not an object (detail kNone), a field has the wrong
///   type, a required field is missing, a job ID is not valid, a status is none of the eight,
///   a job document is not an object (detail = the Field);
/// - kOutOfRange/kCommands: a timestamp, version or execution number is negative or beyond
///   2^53 - 1 (a fraction is kInvalidArgument: not an integer), a job ID is empty or longer than
///   kMaxJobId, a job document is larger than kMaxJobDocument (detail = the Field).
/// Members the codec does not know are ignored. A member that is `null` has the wrong type (the
/// service leaves absent members out).
Status decode_notify_next(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit,
                          ErrorText* why = nullptr);
Status decode_start_next_accepted(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit,
                                  ErrorText* why = nullptr);
Status decode_describe_accepted(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit,
                                ErrorText* why = nullptr);
Status decode_update_accepted(std::string_view payload, const DecodeVisitor<UpdateAccepted>& visit,
                              ErrorText* why = nullptr);
/// Any `.../rejected` topic. `code` is required (a string).
Status decode_error_response(std::string_view payload, const DecodeVisitor<ErrorResponse>& visit,
                             ErrorText* why = nullptr);
Status decode_pending_jobs(std::string_view payload, const DecodeVisitor<PendingJobs>& visit,
                           ErrorText* why = nullptr);
Status decode_jobs_changed(std::string_view payload, const DecodeVisitor<JobsChanged>& visit,
                           ErrorText* why = nullptr);

/// The readers the decode functions are made of, for a tree parsed by the caller. `path` names
/// the value in error texts (e.g. "execution"). Same errors as above; `out` is reset first.
Status read_job_execution(const json::Value& value, std::string_view path, JobExecution& out,
                          ErrorText* why = nullptr);
Status read_execution_state(const json::Value& value, std::string_view path, JobExecutionState& out,
                            ErrorText* why = nullptr);

// ---- encoding ----------------------------------------------------------------------------------

/// StartNextPendingJobExecution: `{statusDetails?, stepTimeoutInMinutes?, clientToken}`.
struct StartNextRequest {
  /// nullopt: not sent (the stored map stays); an empty span sends `{}` (clears it).
  std::optional<Span<const StatusDetail>> status_details;
  std::optional<std::uint32_t> step_timeout_minutes;  ///< 1..kMaxStepTimeoutMinutes
  std::string_view client_token;                      ///< required (validate_client_token)
};

/// DescribeJobExecution: `{executionNumber?, includeJobDocument, clientToken}`.
struct DescribeRequest {
  std::optional<std::int64_t> execution_number;  ///< 1..kMaxSafeInteger
  bool include_job_document = true;
  std::string_view client_token;  ///< required
};

/// UpdateJobExecution: `{status, statusDetails?, expectedVersion?, executionNumber?,
/// includeJobExecutionState?, includeJobDocument?, stepTimeoutInMinutes?, clientToken}`.
struct UpdateRequest {
  JobStatus status = JobStatus::kInProgress;  ///< device-settable only (is_device_settable)
  std::optional<Span<const StatusDetail>> status_details;  ///< as in StartNextRequest
  /// Written as a JSON integer (the service's models; the emulator also takes a numeric string,
  /// which the embedded AWS library sends). 0..kMaxSafeInteger.
  std::optional<std::int64_t> expected_version;
  std::optional<std::int64_t> execution_number;  ///< 1..kMaxSafeInteger
  bool include_job_execution_state = false;       ///< written only when true (the default is false)
  bool include_job_document = false;              ///< written only when true
  /// 1..kMaxStepTimeoutMinutes; only with kInProgress (the step timer restarts).
  std::optional<std::uint32_t> step_timeout_minutes;
  std::string_view client_token;  ///< required
};

/// Each encode function checks the request and writes it into `out`, returning the document as a
/// view into `out`. Nothing is written when a check fails. Errors:
/// - kInvalidArgument/kCommands (detail = the Field): a statusDetails key with a character outside
///   `[a-zA-Z0-9:_-]`, a key given twice, a value that is not UTF-8 or holds a control, format or
///   private-use character or a noncharacter (Unicode general category C, except unassigned code
///   points, which change with Unicode versions), a clientToken outside printable ASCII, a status
///   a device may not set, stepTimeoutInMinutes with a status other than IN_PROGRESS;
/// - kOutOfRange/kCommands (detail = the Field): an empty or over-long key, value or clientToken,
///   stepTimeoutInMinutes, expectedVersion or executionNumber outside its range;
/// - kResourceExhausted/kJson: `out` is too small.
Result<std::string_view> encode_get_pending(std::string_view client_token, Span<char> out, ErrorText* why = nullptr);
Result<std::string_view> encode_start_next(const StartNextRequest& request, Span<char> out, ErrorText* why = nullptr);
Result<std::string_view> encode_describe(const DescribeRequest& request, Span<char> out, ErrorText* why = nullptr);
Result<std::string_view> encode_update(const UpdateRequest& request, Span<char> out, ErrorText* why = nullptr);

/// Checks a statusDetails map to send (the key and value rules of the encode functions).
Status validate_status_details(Span<const StatusDetail> details, ErrorText* why = nullptr);

/// Copies a statusDetails value into `out` with every character the service refuses in a value
/// (see validate_status_details) replaced: tab, line feed and carriage return by a space, any other
/// (and each byte of ill-formed UTF-8) by `?`. A program's output, say, keeps its text instead of
/// being left out. `replaced` (optional) counts the replacements. Returns the copy (a view into
/// `out`), or kResourceExhausted/kCommands when `out` is shorter than `value`.
Result<std::string_view> sanitize_status_detail_value(std::string_view value, Span<char> out,
                                                      std::size_t* replaced = nullptr);

}  // namespace tether::commands::jobs
