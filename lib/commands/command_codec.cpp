// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/commands/command_codec.hpp"

#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "tether/contract.hpp"
#include "tether/utf8.hpp"

namespace tether::commands {
namespace {

using json::Value;

constexpr std::string_view kAwsClientsRoot = "$aws/commands/clients/";
constexpr std::string_view kAwsExecutions = "/executions";
// Under kNeutral, `cmd/<thing>/jobs/...` are the Jobs topics (TopicFamily::kJobs).
constexpr std::string_view kNeutralJobsLevel = "jobs";

Status failure(StatusCode code, CodecDetail detail) {
  return Status(code, Origin::kCommands, static_cast<std::uint16_t>(detail));
}
Status invalid(CodecDetail detail) { return failure(StatusCode::kInvalidArgument, detail); }

constexpr std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

// ---- text ------------------------------------------------------------------------------------------

bool is_control(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// What MQTT brokers refuse in a topic besides controls: the Unicode noncharacters.
bool is_noncharacter(std::uint32_t cp) { return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFEu) == 0xFFFEu; }

bool is_printable_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

// `"text"` when `s` is short printable ASCII, else `of N bytes`: input is never copied raw into a
// text that gets logged.
FixedString<80> shown(std::string_view s) {
  FixedString<80> out;
  char buf[81];
  if (s.size() <= 64 && is_printable_ascii(s)) {
    std::snprintf(buf, sizeof buf, "\"%.*s\"", static_cast<int>(s.size()), s.data());
  } else {
    std::snprintf(buf, sizeof buf, "of %u bytes", static_cast<unsigned>(s.size()));
  }
  out.assign(buf).ignore();
  return out;
}

// At most `max` bytes of `text`, not cutting a UTF-8 sequence; `*cut` set when shortened.
std::string_view utf8_prefix(std::string_view text, std::size_t max, bool* cut) {
  if (text.size() > max) *cut = true;
  return utf8::prefix_bytes(text, max);
}

bool is_execution_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_reason_code_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// A token of limited characters (execution ids, reason codes): at most `max` bytes, each accepted
// by `allowed_char`; `noun` and `allowed` word the explanation.
struct TokenRule {
  std::size_t max;
  bool (*allowed_char)(char);
  const char* noun;
  const char* allowed;
  CodecDetail detail;
};

Status check_token(std::string_view text, const TokenRule& rule, ErrorText* why) {
  if (text.size() > rule.max) {
    set_error_text(why, "%s is too long (%u bytes, at most %u)", rule.noun, static_cast<unsigned>(text.size()),
                   static_cast<unsigned>(rule.max));
    return invalid(rule.detail);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (rule.allowed_char(c)) continue;
    if (is_printable_ascii(std::string_view(&c, 1))) {
      set_error_text(why, "character '%c' at byte %u is not allowed in %s (only %s)", c, static_cast<unsigned>(i),
                     rule.noun, rule.allowed);
    } else {
      set_error_text(why, "byte 0x%02X at byte %u is not allowed in %s (only %s)",
                     static_cast<unsigned>(static_cast<unsigned char>(c)), static_cast<unsigned>(i), rule.noun,
                     rule.allowed);
    }
    return invalid(rule.detail);
  }
  return ok_status();
}

constexpr TokenRule kExecutionIdRule{kMaxExecutionId, is_execution_id_char, "an execution id", "A-Z a-z 0-9 _ -",
                                     CodecDetail::kExecutionId};
constexpr TokenRule kReasonCodeRule{kMaxStatusReasonCode, is_reason_code_char, "a reasonCode", "A-Z 0-9 _ -",
                                    CodecDetail::kReasonCode};

// ---- topics ----------------------------------------------------------------------------------------

struct SuffixRule {
  std::string_view suffix;  // after "<prefix>/<id>/"
  CommandTopic kind;
  PayloadFormat format;
};

constexpr SuffixRule kAwsSuffixes[] = {
    {"request/json", CommandTopic::kRequest, PayloadFormat::kJson},
    {"request/cbor", CommandTopic::kRequest, PayloadFormat::kCbor},
    {"request", CommandTopic::kRequest, PayloadFormat::kOther},
    {"response/json", CommandTopic::kResponse, PayloadFormat::kJson},
    {"response/accepted/json", CommandTopic::kAccepted, PayloadFormat::kJson},
    {"response/rejected/json", CommandTopic::kRejected, PayloadFormat::kJson},
};
constexpr SuffixRule kNeutralSuffixes[] = {
    {"request", CommandTopic::kRequest, PayloadFormat::kOther},
    {"response", CommandTopic::kResponse, PayloadFormat::kJson},
    {"response/accepted", CommandTopic::kAccepted, PayloadFormat::kJson},
    {"response/rejected", CommandTopic::kRejected, PayloadFormat::kJson},
};
constexpr std::size_t kLongestSuffix = sizeof("response/rejected/json") - 1;

Span<const SuffixRule> suffixes_of(TopicProfile profile) {
  if (profile == TopicProfile::kAws) return Span<const SuffixRule>(kAwsSuffixes);
  return Span<const SuffixRule>(kNeutralSuffixes);
}

// The suffix of `kind` (for kRequest under kAws: of `format`).
std::string_view suffix_of(TopicProfile profile, CommandTopic kind, PayloadFormat format) {
  for (const SuffixRule& rule : suffixes_of(profile)) {
    if (rule.kind != kind) continue;
    if (kind == CommandTopic::kRequest && profile == TopicProfile::kAws && rule.format != format) continue;
    return rule.suffix;
  }
  return {};
}

// `a` + `b` + `c` ... into `out` (fits: init() checked the longest topic).
std::string_view join(FixedString<kMaxTopic>& out, std::initializer_list<std::string_view> parts) {
  out.clear();
  for (const std::string_view part : parts) out.append(part).ignore();
  return out.view();
}

// ---- content types ---------------------------------------------------------------------------------

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ---- JSON payloads ---------------------------------------------------------------------------------

// Parses `payload`, which must be JSON, and calls `visit` with its root. Returns what `visit`
// returns, or the size or syntax error as a kCommands status explained with `what` and the execution
// id (allocation failures and internal errors as the parser said them).
Status parse_payload(Span<const std::uint8_t> payload, const char* what, std::string_view id,
                     const json::Visitor& visit, ErrorText* why) {
  const std::string_view text = as_text(payload);
  if (text.size() > kMaxJsonInput) {
    set_error_text(why, "%s for execution %s is too large to parse (%u bytes, at most %u)", what, shown(id).c_str(),
                   static_cast<unsigned>(text.size()), static_cast<unsigned>(kMaxJsonInput));
    return failure(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge);
  }
  struct Context {
    const json::Visitor* visit;
    bool visited;
  } context{&visit, false};
  Context* const c = &context;
  ErrorText inner;
  const Status parsed = json::parse(
      text, kMaxJsonInput,
      [c](const Value& root) {
        c->visited = true;
        return (*c->visit)(root);
      },
      &inner);
  if (parsed.ok() || context.visited) return parsed;
  if (parsed.origin() != Origin::kJson ||
      (parsed.code() != StatusCode::kInvalidArgument && parsed.code() != StatusCode::kOutOfRange)) {
    set_error_text(why, "%s for execution %s: %s", what, shown(id).c_str(), inner.c_str());
    return parsed;
  }
  set_error_text(why, "%s for execution %s is not JSON: %s", what, shown(id).c_str(), inner.c_str());
  return failure(parsed.code(), CodecDetail::kPayloadNotJson);
}

// ---- update body -----------------------------------------------------------------------------------

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Appends JSON text to a caller buffer; strings are escaped by a json::Writer over the free tail.
class BodyWriter {
 public:
  explicit BodyWriter(Span<char> out) : out_(out) {}

  void raw(std::string_view text) {
    if (full_ || text.size() > out_.size() - used_) {
      full_ = true;
      return;
    }
    std::memcpy(out_.data() + used_, text.data(), text.size());
    used_ += text.size();
  }

  // Valid UTF-8 (checked by the caller).
  void string(std::string_view text) {
    if (full_) return;
    json::Writer writer(out_.subspan(used_, out_.size() - used_));
    writer.string(text);
    const Result<std::string_view> quoted = writer.finish();
    if (!quoted.ok()) {
      full_ = true;
      return;
    }
    used_ += quoted->size();
  }

  void base64(Span<const std::uint8_t> bytes) {
    raw("\"");
    if (full_ || base64_size(bytes.size()) > out_.size() - used_) {
      full_ = true;
      return;
    }
    char* p = out_.data() + used_;
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
      const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
      *p++ = kBase64Alphabet[(v >> 18) & 0x3F];
      *p++ = kBase64Alphabet[(v >> 12) & 0x3F];
      *p++ = kBase64Alphabet[(v >> 6) & 0x3F];
      *p++ = kBase64Alphabet[v & 0x3F];
    }
    if (i < bytes.size()) {
      const bool two = i + 1 < bytes.size();
      const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (two ? std::uint32_t{bytes[i + 1]} << 8 : 0u);
      *p++ = kBase64Alphabet[(v >> 18) & 0x3F];
      *p++ = kBase64Alphabet[(v >> 12) & 0x3F];
      *p++ = two ? kBase64Alphabet[(v >> 6) & 0x3F] : '=';
      *p++ = '=';
    }
    used_ += base64_size(bytes.size());
    raw("\"");
  }

  bool full() const { return full_; }
  std::string_view text() const { return std::string_view(out_.data(), used_); }

 private:
  Span<char> out_;
  std::size_t used_ = 0;
  bool full_ = false;
};

// Offset of the first ill-formed UTF-8 sequence or refused code point (U+0000, which JSON parsers
// such as ours refuse as `\u0000`; with `controls` every C0, DEL and C1 control), or npos.
std::size_t first_bad_char(std::string_view s, bool controls) {
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8::decode(s, i, &cp);
    if (n == 0 || cp == 0 || (controls && is_control(cp))) return i;
    i += n;
  }
  return std::string_view::npos;
}

Status check_reason_description(std::string_view text, ErrorText* why) {
  std::size_t utf16_units = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8::decode(text, i, &cp);
    if (n == 0) {
      set_error_text(why, "reasonDescription has invalid UTF-8 at byte %u", static_cast<unsigned>(i));
      return invalid(CodecDetail::kReasonDescription);
    }
    if (is_control(cp)) {
      set_error_text(why, "reasonDescription has control character U+%04X at byte %u", static_cast<unsigned>(cp),
                     static_cast<unsigned>(i));
      return invalid(CodecDetail::kReasonDescription);
    }
    utf16_units += cp > 0xFFFF ? 2 : 1;
    i += n;
  }
  if (utf16_units > kMaxStatusReasonDescription) {
    set_error_text(why, "reasonDescription is too long (%u characters, at most %u)", static_cast<unsigned>(utf16_units),
                   static_cast<unsigned>(kMaxStatusReasonDescription));
    return invalid(CodecDetail::kReasonDescription);
  }
  return ok_status();
}

Status check_result(Span<const ResultEntry> result, ErrorText* why) {
  for (std::size_t i = 0; i < result.size(); ++i) {
    const ResultEntry& e = result[i];
    if (e.key.empty()) {
      set_error_text(why, "result entry %u has an empty key", static_cast<unsigned>(i));
      return invalid(CodecDetail::kResultKey);
    }
    const std::size_t bad_key = first_bad_char(e.key, true);
    if (bad_key != std::string_view::npos) {
      set_error_text(why, "result entry %u has a key with invalid UTF-8 or a control character at byte %u",
                     static_cast<unsigned>(i), static_cast<unsigned>(bad_key));
      return invalid(CodecDetail::kResultKey);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (result[j].key == e.key) {
        set_error_text(why, "result key %s appears twice (entries %u and %u)", shown(e.key).c_str(),
                       static_cast<unsigned>(j), static_cast<unsigned>(i));
        return invalid(CodecDetail::kResultKey);
      }
    }
    switch (e.type) {
      case ResultType::kString: {
        if (e.text.empty()) {
          set_error_text(why, "result %s: a string value must not be empty", shown(e.key).c_str());
          return invalid(CodecDetail::kResultValue);
        }
        const std::size_t bad = first_bad_char(e.text, false);
        if (bad != std::string_view::npos) {
          set_error_text(why, "result %s: the string has invalid UTF-8 or U+0000 at byte %u", shown(e.key).c_str(),
                         static_cast<unsigned>(bad));
          return invalid(CodecDetail::kResultValue);
        }
        break;
      }
      case ResultType::kBool: break;
      case ResultType::kBinary:
        if (e.bytes.empty()) {
          set_error_text(why, "result %s: a binary value must not be empty", shown(e.key).c_str());
          return invalid(CodecDetail::kResultValue);
        }
        break;
      default:
        set_error_text(why, "result %s: unknown value type %u", shown(e.key).c_str(), static_cast<unsigned>(e.type));
        return invalid(CodecDetail::kResultValue);
    }
  }
  return ok_status();
}

// ---- reading an update (the service's rules as tools/cloudsim applies them) -------------------------

const char* type_name(const Value& v) { return json::to_string(v.type()); }

// Characters (code points) of valid UTF-8 (json::Value strings always are).
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Padded base64 (RFC 4648 §4): whole quads of the alphabet, `=` only as the last one or two.
bool is_padded_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i < s.size() - pad; ++i) {
    if (!is_base64_char(s[i])) return false;
  }
  return true;
}

// A member that is present and not null (the emulator's `doc.get(name) is not None`).
Value present(const Value& object, std::string_view name) {
  const Value v = object[name];
  return v.is_null() ? Value() : v;
}

Status read_status_reason(const Value& reason, UpdateView& out, ErrorText* why) {
  if (!reason.is_object()) {
    set_error_text(why, "statusReason must be an object (is %s)", type_name(reason));
    return invalid(CodecDetail::kStatusReason);
  }
  for (Value m = reason.first_child(); m.valid(); m = m.next()) {
    if (m.key() != "reasonCode" && m.key() != "reasonDescription") {
      set_error_text(why, "statusReason has an unknown member %s", shown(m.key()).c_str());
      return invalid(CodecDetail::kStatusReason);
    }
  }
  const Value code = present(reason, "reasonCode");
  const Value description = present(reason, "reasonDescription");
  if (description.valid() && !code.valid()) {
    set_error_text(why, "reasonCode is required when reasonDescription is given");
    return invalid(CodecDetail::kStatusReason);
  }
  if (code.valid()) {
    const std::string_view text = code.as_string().value_or({});
    const std::size_t n = code_points(text);
    if (!code.is_string() || n < 1 || n > kMaxStatusReasonCode) {
      set_error_text(why, "reasonCode must be a string of 1-%u characters",
                     static_cast<unsigned>(kMaxStatusReasonCode));
      return invalid(CodecDetail::kReasonCode);
    }
    out.reason_code = text;
  }
  if (description.valid()) {
    const std::string_view text = description.as_string().value_or({});
    if (!description.is_string() || code_points(text) > kMaxStatusReasonDescription) {
      set_error_text(why, "reasonDescription must be a string of at most %u characters",
                     static_cast<unsigned>(kMaxStatusReasonDescription));
      return invalid(CodecDetail::kReasonDescription);
    }
    out.reason_description = text;
  }
  return ok_status();
}

Status read_result(const Value& result, ErrorText* why) {
  if (!result.is_object()) {
    set_error_text(why, "result must be an object (is %s)", type_name(result));
    return invalid(CodecDetail::kResult);
  }
  for (Value entry = result.first_child(); entry.valid(); entry = entry.next()) {
    const Value typed = entry.first_child();
    const std::string_view kind = typed.key();
    const bool shape_ok = entry.is_object() && entry.size() == 1 && (kind == "s" || kind == "b" || kind == "bin");
    if (!shape_ok) {
      set_error_text(why, "result[%s] must be one of {\"s\": string}, {\"b\": bool}, {\"bin\": base64}",
                     shown(entry.key()).c_str());
      return invalid(CodecDetail::kResultValue);
    }
    const bool type_ok = kind == "b" ? typed.is_bool() : typed.is_string();
    if (!type_ok) {
      set_error_text(why, "result[%s].%.*s has the wrong type (%s)", shown(entry.key()).c_str(),
                     static_cast<int>(kind.size()), kind.data(), type_name(typed));
      return invalid(CodecDetail::kResultValue);
    }
    if (kind == "bin" && !is_padded_base64(typed.as_string().value_or({}))) {
      set_error_text(why, "result[%s].bin is not base64", shown(entry.key()).c_str());
      return invalid(CodecDetail::kResultValue);
    }
  }
  return ok_status();
}

constexpr const char* kExecutionStatuses[] = {"CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"};

}  // namespace

// ---- names -----------------------------------------------------------------------------------------

const char* to_string(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kJson: return "json";
    case PayloadFormat::kCbor: return "cbor";
    case PayloadFormat::kOther: return "other";
  }
  return "invalid_format";
}

const char* to_string(CommandTopic topic) {
  switch (topic) {
    case CommandTopic::kRequest: return "request";
    case CommandTopic::kResponse: return "response";
    case CommandTopic::kAccepted: return "accepted";
    case CommandTopic::kRejected: return "rejected";
  }
  return "invalid_topic";
}

const char* to_string(ExecutionStatus status) {
  const auto i = static_cast<std::size_t>(status);
  return i < sizeof kExecutionStatuses / sizeof kExecutionStatuses[0] ? kExecutionStatuses[i] : "invalid_status";
}

std::optional<ExecutionStatus> parse_execution_status(std::string_view text) {
  for (std::size_t i = 0; i < sizeof kExecutionStatuses / sizeof kExecutionStatuses[0]; ++i) {
    if (text == kExecutionStatuses[i]) return static_cast<ExecutionStatus>(i);
  }
  return std::nullopt;
}

bool is_terminal(ExecutionStatus status) {
  return status == ExecutionStatus::kSucceeded || status == ExecutionStatus::kFailed ||
         status == ExecutionStatus::kRejected;
}

bool is_retryable(RejectedError error) {
  return error == RejectedError::kInternalError || error == RejectedError::kRequestThrottled;
}

// ---- topics ----------------------------------------------------------------------------------------

Status validate_execution_id(std::string_view id, TopicProfile profile, ErrorText* why) {
  if (id.empty()) {
    set_error_text(why, "execution id is empty");
    return invalid(CodecDetail::kExecutionId);
  }
  TETHER_RETURN_IF_ERROR(check_token(id, kExecutionIdRule, why));
  if (profile == TopicProfile::kNeutral && id == kNeutralJobsLevel) {
    set_error_text(why,
                   "execution id \"jobs\" is reserved under the neutral profile (cmd/<thing>/jobs is the Jobs topics)");
    return invalid(CodecDetail::kExecutionId);
  }
  return ok_status();
}

Status CommandTopics::init(const TopicScheme& scheme, ErrorText* why) {
  prefix_.clear();
  ErrorText inner;
  const Status name = validate_thing_name(scheme.thing_name(), scheme.profile(), &inner);
  if (!name.ok()) {
    set_error_text(why, "thing name cannot form a commands topic: %s", inner.c_str());
    return name;
  }
  char buf[kMaxTopic];
  const Result<std::string_view> prefix = scheme.build(Span<char>(buf, sizeof buf), TopicFamily::kCommands);
  if (!prefix.ok()) {
    set_error_text(why, "thing name %s cannot form a commands topic (%s, detail %u)",
                   shown(scheme.thing_name()).c_str(), to_string(prefix.status().code()),
                   static_cast<unsigned>(prefix.status().detail()));
    return prefix.status();
  }
  profile_ = scheme.profile();
  device_type_ = DeviceType::kThing;
  return finish_init(prefix.value(), why);
}

Status CommandTopics::init_client(std::string_view client_id, ErrorText* why) {
  prefix_.clear();
  if (client_id.empty() || client_id.size() > kMaxClientId) {
    set_error_text(why, "client id %s (%u bytes, allowed 1..%u)", client_id.empty() ? "is empty" : "is too long",
                   static_cast<unsigned>(client_id.size()), static_cast<unsigned>(kMaxClientId));
    return Status(StatusCode::kOutOfRange, Origin::kTopic, clamp16(client_id.size()));
  }
  for (std::size_t i = 0; i < client_id.size();) {
    const char c = client_id[i];
    if (c == '+' || c == '#' || c == '/' || (c == '$' && i == 0)) {
      set_error_text(why, "character '%c' at byte %u is not allowed in a client id used in a topic", c,
                     static_cast<unsigned>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kTopic, clamp16(i));
    }
    std::uint32_t cp = 0;
    const std::size_t n = utf8::decode(client_id, i, &cp);
    if (n == 0 || is_control(cp) || is_noncharacter(cp)) {
      set_error_text(why, "%s at byte %u is not allowed in a client id used in a topic",
                     n == 0 ? "invalid UTF-8" : "a control character or noncharacter", static_cast<unsigned>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kTopic, clamp16(i));
    }
    i += n;
  }
  FixedString<kMaxTopic> prefix;
  if (!prefix.append(kAwsClientsRoot).ok() || !prefix.append(client_id).ok() || !prefix.append(kAwsExecutions).ok()) {
    set_error_text(why, "commands topics of a client id of %u bytes would exceed %u bytes",
                   static_cast<unsigned>(client_id.size()), static_cast<unsigned>(kMaxTopic));
    return Status(StatusCode::kOutOfRange, Origin::kTopic, clamp16(client_id.size()));
  }
  profile_ = TopicProfile::kAws;
  device_type_ = DeviceType::kClient;
  return finish_init(prefix.view(), why);
}

Status CommandTopics::finish_init(std::string_view prefix, ErrorText* why) {
  const std::size_t longest = prefix.size() + 1 + kMaxExecutionId + 1 + kLongestSuffix;
  if (longest > kMaxTopic) {
    set_error_text(why, "commands topics under %s would exceed %u bytes (%u)", shown(prefix).c_str(),
                   static_cast<unsigned>(kMaxTopic), static_cast<unsigned>(longest));
    return Status(StatusCode::kOutOfRange, Origin::kTopic, clamp16(longest));
  }
  return prefix_.assign(prefix);
}

Result<std::string_view> CommandTopics::filter(CommandFilter which, FixedString<kMaxTopic>& out) const {
  TETHER_EXPECTS(initialized());
  if (!initialized()) return failure(StatusCode::kFailedPrecondition, CodecDetail::kTopicKind);
  const bool aws = profile_ == TopicProfile::kAws;
  std::string_view suffix;
  switch (which) {
    case CommandFilter::kRequestJson: suffix = aws ? "request/json" : ""; break;
    case CommandFilter::kRequestCbor: suffix = aws ? "request/cbor" : ""; break;
    case CommandFilter::kRequestGeneric: suffix = "request"; break;
    case CommandFilter::kAccepted: suffix = suffix_of(profile_, CommandTopic::kAccepted, PayloadFormat::kJson); break;
    case CommandFilter::kRejected: suffix = suffix_of(profile_, CommandTopic::kRejected, PayloadFormat::kJson); break;
  }
  if (suffix.empty()) return failure(StatusCode::kNotFound, CodecDetail::kTopicKind);
  return join(out, {prefix_.view(), "/+/", suffix});
}

Result<std::string_view> CommandTopics::build(CommandTopic kind, std::string_view execution_id,
                                              FixedString<kMaxTopic>& out, PayloadFormat request_format,
                                              ErrorText* why) const {
  TETHER_EXPECTS(initialized());
  if (!initialized()) {
    set_error_text(why, "command topics are not initialized");
    return failure(StatusCode::kFailedPrecondition, CodecDetail::kTopicKind);
  }
  TETHER_RETURN_IF_ERROR(validate_execution_id(execution_id, profile_, why));
  const std::string_view suffix = suffix_of(profile_, kind, request_format);
  if (suffix.empty()) {
    set_error_text(why, "no %s topic for format %u", to_string(kind), static_cast<unsigned>(request_format));
    return invalid(CodecDetail::kTopicKind);
  }
  return join(out, {prefix_.view(), "/", execution_id, "/", suffix});
}

Result<InboundTopic> CommandTopics::classify(std::string_view topic, ErrorText* why) const {
  if (!initialized()) {
    set_error_text(why, "command topics are not initialized");
    return failure(StatusCode::kFailedPrecondition, CodecDetail::kTopicKind);
  }
  const std::string_view prefix = prefix_.view();
  const auto foreign = [&]() {
    set_error_text(why, "topic %s is not a commands topic of %s", shown(topic).c_str(), shown(prefix).c_str());
    return failure(StatusCode::kNotFound, CodecDetail::kForeignTopic);
  };
  if (topic.size() <= prefix.size() + 1 || topic.substr(0, prefix.size()) != prefix || topic[prefix.size()] != '/') {
    return foreign();
  }
  const std::string_view rest = topic.substr(prefix.size() + 1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return foreign();
  const std::string_view id = rest.substr(0, slash);
  const std::string_view suffix = rest.substr(slash + 1);
  if (profile_ == TopicProfile::kNeutral && id == kNeutralJobsLevel) return foreign();
  for (const SuffixRule& rule : suffixes_of(profile_)) {
    if (rule.suffix != suffix) continue;
    ErrorText inner;
    const Status valid = validate_execution_id(id, profile_, &inner);
    if (!valid.ok()) {
      set_error_text(why, "%s topic with a bad execution id: %s", to_string(rule.kind), inner.c_str());
      return valid;
    }
    InboundTopic out;
    out.kind = rule.kind;
    out.execution_id = id;
    out.format = rule.format;
    return out;
  }
  return foreign();
}

// ---- requests --------------------------------------------------------------------------------------

PayloadFormat format_of_content_type(std::string_view content_type) {
  const std::string_view media_type = trim(content_type.substr(0, content_type.find(';')));
  if (equal_ignoring_case(media_type, "application/json")) return PayloadFormat::kJson;
  if (equal_ignoring_case(media_type, "application/cbor")) return PayloadFormat::kCbor;
  return PayloadFormat::kOther;
}

Status decode_request(const InboundMessage& message, const InboundTopic& topic, const RequestVisitor& visit,
                      ErrorText* why) {
  TETHER_EXPECTS(topic.kind == CommandTopic::kRequest);
  if (topic.kind != CommandTopic::kRequest) {
    set_error_text(why, "decode_request given a %s topic", to_string(topic.kind));
    return invalid(CodecDetail::kTopicKind);
  }
  RequestView view;
  view.execution_id = topic.execution_id;
  view.format =
      topic.format != PayloadFormat::kOther ? topic.format : format_of_content_type(message.properties.content_type);
  view.content_type = message.properties.content_type;
  view.payload = message.payload;
  view.message_expiry_s = message.properties.message_expiry_s;
  if (view.format != PayloadFormat::kJson) return visit(view);

  struct Context {
    RequestView* view;
    const RequestVisitor* visit;
    ErrorText* why;
  } context{&view, &visit, why};
  const Context* const c = &context;
  return parse_payload(
      message.payload, "request payload", topic.execution_id,
      [c](const Value& root) {
        c->view->document = root;
        if (root.is_object()) {
          const Value operation = root["operation"];
          if (operation.valid() && !operation.is_string()) {
            set_error_text(c->why, "request %s: \"operation\" must be a string (is %s)",
                           shown(c->view->execution_id).c_str(), type_name(operation));
            return invalid(CodecDetail::kOperation);
          }
          c->view->operation = operation.as_string().value_or({});
        }
        return (*c->visit)(*c->view);
      },
      why);
}

// ---- status updates --------------------------------------------------------------------------------

Result<std::string_view> encode_update(const StatusUpdate& update, Span<char> out, ErrorText* why) {
  const auto status_index = static_cast<std::size_t>(update.status);
  if (update.status == ExecutionStatus::kCreated ||
      status_index >= sizeof kExecutionStatuses / sizeof kExecutionStatuses[0]) {
    set_error_text(why, "a device cannot report status %s", to_string(update.status));
    return invalid(CodecDetail::kStatus);
  }
  if (!update.reason_description.empty() && update.reason_code.empty()) {
    set_error_text(why, "reasonCode is required when reasonDescription is given");
    return invalid(CodecDetail::kStatusReason);
  }
  TETHER_RETURN_IF_ERROR(check_token(update.reason_code, kReasonCodeRule, why));
  TETHER_RETURN_IF_ERROR(check_reason_description(update.reason_description, why));
  TETHER_RETURN_IF_ERROR(check_result(update.result, why));

  BodyWriter body(out);
  body.raw("{\"status\":\"");
  body.raw(to_string(update.status));
  body.raw("\"");
  if (!update.reason_code.empty()) {
    body.raw(",\"statusReason\":{\"reasonCode\":");
    body.string(update.reason_code);
    if (!update.reason_description.empty()) {
      body.raw(",\"reasonDescription\":");
      body.string(update.reason_description);
    }
    body.raw("}");
  }
  if (!update.result.empty()) {
    body.raw(",\"result\":{");
    for (std::size_t i = 0; i < update.result.size(); ++i) {
      const ResultEntry& e = update.result[i];
      if (i > 0) body.raw(",");
      body.string(e.key);
      switch (e.type) {
        case ResultType::kString:
          body.raw(":{\"s\":");
          body.string(e.text);
          break;
        case ResultType::kBool: body.raw(e.flag ? ":{\"b\":true" : ":{\"b\":false"); break;
        case ResultType::kBinary:
          body.raw(":{\"bin\":");
          body.base64(e.bytes);
          break;
      }
      body.raw("}");
    }
    body.raw("}");
  }
  body.raw("}");
  if (body.full()) {
    set_error_text(why, "the status update does not fit in %u bytes", static_cast<unsigned>(out.size()));
    return failure(StatusCode::kResourceExhausted, CodecDetail::kBufferTooSmall);
  }
  if (body.text().size() > kMaxCommandPayload) {
    set_error_text(why, "the status update is %u bytes (at most %u)", static_cast<unsigned>(body.text().size()),
                   static_cast<unsigned>(kMaxCommandPayload));
    return failure(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge);
  }
  return body.text();
}

Status read_update(const Value& root, UpdateView& out, ErrorText* why) {
  out = UpdateView();
  if (!root.is_object()) {
    set_error_text(why, "an update must be a JSON object (is %s)", type_name(root));
    return invalid(CodecDetail::kNotObject);
  }
  const Value status = present(root, "status");
  if (!status.valid()) {
    set_error_text(why, "status is required");
    return invalid(CodecDetail::kStatus);
  }
  const std::optional<ExecutionStatus> parsed = parse_execution_status(status.as_string().value_or({}));
  if (!status.is_string() || !parsed) {
    set_error_text(why, "invalid status %s",
                   status.is_string() ? shown(*status.as_string()).c_str() : type_name(status));
    return invalid(CodecDetail::kStatus);
  }
  out.status = *parsed;
  const Value reason = root["statusReason"];
  if (reason.valid()) {
    out.has_status_reason = true;
    TETHER_RETURN_IF_ERROR(read_status_reason(reason, out, why));
  }
  const Value result = root["result"];
  if (result.valid()) {
    TETHER_RETURN_IF_ERROR(read_result(result, why));
    out.result = result;
  }
  return ok_status();
}

// ---- answers ---------------------------------------------------------------------------------------

Status decode_answer(const InboundTopic& topic, Span<const std::uint8_t> payload, ExecutionAnswer& out,
                     ErrorText* why) {
  out = ExecutionAnswer();
  const bool answer = topic.kind == CommandTopic::kAccepted || topic.kind == CommandTopic::kRejected;
  TETHER_EXPECTS(answer);
  if (!answer) {
    set_error_text(why, "decode_answer given a %s topic", to_string(topic.kind));
    return invalid(CodecDetail::kTopicKind);
  }
  struct Context {
    const InboundTopic* topic;
    ExecutionAnswer* out;
    ErrorText* why;
  } context{&topic, &out, why};
  const Context* const c = &context;
  const Status s = parse_payload(
      payload, "answer", topic.execution_id,
      [c](const Value& root) {
        const std::string_view id = c->topic->execution_id;
        if (!root.is_object()) {
          set_error_text(c->why, "answer for execution %s is not a JSON object (is %s)", shown(id).c_str(),
                         type_name(root));
          return invalid(CodecDetail::kNotObject);
        }
        const Value execution_id = root["executionId"];
        if (execution_id.valid()) {
          if (!execution_id.is_string()) {
            set_error_text(c->why, "answer for execution %s: executionId is not a string (is %s)", shown(id).c_str(),
                           type_name(execution_id));
            return invalid(CodecDetail::kExecutionId);
          }
          if (*execution_id.as_string() != id) {
            set_error_text(c->why, "answer on the topic of execution %s names execution %s", shown(id).c_str(),
                           shown(*execution_id.as_string()).c_str());
            return invalid(CodecDetail::kExecutionIdMismatch);
          }
        }
        ExecutionAnswer& a = *c->out;
        a.accepted = c->topic->kind == CommandTopic::kAccepted;
        a.execution_id.assign(id).ignore();  // validated by classify: at most kMaxExecutionId
        if (a.accepted) return ok_status();
        const Value error = root["error"];
        const Value message = root["errorMessage"];
        for (const Value& field : {error, message}) {
          if (field.valid() && !field.is_string()) {
            set_error_text(c->why, "rejected answer for execution %s: %.*s is not a string (is %s)", shown(id).c_str(),
                           static_cast<int>(field.key().size()), field.key().data(), type_name(field));
            return invalid(CodecDetail::kErrorField);
          }
        }
        const std::string_view code = error.as_string().value_or({});
        a.error = parse_rejected_error(code);
        a.error_code.assign(utf8_prefix(code, kMaxRejectedErrorCode, &a.truncated)).ignore();
        a.error_message.assign(utf8_prefix(message.as_string().value_or({}), ErrorText::kCapacity, &a.truncated))
            .ignore();
        return ok_status();
      },
      why);
  if (!s.ok()) out = ExecutionAnswer();
  return s;
}

}  // namespace tether::commands
