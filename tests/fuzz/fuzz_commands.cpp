// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the command codecs (tether/commands/command_codec.hpp), which read topics and
// payloads that the service, or anyone who can publish to the device, sends.
//
// Input: `first line \n rest`. The first line is a topic (alone and under each device's prefix), an
// execution id, and the reason code of an update to encode; the rest is a request payload, an answer
// payload, an update body to read, and (split at 0x1E) the description and typed result entries
// (`<type byte><key> 0x1F <value>`) of an update to encode. Either may be anything.
//
// Invariants checked (the reference rules below are written from command_codec.hpp and the
// emulator's commands_model.py, independently of lib/commands/command_codec.cpp):
// - classify, for an AWS thing, an AWS client and a neutral thing: exactly the reference's outcome
//   (kind, execution id, format; kNotFound for a foreign topic, kInvalidArgument for a bad id); a
//   topic it accepts is exactly what build() gives back for that kind, id and format, and is a valid
//   topic name; errors come with one printable line, successes with none;
// - validate_execution_id and build() with the first line as id agree with the reference;
// - decode_request on every request topic form with `rest` as payload and several content types:
//   the view holds the message's bytes, id, content type and expiry; the format is the topic's or the
//   content type's; a JSON payload is visited exactly when it parses and its "operation" is absent
//   or a string, and the operation is that string; a failure is kCommands with a documented detail
//   (or kResourceExhausted/kJson);
// - decode_answer on both answer topics: ok exactly when the reference accepts the document; then
//   the execution id is the topic's and the error code reads back through parse_rejected_error; a
//   failure leaves an empty answer;
// - read_update on `rest`: ok exactly when the reference reading of validate_update accepts it, with
//   the same detail otherwise; an accepted update that also meets the stricter device rules encodes
//   and reads back to the same status, reason and result entries (binary values through an
//   independent base64 decoder);
// - encode_update of the update described by the input: ok exactly when the reference rules allow
//   it and the buffer is large enough, with the first broken rule's detail otherwise; its output
//   reads back (read_update) to what was encoded.

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tether/commands/command_codec.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/topics.hpp"

namespace {

namespace json = tether::json;
using tether::ErrorText;
using tether::FixedString;
using tether::InboundMessage;
using tether::kMaxTopic;
using tether::Origin;
using tether::Result;
using tether::Span;
using tether::Status;
using tether::StatusCode;
using tether::TopicProfile;
using tether::commands::CodecDetail;
using tether::commands::CommandTopic;
using tether::commands::CommandTopics;
using tether::commands::ExecutionStatus;
using tether::commands::InboundTopic;
using tether::commands::PayloadFormat;
using tether::commands::ResultEntry;
using tether::commands::ResultType;
using tether::commands::StatusUpdate;
using tether::fuzz::check_utf8;
using tether::fuzz::is_printable_line;

constexpr std::size_t kNpos = std::string_view::npos;

Status commands_status(StatusCode code, CodecDetail detail) {
  return Status(code, Origin::kCommands, static_cast<std::uint16_t>(detail));
}

void check_explained(Status s, const ErrorText& why) {
  TETHER_FUZZ_CHECK(s.ok() == why.empty());
  TETHER_FUZZ_CHECK(is_printable_line(why.view()));
}

template <typename F>
bool with_tree(std::string_view text, F f) {
  F* fp = &f;
  return json::parse(text, tether::kMaxJsonInput,
                     [fp](const json::Value& root) {
                       (*fp)(root);
                       return Status();
                     })
      .ok();
}

// ---- reference rules -------------------------------------------------------------------------------

bool ref_valid_id(std::string_view id, TopicProfile profile) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return !(profile == TopicProfile::kNeutral && id == "jobs");
}

struct Device {
  TopicProfile profile;
  std::string prefix;
  CommandTopics topics;
};

// The reference classification: kNotFound, kInvalidArgument, or ok with `out` filled in. Reads the
// levels after "<prefix>/<id>/" as the table of command_codec.hpp describes them.
StatusCode ref_classify(const Device& d, std::string_view topic, InboundTopic& out) {
  const std::string head = d.prefix + "/";
  if (topic.size() < head.size() || topic.substr(0, head.size()) != head) return StatusCode::kNotFound;
  std::vector<std::string_view> levels;
  for (std::string_view rest = topic.substr(head.size());;) {
    const std::size_t slash = rest.find('/');
    levels.push_back(rest.substr(0, slash));
    if (slash == kNpos) break;
    rest.remove_prefix(slash + 1);
  }
  const bool aws = d.profile == TopicProfile::kAws;
  // AWS names the format in the last level: json on every topic but the requests, which may also
  // be cbor or name none; neutral topics never name one.
  std::optional<PayloadFormat> format;
  if (aws && levels.size() >= 3 && levels.back() == "json") format = PayloadFormat::kJson;
  if (aws && levels.size() == 3 && levels.back() == "cbor") format = PayloadFormat::kCbor;
  if (format) levels.pop_back();
  const bool answer_shape =
      levels.size() == 3 && levels[1] == "response" && (levels[2] == "accepted" || levels[2] == "rejected");
  if (levels.size() == 2 && levels[1] == "request") {
    out.kind = CommandTopic::kRequest;
    out.format = format.value_or(PayloadFormat::kOther);
  } else if (levels.size() == 2 && levels[1] == "response" && aws == (format == PayloadFormat::kJson)) {
    out.kind = CommandTopic::kResponse;
    out.format = PayloadFormat::kJson;
  } else if (answer_shape && aws == (format == PayloadFormat::kJson)) {
    out.kind = levels[2] == "accepted" ? CommandTopic::kAccepted : CommandTopic::kRejected;
    out.format = PayloadFormat::kJson;
  } else {
    return StatusCode::kNotFound;
  }
  if (d.profile == TopicProfile::kNeutral && levels[0] == "jobs") return StatusCode::kNotFound;
  if (!ref_valid_id(levels[0], d.profile)) return StatusCode::kInvalidArgument;
  out.execution_id = levels[0];
  return StatusCode::kOk;
}

// The reading of commands_model.validate_update: the detail it refuses with, or kNone.
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  check_utf8(s, [&n](std::uint32_t, std::size_t) { ++n; });
  return n;
}

bool ref_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> base64_decode(std::string_view s) {
  if (!ref_base64(s)) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : s) {
    if (c == '=') break;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    acc = (acc << 6) | static_cast<std::uint32_t>(std::strchr(alphabet, c) - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

CodecDetail ref_read_update(const json::Value& root) {
  if (!root.is_object()) return CodecDetail::kNotObject;
  const json::Value status = root["status"];
  if (!status.valid() || status.is_null()) return CodecDetail::kStatus;
  static const char* const kStatuses[] = {"CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"};
  bool known = false;
  for (const char* s : kStatuses) known = known || (status.is_string() && *status.as_string() == s);
  if (!known) return CodecDetail::kStatus;
  const json::Value reason = root["statusReason"];
  if (reason.valid()) {
    if (!reason.is_object()) return CodecDetail::kStatusReason;
    for (json::Value m = reason.first_child(); m.valid(); m = m.next()) {
      if (m.key() != "reasonCode" && m.key() != "reasonDescription") return CodecDetail::kStatusReason;
    }
    const json::Value code = reason["reasonCode"];
    const json::Value description = reason["reasonDescription"];
    const bool has_code = code.valid() && !code.is_null();
    const bool has_description = description.valid() && !description.is_null();
    if (has_description && !has_code) return CodecDetail::kStatusReason;
    if (has_code) {
      const std::size_t n = code.is_string() ? code_points(*code.as_string()) : 0;
      if (n < 1 || n > 64) return CodecDetail::kReasonCode;
    }
    if (has_description && (!description.is_string() || code_points(*description.as_string()) > 1024)) {
      return CodecDetail::kReasonDescription;
    }
  }
  const json::Value result = root["result"];
  if (result.valid()) {
    if (!result.is_object()) return CodecDetail::kResult;
    for (json::Value e = result.first_child(); e.valid(); e = e.next()) {
      if (!e.is_object() || e.size() != 1) return CodecDetail::kResultValue;
      const json::Value v = e.first_child();
      if (v.key() == "s") {
        if (!v.is_string()) return CodecDetail::kResultValue;
      } else if (v.key() == "b") {
        if (!v.is_bool()) return CodecDetail::kResultValue;
      } else if (v.key() == "bin") {
        if (!v.is_string() || !ref_base64(*v.as_string())) return CodecDetail::kResultValue;
      } else {
        return CodecDetail::kResultValue;
      }
    }
  }
  return CodecDetail::kNone;
}

// The device rules of encode_update: the detail of the first rule `u` breaks, or kNone.
bool is_utf8(std::string_view s) { return tether::fuzz::is_utf8(s); }

CodecDetail ref_encode(const StatusUpdate& u) {
  const auto status = static_cast<unsigned>(u.status);
  if (status == 0 || status > 5) return CodecDetail::kStatus;
  if (!u.reason_description.empty() && u.reason_code.empty()) return CodecDetail::kStatusReason;
  if (u.reason_code.size() > 64) return CodecDetail::kReasonCode;
  for (const char c : u.reason_code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return CodecDetail::kReasonCode;
  }
  std::size_t units = 0;
  bool control = false;
  const std::size_t bad = check_utf8(u.reason_description, [&](std::uint32_t cp, std::size_t) {
    units += cp > 0xFFFF ? 2 : 1;
    control = control || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
  });
  if (bad != kNpos || control || units > 1024) return CodecDetail::kReasonDescription;
  for (std::size_t i = 0; i < u.result.size(); ++i) {
    const ResultEntry& e = u.result[i];
    bool key_control = false;
    const std::size_t bad_key = check_utf8(e.key, [&](std::uint32_t cp, std::size_t) {
      key_control = key_control || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    });
    if (e.key.empty() || bad_key != kNpos || key_control) return CodecDetail::kResultKey;
    for (std::size_t j = 0; j < i; ++j) {
      if (u.result[j].key == e.key) return CodecDetail::kResultKey;
    }
    if (e.type == ResultType::kString && (e.text.empty() || !is_utf8(e.text) || e.text.find('\0') != kNpos)) {
      return CodecDetail::kResultValue;
    }
    if (e.type == ResultType::kBinary && e.bytes.empty()) return CodecDetail::kResultValue;
  }
  return CodecDetail::kNone;
}

// ---- checks ----------------------------------------------------------------------------------------

void check_classify(const Device& d, std::string_view topic) {
  ErrorText why;
  const Result<InboundTopic> got = d.topics.classify(topic, &why);
  check_explained(got.status(), why);
  InboundTopic expected;
  const StatusCode ref = ref_classify(d, topic, expected);
  TETHER_FUZZ_CHECK(got.status().code() == ref);
  if (!got.ok()) {
    const CodecDetail detail = ref == StatusCode::kNotFound ? CodecDetail::kForeignTopic : CodecDetail::kExecutionId;
    TETHER_FUZZ_CHECK(got.status() == commands_status(ref, detail));
    return;
  }
  TETHER_FUZZ_CHECK(got->kind == expected.kind && got->format == expected.format);
  TETHER_FUZZ_CHECK(got->execution_id == expected.execution_id);
  TETHER_FUZZ_CHECK(got->execution_id.data() >= topic.data() &&
                    got->execution_id.data() + got->execution_id.size() <= topic.data() + topic.size());
  FixedString<kMaxTopic> built;
  const Result<std::string_view> back = d.topics.build(got->kind, got->execution_id, built, got->format);
  TETHER_FUZZ_CHECK(back.ok() && *back == topic);
  TETHER_FUZZ_CHECK(tether::validate_topic_name(topic, d.profile).ok());
}

// Exactly the one filter for `topic`'s kind and format matches it (none for a status update).
void check_filters(const Device& d, std::string_view topic, const InboundTopic& t) {
  using tether::commands::CommandFilter;
  const bool aws = d.profile == TopicProfile::kAws;
  std::optional<CommandFilter> expected;
  switch (t.kind) {
    case CommandTopic::kRequest:
      expected = !aws || t.format == PayloadFormat::kOther ? CommandFilter::kRequestGeneric
                 : t.format == PayloadFormat::kJson        ? CommandFilter::kRequestJson
                                                           : CommandFilter::kRequestCbor;
      break;
    case CommandTopic::kResponse: break;
    case CommandTopic::kAccepted: expected = CommandFilter::kAccepted; break;
    case CommandTopic::kRejected: expected = CommandFilter::kRejected; break;
  }
  for (CommandFilter f : {CommandFilter::kRequestJson, CommandFilter::kRequestCbor, CommandFilter::kRequestGeneric,
                          CommandFilter::kAccepted, CommandFilter::kRejected}) {
    FixedString<kMaxTopic> out;
    const Result<std::string_view> filter = d.topics.filter(f, out);
    const bool exists = aws || (f != CommandFilter::kRequestJson && f != CommandFilter::kRequestCbor);
    TETHER_FUZZ_CHECK(filter.ok() == exists);
    if (!exists) continue;
    TETHER_FUZZ_CHECK(tether::validate_topic_filter(*filter, d.profile).ok());
    TETHER_FUZZ_CHECK(tether::topic_matches(*filter, topic) == (expected == f));
  }
}

void check_ids(const Device& d, std::string_view id) {
  ErrorText why;
  const Status s = tether::commands::validate_execution_id(id, d.profile, &why);
  check_explained(s, why);
  const bool valid = ref_valid_id(id, d.profile);
  TETHER_FUZZ_CHECK(s.ok() == valid);
  if (!valid) TETHER_FUZZ_CHECK(s == commands_status(StatusCode::kInvalidArgument, CodecDetail::kExecutionId));
  for (CommandTopic kind :
       {CommandTopic::kRequest, CommandTopic::kResponse, CommandTopic::kAccepted, CommandTopic::kRejected}) {
    for (PayloadFormat format : {PayloadFormat::kJson, PayloadFormat::kCbor, PayloadFormat::kOther}) {
      FixedString<kMaxTopic> out;
      ErrorText build_why;
      const Result<std::string_view> t = d.topics.build(kind, id, out, format, &build_why);
      check_explained(t.status(), build_why);
      TETHER_FUZZ_CHECK(t.ok() == valid);
      if (!t.ok()) continue;
      const Result<InboundTopic> back = d.topics.classify(*t);
      TETHER_FUZZ_CHECK(back.ok() && back->kind == kind && back->execution_id == id);
      check_filters(d, *t, *back);
    }
  }
}

PayloadFormat ref_format_of(std::string_view content_type) {
  std::string media(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.erase(0, 1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  for (char& c : media) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (media == "application/json") return PayloadFormat::kJson;
  if (media == "application/cbor") return PayloadFormat::kCbor;
  return PayloadFormat::kOther;
}

void check_request(const Device& d, const std::string& topic, std::string_view payload, std::string_view content_type,
                   std::optional<std::uint32_t> expiry) {
  const Result<InboundTopic> t = d.topics.classify(topic);
  TETHER_FUZZ_CHECK(t.ok() && t->kind == CommandTopic::kRequest);
  InboundMessage message;
  message.topic = topic;
  message.payload = tether::as_bytes(payload);
  message.properties.content_type = content_type;
  message.properties.message_expiry_s = expiry;
  const PayloadFormat format = t->format != PayloadFormat::kOther ? t->format : ref_format_of(content_type);

  struct Seen {
    bool visited = false;
    std::string operation;
  } seen;
  Seen* s = &seen;
  const InboundMessage* m = &message;
  const InboundTopic* tp = &*t;
  ErrorText why;
  const Status status = tether::commands::decode_request(
      message, *t,
      [s, m, tp, format](const tether::commands::RequestView& v) {
        s->visited = true;
        TETHER_FUZZ_CHECK(v.execution_id == tp->execution_id);
        TETHER_FUZZ_CHECK(v.payload.data() == m->payload.data() && v.payload.size() == m->payload.size());
        TETHER_FUZZ_CHECK(v.content_type == m->properties.content_type);
        TETHER_FUZZ_CHECK(v.message_expiry_s == m->properties.message_expiry_s);
        TETHER_FUZZ_CHECK(v.format == format);
        TETHER_FUZZ_CHECK(v.document.valid() == (format == PayloadFormat::kJson));
        if (format != PayloadFormat::kJson) TETHER_FUZZ_CHECK(v.operation.empty());
        TETHER_FUZZ_CHECK(v.operation == v.document["operation"].as_string().value_or(""));
        s->operation = std::string(v.operation);
        return Status();
      },
      &why);
  TETHER_FUZZ_CHECK(is_printable_line(why.view()));
  if (format != PayloadFormat::kJson) {
    TETHER_FUZZ_CHECK(status.ok() && seen.visited);
    return;
  }
  bool parses = false;
  bool operation_ok = false;
  with_tree(payload, [&](const json::Value& root) {
    parses = true;
    const json::Value op = root.is_object() ? root["operation"] : json::Value();
    operation_ok = !op.valid() || op.is_string();
  });
  if (payload.size() > tether::kMaxJsonInput) {
    TETHER_FUZZ_CHECK(status == commands_status(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge));
  } else if (parses && operation_ok) {
    TETHER_FUZZ_CHECK(status.ok() && seen.visited);
  } else if (parses) {
    TETHER_FUZZ_CHECK(status == commands_status(StatusCode::kInvalidArgument, CodecDetail::kOperation));
  } else {
    TETHER_FUZZ_CHECK(!seen.visited);
    TETHER_FUZZ_CHECK(status.origin() == Origin::kCommands || status.code() == StatusCode::kResourceExhausted);
    if (status.origin() == Origin::kCommands) {
      TETHER_FUZZ_CHECK(status.detail() == static_cast<std::uint16_t>(CodecDetail::kPayloadNotJson));
    }
  }
  TETHER_FUZZ_CHECK(status.ok() == why.empty());
}

void check_answer(const Device& d, CommandTopic kind, std::string_view payload) {
  FixedString<kMaxTopic> buf;
  const Result<std::string_view> topic = d.topics.build(kind, "e1", buf);
  TETHER_FUZZ_CHECK(topic.ok());
  const Result<InboundTopic> t = d.topics.classify(*topic);
  TETHER_FUZZ_CHECK(t.ok());
  tether::commands::ExecutionAnswer answer;
  answer.truncated = true;  // must be reset
  ErrorText why;
  const Status s = tether::commands::decode_answer(*t, tether::as_bytes(payload), answer, &why);
  check_explained(s, why);

  bool expected_ok = false;
  std::string error;
  std::string message;
  with_tree(payload, [&](const json::Value& root) {
    if (!root.is_object()) return;
    const json::Value id = root["executionId"];
    if (id.valid() && (!id.is_string() || *id.as_string() != "e1")) return;
    if (kind == CommandTopic::kRejected) {
      const json::Value e = root["error"];
      const json::Value m = root["errorMessage"];
      if ((e.valid() && !e.is_string()) || (m.valid() && !m.is_string())) return;
      error = std::string(e.as_string().value_or(""));
      message = std::string(m.as_string().value_or(""));
    }
    expected_ok = true;
  });
  if (s.code() == StatusCode::kResourceExhausted) return;  // the parser could not allocate
  TETHER_FUZZ_CHECK(s.ok() == expected_ok);
  if (!s.ok()) {
    TETHER_FUZZ_CHECK(s.origin() == Origin::kCommands);
    TETHER_FUZZ_CHECK(answer.execution_id.empty() && !answer.accepted && !answer.truncated);
    return;
  }
  TETHER_FUZZ_CHECK(answer.execution_id == "e1");
  TETHER_FUZZ_CHECK(answer.accepted == (kind == CommandTopic::kAccepted));
  if (answer.accepted) {
    TETHER_FUZZ_CHECK(answer.error_code.empty() && answer.error_message.empty() && !answer.truncated);
    return;
  }
  const bool cut = error.size() > answer.error_code.capacity() || message.size() > answer.error_message.capacity();
  TETHER_FUZZ_CHECK(answer.truncated == cut);
  TETHER_FUZZ_CHECK(std::string_view(error).substr(0, answer.error_code.size()) == answer.error_code.view());
  TETHER_FUZZ_CHECK(std::string_view(message).substr(0, answer.error_message.size()) == answer.error_message.view());
  // A cut drops less than one UTF-8 sequence beyond the capacity.
  if (error.size() > answer.error_code.capacity())
    TETHER_FUZZ_CHECK(answer.error_code.capacity() - answer.error_code.size() < 4);
  if (message.size() > answer.error_message.capacity()) {
    TETHER_FUZZ_CHECK(answer.error_message.capacity() - answer.error_message.size() < 4);
  }
  TETHER_FUZZ_CHECK(is_utf8(answer.error_code.view()) && is_utf8(answer.error_message.view()));
  const tether::commands::RejectedError e = tether::commands::parse_rejected_error(error);
  TETHER_FUZZ_CHECK(answer.error == e);
  if (e != tether::commands::RejectedError::kUnknown) TETHER_FUZZ_CHECK(to_string(e) == error);  // ADL: jobs::
}

// Reads `body` (an encoded update, which must read back) and checks it against `u`.
void check_reads_back(std::string_view body, const StatusUpdate& u) {
  const bool parsed = with_tree(body, [&](const json::Value& root) {
    tether::commands::UpdateView view;
    ErrorText why;
    TETHER_FUZZ_CHECK(tether::commands::read_update(root, view, &why).ok());
    TETHER_FUZZ_CHECK(view.status == u.status);
    TETHER_FUZZ_CHECK(view.has_status_reason == !u.reason_code.empty());
    TETHER_FUZZ_CHECK(view.reason_code == u.reason_code);
    TETHER_FUZZ_CHECK(view.reason_description == u.reason_description);
    TETHER_FUZZ_CHECK(view.result.valid() == !u.result.empty());
    TETHER_FUZZ_CHECK(view.result.size() == u.result.size());
    json::Value entry = view.result.first_child();
    for (const ResultEntry& e : u.result) {
      TETHER_FUZZ_CHECK(entry.key() == e.key);
      const json::Value typed = entry.first_child();
      switch (e.type) {
        case ResultType::kString:
          TETHER_FUZZ_CHECK(typed.key() == "s" && typed.as_string().value_or("") == e.text);
          break;
        case ResultType::kBool:
          TETHER_FUZZ_CHECK(typed.key() == "b" && typed.as_bool().value_or(!e.flag) == e.flag);
          break;
        case ResultType::kBinary: {
          TETHER_FUZZ_CHECK(typed.key() == "bin");
          const std::optional<std::string> bytes = base64_decode(typed.as_string().value_or("!"));
          TETHER_FUZZ_CHECK(bytes && bytes->size() == e.bytes.size() &&
                            std::memcmp(bytes->data(), e.bytes.data(), e.bytes.size()) == 0);
          break;
        }
      }
      entry = entry.next();
    }
  });
  TETHER_FUZZ_CHECK(parsed);
}

// Encodes `u` into a buffer of `size` bytes and checks the outcome against the reference.
void check_encode(const StatusUpdate& u, std::size_t size) {
  std::vector<char> buffer(size);
  ErrorText why;
  const Result<std::string_view> out = tether::commands::encode_update(u, Span<char>(buffer.data(), size), &why);
  check_explained(out.status(), why);
  const CodecDetail broken = ref_encode(u);
  if (broken != CodecDetail::kNone) {
    TETHER_FUZZ_CHECK(out.status() == commands_status(StatusCode::kInvalidArgument, broken));
    return;
  }
  if (!out.ok()) {
    TETHER_FUZZ_CHECK(out.status() == commands_status(StatusCode::kResourceExhausted, CodecDetail::kBufferTooSmall) ||
                      out.status() == commands_status(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge));
    return;
  }
  TETHER_FUZZ_CHECK(out->data() == buffer.data() && out->size() <= size);
  TETHER_FUZZ_CHECK(out->size() <= tether::commands::kMaxCommandPayload);
  check_reads_back(*out, u);
  // The body needs exactly its size: one byte less does not fit.
  if (!out->empty()) {
    std::vector<char> smaller(out->size() - 1);
    TETHER_FUZZ_CHECK(tether::commands::encode_update(u, Span<char>(smaller.data(), smaller.size())).status() ==
                      commands_status(StatusCode::kResourceExhausted, CodecDetail::kBufferTooSmall));
  }
}

void check_read_update(std::string_view body) {
  with_tree(body, [&](const json::Value& root) {
    tether::commands::UpdateView view;
    ErrorText why;
    const Status s = tether::commands::read_update(root, view, &why);
    check_explained(s, why);
    const CodecDetail expected = ref_read_update(root);
    if (expected != CodecDetail::kNone) {
      TETHER_FUZZ_CHECK(s == commands_status(StatusCode::kInvalidArgument, expected));
      return;
    }
    TETHER_FUZZ_CHECK(s.ok());
    TETHER_FUZZ_CHECK(tether::commands::to_string(view.status) == root["status"].as_string().value_or(""));
    // Re-encode what a device could send and read it back.
    std::vector<std::string> decoded;
    std::vector<ResultEntry> entries;
    decoded.reserve(view.result.size());
    for (json::Value e = view.result.first_child(); e.valid(); e = e.next()) {
      const json::Value typed = e.first_child();
      if (typed.key() == "s") {
        entries.push_back(ResultEntry::string(e.key(), *typed.as_string()));
      } else if (typed.key() == "b") {
        entries.push_back(ResultEntry::boolean(e.key(), *typed.as_bool()));
      } else {
        const std::optional<std::string> bytes = base64_decode(*typed.as_string());
        TETHER_FUZZ_CHECK(bytes.has_value());
        decoded.push_back(*bytes);
        entries.push_back(ResultEntry::binary(e.key(), tether::as_bytes(decoded.back())));
      }
    }
    StatusUpdate u;
    u.status = view.status;
    u.reason_code = view.reason_code;
    u.reason_description = view.reason_description;
    u.result = Span<const ResultEntry>(entries.data(), entries.size());
    check_encode(u, 8 * body.size() + 256);
  });
}

// An update described by the input (see the header comment).
void check_described_update(std::string_view first, std::string_view rest, std::size_t size) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t end = rest.find('\x1e', start);
    parts.push_back(rest.substr(start, end == kNpos ? kNpos : end - start));
    if (end == kNpos || parts.size() == 8) break;
    start = end + 1;
  }
  std::vector<ResultEntry> entries;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    if (part.empty()) continue;
    const std::size_t sep = part.find('\x1f');
    const std::string_view key = part.substr(1, sep == kNpos ? kNpos : sep - 1);
    const std::string_view value = sep == kNpos ? std::string_view() : part.substr(sep + 1);
    switch (static_cast<unsigned char>(part[0]) % 3) {
      case 0: entries.push_back(ResultEntry::string(key, value)); break;
      case 1: entries.push_back(ResultEntry::boolean(key, !value.empty() && value[0] == '1')); break;
      default: entries.push_back(ResultEntry::binary(key, tether::as_bytes(value))); break;
    }
  }
  StatusUpdate u;
  u.status = static_cast<ExecutionStatus>(size % 7);  // 6 is outside the enum
  u.reason_code = first;
  u.reason_description = parts[0];
  u.result = Span<const ResultEntry>(entries.data(), entries.size());
  const bool small = !first.empty() && first[0] == '!';
  check_encode(u, small ? size % 97 : 8 * size + 256);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tether::fuzz::as_text(data, size);
  const std::size_t nl = input.find('\n');
  const std::string_view first = input.substr(0, nl);
  const std::string_view rest = nl == kNpos ? std::string_view() : input.substr(nl + 1);

  Device devices[3] = {
      {TopicProfile::kAws, "$aws/commands/things/dev-1/executions", {}},
      {TopicProfile::kAws, "$aws/commands/clients/cl-1/executions", {}},
      {TopicProfile::kNeutral, "cmd/dev-1", {}},
  };
  TETHER_FUZZ_CHECK(devices[0].topics.init(tether::TopicScheme(TopicProfile::kAws, "dev-1")).ok());
  TETHER_FUZZ_CHECK(devices[1].topics.init_client("cl-1").ok());
  TETHER_FUZZ_CHECK(devices[2].topics.init(tether::TopicScheme(TopicProfile::kNeutral, "dev-1")).ok());

  const std::string content_types[] = {"", "application/json", "application/cbor; x=1", "text/plain",
                                       std::string(first)};
  const std::optional<std::uint32_t> expiry =
      size % 2 == 0 ? std::nullopt : std::optional<std::uint32_t>(static_cast<std::uint32_t>(size));

  for (const Device& d : devices) {
    TETHER_FUZZ_CHECK(d.topics.prefix() == d.prefix);
    check_classify(d, input);
    check_classify(d, first);
    check_classify(d, d.prefix + "/" + std::string(first));
    check_ids(d, first);
    for (PayloadFormat f : {PayloadFormat::kJson, PayloadFormat::kCbor, PayloadFormat::kOther}) {
      FixedString<kMaxTopic> buf;
      const std::string topic(*d.topics.build(CommandTopic::kRequest, "e1", buf, f));
      check_request(d, topic, rest, content_types[size % 5], expiry);
    }
    check_answer(d, CommandTopic::kAccepted, rest);
    check_answer(d, CommandTopic::kRejected, rest);
  }
  check_read_update(rest);
  check_described_update(first, rest, size);
  return 0;
}
