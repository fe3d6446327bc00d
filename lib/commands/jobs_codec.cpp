// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/commands/jobs_codec.hpp"

#include <cstdio>
#include <cstring>

#include "tether/contract.hpp"
#include "tether/decimal.hpp"
#include "tether/utf8.hpp"

namespace tether::commands::jobs {
namespace {

using json::Type;
using json::Value;

constexpr const char* kStatusNames[kJobStatusCount] = {
    "QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED", "TIMED_OUT", "REJECTED", "REMOVED",
};

constexpr const char* kErrorCodeNames[] = {
    "InvalidTopic",    "InvalidJson",   "InvalidRequest",   "InvalidStateTransition", "ResourceNotFound",
    "VersionMismatch", "InternalError", "RequestThrottled", "TerminalStateReached",
};
constexpr std::size_t kKnownErrorCodes = sizeof kErrorCodeNames / sizeof kErrorCodeNames[0];
static_assert(kKnownErrorCodes == static_cast<std::size_t>(ErrorCode::kUnknown), "a name for every known code");

constexpr const char* kFieldNames[] = {
    "document",      "jobId",          "thingName",      "jobDocument", "status",        "statusDetails",
    "queuedAt",      "startedAt",      "lastUpdatedAt",  "versionNumber", "executionNumber", "execution",
    "executionState", "clientToken",   "timestamp",      "code",        "message",       "inProgressJobs",
    "queuedJobs",    "jobs",           "expectedVersion", "stepTimeoutInMinutes", "topic",
};
static_assert(sizeof kFieldNames / sizeof kFieldNames[0] == static_cast<std::size_t>(Field::kTopic) + 1,
              "a name for every field");

struct TopicInfo {
  const char* suffix;  // after the root, or after `<jobId>/` when names_job
  bool names_job;
  const char* log_name;
};
constexpr TopicInfo kTopics[kTopicCount] = {
    {"get", false, "get"},
    {"start-next", false, "start-next"},
    {"get", true, "<jobId>/get"},
    {"update", true, "<jobId>/update"},
    {"notify", false, "notify"},
    {"notify-next", false, "notify-next"},
    {"get/accepted", false, "get/accepted"},
    {"get/rejected", false, "get/rejected"},
    {"start-next/accepted", false, "start-next/accepted"},
    {"start-next/rejected", false, "start-next/rejected"},
    {"get/accepted", true, "<jobId>/get/accepted"},
    {"get/rejected", true, "<jobId>/get/rejected"},
    {"update/accepted", true, "<jobId>/update/accepted"},
    {"update/rejected", true, "<jobId>/update/rejected"},
};
// The longest topic: `<root>/<job ID>/update/accepted`.
constexpr std::size_t kLongestJobSuffix = sizeof("update/accepted") - 1;

const TopicInfo& info(Topic topic) { return kTopics[static_cast<std::size_t>(topic)]; }

bool accepts_next(Topic topic) {
  return topic == Topic::kDescribe || topic == Topic::kDescribeAccepted || topic == Topic::kDescribeRejected;
}

bool accepts_wildcard(Topic topic) { return names_job(topic) && !is_request(topic); }

Status fail(StatusCode code, Field field) {
  return Status(code, Origin::kCommands, static_cast<std::uint16_t>(field));
}

bool is_printable_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

// Text from the input, quoted when it is short printable ASCII, for error texts (control
// characters and broken UTF-8 never go into a text that gets logged).
struct Quoted {
  char text[48];
};
Quoted quoted(std::string_view s) {
  Quoted q{};
  if (s.size() <= 40 && is_printable_ascii(s)) {
    std::snprintf(q.text, sizeof q.text, "\"%.*s\"", static_cast<int>(s.size()), s.data());
  } else {
    std::snprintf(q.text, sizeof q.text, "of %u bytes", static_cast<unsigned>(s.size()));
  }
  return q;
}

// A byte for an error text: 'c' when printable, 0xNN otherwise.
struct ByteText {
  char text[8];
};
ByteText byte_text(char c) {
  ByteText b{};
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u <= 0x7E && c != '\'') {
    std::snprintf(b.text, sizeof b.text, "'%c'", c);
  } else {
    std::snprintf(b.text, sizeof b.text, "0x%02x", u);
  }
  return b;
}

// The dotted name of a member for error texts: `"execution.statusDetails"`. `parent` is built by
// this file from fixed names, indices and sanitised keys (always printable).
using Path = FixedString<160>;
Path path_of(std::string_view parent, std::string_view name) {
  Path p;
  if (!parent.empty()) {
    p.append(parent).ignore();
    p.append(".").ignore();
  }
  p.append(name).ignore();  // cut at capacity: an explanation only
  return p;
}

// ---- text rules ----------------------------------------------------------------------------------

bool is_job_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_detail_key_char(char c) { return is_job_id_char(c) || c == ':'; }

// `label` is already quoted or a plain description ("job ID").
Status check_job_id(std::string_view id, std::string_view label, ErrorText* why) {
  if (id.empty() || id.size() > kMaxJobId) {
    set_error_text(why, "%.*s must be 1..%u bytes (is %u)", static_cast<int>(label.size()), label.data(),
                   static_cast<unsigned>(kMaxJobId), static_cast<unsigned>(id.size()));
    return fail(StatusCode::kOutOfRange, Field::kJobId);
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (is_job_id_char(id[i])) continue;
    set_error_text(why, "%.*s: character %s at byte %u is not allowed (only [a-zA-Z0-9_-])",
                   static_cast<int>(label.size()), label.data(), byte_text(id[i]).text, static_cast<unsigned>(i));
    return fail(StatusCode::kInvalidArgument, Field::kJobId);
  }
  return Status();
}

// Unicode general category Cf (format characters), Unicode 15.
struct Range {
  std::uint32_t first;
  std::uint32_t last;
};
constexpr Range kFormatCharacters[] = {
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070F, 0x070F},
    {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},   {0x200B, 0x200F},   {0x202A, 0x202E},
    {0x2060, 0x2064},   {0x2066, 0x206F},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
};

// Category C (the `\p{C}` of the service's `[^\p{C}]+`) except unassigned code points: controls
// (Cc), format (Cf), private use (Co) and the noncharacters. Surrogates (Cs) cannot be decoded.
bool is_other_category(std::uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;                   // Cc
  if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000) return true;             // Co (planes 15, 16)
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return true;   // noncharacters
  for (const Range& r : kFormatCharacters) {
    if (cp >= r.first && cp <= r.last) return true;
  }
  return false;
}

Status check_detail_key(std::string_view key, std::size_t index, ErrorText* why) {
  if (key.empty() || key.size() > kMaxStatusDetailKey) {
    set_error_text(why, "statusDetails key %u must be 1..%u characters (is %u)", static_cast<unsigned>(index),
                   static_cast<unsigned>(kMaxStatusDetailKey), static_cast<unsigned>(key.size()));
    return fail(StatusCode::kOutOfRange, Field::kStatusDetails);
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (is_detail_key_char(key[i])) continue;
    set_error_text(why, "statusDetails key %u: character %s at byte %u is not allowed (only [a-zA-Z0-9:_-])",
                   static_cast<unsigned>(index), byte_text(key[i]).text, static_cast<unsigned>(i));
    return fail(StatusCode::kInvalidArgument, Field::kStatusDetails);
  }
  return Status();
}

// `key` has passed check_detail_key (printable).
Status check_detail_value(std::string_view key, std::string_view value, ErrorText* why) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < value.size(); ++chars) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8::decode(value, i, &cp);
    if (n == 0) {
      set_error_text(why, "statusDetails value of \"%.*s\": invalid UTF-8 at byte %u", static_cast<int>(key.size()),
                     key.data(), static_cast<unsigned>(i));
      return fail(StatusCode::kInvalidArgument, Field::kStatusDetails);
    }
    if (is_other_category(cp)) {
      set_error_text(why, "statusDetails value of \"%.*s\": character U+%04lX at byte %u is not allowed "
                     "(control, format, private use or noncharacter)",
                     static_cast<int>(key.size()), key.data(), static_cast<unsigned long>(cp),
                     static_cast<unsigned>(i));
      return fail(StatusCode::kInvalidArgument, Field::kStatusDetails);
    }
    i += n;
  }
  if (chars == 0 || chars > kMaxStatusDetailValue) {
    set_error_text(why, "statusDetails value of \"%.*s\" must be 1..%u characters (is %u)",
                   static_cast<int>(key.size()), key.data(), static_cast<unsigned>(kMaxStatusDetailValue),
                   static_cast<unsigned>(chars));
    return fail(StatusCode::kOutOfRange, Field::kStatusDetails);
  }
  return Status();
}

// ---- reading -------------------------------------------------------------------------------------

Status not_an_object(std::string_view path, const Value& v, Field field, ErrorText* why) {
  if (path.empty()) {
    set_error_text(why, "jobs response is not a JSON object (is %s)", json::to_string(v.type()));
  } else {
    set_error_text(why, "\"%.*s\" is not an object (is %s)", static_cast<int>(path.size()), path.data(),
                   json::to_string(v.type()));
  }
  return fail(StatusCode::kInvalidArgument, field);
}

Status wrong_type(std::string_view parent, Field field, const char* expected, const Value& v, ErrorText* why) {
  const Path p = path_of(parent, to_string(field));
  set_error_text(why, "\"%s\" is not %s (is %s)", p.c_str(), expected, json::to_string(v.type()));
  return fail(StatusCode::kInvalidArgument, field);
}

Status missing(std::string_view parent, Field field, ErrorText* why) {
  const Path p = path_of(parent, to_string(field));
  set_error_text(why, "\"%s\" is missing", p.c_str());
  return fail(StatusCode::kInvalidArgument, field);
}

// An optional string member (left as is when absent).
Status read_string(const Value& object, std::string_view parent, Field field, std::string_view& out, ErrorText* why) {
  const Value v = object[to_string(field)];
  if (!v.valid()) return Status();
  const Result<std::string_view> s = v.as_string();
  if (!s.ok()) return wrong_type(parent, field, "a string", v, why);
  out = *s;
  return Status();
}

Status read_required_string(const Value& object, std::string_view parent, Field field, std::string_view& out,
                            ErrorText* why) {
  if (!object[to_string(field)].valid()) return missing(parent, field, why);
  return read_string(object, parent, field, out, why);
}

// An optional non-negative integer member (left as is when absent).
Status read_count(const Value& object, std::string_view parent, Field field, std::int64_t& out, ErrorText* why) {
  const Value v = object[to_string(field)];
  if (!v.valid()) return Status();
  if (!v.is_number()) return wrong_type(parent, field, "an integer", v, why);
  const Result<std::int64_t> n = v.as_int();
  const Path p = path_of(parent, to_string(field));
  if (!n.ok() && n.status().code() == StatusCode::kInvalidArgument) {
    set_error_text(why, "\"%s\" is not an integer (has a fraction)", p.c_str());
    return fail(StatusCode::kInvalidArgument, field);
  }
  if (!n.ok() || *n < 0) {
    set_error_text(why, "\"%s\" is out of range (0..2^53-1)", p.c_str());
    return fail(StatusCode::kOutOfRange, field);
  }
  out = *n;
  return Status();
}

Status read_job_id(const Value& object, std::string_view parent, std::string_view& out, ErrorText* why) {
  TETHER_RETURN_IF_ERROR(read_required_string(object, parent, Field::kJobId, out, why));
  Path label;
  label.assign("\"").ignore();
  label.append(path_of(parent, "jobId").view()).ignore();
  label.append("\"").ignore();
  return check_job_id(out, label.view(), why);
}

Status read_status(const Value& object, std::string_view parent, JobStatus& out, ErrorText* why) {
  std::string_view text;
  TETHER_RETURN_IF_ERROR(read_required_string(object, parent, Field::kStatus, text, why));
  const std::optional<JobStatus> status = job_status_from(text);
  if (!status) {
    const Path p = path_of(parent, "status");
    set_error_text(why, "\"%s\" %s is not a job execution status", p.c_str(), quoted(text).text);
    return fail(StatusCode::kInvalidArgument, Field::kStatus);
  }
  out = *status;
  return Status();
}

// The size of `v` written compactly by json::Writer, numbers as shadow::write_value writes them
// (integers as integers). Strings: the bytes plus the escapes the writer adds.
std::size_t string_size(std::string_view s) {
  std::size_t n = 2;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      n += 2;
    } else {
      n += b < 0x20 ? 6 : 1;
    }
  }
  return n;
}

std::size_t number_size(const Value& v) {
  char buf[40];
  json::Writer writer(Span<char>(buf, sizeof buf));
  const Result<std::int64_t> i = v.as_int();
  const Result<double> d = v.as_double();
  if (i.ok()) {
    writer.number(*i);
  } else if (d.ok()) {
    writer.number(*d);
  } else {
    return 5;  // beyond the range of a double: "1e999"
  }
  return writer.finish().value_or("").size();
}

std::size_t compact_size(const Value& v) {
  switch (v.type()) {
    case Type::kInvalid: return 0;
    case Type::kNull: return 4;
    case Type::kBool: return v.as_bool().value_or(false) ? 4 : 5;
    case Type::kNumber: return number_size(v);
    case Type::kString: return string_size(v.as_string().value_or({}));
    case Type::kArray:
    case Type::kObject: {
      std::size_t n = 2;
      bool first = true;
      for (Value m = v.first_child(); m.valid(); m = m.next()) {
        n += first ? 0 : 1;
        first = false;
        if (v.is_object()) n += string_size(m.key()) + 1;
        n += compact_size(m);
      }
      return n;
    }
  }
  return 0;
}

Status read_job_document(const Value& object, std::string_view parent, Value& out, ErrorText* why) {
  const Value v = object["jobDocument"];
  if (!v.valid()) return Status();
  if (!v.is_object()) return wrong_type(parent, Field::kJobDocument, "an object", v, why);
  const std::size_t size = compact_size(v);
  if (size > kMaxJobDocument) {
    const Path p = path_of(parent, "jobDocument");
    set_error_text(why, "\"%s\" is %lu bytes as compact JSON (at most %lu)", p.c_str(),
                   static_cast<unsigned long>(size), static_cast<unsigned long>(kMaxJobDocument));
    return fail(StatusCode::kOutOfRange, Field::kJobDocument);
  }
  out = v;
  return Status();
}

// A statusDetails object: an object of strings.
Status check_details(const Value& v, std::string_view parent, ErrorText* why) {
  if (!v.is_object()) return wrong_type(parent, Field::kStatusDetails, "an object", v, why);
  std::size_t index = 0;
  for (Value m = v.first_child(); m.valid(); m = m.next(), ++index) {
    if (m.is_string()) continue;
    const Path p = path_of(parent, "statusDetails");
    const std::string_view key = m.key();
    if (is_printable_ascii(key) && key.size() <= 40) {
      set_error_text(why, "\"%s.%.*s\" is not a string (is %s)", p.c_str(), static_cast<int>(key.size()), key.data(),
                     json::to_string(m.type()));
    } else {
      set_error_text(why, "\"%s\" member %u is not a string (is %s)", p.c_str(), static_cast<unsigned>(index),
                     json::to_string(m.type()));
    }
    return fail(StatusCode::kInvalidArgument, Field::kStatusDetails);
  }
  return Status();
}

Status read_details_member(const Value& object, std::string_view parent, StatusDetails& out, ErrorText* why) {
  out = StatusDetails();
  const Value v = object["statusDetails"];
  if (!v.valid()) return Status();
  TETHER_RETURN_IF_ERROR(check_details(v, parent, why));
  return read_status_details(v, out, why);
}

// queuedAt, startedAt, lastUpdatedAt, versionNumber and executionNumber, which a JobExecution and
// a JobExecutionSummary share.
template <typename Execution>
Status read_execution_numbers(const Value& v, std::string_view path, Execution& out, ErrorText* why) {
  const struct {
    Field field;
    std::int64_t* target;
  } counts[] = {{Field::kQueuedAt, &out.queued_at},
                {Field::kStartedAt, &out.started_at},
                {Field::kLastUpdatedAt, &out.last_updated_at},
                {Field::kVersionNumber, &out.version_number},
                {Field::kExecutionNumber, &out.execution_number}};
  for (const auto& c : counts) TETHER_RETURN_IF_ERROR(read_count(v, path, c.field, *c.target, why));
  return Status();
}

Status read_summary(const Value& v, std::string_view path, Field list, JobExecutionSummary& out, ErrorText* why) {
  out = JobExecutionSummary{};
  if (!v.is_object()) return not_an_object(path, v, list, why);
  TETHER_RETURN_IF_ERROR(read_job_id(v, path, out.job_id, why));
  return read_execution_numbers(v, path, out, why);
}

template <typename T, typename Read>
Status decode(std::string_view payload, const DecodeVisitor<T>& visit, ErrorText* why, Read read) {
  const DecodeVisitor<T>* visitor = &visit;
  ErrorText* const w = why;
  const Read* reader = &read;
  return json::parse(
      payload, kMaxJsonInput,
      [visitor, w, reader](const Value& root) -> Status {
        if (!root.is_object()) return not_an_object({}, root, Field::kNone, w);
        T decoded;
        TETHER_RETURN_IF_ERROR((*reader)(root, decoded));
        return (*visitor)(decoded);
      },
      why);
}

Status read_execution_response(const Value& root, ExecutionResponse& out, ErrorText* why) {
  const Value execution = root["execution"];
  if (execution.valid()) {
    out.execution.emplace();
    TETHER_RETURN_IF_ERROR(read_job_execution(execution, "execution", *out.execution, why));
  }
  TETHER_RETURN_IF_ERROR(read_string(root, {}, Field::kClientToken, out.client_token, why));
  return read_count(root, {}, Field::kTimestamp, out.timestamp, why);
}

Status read_state_member(const Value& root, std::optional<JobExecutionState>& out, ErrorText* why) {
  const Value state = root["executionState"];
  if (!state.valid()) return Status();
  out.emplace();
  return read_execution_state(state, "executionState", *out, why);
}

// ---- writing -------------------------------------------------------------------------------------

Status check_count(std::optional<std::int64_t> value, std::int64_t min, Field field, ErrorText* why) {
  if (!value || (*value >= min && *value <= kMaxSafeInteger)) return Status();
  set_error_text(why, "%s %s is out of range (%s..2^53-1)", to_string(field), Decimal(*value).c_str(),
                 Decimal(min).c_str());
  return fail(StatusCode::kOutOfRange, field);
}

Status check_step_timeout(std::optional<std::uint32_t> minutes, ErrorText* why) {
  if (!minutes || (*minutes >= 1 && *minutes <= kMaxStepTimeoutMinutes)) return Status();
  set_error_text(why, "stepTimeoutInMinutes %lu is out of range (1..%lu)", static_cast<unsigned long>(*minutes),
                 static_cast<unsigned long>(kMaxStepTimeoutMinutes));
  return fail(StatusCode::kOutOfRange, Field::kStepTimeoutInMinutes);
}

void write_details(json::Writer& writer, const std::optional<Span<const StatusDetail>>& details) {
  if (!details) return;
  writer.key("statusDetails").begin_object();
  for (const StatusDetail& d : *details) writer.key(d.key).string(d.value);
  writer.end_object();
}

Result<std::string_view> finish(json::Writer& writer, ErrorText* why) {
  Result<std::string_view> text = writer.finish();
  if (!text.ok()) set_error_text(why, "the output buffer is too small for the request");
  return text;
}

}  // namespace

// ---- vocabulary ----------------------------------------------------------------------------------

const char* to_string(JobStatus status) {
  const auto i = static_cast<std::size_t>(status);
  return i < kJobStatusCount ? kStatusNames[i] : "INVALID";
}

std::optional<JobStatus> job_status_from(std::string_view text) {
  for (std::size_t i = 0; i < kJobStatusCount; ++i) {
    if (text == kStatusNames[i]) return static_cast<JobStatus>(i);
  }
  return std::nullopt;
}

bool is_terminal(JobStatus status) { return status != JobStatus::kQueued && status != JobStatus::kInProgress; }

bool is_device_settable(JobStatus status) {
  return status == JobStatus::kInProgress || status == JobStatus::kSucceeded || status == JobStatus::kFailed ||
         status == JobStatus::kRejected;
}

const char* to_string(ErrorCode code) {
  const auto i = static_cast<std::size_t>(code);
  return i < kKnownErrorCodes ? kErrorCodeNames[i] : "unknown";
}

ErrorCode error_code_from(std::string_view text) {
  for (std::size_t i = 0; i < kKnownErrorCodes; ++i) {
    if (text == kErrorCodeNames[i]) return static_cast<ErrorCode>(i);
  }
  return ErrorCode::kUnknown;
}

const char* to_string(Field field) {
  const auto i = static_cast<std::size_t>(field);
  return i < sizeof kFieldNames / sizeof kFieldNames[0] ? kFieldNames[i] : "unknown";
}

Status validate_job_id(std::string_view job_id, ErrorText* why) { return check_job_id(job_id, "job ID", why); }

Status validate_client_token(std::string_view token, ErrorText* why) {
  if (token.empty() || token.size() > kMaxClientToken) {
    set_error_text(why, "clientToken must be 1..%u bytes (is %u)", static_cast<unsigned>(kMaxClientToken),
                   static_cast<unsigned>(token.size()));
    return fail(StatusCode::kOutOfRange, Field::kClientToken);
  }
  for (std::size_t i = 0; i < token.size(); ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c <= 0x7E) continue;
    set_error_text(why, "clientToken: byte 0x%02x at %u is not printable ASCII", c, static_cast<unsigned>(i));
    return fail(StatusCode::kInvalidArgument, Field::kClientToken);
  }
  return Status();
}

Result<std::string_view> sanitize_status_detail_value(std::string_view value, Span<char> out,
                                                      std::size_t* replaced) {
  if (replaced != nullptr) *replaced = 0;
  // Each replacement is one byte in place of one or more: the copy is never longer than `value`.
  if (out.size() < value.size()) return Status(StatusCode::kResourceExhausted, Origin::kCommands, 0);
  std::size_t used = 0;
  for (std::size_t i = 0; i < value.size();) {
    std::uint32_t cp = 0;
    std::size_t n = utf8::decode(value, i, &cp);
    if (n != 0 && !is_other_category(cp)) {
      for (std::size_t k = 0; k < n; ++k) out[used++] = value[i + k];
      i += n;
      continue;
    }
    if (n == 0) n = 1;  // one ill-formed byte at a time
    out[used++] = cp == '\t' || cp == '\n' || cp == '\r' ? ' ' : '?';
    if (replaced != nullptr) ++*replaced;
    i += n;
  }
  return std::string_view(out.data(), used);
}

Status validate_status_details(Span<const StatusDetail> details, ErrorText* why) {
  for (std::size_t i = 0; i < details.size(); ++i) {
    TETHER_RETURN_IF_ERROR(check_detail_key(details[i].key, i, why));
    for (std::size_t j = 0; j < i; ++j) {
      if (details[j].key != details[i].key) continue;
      set_error_text(why, "statusDetails key \"%.*s\" is given twice (entries %u and %u)",
                     static_cast<int>(details[i].key.size()), details[i].key.data(), static_cast<unsigned>(j),
                     static_cast<unsigned>(i));
      return fail(StatusCode::kInvalidArgument, Field::kStatusDetails);
    }
    TETHER_RETURN_IF_ERROR(check_detail_value(details[i].key, details[i].value, why));
  }
  return Status();
}

// ---- topics --------------------------------------------------------------------------------------

const char* to_string(Topic topic) {
  const auto i = static_cast<std::size_t>(topic);
  return i < kTopicCount ? kTopics[i].log_name : "invalid";
}

bool names_job(Topic topic) { return info(topic).names_job; }

bool is_request(Topic topic) {
  return topic == Topic::kGetPending || topic == Topic::kStartNext || topic == Topic::kDescribe ||
         topic == Topic::kUpdate;
}

bool is_rejected(Topic topic) {
  return topic == Topic::kGetPendingRejected || topic == Topic::kStartNextRejected ||
         topic == Topic::kDescribeRejected || topic == Topic::kUpdateRejected;
}

Status JobsTopics::init(const TopicScheme& scheme, ErrorText* why) {
  root_.clear();
  char buf[kMaxTopic];
  const Result<std::string_view> root = scheme.build(Span<char>(buf, sizeof buf), TopicFamily::kJobs);
  if (!root.ok()) {
    set_error_text(why, "the jobs topics of thing %s cannot be built (%s, detail %u)",
                   quoted(scheme.thing_name()).text, to_string(root.status().code()),
                   static_cast<unsigned>(root.status().detail()));
    return root.status();
  }
  if (root->size() + 1 + kMaxJobId + 1 + kLongestJobSuffix > kMaxTopic) {
    set_error_text(why, "jobs topics under a %u-byte root would exceed %u bytes", static_cast<unsigned>(root->size()),
                   static_cast<unsigned>(kMaxTopic));
    return Status(StatusCode::kOutOfRange, Origin::kTopic, static_cast<std::uint16_t>(root->size()));
  }
  return root_.assign(*root);
}

Result<std::string_view> JobsTopics::build(Topic topic, FixedString<kMaxTopic>& out, std::string_view job_id,
                                           ErrorText* why) const {
  TETHER_EXPECTS(!root_.empty());
  if (root_.empty()) {
    set_error_text(why, "jobs topics used before init() succeeded");
    return fail(StatusCode::kFailedPrecondition, Field::kNone);
  }
  if (!names_job(topic) && !job_id.empty()) {
    set_error_text(why, "the %s topic has no job ID", to_string(topic));
    return fail(StatusCode::kInvalidArgument, Field::kJobId);
  }
  if (names_job(topic)) {
    const bool special = (job_id == kNextJobId && accepts_next(topic)) || (job_id == "+" && accepts_wildcard(topic));
    if (job_id.empty()) {
      set_error_text(why, "the %s topic needs a job ID", to_string(topic));
      return fail(StatusCode::kInvalidArgument, Field::kJobId);
    }
    if (!special) TETHER_RETURN_IF_ERROR(check_job_id(job_id, "job ID", why));
  }
  out.assign(root_.view()).ignore();
  out.append("/").ignore();
  if (names_job(topic)) {
    out.append(job_id).ignore();
    out.append("/").ignore();
  }
  out.append(info(topic).suffix).ignore();  // fits: checked in init()
  return out.view();
}

Result<TopicMatch> JobsTopics::classify(std::string_view topic, ErrorText* why) const {
  TETHER_EXPECTS(!root_.empty());
  const std::string_view root = root_.view();
  const auto not_ours = [&]() -> Result<TopicMatch> {
    set_error_text(why, "topic %s is none of the jobs topics under \"%.*s\"", quoted(topic).text,
                   static_cast<int>(root.size()), root.data());
    return fail(StatusCode::kNotFound, Field::kTopic);
  };
  if (root.empty() || topic.size() <= root.size() + 1 || topic.substr(0, root.size()) != root ||
      topic[root.size()] != '/') {
    return not_ours();
  }
  const std::string_view rest = topic.substr(root.size() + 1);
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    if (!kTopics[i].names_job && rest == kTopics[i].suffix) return TopicMatch{static_cast<Topic>(i), {}};
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return not_ours();
  const std::string_view job_id = rest.substr(0, slash);
  const std::string_view tail = rest.substr(slash + 1);
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    if (!kTopics[i].names_job || tail != kTopics[i].suffix) continue;
    const auto t = static_cast<Topic>(i);
    if (!(job_id == kNextJobId && accepts_next(t))) {
      TETHER_RETURN_IF_ERROR(check_job_id(job_id, "job ID in the topic", why));
    }
    return TopicMatch{t, job_id};
  }
  return not_ours();
}

// ---- decoded views -------------------------------------------------------------------------------

StatusDetails::Iterator::Iterator(json::Value object, json::Value member) : object_(object), member_(member) {
  while (member_.valid() && !object_[member_.key()].is(member_)) member_ = member_.next();
}

StatusDetail StatusDetails::Iterator::operator*() const {
  return StatusDetail{member_.key(), member_.as_string().value_or({})};
}

StatusDetails::Iterator& StatusDetails::Iterator::operator++() {
  member_ = member_.next();
  while (member_.valid() && !object_[member_.key()].is(member_)) member_ = member_.next();
  return *this;
}

std::size_t StatusDetails::size() const {
  std::size_t n = 0;
  for (Iterator it = begin(); it != end(); ++it) ++n;
  return n;
}

std::optional<std::string_view> StatusDetails::find(std::string_view key) const {
  const Value v = object_[key];
  if (!v.valid()) return std::nullopt;
  return v.as_string().value_or({});
}

StatusDetails::Iterator StatusDetails::begin() const { return Iterator(object_, object_.first_child()); }

StatusDetails::Iterator StatusDetails::end() const { return Iterator(object_, Value()); }

JobExecutionSummary SummaryList::Iterator::operator*() const {
  JobExecutionSummary s;
  read_summary(element_, {}, Field::kJobs, s, nullptr).ignore();  // checked by read_summary_list
  return s;
}

// ---- readers -------------------------------------------------------------------------------------

Status read_status_details(const json::Value& value, StatusDetails& out, ErrorText* why) {
  out = StatusDetails();
  if (!value.valid()) return Status();
  TETHER_RETURN_IF_ERROR(check_details(value, {}, why));
  out = StatusDetails(value);
  return Status();
}

Status read_job_execution(const json::Value& value, std::string_view path, JobExecution& out, ErrorText* why) {
  out = JobExecution{};
  if (!value.is_object()) return not_an_object(path.empty() ? "execution" : path, value, Field::kExecution, why);
  TETHER_RETURN_IF_ERROR(read_job_id(value, path, out.job_id, why));
  TETHER_RETURN_IF_ERROR(read_status(value, path, out.status, why));
  TETHER_RETURN_IF_ERROR(read_string(value, path, Field::kThingName, out.thing_name, why));
  TETHER_RETURN_IF_ERROR(read_details_member(value, path, out.status_details, why));
  TETHER_RETURN_IF_ERROR(read_execution_numbers(value, path, out, why));
  return read_job_document(value, path, out.job_document, why);
}

Status read_execution_state(const json::Value& value, std::string_view path, JobExecutionState& out,
                            ErrorText* why) {
  out = JobExecutionState{};
  if (!value.is_object()) {
    return not_an_object(path.empty() ? "executionState" : path, value, Field::kExecutionState, why);
  }
  TETHER_RETURN_IF_ERROR(read_status(value, path, out.status, why));
  TETHER_RETURN_IF_ERROR(read_details_member(value, path, out.status_details, why));
  return read_count(value, path, Field::kVersionNumber, out.version_number, why);
}

Status read_summary_list(const json::Value& value, std::string_view path, Field field, SummaryList& out,
                         ErrorText* why) {
  out = SummaryList();
  if (!value.valid()) return Status();
  if (!value.is_array()) {
    set_error_text(why, "\"%.*s\" is not an array (is %s)", static_cast<int>(path.size()), path.data(),
                   json::to_string(value.type()));
    return fail(StatusCode::kInvalidArgument, field);
  }
  std::size_t index = 0;
  for (Value e = value.first_child(); e.valid(); e = e.next(), ++index) {
    char element[64];
    std::snprintf(element, sizeof element, "%.*s[%u]", static_cast<int>(path.size() < 40 ? path.size() : 40),
                  path.data(), static_cast<unsigned>(index));
    JobExecutionSummary summary;
    TETHER_RETURN_IF_ERROR(read_summary(e, element, field, summary, why));
  }
  out = SummaryList(value);
  return Status();
}

// ---- decoders ------------------------------------------------------------------------------------

Status decode_notify_next(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit, ErrorText* why) {
  return decode(payload, visit, why,
                [why](const Value& root, ExecutionResponse& out) { return read_execution_response(root, out, why); });
}

Status decode_start_next_accepted(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit,
                                  ErrorText* why) {
  return decode_notify_next(payload, visit, why);
}

Status decode_describe_accepted(std::string_view payload, const DecodeVisitor<ExecutionResponse>& visit,
                                ErrorText* why) {
  return decode_notify_next(payload, visit, why);
}

Status decode_update_accepted(std::string_view payload, const DecodeVisitor<UpdateAccepted>& visit, ErrorText* why) {
  return decode(payload, visit, why, [why](const Value& root, UpdateAccepted& out) -> Status {
    TETHER_RETURN_IF_ERROR(read_state_member(root, out.execution_state, why));
    TETHER_RETURN_IF_ERROR(read_job_document(root, {}, out.job_document, why));
    TETHER_RETURN_IF_ERROR(read_string(root, {}, Field::kClientToken, out.client_token, why));
    return read_count(root, {}, Field::kTimestamp, out.timestamp, why);
  });
}

Status decode_error_response(std::string_view payload, const DecodeVisitor<ErrorResponse>& visit, ErrorText* why) {
  return decode(payload, visit, why, [why](const Value& root, ErrorResponse& out) -> Status {
    TETHER_RETURN_IF_ERROR(read_required_string(root, {}, Field::kCode, out.code_text, why));
    out.code = error_code_from(out.code_text);
    TETHER_RETURN_IF_ERROR(read_string(root, {}, Field::kMessage, out.message, why));
    TETHER_RETURN_IF_ERROR(read_string(root, {}, Field::kClientToken, out.client_token, why));
    TETHER_RETURN_IF_ERROR(read_count(root, {}, Field::kTimestamp, out.timestamp, why));
    return read_state_member(root, out.execution_state, why);
  });
}

Status decode_pending_jobs(std::string_view payload, const DecodeVisitor<PendingJobs>& visit, ErrorText* why) {
  return decode(payload, visit, why, [why](const Value& root, PendingJobs& out) -> Status {
    TETHER_RETURN_IF_ERROR(read_summary_list(root["inProgressJobs"], "inProgressJobs", Field::kInProgressJobs, out.in_progress, why));
    TETHER_RETURN_IF_ERROR(read_summary_list(root["queuedJobs"], "queuedJobs", Field::kQueuedJobs, out.queued, why));
    TETHER_RETURN_IF_ERROR(read_string(root, {}, Field::kClientToken, out.client_token, why));
    return read_count(root, {}, Field::kTimestamp, out.timestamp, why);
  });
}

Status decode_jobs_changed(std::string_view payload, const DecodeVisitor<JobsChanged>& visit, ErrorText* why) {
  return decode(payload, visit, why, [why](const Value& root, JobsChanged& out) -> Status {
    const Value jobs = root["jobs"];
    if (jobs.valid() && !jobs.is_object()) return wrong_type({}, Field::kJobs, "an object", jobs, why);
    TETHER_RETURN_IF_ERROR(read_summary_list(jobs["QUEUED"], "jobs.QUEUED", Field::kJobs, out.queued, why));
    TETHER_RETURN_IF_ERROR(read_summary_list(jobs["IN_PROGRESS"], "jobs.IN_PROGRESS", Field::kJobs, out.in_progress, why));
    return read_count(root, {}, Field::kTimestamp, out.timestamp, why);
  });
}

// ---- encoders ------------------------------------------------------------------------------------

Result<std::string_view> encode_get_pending(std::string_view client_token, Span<char> out, ErrorText* why) {
  TETHER_RETURN_IF_ERROR(validate_client_token(client_token, why));
  json::Writer writer(out);
  writer.begin_object().key("clientToken").string(client_token).end_object();
  return finish(writer, why);
}

Result<std::string_view> encode_start_next(const StartNextRequest& request, Span<char> out, ErrorText* why) {
  if (request.status_details) TETHER_RETURN_IF_ERROR(validate_status_details(*request.status_details, why));
  TETHER_RETURN_IF_ERROR(check_step_timeout(request.step_timeout_minutes, why));
  TETHER_RETURN_IF_ERROR(validate_client_token(request.client_token, why));
  json::Writer writer(out);
  writer.begin_object();
  write_details(writer, request.status_details);
  if (request.step_timeout_minutes) {
    writer.key("stepTimeoutInMinutes").number(static_cast<std::int64_t>(*request.step_timeout_minutes));
  }
  writer.key("clientToken").string(request.client_token).end_object();
  return finish(writer, why);
}

Result<std::string_view> encode_describe(const DescribeRequest& request, Span<char> out, ErrorText* why) {
  TETHER_RETURN_IF_ERROR(check_count(request.execution_number, 1, Field::kExecutionNumber, why));
  TETHER_RETURN_IF_ERROR(validate_client_token(request.client_token, why));
  json::Writer writer(out);
  writer.begin_object();
  if (request.execution_number) writer.key("executionNumber").number(*request.execution_number);
  writer.key("includeJobDocument").boolean(request.include_job_document);
  writer.key("clientToken").string(request.client_token).end_object();
  return finish(writer, why);
}

Result<std::string_view> encode_update(const UpdateRequest& request, Span<char> out, ErrorText* why) {
  if (!is_device_settable(request.status)) {
    set_error_text(why, "status %s cannot be set by a device (only IN_PROGRESS, SUCCEEDED, FAILED, REJECTED)",
                   to_string(request.status));
    return fail(StatusCode::kInvalidArgument, Field::kStatus);
  }
  if (request.status_details) TETHER_RETURN_IF_ERROR(validate_status_details(*request.status_details, why));
  TETHER_RETURN_IF_ERROR(check_count(request.expected_version, 0, Field::kExpectedVersion, why));
  TETHER_RETURN_IF_ERROR(check_count(request.execution_number, 1, Field::kExecutionNumber, why));
  TETHER_RETURN_IF_ERROR(check_step_timeout(request.step_timeout_minutes, why));
  if (request.step_timeout_minutes && request.status != JobStatus::kInProgress) {
    set_error_text(why, "stepTimeoutInMinutes goes only with status IN_PROGRESS (is %s)", to_string(request.status));
    return fail(StatusCode::kInvalidArgument, Field::kStepTimeoutInMinutes);
  }
  TETHER_RETURN_IF_ERROR(validate_client_token(request.client_token, why));
  json::Writer writer(out);
  writer.begin_object().key("status").string(to_string(request.status));
  write_details(writer, request.status_details);
  if (request.expected_version) writer.key("expectedVersion").number(*request.expected_version);
  if (request.execution_number) writer.key("executionNumber").number(*request.execution_number);
  if (request.include_job_execution_state) writer.key("includeJobExecutionState").boolean(true);
  if (request.include_job_document) writer.key("includeJobDocument").boolean(true);
  if (request.step_timeout_minutes) {
    writer.key("stepTimeoutInMinutes").number(static_cast<std::int64_t>(*request.step_timeout_minutes));
  }
  writer.key("clientToken").string(request.client_token).end_object();
  return finish(writer, why);
}

}  // namespace tether::commands::jobs
