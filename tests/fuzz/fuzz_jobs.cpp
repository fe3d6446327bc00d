// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the AWS IoT Jobs codec (tether/commands/jobs_codec.hpp), which reads the documents
// and topics the Jobs service (or anyone who can publish to the device) sends.
//
// Input: arbitrary bytes, used three ways at once:
// 1. the whole input is a payload, decoded as every response kind (notify-next, start-next,
//    describe and update accepted, error response, pending jobs, notify);
// 2. the whole input is a topic, classified under both profiles;
// 3. the input describes a request (layout at Spec below) that is encoded and decoded back.
//
// Invariants checked:
// - decode never crashes; it calls the visitor exactly when it returns ok; an error comes from
//   the JSON parser (kJson) or is kInvalidArgument/kOutOfRange with origin kCommands and a Field as
//   detail, explained on one printable line (the explanation is empty on success);
// - what a visitor sees is valid: job IDs pass validate_job_id, numbers are -1 or non-negative,
//   status details are strings, summaries read back; a job document is an object that a writer
//   copies (shadow::write_value) into kMaxJobDocument bytes, unless it holds a number beyond the
//   range of a double; a document refused as too large does not fit there written whole;
// - classify never crashes; a topic it accepts is exactly the one build() makes from its answer;
//   a job ID taken from the input that build() accepts classifies back to itself;
// - encode refuses exactly the requests that break a rule checked here independently (except the
//   Unicode categories, checked one way: a value of printable ASCII is never refused for its
//   characters); nothing refused is written; an encoded request parses, and read back through the
//   response decoders (as an update/accepted root and as its executionState) gives the status,
//   status details and client token that went in; the other members are exactly the request's.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tether/commands/jobs_codec.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/document.hpp"
#include "tether/topics.hpp"

namespace {

namespace json = tether::json;
namespace jobs = tether::commands::jobs;
using tether::ErrorText;
using tether::Origin;
using tether::Result;
using tether::Span;
using tether::Status;
using tether::StatusCode;

void check_explained(Status s, const ErrorText& why) {
  TETHER_FUZZ_CHECK(s.ok() == why.empty());
  TETHER_FUZZ_CHECK(tether::fuzz::is_printable_line(why.view()));
}

// The statuses of a decode that failed before its visitor ran.
void check_decode_error(Status s) {
  if (s.origin() == Origin::kJson) return;  // json::parse: its own fuzz target checks it
  TETHER_FUZZ_CHECK(s.origin() == Origin::kCommands);
  TETHER_FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kOutOfRange);
  TETHER_FUZZ_CHECK(s.detail() < static_cast<std::uint16_t>(jobs::Field::kTopic));
}

bool has_number_beyond_double(const json::Value& v) {
  if (v.is_number()) return !v.as_double().ok();
  for (json::Value c = v.first_child(); c.valid(); c = c.next()) {
    if (has_number_beyond_double(c)) return true;
  }
  return false;
}

// An accepted job document: an object whose copy fits in kMaxJobDocument bytes.
void check_document(const json::Value& doc) {
  if (!doc.valid()) return;
  TETHER_FUZZ_CHECK(doc.is_object());
  std::vector<char> buf(jobs::kMaxJobDocument);
  json::Writer writer(Span<char>(buf.data(), buf.size()));
  tether::shadow::write_value(writer, doc);
  const Result<std::string_view> copy = writer.finish();
  TETHER_FUZZ_CHECK(copy.ok() || (copy.status().code() == StatusCode::kInvalidArgument && has_number_beyond_double(doc)));
}

// Every jobDocument member anywhere in the tree that the codec refuses as too large does not fit
// in kMaxJobDocument bytes when written whole (all members, -0 and 1e999 as is).
void check_refused_document(const json::Value& root) {
  const auto too_big = [](const json::Value& doc) {
    std::vector<char> buf(jobs::kMaxJobDocument);
    json::Writer writer(Span<char>(buf.data(), buf.size()));
    tether::fuzz::write_json(writer, doc, tether::fuzz::Identity());
    return writer.finish().status() == Status(StatusCode::kResourceExhausted, Origin::kJson);
  };
  const json::Value candidates[] = {root["jobDocument"], root["execution"]["jobDocument"]};
  bool any = false;
  for (const json::Value& c : candidates) any = any || (c.is_object() && too_big(c));
  TETHER_FUZZ_CHECK(any);
}

void check_count(std::int64_t n) { TETHER_FUZZ_CHECK(n == -1 || (n >= 0 && n <= jobs::kMaxSafeInteger)); }

void check_details(const jobs::StatusDetails& d) {
  std::size_t n = 0;
  for (const jobs::StatusDetail& e : d) {
    ++n;
    TETHER_FUZZ_CHECK(d.find(e.key).has_value() && *d.find(e.key) == e.value);  // the first of duplicates
  }
  TETHER_FUZZ_CHECK(n == d.size());
  TETHER_FUZZ_CHECK(d.present() == d.value().is_object());
  if (!d.present()) TETHER_FUZZ_CHECK(n == 0);
}

void check_execution(const jobs::JobExecution& e) {
  TETHER_FUZZ_CHECK(jobs::validate_job_id(e.job_id).ok());
  TETHER_FUZZ_CHECK(jobs::job_status_from(jobs::to_string(e.status)) == e.status);
  check_details(e.status_details);
  for (std::int64_t n : {e.queued_at, e.started_at, e.last_updated_at, e.version_number, e.execution_number}) {
    check_count(n);
  }
  check_document(e.job_document);
}

void check_state(const std::optional<jobs::JobExecutionState>& s) {
  if (!s) return;
  TETHER_FUZZ_CHECK(jobs::job_status_from(jobs::to_string(s->status)) == s->status);
  check_details(s->status_details);
  check_count(s->version_number);
}

void check_list(const jobs::SummaryList& list) {
  std::size_t n = 0;
  for (const jobs::JobExecutionSummary& s : list) {
    ++n;
    TETHER_FUZZ_CHECK(jobs::validate_job_id(s.job_id).ok());
    for (std::int64_t v : {s.queued_at, s.started_at, s.last_updated_at, s.version_number, s.execution_number}) {
      check_count(v);
    }
  }
  TETHER_FUZZ_CHECK(n == list.size());
}

template <typename T, typename Decoder, typename Check>
void decode_one(Decoder decoder, std::string_view payload, Check check) {
  bool visited = false;
  struct Context {
    bool* visited;
    Check* check;
  } context{&visited, &check};
  ErrorText why;
  const Status s = decoder(
      payload,
      [&context](const T& decoded) {
        *context.visited = true;
        (*context.check)(decoded);
        return Status();
      },
      &why);
  check_explained(s, why);
  TETHER_FUZZ_CHECK(s.ok() == visited);
  if (!s.ok()) check_decode_error(s);
  if (s.code() == StatusCode::kOutOfRange && s.origin() == Origin::kCommands &&
      s.detail() == static_cast<std::uint16_t>(jobs::Field::kJobDocument)) {
    TETHER_FUZZ_CHECK(json::parse(payload, tether::kMaxJsonInput, [](const json::Value& root) {
                        check_refused_document(root);
                        return Status();
                      }).ok());
  }
}

void check_decoders(std::string_view payload) {
  const auto execution_response = [](const jobs::ExecutionResponse& r) {
    if (r.execution) check_execution(*r.execution);
    check_count(r.timestamp);
  };
  decode_one<jobs::ExecutionResponse>(jobs::decode_notify_next, payload, execution_response);
  decode_one<jobs::ExecutionResponse>(jobs::decode_start_next_accepted, payload, execution_response);
  decode_one<jobs::ExecutionResponse>(jobs::decode_describe_accepted, payload, execution_response);
  decode_one<jobs::UpdateAccepted>(jobs::decode_update_accepted, payload, [](const jobs::UpdateAccepted& r) {
    check_state(r.execution_state);
    check_document(r.job_document);
    check_count(r.timestamp);
  });
  decode_one<jobs::ErrorResponse>(jobs::decode_error_response, payload, [](const jobs::ErrorResponse& r) {
    TETHER_FUZZ_CHECK(jobs::error_code_from(r.code_text) == r.code);
    if (r.code != jobs::ErrorCode::kUnknown) TETHER_FUZZ_CHECK(r.code_text == jobs::to_string(r.code));
    check_state(r.execution_state);
    check_count(r.timestamp);
  });
  decode_one<jobs::PendingJobs>(jobs::decode_pending_jobs, payload, [](const jobs::PendingJobs& r) {
    check_list(r.in_progress);
    check_list(r.queued);
    check_count(r.timestamp);
  });
  decode_one<jobs::JobsChanged>(jobs::decode_jobs_changed, payload, [](const jobs::JobsChanged& r) {
    check_list(r.in_progress);
    check_list(r.queued);
    check_count(r.timestamp);
  });
}

// ---- topics ----------------------------------------------------------------------------------------

void check_topics(std::string_view topic, std::string_view job_id) {
  for (tether::TopicProfile profile : {tether::TopicProfile::kAws, tether::TopicProfile::kNeutral}) {
    jobs::JobsTopics topics;
    TETHER_FUZZ_CHECK(topics.init(tether::TopicScheme(profile, "dev-1")).ok());
    for (const std::string& t : {std::string(topic), std::string(topics.root()) + "/" + std::string(topic)}) {
      ErrorText why;
      const Result<jobs::TopicMatch> m = topics.classify(t, &why);
      check_explained(m.status(), why);
      if (!m.ok()) {
        TETHER_FUZZ_CHECK(m.status().origin() == Origin::kCommands);
        const auto detail = static_cast<jobs::Field>(m.status().detail());
        TETHER_FUZZ_CHECK(m.status().code() == StatusCode::kNotFound ? detail == jobs::Field::kTopic
                                                                      : detail == jobs::Field::kJobId);
        continue;
      }
      tether::FixedString<tether::kMaxTopic> out;
      const Result<std::string_view> built = topics.build(m->topic, out, m->job_id);
      TETHER_FUZZ_CHECK(built.ok() && *built == t);
      TETHER_FUZZ_CHECK(tether::validate_topic_name(t, profile).ok());
    }
    for (std::size_t i = 0; i < jobs::kTopicCount; ++i) {
      const auto which = static_cast<jobs::Topic>(i);
      tether::FixedString<tether::kMaxTopic> out;
      ErrorText why;
      const Result<std::string_view> built = topics.build(which, out, job_id, &why);
      check_explained(built.status(), why);
      if (!built.ok()) continue;
      TETHER_FUZZ_CHECK(jobs::names_job(which) == !job_id.empty());
      if (job_id == "+") {
        TETHER_FUZZ_CHECK(tether::validate_topic_filter(*built, profile).ok());
        continue;
      }
      const Result<jobs::TopicMatch> m = topics.classify(*built);
      TETHER_FUZZ_CHECK(m.ok() && m->topic == which && m->job_id == job_id);
    }
  }
}

// ---- requests ----------------------------------------------------------------------------------------

// The request the input describes: byte 0 the status (low 3 bits) and kind (bit 3: start-next),
// byte 1 which optional members are present, bytes 2..9 expectedVersion, 10..13 executionNumber,
// 14..15 stepTimeoutInMinutes (all little-endian, signed where the field is), then lines: the
// client token, then keys and values alternately (at most 8 pairs).
struct Spec {
  bool start_next = false;
  jobs::UpdateRequest update;
  std::vector<std::string> lines;
  std::vector<jobs::StatusDetail> details;
  std::string token;
};

std::uint64_t le(std::string_view s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = at + i;
    v |= static_cast<std::uint64_t>(k < s.size() ? static_cast<unsigned char>(s[k]) : 0) << (8 * i);
  }
  return v;
}

void read_spec(std::string_view input, Spec& spec) {
  const auto byte = [&](std::size_t i) { return i < input.size() ? static_cast<unsigned char>(input[i]) : 0u; };
  spec.start_next = (byte(0) & 0x08) != 0;
  jobs::UpdateRequest& r = spec.update;
  r.status = static_cast<jobs::JobStatus>(byte(0) & 0x07);
  const unsigned flags = byte(1);
  // Small values most of the time, so that the valid range gets explored.
  const auto shrink = [](std::uint64_t v, bool big) { return big ? static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v % 1000) - 2; };
  if (flags & 0x01) r.expected_version = shrink(le(input, 2, 8), (flags & 0x40) != 0);
  if (flags & 0x02) r.execution_number = shrink(le(input, 10, 4), false);
  if (flags & 0x04) r.step_timeout_minutes = static_cast<std::uint32_t>(le(input, 14, 2) % 12000);
  r.include_job_execution_state = (flags & 0x08) != 0;
  r.include_job_document = (flags & 0x10) != 0;
  std::string_view rest = input.size() > 16 ? input.substr(16) : std::string_view();
  while (!rest.empty() || spec.lines.empty()) {
    const std::size_t nl = rest.find('\n');
    spec.lines.emplace_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  spec.token = spec.lines[0];
  r.client_token = spec.token;
  for (std::size_t i = 1; i + 1 < spec.lines.size() && spec.details.size() < 8; i += 2) {
    spec.details.push_back({spec.lines[i], spec.lines[i + 1]});
  }
  if (flags & 0x20) r.status_details = Span<const jobs::StatusDetail>(spec.details.data(), spec.details.size());
}

bool is_key(std::string_view k) {
  if (k.empty() || k.size() > jobs::kMaxStatusDetailKey) return false;
  for (char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Code points of a well-formed UTF-8 string.
std::size_t code_points(std::string_view v) {
  std::size_t n = 0;
  tether::fuzz::check_utf8(v, [&n](std::uint32_t, std::size_t) { ++n; });
  return n;
}

bool has_control(std::string_view v) {
  bool control = false;
  tether::fuzz::check_utf8(v, [&control](std::uint32_t cp, std::size_t) {
    control = control || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
  });
  return control;
}

// The first rule the request breaks, in the order the codec checks them (independently of the
// codec), or kNone. `unsure` is set when a status detail value holds characters outside printable
// ASCII whose Unicode category only the codec knows: it may refuse them (kStatusDetails).
jobs::Field broken_rule(const Spec& spec, bool& unsure) {
  const jobs::UpdateRequest& r = spec.update;
  unsure = false;
  if (!spec.start_next && !jobs::is_device_settable(r.status)) return jobs::Field::kStatus;
  if (r.status_details) {
    for (std::size_t i = 0; i < r.status_details->size(); ++i) {
      const jobs::StatusDetail& d = (*r.status_details)[i];
      if (!is_key(d.key)) return jobs::Field::kStatusDetails;
      for (std::size_t j = 0; j < i; ++j) {
        if ((*r.status_details)[j].key == d.key) return jobs::Field::kStatusDetails;
      }
      if (!tether::fuzz::is_utf8(d.value) || has_control(d.value)) return jobs::Field::kStatusDetails;
      const std::size_t n = code_points(d.value);
      if (n == 0 || n > jobs::kMaxStatusDetailValue) return jobs::Field::kStatusDetails;
      if (!tether::fuzz::is_printable_line(d.value)) unsure = true;
    }
  }
  if (!spec.start_next) {
    if (r.expected_version && (*r.expected_version < 0 || *r.expected_version > jobs::kMaxSafeInteger)) {
      return jobs::Field::kExpectedVersion;
    }
    if (r.execution_number && (*r.execution_number < 1 || *r.execution_number > jobs::kMaxSafeInteger)) {
      return jobs::Field::kExecutionNumber;
    }
  }
  if (r.step_timeout_minutes && (*r.step_timeout_minutes < 1 || *r.step_timeout_minutes > 10080)) {
    return jobs::Field::kStepTimeoutInMinutes;
  }
  if (!spec.start_next && r.step_timeout_minutes && r.status != jobs::JobStatus::kInProgress) {
    return jobs::Field::kStepTimeoutInMinutes;
  }
  if (r.client_token.empty() || r.client_token.size() > 64 || !tether::fuzz::is_printable_line(r.client_token)) {
    return jobs::Field::kClientToken;
  }
  return jobs::Field::kNone;
}

// The details read back equal the ones sent (same order).
void check_details_equal(const jobs::StatusDetails& got, const std::optional<Span<const jobs::StatusDetail>>& sent) {
  TETHER_FUZZ_CHECK(got.present() == sent.has_value());
  if (!sent) return;
  std::size_t i = 0;
  for (const jobs::StatusDetail& d : got) {
    TETHER_FUZZ_CHECK(i < sent->size());
    TETHER_FUZZ_CHECK(d.key == (*sent)[i].key && d.value == (*sent)[i].value);
    ++i;
  }
  TETHER_FUZZ_CHECK(i == sent->size());
}

void check_members(const json::Value& root, const Spec& spec) {
  const jobs::UpdateRequest& r = spec.update;
  const auto int_member = [&root](const char* name) -> std::optional<std::int64_t> {
    const json::Value v = root[name];
    if (!v.valid()) return std::nullopt;
    TETHER_FUZZ_CHECK(v.as_int().ok());
    return *v.as_int();
  };
  const auto flag = [&root](const char* name) { return root[name].as_bool().value_or(false); };
  const std::optional<std::int64_t> step =
      r.step_timeout_minutes ? std::optional<std::int64_t>(*r.step_timeout_minutes) : std::nullopt;
  TETHER_FUZZ_CHECK(int_member("stepTimeoutInMinutes") == step);
  std::size_t expected_members = 1 + (r.status_details ? 1 : 0) + (step ? 1 : 0);
  if (!spec.start_next) {
    TETHER_FUZZ_CHECK(root["status"].as_string().value_or("") == jobs::to_string(r.status));
    TETHER_FUZZ_CHECK(int_member("expectedVersion") == r.expected_version);
    TETHER_FUZZ_CHECK(int_member("executionNumber") == r.execution_number);
    TETHER_FUZZ_CHECK(flag("includeJobExecutionState") == r.include_job_execution_state);
    TETHER_FUZZ_CHECK(flag("includeJobDocument") == r.include_job_document);
    expected_members += 1 + (r.expected_version ? 1 : 0) + (r.execution_number ? 1 : 0) +
                        (r.include_job_execution_state ? 1 : 0) + (r.include_job_document ? 1 : 0);
  }
  TETHER_FUZZ_CHECK(root.size() == expected_members);
}

void check_request(std::string_view input) {
  Spec spec;
  read_spec(input, spec);
  const jobs::UpdateRequest& r = spec.update;
  std::vector<char> buf(16 * 1024, '#');
  ErrorText why;
  Result<std::string_view> text = Status(StatusCode::kUnknown, Origin::kNone);
  if (spec.start_next) {
    jobs::StartNextRequest s;
    s.status_details = r.status_details;
    s.step_timeout_minutes = r.step_timeout_minutes;
    s.client_token = r.client_token;
    text = jobs::encode_start_next(s, Span<char>(buf.data(), buf.size()), &why);
  } else {
    text = jobs::encode_update(r, Span<char>(buf.data(), buf.size()), &why);
  }
  check_explained(text.status(), why);
  bool unsure = false;
  const jobs::Field broken = broken_rule(spec, unsure);
  if (!text.ok()) {
    TETHER_FUZZ_CHECK(text.status().origin() == Origin::kCommands);  // 16 KB hold any valid request
    const auto field = static_cast<jobs::Field>(text.status().detail());
    // Status is checked before the details; everything else after them.
    const bool category = unsure && field == jobs::Field::kStatusDetails && broken != jobs::Field::kStatus;
    TETHER_FUZZ_CHECK(field == broken || category);
    TETHER_FUZZ_CHECK(std::all_of(buf.begin(), buf.end(), [](char c) { return c == '#'; }));
    return;
  }
  TETHER_FUZZ_CHECK(broken == jobs::Field::kNone);

  // Back through the response decoders: the request as an update/accepted root (its clientToken)
  // and as the executionState of one (status and statusDetails).
  const std::string request(*text);
  struct Seen {
    const Spec* spec;
    bool visited;
  } seen{&spec, false};
  TETHER_FUZZ_CHECK(jobs::decode_update_accepted(request, [&seen](const jobs::UpdateAccepted& a) {
                      seen.visited = true;
                      TETHER_FUZZ_CHECK(a.client_token == seen.spec->update.client_token);
                      TETHER_FUZZ_CHECK(!a.execution_state && !a.job_document.valid());
                      return Status();
                    }).ok());
  TETHER_FUZZ_CHECK(seen.visited);
  if (!spec.start_next) {
    seen.visited = false;
    const std::string wrapped = R"({"executionState":)" + request + "}";
    TETHER_FUZZ_CHECK(jobs::decode_update_accepted(wrapped, [&seen](const jobs::UpdateAccepted& a) {
                        seen.visited = true;
                        TETHER_FUZZ_CHECK(a.execution_state && a.execution_state->status == seen.spec->update.status);
                        check_details_equal(a.execution_state->status_details, seen.spec->update.status_details);
                        return Status();
                      }).ok());
    TETHER_FUZZ_CHECK(seen.visited);
  }
  TETHER_FUZZ_CHECK(json::parse(request, tether::kMaxJsonInput, [&spec](const json::Value& root) {
                      check_members(root, spec);
                      jobs::StatusDetails details;
                      TETHER_FUZZ_CHECK(jobs::read_status_details(root["statusDetails"], details).ok());
                      check_details_equal(details, spec.update.status_details);
                      return Status();
                    }).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tether::fuzz::as_text(data, size);
  check_decoders(input);
  const std::size_t nl = input.find('\n');
  check_topics(input, input.substr(0, nl));
  check_request(input);
  return 0;
}
