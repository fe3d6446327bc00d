// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The AWS IoT Jobs codec (tether/commands/jobs_codec.hpp) against the Jobs MQTT device API
// (PROTOCOLS.md §2, docs/cloudsim.md "Jobs service"). The response documents marked "cloudsim"
// were produced once with the emulator's independent model (tools/cloudsim/cloudsim/jobs_model.py:
// create, notify_next_document, notify_document, start_next, get_pending, describe, update and
// JobsError.document, seconds and Config(ms_timestamps=True)) and pasted here. The expected request
// texts were fed back to that model (parse_payload, then get_pending / start_next / describe /
// update on a queued execution, expectedVersion set to its version) and accepted.

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "tether/commands/jobs_codec.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/document.hpp"
#include "tether/topics.hpp"

using namespace tether;
using namespace tether::commands::jobs;

namespace {

Status commands_status(StatusCode code, Field field) {
  return Status(code, Origin::kCommands, static_cast<std::uint16_t>(field));
}

// ---- topics --------------------------------------------------------------------------------------

JobsTopics make_topics(TopicProfile profile, std::string_view thing) {
  JobsTopics topics;
  ErrorText why;
  const Status s = topics.init(TopicScheme(profile, thing), &why);
  INFO(why.view());
  REQUIRE(s.ok());
  CHECK(why.empty());
  return topics;
}

struct Built {
  Status status;
  std::string topic;
  std::string why;
};

Built build(const JobsTopics& topics, Topic t, std::string_view job_id = {}) {
  FixedString<kMaxTopic> out;
  ErrorText why;
  const Result<std::string_view> r = topics.build(t, out, job_id, &why);
  Built b{r.status(), r.ok() ? std::string(*r) : std::string(), std::string(why.view())};
  CHECK(r.ok() == why.empty());
  return b;
}

std::string topic_of(const JobsTopics& topics, Topic t, std::string_view job_id = {}) {
  const Built b = build(topics, t, job_id);
  INFO(b.why);
  REQUIRE(b.status.ok());
  return b.topic;
}

struct Classified {
  Status status;
  Topic topic = Topic::kNotify;
  std::string job_id;
  std::string why;
};

Classified classify(const JobsTopics& topics, std::string_view topic) {
  ErrorText why;
  const Result<TopicMatch> r = topics.classify(topic, &why);
  Classified c;
  c.status = r.status();
  c.why = std::string(why.view());
  if (r.ok()) {
    c.topic = r->topic;
    c.job_id = std::string(r->job_id);
  }
  CHECK(r.ok() == why.empty());
  return c;
}

constexpr Topic kAllTopics[] = {
    Topic::kGetPending,         Topic::kStartNext,          Topic::kDescribe,          Topic::kUpdate,
    Topic::kNotify,             Topic::kNotifyNext,         Topic::kGetPendingAccepted, Topic::kGetPendingRejected,
    Topic::kStartNextAccepted,  Topic::kStartNextRejected,  Topic::kDescribeAccepted,  Topic::kDescribeRejected,
    Topic::kUpdateAccepted,     Topic::kUpdateRejected,
};
static_assert(sizeof kAllTopics / sizeof kAllTopics[0] == kTopicCount, "every topic is listed");

// PROTOCOLS.md §2, with job ID "job-7", in the order of kAllTopics.
constexpr const char* kExpectedSuffixes[] = {
    "get",          "start-next",          "job-7/get",           "job-7/update",
    "notify",       "notify-next",         "get/accepted",        "get/rejected",
    "start-next/accepted", "start-next/rejected", "job-7/get/accepted", "job-7/get/rejected",
    "job-7/update/accepted", "job-7/update/rejected",
};

// ---- decoding: owned copies of what a visitor saw --------------------------------------------------

using Details = std::vector<std::pair<std::string, std::string>>;

std::string text_of(const json::Value& v) {
  if (!v.valid()) return "<absent>";
  std::string buf(64 * 1024, '\0');
  json::Writer writer(Span<char>(&buf[0], buf.size()));
  shadow::write_value(writer, v);
  return std::string(writer.finish().value_or("<unwritable>"));
}

std::optional<Details> details_of(const StatusDetails& d) {
  if (!d.present()) return std::nullopt;
  Details out;
  for (const StatusDetail& e : d) out.emplace_back(std::string(e.key), std::string(e.value));
  CHECK(d.size() == out.size());
  CHECK(d.empty() == out.empty());
  return out;
}

struct ExecutionCopy {
  std::string job_id;
  std::string thing_name;
  std::string document;
  JobStatus status = JobStatus::kQueued;
  std::optional<Details> details;
  std::int64_t queued_at = 0;
  std::int64_t started_at = 0;
  std::int64_t last_updated_at = 0;
  std::int64_t version_number = 0;
  std::int64_t execution_number = 0;
};

ExecutionCopy copy_of(const JobExecution& e) {
  return ExecutionCopy{std::string(e.job_id), std::string(e.thing_name), text_of(e.job_document), e.status,
                       details_of(e.status_details), e.queued_at, e.started_at, e.last_updated_at,
                       e.version_number, e.execution_number};
}

struct StateCopy {
  JobStatus status = JobStatus::kQueued;
  std::optional<Details> details;
  std::int64_t version_number = 0;
};

std::optional<StateCopy> copy_of(const std::optional<JobExecutionState>& s) {
  if (!s) return std::nullopt;
  return StateCopy{s->status, details_of(s->status_details), s->version_number};
}

struct Decoded {
  Status status;
  std::string why;
  bool visited = false;
  // ExecutionResponse
  std::optional<ExecutionCopy> execution;
  std::string client_token;
  std::int64_t timestamp = 0;
  // UpdateAccepted / ErrorResponse
  std::optional<StateCopy> state;
  std::string document;
  ErrorCode code = ErrorCode::kUnknown;
  std::string code_text;
  std::string message;
  // PendingJobs / JobsChanged
  std::vector<JobExecutionSummary> in_progress;  // views: only the numbers are compared
  std::vector<std::string> in_progress_ids;
  std::vector<std::string> queued_ids;
  std::vector<std::int64_t> queued_versions;
};

void finish(Decoded& d, Status s, const ErrorText& why) {
  d.status = s;
  d.why = std::string(why.view());
  CHECK(s.ok() == why.empty());
  CHECK(s.ok() == d.visited);  // the visitor runs exactly when the document is good (it returns ok here)
}

// Runs `decoder` with a visitor that marks the result visited and lets `copy(result, decoded)` keep
// what the test compares.
template <typename T, typename Copy>
Decoded decode_with(Status (*decoder)(std::string_view, const DecodeVisitor<T>&, ErrorText*), std::string_view payload,
                    Copy copy) {
  Decoded d;
  ErrorText why;
  struct Context {
    Decoded* d;
    Copy* copy;
  } context{&d, &copy};
  const Status s = decoder(
      payload,
      [&context](const T& r) {
        context.d->visited = true;
        (*context.copy)(*context.d, r);
        return Status();
      },
      &why);
  finish(d, s, why);
  return d;
}

using ExecutionDecoder = Status (*)(std::string_view, const DecodeVisitor<ExecutionResponse>&, ErrorText*);

Decoded decode_execution(ExecutionDecoder decoder, std::string_view payload) {
  return decode_with(decoder, payload, [](Decoded& d, const ExecutionResponse& r) {
    if (r.execution) d.execution = copy_of(*r.execution);
    d.client_token = std::string(r.client_token);
    d.timestamp = r.timestamp;
  });
}

Decoded decode_update(std::string_view payload) {
  return decode_with(decode_update_accepted, payload, [](Decoded& d, const UpdateAccepted& r) {
    d.state = copy_of(r.execution_state);
    d.document = text_of(r.job_document);
    d.client_token = std::string(r.client_token);
    d.timestamp = r.timestamp;
  });
}

Decoded decode_error(std::string_view payload) {
  return decode_with(decode_error_response, payload, [](Decoded& d, const ErrorResponse& r) {
    d.code = r.code;
    d.code_text = std::string(r.code_text);
    d.message = std::string(r.message);
    d.client_token = std::string(r.client_token);
    d.timestamp = r.timestamp;
    d.state = copy_of(r.execution_state);
  });
}

void copy_lists(Decoded& d, const SummaryList& in_progress, const SummaryList& queued) {
  for (const JobExecutionSummary& s : in_progress) {
    d.in_progress_ids.emplace_back(s.job_id);
    d.in_progress.push_back(s);
  }
  for (const JobExecutionSummary& s : queued) {
    d.queued_ids.emplace_back(s.job_id);
    d.queued_versions.push_back(s.version_number);
  }
}

Decoded decode_pending(std::string_view payload) {
  return decode_with(decode_pending_jobs, payload, [](Decoded& d, const PendingJobs& r) {
    copy_lists(d, r.in_progress, r.queued);
    d.client_token = std::string(r.client_token);
    d.timestamp = r.timestamp;
  });
}

Decoded decode_changed(std::string_view payload) {
  return decode_with(decode_jobs_changed, payload, [](Decoded& d, const JobsChanged& r) {
    copy_lists(d, r.in_progress, r.queued);
    d.timestamp = r.timestamp;
  });
}

// cloudsim: two jobs created at 1700000000 and 1700000005, documents as below.
constexpr std::string_view kNotifyNext =
    R"({"timestamp":1700000006,"execution":{"jobId":"job-1","thingName":"dev-1","status":"QUEUED",)"
    R"("queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1,)"
    R"("jobDocument":{"operation":"reboot","args":["now"]}}})";
constexpr std::string_view kNotify =
    R"({"timestamp":1700000006,"jobs":{"QUEUED":[{"jobId":"job-1","queuedAt":1700000000,)"
    R"("lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1},{"jobId":"job-2",)"
    R"("queuedAt":1700000005,"lastUpdatedAt":1700000005,"versionNumber":1,"executionNumber":1}]}})";
constexpr std::string_view kStartNextAccepted =
    R"({"timestamp":1700000010,"execution":{"jobId":"job-1","thingName":"dev-1","status":"IN_PROGRESS",)"
    R"("queuedAt":1700000000,"lastUpdatedAt":1700000010,"versionNumber":2,"executionNumber":1,)"
    R"("statusDetails":{"step":"download"},"startedAt":1700000010,)"
    R"("jobDocument":{"operation":"reboot","args":["now"]}},"clientToken":"tok-1"})";
constexpr std::string_view kGetAccepted =
    R"({"inProgressJobs":[{"jobId":"job-1","queuedAt":1700000000,"lastUpdatedAt":1700000010,)"
    R"("versionNumber":2,"executionNumber":1,"startedAt":1700000010}],"queuedJobs":[{"jobId":"job-2",)"
    R"("queuedAt":1700000005,"lastUpdatedAt":1700000005,"versionNumber":1,"executionNumber":1}],)"
    R"("timestamp":1700000011,"clientToken":"tok-2"})";
constexpr std::string_view kDescribeNoDocument =
    R"({"timestamp":1700000012,"execution":{"jobId":"job-1","thingName":"dev-1","status":"IN_PROGRESS",)"
    R"("queuedAt":1700000000,"lastUpdatedAt":1700000010,"versionNumber":2,"executionNumber":1,)"
    R"("statusDetails":{"step":"download"},"startedAt":1700000010},"clientToken":"tok-3"})";
constexpr std::string_view kDescribeNextMs =
    R"({"timestamp":1700000030500,"execution":{"jobId":"job-2","thingName":"dev-1","status":"QUEUED",)"
    R"("queuedAt":1700000005000,"lastUpdatedAt":1700000005000,"versionNumber":1,"executionNumber":1,)"
    R"("jobDocument":{"operation":"upgrade","url":"https://x/y"}},"clientToken":"tok-7"})";
constexpr std::string_view kUpdateAccepted =
    R"({"timestamp":1700000020,"executionState":{"status":"SUCCEEDED","versionNumber":3,)"
    R"("statusDetails":{"result":"ok"}},"jobDocument":{"operation":"reboot","args":["now"]},)"
    R"("clientToken":"tok-4"})";
constexpr std::string_view kUpdateAcceptedBare = R"({"timestamp":1700000031,"clientToken":"tok-8"})";
constexpr std::string_view kTerminalStateReached =
    R"({"code":"TerminalStateReached","message":"Job execution is already in a terminal state: SUCCEEDED",)"
    R"("timestamp":1700000021,"executionState":{"status":"SUCCEEDED","versionNumber":3,)"
    R"("statusDetails":{"result":"ok"}},"clientToken":"tok-5"})";
constexpr std::string_view kVersionMismatch =
    R"({"code":"VersionMismatch","message":"Expected version 7 does not match the current version 1",)"
    R"("timestamp":1700000022,"clientToken":"tok-6","executionState":{"status":"QUEUED","versionNumber":1}})";

// ---- encoding ------------------------------------------------------------------------------------

struct Encoded {
  Status status;
  std::string text;
  std::string why;
};

template <typename Encode>
Encoded encode_with(Encode encode, std::size_t capacity = 16384) {
  std::string buf(capacity, '#');
  ErrorText why;
  const Result<std::string_view> r = encode(Span<char>(&buf[0], buf.size()), &why);
  Encoded e{r.status(), r.ok() ? std::string(*r) : std::string(), std::string(why.view())};
  CHECK(r.ok() == why.empty());
  if (!r.ok() && r.status().origin() == Origin::kCommands) {
    CHECK(buf == std::string(capacity, '#'));  // a refused request writes nothing
  }
  return e;
}

Encoded update(const UpdateRequest& request) {
  return encode_with([&request](Span<char> out, ErrorText* why) { return encode_update(request, out, why); });
}

Encoded start_next(const StartNextRequest& request) {
  return encode_with([&request](Span<char> out, ErrorText* why) { return encode_start_next(request, out, why); });
}

Encoded describe(const DescribeRequest& request) {
  return encode_with([&request](Span<char> out, ErrorText* why) { return encode_describe(request, out, why); });
}

// An IN_PROGRESS update with one status detail.
Encoded update_with_detail(std::string_view key, std::string_view value) {
  const StatusDetail details[] = {{key, value}};
  UpdateRequest r;
  r.status_details = Span<const StatusDetail>(details);
  r.client_token = "t";
  return update(r);
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += unit;
  return s;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

// ==== vocabulary ===================================================================================

TEST_CASE("job execution statuses have their wire names and read back from them") {
  const std::pair<JobStatus, const char*> all[] = {
      {JobStatus::kQueued, "QUEUED"},       {JobStatus::kInProgress, "IN_PROGRESS"},
      {JobStatus::kSucceeded, "SUCCEEDED"}, {JobStatus::kFailed, "FAILED"},
      {JobStatus::kCanceled, "CANCELED"},   {JobStatus::kTimedOut, "TIMED_OUT"},
      {JobStatus::kRejected, "REJECTED"},   {JobStatus::kRemoved, "REMOVED"},
  };
  static_assert(sizeof all / sizeof all[0] == kJobStatusCount, "every status");
  for (const auto& [status, name] : all) {
    CHECK(std::string(to_string(status)) == name);
    CHECK(job_status_from(name) == status);
  }
  CHECK_FALSE(job_status_from("in_progress").has_value());
  CHECK_FALSE(job_status_from("CANCELLED").has_value());
  CHECK_FALSE(job_status_from("").has_value());
}

TEST_CASE("a device may set IN_PROGRESS, SUCCEEDED, FAILED and REJECTED; all but QUEUED and IN_PROGRESS are terminal") {
  for (std::size_t i = 0; i < kJobStatusCount; ++i) {
    const auto s = static_cast<JobStatus>(i);
    INFO(to_string(s));
    const bool settable = s == JobStatus::kInProgress || s == JobStatus::kSucceeded || s == JobStatus::kFailed ||
                          s == JobStatus::kRejected;
    CHECK(is_device_settable(s) == settable);
    CHECK(is_terminal(s) == (s != JobStatus::kQueued && s != JobStatus::kInProgress));
  }
}

TEST_CASE("error codes read from their wire names and any other code is kUnknown") {
  const char* names[] = {"InvalidTopic",    "InvalidJson",   "InvalidRequest",   "InvalidStateTransition",
                         "ResourceNotFound", "VersionMismatch", "InternalError", "RequestThrottled",
                         "TerminalStateReached"};
  for (std::size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    CHECK(error_code_from(names[i]) == static_cast<ErrorCode>(i));
    CHECK(std::string(to_string(static_cast<ErrorCode>(i))) == names[i]);
  }
  CHECK(error_code_from("Throttled") == ErrorCode::kUnknown);
  CHECK(error_code_from("versionmismatch") == ErrorCode::kUnknown);
  CHECK(error_code_from("") == ErrorCode::kUnknown);
}

TEST_CASE("validate_job_id accepts 1 to 64 characters of [a-zA-Z0-9_-] and says what is wrong") {
  CHECK(validate_job_id("a").ok());
  CHECK(validate_job_id("Job_7-rollout").ok());
  CHECK(validate_job_id(std::string(kMaxJobId, 'j')).ok());
  ErrorText why;
  CHECK(validate_job_id(std::string(kMaxJobId + 1, 'j'), &why) == commands_status(StatusCode::kOutOfRange, Field::kJobId));
  CHECK(contains(std::string(why.view()), "1..64 bytes (is 65)"));
  CHECK(validate_job_id("") == commands_status(StatusCode::kOutOfRange, Field::kJobId));
  for (std::string_view bad : {"job.7", "job/7", "job 7", "$next", "+", "#", "jöb"}) {
    INFO(bad);
    CHECK(validate_job_id(bad) == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  }
  why.clear();
  CHECK_FALSE(validate_job_id("ab\ncd", &why).ok());
  CHECK(contains(std::string(why.view()), "0x0a at byte 2"));
}

// ==== topics =======================================================================================

TEST_CASE("the jobs topics of a thing are the documented ones under both profiles") {
  const std::pair<TopicProfile, const char*> roots[] = {
      {TopicProfile::kAws, "$aws/things/dev-1/jobs"},
      {TopicProfile::kNeutral, "cmd/dev-1/jobs"},
  };
  for (const auto& [profile, root] : roots) {
    const JobsTopics t = make_topics(profile, "dev-1");
    CHECK(t.root() == root);
    for (std::size_t i = 0; i < kTopicCount; ++i) {
      const std::string expected = std::string(root) + "/" + kExpectedSuffixes[i];
      INFO(expected);
      CHECK(topic_of(t, kAllTopics[i], names_job(kAllTopics[i]) ? "job-7" : "") == expected);
      CHECK(validate_topic_name(expected, profile).ok());
      const Classified c = classify(t, expected);
      REQUIRE(c.status.ok());
      CHECK(c.topic == kAllTopics[i]);
      CHECK(c.job_id == (names_job(kAllTopics[i]) ? "job-7" : ""));
    }
  }
}

TEST_CASE("topic kinds: requests, rejections and the topics that name a job") {
  int requests = 0;
  int rejected = 0;
  int with_job = 0;
  for (Topic t : kAllTopics) {
    requests += is_request(t) ? 1 : 0;
    rejected += is_rejected(t) ? 1 : 0;
    with_job += names_job(t) ? 1 : 0;
    const std::string name = to_string(t);
    if (names_job(t)) {
      CHECK(name.rfind("<jobId>/", 0) == 0);
    } else {
      CHECK(name.find('<') == std::string::npos);
    }
  }
  CHECK(requests == 4);
  CHECK(rejected == 4);
  CHECK(with_job == 6);
  CHECK(is_request(Topic::kUpdate));
  CHECK_FALSE(is_request(Topic::kUpdateAccepted));
  CHECK(is_rejected(Topic::kDescribeRejected));
  CHECK(std::string(to_string(Topic::kUpdateAccepted)) == "<jobId>/update/accepted");
}

TEST_CASE("a response topic built with + is a filter that matches that response of every job") {
  const JobsTopics t = make_topics(TopicProfile::kAws, "dev-1");
  const Topic responses[] = {Topic::kDescribeAccepted, Topic::kDescribeRejected, Topic::kUpdateAccepted,
                             Topic::kUpdateRejected};
  for (Topic r : responses) {
    const std::string filter = topic_of(t, r, "+");
    INFO(filter);
    CHECK(validate_topic_filter(filter, TopicProfile::kAws).ok());
    CHECK(topic_matches(filter, topic_of(t, r, "job-1")));
    CHECK(topic_matches(filter, topic_of(t, r, std::string(kMaxJobId, 'x'))));
    CHECK_FALSE(topic_matches(filter, "$aws/things/dev-2/jobs/job-1/update/accepted"));
  }
  CHECK(topic_of(t, Topic::kUpdateAccepted, "+") == "$aws/things/dev-1/jobs/+/update/accepted");
  CHECK(topic_matches(topic_of(t, Topic::kDescribeAccepted, "+"), topic_of(t, Topic::kDescribeAccepted, "$next")));
  // A request topic is published to: never a filter.
  CHECK(build(t, Topic::kUpdate, "+").status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(build(t, Topic::kDescribe, "+").status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
}

TEST_CASE("$next names the next pending execution in describe topics only") {
  const JobsTopics t = make_topics(TopicProfile::kAws, "dev-1");
  CHECK(topic_of(t, Topic::kDescribe, kNextJobId) == "$aws/things/dev-1/jobs/$next/get");
  CHECK(topic_of(t, Topic::kDescribeAccepted, kNextJobId) == "$aws/things/dev-1/jobs/$next/get/accepted");
  const Classified c = classify(t, "$aws/things/dev-1/jobs/$next/get/accepted");
  REQUIRE(c.status.ok());
  CHECK(c.topic == Topic::kDescribeAccepted);
  CHECK(c.job_id == "$next");
  // cloudsim answers `$next/update` with InvalidTopic.
  CHECK(build(t, Topic::kUpdate, kNextJobId).status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(classify(t, "$aws/things/dev-1/jobs/$next/update/accepted").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kJobId));
}

TEST_CASE("build refuses a missing job ID, one where none belongs and an invalid one, saying why") {
  const JobsTopics t = make_topics(TopicProfile::kAws, "dev-1");
  const Built missing = build(t, Topic::kUpdate, "");
  CHECK(missing.status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(contains(missing.why, "needs a job ID"));
  const Built extra = build(t, Topic::kNotifyNext, "job-1");
  CHECK(extra.status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(contains(extra.why, "has no job ID"));
  CHECK(build(t, Topic::kUpdate, "a/b").status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(build(t, Topic::kUpdate, "#").status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(build(t, Topic::kUpdate, std::string(kMaxJobId + 1, 'j')).status ==
        commands_status(StatusCode::kOutOfRange, Field::kJobId));
}

TEST_CASE("the longest jobs topic fits for a 128-byte thing name and a 64-byte job ID") {
  const std::string thing(kMaxThingName, 't');
  for (TopicProfile p : {TopicProfile::kAws, TopicProfile::kNeutral}) {
    const JobsTopics t = make_topics(p, thing);
    const std::string topic = topic_of(t, Topic::kUpdateRejected, std::string(kMaxJobId, 'j'));
    CHECK(topic.size() <= kMaxTopic);
    CHECK(classify(t, topic).topic == Topic::kUpdateRejected);
  }
}

TEST_CASE("classify answers kNotFound for another thing's topics, other families and unknown suffixes") {
  const JobsTopics t = make_topics(TopicProfile::kAws, "dev");
  for (std::string_view other : {
           "$aws/things/dev-1/jobs/notify",          // a thing whose name extends this one
           "$aws/things/de/jobs/notify",
           "$aws/things/dev/shadow/update/delta",    // another family
           "cmd/dev/jobs/notify",                    // the other profile
           "$aws/things/dev/jobs",                   // the root itself
           "$aws/things/dev/jobs/",
           "$aws/things/dev/jobs/notify/x",
           "$aws/things/dev/jobs/NOTIFY",
           "$aws/things/dev/jobs/start-next/accepted/x",
           "$aws/things/dev/jobs/job-1",
           "$aws/things/dev/jobs/job-1/delete",
           "$aws/things/dev/jobs/job-1/update/accepted/x",
           "$aws/things/dev/jobs/job-1/update/documents",
           "$aws/things/dev/jobsnotify",
           "",
       }) {
    INFO(other);
    const Classified c = classify(t, other);
    CHECK(c.status == commands_status(StatusCode::kNotFound, Field::kTopic));
  }
  const Classified bytes = classify(t, std::string("$aws/things/dev/jobs/\x01\n", 23));
  CHECK(bytes.status.code() == StatusCode::kNotFound);
  CHECK(contains(bytes.why, "of 23 bytes"));  // never copies control characters into the text
}

TEST_CASE("classify refuses a job topic of this thing whose job ID is invalid") {
  const JobsTopics t = make_topics(TopicProfile::kNeutral, "dev");
  CHECK(classify(t, "cmd/dev/jobs/job.1/update/accepted").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(classify(t, "cmd/dev/jobs//get/rejected").status == commands_status(StatusCode::kOutOfRange, Field::kJobId));
  const Classified long_id = classify(t, "cmd/dev/jobs/" + std::string(kMaxJobId + 1, 'j') + "/get");
  CHECK(long_id.status == commands_status(StatusCode::kOutOfRange, Field::kJobId));
  CHECK(contains(long_id.why, "job ID in the topic"));
  // A job may be called like a fixed topic: the levels tell them apart.
  CHECK(classify(t, "cmd/dev/jobs/get/get").topic == Topic::kDescribe);
  CHECK(classify(t, "cmd/dev/jobs/notify/update").topic == Topic::kUpdate);
  CHECK(classify(t, "cmd/dev/jobs/start-next/get/accepted").job_id == "start-next");
  CHECK(classify(t, "cmd/dev/jobs/get/accepted").topic == Topic::kGetPendingAccepted);
}

TEST_CASE("an uninitialised JobsTopics builds and classifies nothing") {
  test::ContractCounter contracts;
  const JobsTopics t;
  CHECK(t.root().empty());
  CHECK(build(t, Topic::kNotify).status == commands_status(StatusCode::kFailedPrecondition, Field::kNone));
  CHECK(classify(t, "/notify").status.code() == StatusCode::kNotFound);
  CHECK(contracts.count() == 2);
}

// ==== decoding =====================================================================================

TEST_CASE("notify-next from cloudsim decodes into the next execution with its job document") {
  const Decoded d = decode_execution(decode_notify_next, kNotifyNext);
  REQUIRE(d.status.ok());
  CHECK(d.timestamp == 1700000006);
  CHECK(d.client_token.empty());
  REQUIRE(d.execution);
  const ExecutionCopy& e = *d.execution;
  CHECK(e.job_id == "job-1");
  CHECK(e.thing_name == "dev-1");
  CHECK(e.status == JobStatus::kQueued);
  CHECK_FALSE(e.details);  // absent, not empty
  CHECK(e.queued_at == 1700000000);
  CHECK(e.started_at == -1);
  CHECK(e.last_updated_at == 1700000000);
  CHECK(e.version_number == 1);
  CHECK(e.execution_number == 1);
  CHECK(e.document == R"({"operation":"reboot","args":["now"]})");
}

TEST_CASE("notify-next without an execution says nothing is pending") {
  const Decoded d = decode_execution(decode_notify_next, R"({"timestamp":1700000040})");
  REQUIRE(d.status.ok());
  CHECK_FALSE(d.execution);
  CHECK(d.timestamp == 1700000040);
}

TEST_CASE("notify-next in the form of the AWS documentation (millisecond timestamps) decodes") {
  // PROTOCOLS.md §2: the Jobs doc's examples carry milliseconds, its text says seconds.
  const Decoded d = decode_execution(decode_notify_next, R"({
    "timestamp": 1489096425069,
    "execution": {
      "jobId": "022",
      "thingName": "MyThing",
      "jobDocument": "< contents of job document >" ,
      "status": "QUEUED",
      "queuedAt": 1489096123309,
      "lastUpdatedAt": 1489096123309,
      "versionNumber": 1,
      "executionNumber": 1234567890
    }
  })");
  // The documentation's placeholder is a string; a job document is a JSON object.
  CHECK(d.status == commands_status(StatusCode::kInvalidArgument, Field::kJobDocument));
  CHECK(d.why == R"("execution.jobDocument" is not an object (is string))");

  const Decoded ok = decode_execution(decode_notify_next, R"({
    "timestamp": 1489096425069,
    "execution": {"jobId": "022", "thingName": "MyThing", "jobDocument": {"operation": "install"},
                  "status": "QUEUED", "queuedAt": 1489096123309, "lastUpdatedAt": 1489096123309,
                  "versionNumber": 1, "executionNumber": 1234567890}
  })");
  REQUIRE(ok.status.ok());
  CHECK(ok.timestamp == 1489096425069);
  CHECK(ok.execution->queued_at == 1489096123309);
  CHECK(ok.execution->execution_number == 1234567890);
}

TEST_CASE("start-next/accepted from cloudsim carries the started execution, its status details and the token") {
  const Decoded d = decode_execution(decode_start_next_accepted, kStartNextAccepted);
  REQUIRE(d.status.ok());
  CHECK(d.client_token == "tok-1");
  CHECK(d.timestamp == 1700000010);
  REQUIRE(d.execution);
  CHECK(d.execution->status == JobStatus::kInProgress);
  CHECK(d.execution->started_at == 1700000010);
  CHECK(d.execution->version_number == 2);
  CHECK(d.execution->details == Details{{"step", "download"}});
  const Decoded none = decode_execution(decode_start_next_accepted, R"({"timestamp":1700000011,"clientToken":"t"})");
  REQUIRE(none.status.ok());
  CHECK_FALSE(none.execution);
  CHECK(none.client_token == "t");
}

TEST_CASE("<jobId>/get/accepted decodes with and without the job document, in seconds or milliseconds") {
  const Decoded no_doc = decode_execution(decode_describe_accepted, kDescribeNoDocument);
  REQUIRE(no_doc.status.ok());
  CHECK(no_doc.execution->document == "<absent>");
  CHECK(no_doc.client_token == "tok-3");
  const Decoded ms = decode_execution(decode_describe_accepted, kDescribeNextMs);
  REQUIRE(ms.status.ok());
  CHECK(ms.timestamp == 1700000030500);
  CHECK(ms.execution->job_id == "job-2");
  CHECK(ms.execution->queued_at == 1700000005000);
  CHECK(ms.execution->document == R"({"operation":"upgrade","url":"https://x/y"})");
}

TEST_CASE("update/accepted from cloudsim carries the execution state and document only when asked for") {
  const Decoded full = decode_update(kUpdateAccepted);
  REQUIRE(full.status.ok());
  REQUIRE(full.state);
  CHECK(full.state->status == JobStatus::kSucceeded);
  CHECK(full.state->version_number == 3);
  CHECK(full.state->details == Details{{"result", "ok"}});
  CHECK(full.document == R"({"operation":"reboot","args":["now"]})");
  CHECK(full.client_token == "tok-4");
  CHECK(full.timestamp == 1700000020);

  const Decoded bare = decode_update(kUpdateAcceptedBare);
  REQUIRE(bare.status.ok());
  CHECK_FALSE(bare.state);
  CHECK(bare.document == "<absent>");
  CHECK(bare.client_token == "tok-8");
}

TEST_CASE("error responses from cloudsim decode with their code, message and execution state") {
  const Decoded terminal = decode_error(kTerminalStateReached);
  REQUIRE(terminal.status.ok());
  CHECK(terminal.code == ErrorCode::kTerminalStateReached);
  CHECK(terminal.code_text == "TerminalStateReached");
  CHECK(terminal.message == "Job execution is already in a terminal state: SUCCEEDED");
  CHECK(terminal.client_token == "tok-5");
  CHECK(terminal.timestamp == 1700000021);
  REQUIRE(terminal.state);
  CHECK(terminal.state->status == JobStatus::kSucceeded);

  const Decoded mismatch = decode_error(kVersionMismatch);
  REQUIRE(mismatch.status.ok());
  CHECK(mismatch.code == ErrorCode::kVersionMismatch);
  REQUIRE(mismatch.state);
  CHECK(mismatch.state->status == JobStatus::kQueued);
  CHECK(mismatch.state->version_number == 1);
  CHECK_FALSE(mismatch.state->details);

  const Decoded invalid = decode_error(R"({"code":"InvalidTopic","message":"Invalid job ID in topic: '$next'",)"
                                       R"("timestamp":1700000050})");
  REQUIRE(invalid.status.ok());
  CHECK(invalid.code == ErrorCode::kInvalidTopic);
  CHECK_FALSE(invalid.state);
  CHECK(invalid.client_token.empty());
}

TEST_CASE("an error response keeps an unknown code as kUnknown with its text, and needs a code") {
  const Decoded d = decode_error(R"({"code":"QuotaExceeded","message":"m"})");
  REQUIRE(d.status.ok());
  CHECK(d.code == ErrorCode::kUnknown);
  CHECK(d.code_text == "QuotaExceeded");
  CHECK(d.timestamp == -1);
  const Decoded none = decode_error(R"({"message":"m"})");
  CHECK(none.status == commands_status(StatusCode::kInvalidArgument, Field::kCode));
  CHECK(none.why == R"("code" is missing)");
  CHECK(decode_error(R"({"code":400})").status == commands_status(StatusCode::kInvalidArgument, Field::kCode));
}

TEST_CASE("get/accepted from cloudsim lists the in-progress and queued summaries in order") {
  const Decoded d = decode_pending(kGetAccepted);
  REQUIRE(d.status.ok());
  CHECK(d.in_progress_ids == std::vector<std::string>{"job-1"});
  CHECK(d.in_progress.at(0).started_at == 1700000010);
  CHECK(d.in_progress.at(0).version_number == 2);
  CHECK(d.queued_ids == std::vector<std::string>{"job-2"});
  CHECK(d.queued_versions == std::vector<std::int64_t>{1});
  CHECK(d.client_token == "tok-2");
  const Decoded empty = decode_pending(R"({"inProgressJobs":[],"queuedJobs":[],"timestamp":1})");
  REQUIRE(empty.status.ok());
  CHECK(empty.in_progress_ids.empty());
  CHECK(empty.queued_ids.empty());
}

TEST_CASE("notify from cloudsim lists the pending executions by status") {
  const Decoded d = decode_changed(kNotify);
  REQUIRE(d.status.ok());
  CHECK(d.queued_ids == std::vector<std::string>{"job-1", "job-2"});
  CHECK(d.in_progress_ids.empty());
  CHECK(d.timestamp == 1700000006);
  const Decoded none = decode_changed(R"({"timestamp":1700000100,"jobs":{}})");
  REQUIRE(none.status.ok());
  CHECK(none.queued_ids.empty());
  const Decoded bad = decode_changed(R"({"jobs":{"QUEUED":[{"jobId":"a"},{"jobId":7}]}})");
  CHECK(bad.status == commands_status(StatusCode::kInvalidArgument, Field::kJobId));
  CHECK(bad.why == R"("jobs.QUEUED[1].jobId" is not a string (is number))");
  CHECK(decode_changed(R"({"jobs":[]})").status == commands_status(StatusCode::kInvalidArgument, Field::kJobs));
  CHECK(decode_changed(R"({"jobs":{"QUEUED":{}}})").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kJobs));
  CHECK(decode_pending(R"({"queuedJobs":[1]})").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kQueuedJobs));
}

TEST_CASE("every wrong type in an execution is refused with the field as detail and its path in the text") {
  struct Case {
    const char* execution;  // the members after "jobId":"j","status":"QUEUED"
    Status status;
    const char* why;
  };
  const Case cases[] = {
      {R"("thingName":1)", commands_status(StatusCode::kInvalidArgument, Field::kThingName),
       R"("execution.thingName" is not a string (is number))"},
      {R"("jobDocument":[1])", commands_status(StatusCode::kInvalidArgument, Field::kJobDocument),
       R"("execution.jobDocument" is not an object (is array))"},
      {R"("statusDetails":["a"])", commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails),
       R"("execution.statusDetails" is not an object (is array))"},
      {R"("statusDetails":{"reason":7})", commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails),
       R"("execution.statusDetails.reason" is not a string (is number))"},
      {R"("statusDetails":{"reason":null})", commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails),
       R"("execution.statusDetails.reason" is not a string (is null))"},
      {R"("queuedAt":"1700000000")", commands_status(StatusCode::kInvalidArgument, Field::kQueuedAt),
       R"("execution.queuedAt" is not an integer (is string))"},
      {R"("startedAt":true)", commands_status(StatusCode::kInvalidArgument, Field::kStartedAt),
       R"("execution.startedAt" is not an integer (is boolean))"},
      {R"("lastUpdatedAt":1.5)", commands_status(StatusCode::kInvalidArgument, Field::kLastUpdatedAt),
       R"("execution.lastUpdatedAt" is not an integer (has a fraction))"},
      {R"("versionNumber":-1)", commands_status(StatusCode::kOutOfRange, Field::kVersionNumber),
       R"("execution.versionNumber" is out of range (0..2^53-1))"},
      {R"("executionNumber":1e999)", commands_status(StatusCode::kOutOfRange, Field::kExecutionNumber),
       R"("execution.executionNumber" is out of range (0..2^53-1))"},
      {R"("executionNumber":9007199254740992)", commands_status(StatusCode::kOutOfRange, Field::kExecutionNumber),
       R"("execution.executionNumber" is out of range (0..2^53-1))"},
  };
  for (const Case& c : cases) {
    const std::string doc = std::string(R"({"execution":{"jobId":"j","status":"QUEUED",)") + c.execution + "}}";
    INFO(doc);
    const Decoded d = decode_execution(decode_notify_next, doc);
    CHECK(d.status == c.status);
    CHECK(d.why == c.why);
  }
}

TEST_CASE("an execution needs a valid job ID and one of the eight statuses") {
  struct Case {
    const char* doc;
    Status status;
    const char* why;
  };
  const Case cases[] = {
      {R"({"execution":{"status":"QUEUED"}})", commands_status(StatusCode::kInvalidArgument, Field::kJobId),
       R"("execution.jobId" is missing)"},
      {R"({"execution":{"jobId":7,"status":"QUEUED"}})", commands_status(StatusCode::kInvalidArgument, Field::kJobId),
       R"("execution.jobId" is not a string (is number))"},
      {R"({"execution":{"jobId":"a/b","status":"QUEUED"}})",
       commands_status(StatusCode::kInvalidArgument, Field::kJobId),
       R"("execution.jobId": character '/' at byte 1 is not allowed (only [a-zA-Z0-9_-]))"},
      {R"({"execution":{"jobId":"","status":"QUEUED"}})", commands_status(StatusCode::kOutOfRange, Field::kJobId),
       R"("execution.jobId" must be 1..64 bytes (is 0))"},
      {R"({"execution":{"jobId":"j"}})", commands_status(StatusCode::kInvalidArgument, Field::kStatus),
       R"("execution.status" is missing)"},
      {R"({"execution":{"jobId":"j","status":"DONE"}})", commands_status(StatusCode::kInvalidArgument, Field::kStatus),
       R"("execution.status" "DONE" is not a job execution status)"},
      {R"({"execution":{"jobId":"j","status":"queued"}})",
       commands_status(StatusCode::kInvalidArgument, Field::kStatus),
       R"("execution.status" "queued" is not a job execution status)"},
      {R"({"execution":"job-1"})", commands_status(StatusCode::kInvalidArgument, Field::kExecution),
       R"("execution" is not an object (is string))"},
      {R"({"execution":null})", commands_status(StatusCode::kInvalidArgument, Field::kExecution),
       R"("execution" is not an object (is null))"},
      {R"({"timestamp":"now"})", commands_status(StatusCode::kInvalidArgument, Field::kTimestamp),
       R"("timestamp" is not an integer (is string))"},
      {R"({"clientToken":{}})", commands_status(StatusCode::kInvalidArgument, Field::kClientToken),
       R"("clientToken" is not a string (is object))"},
      {R"([])", commands_status(StatusCode::kInvalidArgument, Field::kNone),
       "jobs response is not a JSON object (is array)"},
  };
  for (const Case& c : cases) {
    INFO(c.doc);
    const Decoded d = decode_execution(decode_start_next_accepted, c.doc);
    CHECK(d.status == c.status);
    CHECK(d.why == c.why);
  }
}

TEST_CASE("a status text from the input is quoted only when it is short printable ASCII") {
  const Decoded control = decode_execution(decode_notify_next, R"({"execution":{"jobId":"j","status":"A\nB"}})");
  CHECK(control.status == commands_status(StatusCode::kInvalidArgument, Field::kStatus));
  CHECK(control.why == R"("execution.status" of 3 bytes is not a job execution status)");
  const Decoded key = decode_execution(decode_notify_next,
                                       R"({"execution":{"jobId":"j","status":"QUEUED","statusDetails":{"\u0007":1}}})");
  CHECK(key.why == R"("execution.statusDetails" member 0 is not a string (is number))");
}

TEST_CASE("update/accepted and error responses check their execution state and document") {
  CHECK(decode_update(R"({"executionState":{"versionNumber":2}})").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kStatus));
  const Decoded state = decode_update(R"({"executionState":[]})");
  CHECK(state.status == commands_status(StatusCode::kInvalidArgument, Field::kExecutionState));
  CHECK(state.why == R"("executionState" is not an object (is array))");
  const Decoded details = decode_update(R"({"executionState":{"status":"FAILED","statusDetails":{"a":false}}})");
  CHECK(details.status == commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails));
  CHECK(details.why == R"("executionState.statusDetails.a" is not a string (is boolean))");
  const Decoded doc = decode_update(R"({"jobDocument":"x"})");
  CHECK(doc.status == commands_status(StatusCode::kInvalidArgument, Field::kJobDocument));
  CHECK(doc.why == R"("jobDocument" is not an object (is string))");
  const Decoded error = decode_error(R"({"code":"VersionMismatch","executionState":{"status":"NOPE"}})");
  CHECK(error.status == commands_status(StatusCode::kInvalidArgument, Field::kStatus));
  CHECK(error.why == R"("executionState.status" "NOPE" is not a job execution status)");
  CHECK(decode_error(R"({"code":"InvalidJson","message":1})").status ==
        commands_status(StatusCode::kInvalidArgument, Field::kMessage));
}

TEST_CASE("payloads that are not JSON pass on the parser's error") {
  for (std::string_view bad : {"", "{", "{\"a\":}", "nul", "{\"execution\":{}} x"}) {
    INFO(bad);
    const Decoded d = decode_execution(decode_notify_next, bad);
    CHECK(d.status.code() == StatusCode::kInvalidArgument);
    CHECK(d.status.origin() == Origin::kJson);
    CHECK(contains(d.why, "invalid JSON"));
  }
  const std::string huge = "{\"a\":\"" + std::string(kMaxJsonInput, 'x') + "\"}";
  CHECK(decode_update(huge).status == Status(StatusCode::kOutOfRange, Origin::kJson));
}

TEST_CASE("a job document of 32 KB as compact JSON is accepted and one byte more is refused") {
  // {"d":"<n x>"} is n + 8 bytes; spaces around it do not count.
  const auto doc_of = [](std::size_t n) {
    return R"({"execution":{"jobId":"j","status":"QUEUED","jobDocument":  { "d" : ")" + std::string(n, 'x') +
           "\" } }}";
  };
  const Decoded fits = decode_execution(decode_notify_next, doc_of(kMaxJobDocument - 8));
  REQUIRE(fits.status.ok());
  CHECK(fits.execution->document.size() == kMaxJobDocument);
  const Decoded over = decode_execution(decode_notify_next, doc_of(kMaxJobDocument - 7));
  CHECK(over.status == commands_status(StatusCode::kOutOfRange, Field::kJobDocument));
  CHECK(over.why == R"("execution.jobDocument" is 32769 bytes as compact JSON (at most 32768))");
  const Decoded update = decode_update(R"({"jobDocument":{"d":")" + std::string(kMaxJobDocument, 'x') + "\"}}");
  CHECK(update.status == commands_status(StatusCode::kOutOfRange, Field::kJobDocument));
}

TEST_CASE("the job document size counts escapes, numbers, nesting and literals as a writer writes them") {
  // Written, \u0001 stays 6 bytes, \n 2, and 1e2 becomes 100.
  const auto doc_of = [](std::size_t n) {
    std::string items;
    for (std::size_t i = 0; i < n; ++i) items += std::string(i == 0 ? "" : ",") + R"(["\u0001","\n",1e2,true,null,{"k":[]}])";
    return R"({"executionState":{"status":"FAILED"},"jobDocument":{"a":[)" + items + "]}}";
  };
  // One element: ["\u0001","\n",100,true,null,{"k":[]}] = 1+8+1+4+1+3+1+4+1+4+1+8+1 = 38 bytes + 1 comma.
  const std::size_t per_item = 39;
  const std::size_t frame = std::string(R"({"a":[]})").size() - 1;  // one comma fewer than items
  const std::size_t fitting = (kMaxJobDocument - frame) / per_item;
  const Decoded fits = decode_update(doc_of(fitting));
  REQUIRE(fits.status.ok());
  CHECK(fits.document.size() == frame + fitting * per_item);
  CHECK(decode_update(doc_of(fitting + 1)).status == commands_status(StatusCode::kOutOfRange, Field::kJobDocument));
}

TEST_CASE("status details iterate in order, find values, and count only the first of duplicate keys") {
  Details seen;
  std::optional<std::string> found;
  std::size_t size = 0;
  struct Out {
    Details* seen;
    std::optional<std::string>* found;
    std::size_t* size;
  } out{&seen, &found, &size};
  const Status s = decode_notify_next(
      R"({"execution":{"jobId":"j","status":"IN_PROGRESS","statusDetails":{"b":"1","a":"2","b":"3","c":""}}})",
      [&out](const ExecutionResponse& r) {
        const StatusDetails& d = r.execution->status_details;
        for (const StatusDetail& e : d) out.seen->emplace_back(std::string(e.key), std::string(e.value));
        if (const auto v = d.find("b")) *out.found = std::string(*v);
        *out.size = d.size();
        CHECK_FALSE(d.find("z").has_value());
        CHECK(d.value().is_object());
        return Status();
      });
  REQUIRE(s.ok());
  CHECK(seen == Details{{"b", "1"}, {"a", "2"}, {"c", ""}});
  CHECK(found == std::string("1"));
  CHECK(size == 3);
  const Decoded empty =
      decode_execution(decode_notify_next, R"({"execution":{"jobId":"j","status":"QUEUED","statusDetails":{}}})");
  REQUIRE(empty.status.ok());
  CHECK(empty.execution->details == Details{});  // present and empty
}

TEST_CASE("decode returns what the visitor returns and does not call it for a bad document") {
  int calls = 0;
  const Status refused = decode_update_accepted(kUpdateAccepted, [&calls](const UpdateAccepted&) {
    ++calls;
    return Status(StatusCode::kAborted, Origin::kApp, 7);
  });
  CHECK(refused == Status(StatusCode::kAborted, Origin::kApp, 7));
  CHECK(calls == 1);
  CHECK_FALSE(decode_update_accepted(R"({"timestamp":-5})", [&calls](const UpdateAccepted&) {
                ++calls;
                return Status();
              }).ok());
  CHECK(calls == 1);
}

TEST_CASE("the readers work on a tree the caller parsed") {
  const Status s = json::parse(kStartNextAccepted, kMaxJsonInput, [](const json::Value& root) {
    JobExecution e;
    REQUIRE(read_job_execution(root["execution"], "execution", e).ok());
    CHECK(e.job_id == "job-1");
    JobExecutionState state;
    ErrorText why;
    CHECK(read_execution_state(root, "", state, &why) == commands_status(StatusCode::kInvalidArgument, Field::kStatus));
    CHECK(why.view() == R"("status" is missing)");
    StatusDetails d;
    CHECK(read_status_details(root["execution"]["statusDetails"], d).ok());
    CHECK(d.find("step") == std::optional<std::string_view>("download"));
    CHECK(read_status_details(root["nothing"], d).ok());
    CHECK_FALSE(d.present());
    SummaryList list;
    CHECK(read_summary_list(root["execution"], "execution", Field::kJobs, list) ==
          commands_status(StatusCode::kInvalidArgument, Field::kJobs));
    return Status();
  });
  REQUIRE(s.ok());
}

// ==== encoding =====================================================================================

TEST_CASE("get-pending sends only the client token") {
  const Encoded e = encode_with([](Span<char> out, ErrorText* why) { return encode_get_pending("tok-2", out, why); });
  REQUIRE(e.status.ok());
  CHECK(e.text == R"({"clientToken":"tok-2"})");
  CHECK(encode_with([](Span<char> out, ErrorText* why) { return encode_get_pending("", out, why); }).status ==
        commands_status(StatusCode::kOutOfRange, Field::kClientToken));
}

TEST_CASE("start-next sends status details, the step timeout and the client token") {
  const StatusDetail details[] = {{"step", "download"}, {"attempt:n", "1"}};
  StartNextRequest r;
  r.status_details = Span<const StatusDetail>(details);
  r.step_timeout_minutes = 5;
  r.client_token = "tok-1";
  const Encoded e = start_next(r);
  REQUIRE(e.status.ok());
  CHECK(e.text == R"({"statusDetails":{"step":"download","attempt:n":"1"},"stepTimeoutInMinutes":5,"clientToken":"tok-1"})");

  StartNextRequest bare;
  bare.client_token = "t";
  CHECK(start_next(bare).text == R"({"clientToken":"t"})");
  bare.status_details = Span<const StatusDetail>();  // present and empty: clears the stored map
  CHECK(start_next(bare).text == R"({"statusDetails":{},"clientToken":"t"})");
}

TEST_CASE("describe asks for the job document unless told not to and names an execution number") {
  DescribeRequest r;
  r.client_token = "tok-3";
  CHECK(describe(r).text == R"({"includeJobDocument":true,"clientToken":"tok-3"})");
  r.include_job_document = false;
  r.execution_number = 1;
  CHECK(describe(r).text == R"({"executionNumber":1,"includeJobDocument":false,"clientToken":"tok-3"})");
  r.execution_number = 0;
  CHECK(describe(r).status == commands_status(StatusCode::kOutOfRange, Field::kExecutionNumber));
}

TEST_CASE("update writes every field in the documented order with expectedVersion as an integer") {
  const StatusDetail details[] = {{"result", "ok"}};
  UpdateRequest r;
  r.status = JobStatus::kSucceeded;
  r.status_details = Span<const StatusDetail>(details);
  r.expected_version = 2;
  r.execution_number = 1;
  r.include_job_execution_state = true;
  r.include_job_document = true;
  r.client_token = "tok-4";
  const Encoded e = update(r);
  REQUIRE(e.status.ok());
  CHECK(e.text == R"({"status":"SUCCEEDED","statusDetails":{"result":"ok"},"expectedVersion":2,"executionNumber":1,)"
                  R"("includeJobExecutionState":true,"includeJobDocument":true,"clientToken":"tok-4"})");

  UpdateRequest progress;
  progress.status = JobStatus::kInProgress;
  progress.step_timeout_minutes = kMaxStepTimeoutMinutes;
  progress.expected_version = 0;
  progress.client_token = "tok-5";
  CHECK(update(progress).text ==
        R"({"status":"IN_PROGRESS","expectedVersion":0,"stepTimeoutInMinutes":10080,"clientToken":"tok-5"})");
  progress.expected_version = kMaxSafeInteger;
  CHECK(update(progress).status.ok());
}

TEST_CASE("update refuses the statuses a device may not set") {
  for (JobStatus s : {JobStatus::kQueued, JobStatus::kCanceled, JobStatus::kTimedOut, JobStatus::kRemoved}) {
    UpdateRequest r;
    r.status = s;
    r.client_token = "t";
    const Encoded e = update(r);
    INFO(to_string(s));
    CHECK(e.status == commands_status(StatusCode::kInvalidArgument, Field::kStatus));
    CHECK(contains(e.why, to_string(s)));
  }
  for (JobStatus s : {JobStatus::kInProgress, JobStatus::kSucceeded, JobStatus::kFailed, JobStatus::kRejected}) {
    UpdateRequest r;
    r.status = s;
    r.client_token = "t";
    CHECK(update(r).text == std::string(R"({"status":")") + to_string(s) + R"(","clientToken":"t"})");
  }
}

TEST_CASE("stepTimeoutInMinutes must be 1 to 10080 and goes with IN_PROGRESS only") {
  for (std::uint32_t bad : {std::uint32_t{0}, kMaxStepTimeoutMinutes + 1}) {  // uint32_t is unsigned long on newlib
    UpdateRequest r;
    r.step_timeout_minutes = bad;
    r.client_token = "t";
    CHECK(update(r).status == commands_status(StatusCode::kOutOfRange, Field::kStepTimeoutInMinutes));
    StartNextRequest s;
    s.step_timeout_minutes = bad;
    s.client_token = "t";
    CHECK(start_next(s).status == commands_status(StatusCode::kOutOfRange, Field::kStepTimeoutInMinutes));
  }
  UpdateRequest done;
  done.status = JobStatus::kSucceeded;
  done.step_timeout_minutes = 1;
  done.client_token = "t";
  const Encoded e = update(done);
  CHECK(e.status == commands_status(StatusCode::kInvalidArgument, Field::kStepTimeoutInMinutes));
  CHECK(contains(e.why, "only with status IN_PROGRESS"));
}

TEST_CASE("expectedVersion and executionNumber must be integers JSON keeps exact") {
  UpdateRequest r;
  r.client_token = "t";
  r.expected_version = -1;
  CHECK(update(r).status == commands_status(StatusCode::kOutOfRange, Field::kExpectedVersion));
  r.expected_version = kMaxSafeInteger + 1;
  CHECK(update(r).status == commands_status(StatusCode::kOutOfRange, Field::kExpectedVersion));
  r.expected_version.reset();
  r.execution_number = 0;
  const Encoded e = update(r);
  CHECK(e.status == commands_status(StatusCode::kOutOfRange, Field::kExecutionNumber));
  CHECK(e.why == "executionNumber 0 is out of range (1..2^53-1)");
}

TEST_CASE("the client token must be 1 to 64 bytes of printable ASCII") {
  UpdateRequest r;
  r.client_token = std::string_view();
  CHECK(update(r).status == commands_status(StatusCode::kOutOfRange, Field::kClientToken));
  const std::string longest(kMaxClientToken, 'c');
  r.client_token = longest;
  CHECK(update(r).status.ok());
  const std::string too_long(kMaxClientToken + 1, 'c');
  r.client_token = too_long;
  CHECK(update(r).status == commands_status(StatusCode::kOutOfRange, Field::kClientToken));
  for (std::string_view bad : {"a\tb", "caf\xc3\xa9", "\x7f"}) {
    r.client_token = bad;
    CHECK(update(r).status == commands_status(StatusCode::kInvalidArgument, Field::kClientToken));
  }
  r.client_token = R"(a "quoted" \ token)";
  CHECK(update(r).text == R"({"status":"IN_PROGRESS","clientToken":"a \"quoted\" \\ token"})");
}

TEST_CASE("status detail keys are 1 to 128 characters of [a-zA-Z0-9:_-]") {
  CHECK(update_with_detail("a", "v").status.ok());
  CHECK(update_with_detail("Az09:_-", "v").status.ok());
  CHECK(update_with_detail(std::string(kMaxStatusDetailKey, 'k'), "v").status.ok());
  CHECK(update_with_detail("", "v").status == commands_status(StatusCode::kOutOfRange, Field::kStatusDetails));
  CHECK(update_with_detail(std::string(kMaxStatusDetailKey + 1, 'k'), "v").status ==
        commands_status(StatusCode::kOutOfRange, Field::kStatusDetails));
  for (std::string_view bad : {"a.b", "a b", "a/b", "\xc3\xa9", "\"", "a\n"}) {
    INFO(bad);
    const Encoded e = update_with_detail(bad, "v");
    CHECK(e.status == commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails));
    CHECK(contains(e.why, "statusDetails key 0"));
  }
  const StatusDetail twice[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  UpdateRequest r;
  r.status_details = Span<const StatusDetail>(twice);
  r.client_token = "t";
  const Encoded e = update(r);
  CHECK(e.status == commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails));
  CHECK(e.why == R"(statusDetails key "a" is given twice (entries 0 and 2))");
}

TEST_CASE("status detail values are 1 to 1024 characters, counted as code points, not bytes") {
  CHECK(update_with_detail("k", std::string(kMaxStatusDetailValue, 'v')).status.ok());
  const Encoded over = update_with_detail("k", std::string(kMaxStatusDetailValue + 1, 'v'));
  CHECK(over.status == commands_status(StatusCode::kOutOfRange, Field::kStatusDetails));
  CHECK(over.why == R"(statusDetails value of "k" must be 1..1024 characters (is 1025))");
  CHECK(update_with_detail("k", "").status == commands_status(StatusCode::kOutOfRange, Field::kStatusDetails));
  // 1024 two-byte and four-byte characters (2048 and 4096 bytes) are 1024 characters.
  CHECK(update_with_detail("k", repeat("\xc3\xa9", kMaxStatusDetailValue)).status.ok());
  CHECK(update_with_detail("k", repeat("\xf0\x9f\x98\x80", kMaxStatusDetailValue)).status.ok());
  CHECK(update_with_detail("k", repeat("\xf0\x9f\x98\x80", kMaxStatusDetailValue + 1)).status ==
        commands_status(StatusCode::kOutOfRange, Field::kStatusDetails));
  const Encoded written = update_with_detail("reason", "caf\xc3\xa9 \"ok\" \\ \xe2\x82\xac");
  CHECK(written.text == "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"reason\":\"caf\xc3\xa9 \\\"ok\\\" \\\\ "
                        "\xe2\x82\xac\"},\"clientToken\":\"t\"}");
}

TEST_CASE("status detail values refuse controls, format and private-use characters, noncharacters and bad UTF-8") {
  struct Case {
    const char* value;
    const char* why_part;
  };
  const Case refused[] = {
      {"a\nb", "U+000A at byte 1"},           // C0
      {"\x7f", "U+007F at byte 0"},           // DEL
      {"a\xc2\x85", "U+0085 at byte 1"},      // C1 (NEL)
      {"\xc2\xad", "U+00AD"},                 // soft hyphen (Cf)
      {"a\xe2\x80\x8b", "U+200B"},            // zero width space (Cf)
      {"\xef\xbb\xbf", "U+FEFF"},             // byte order mark (Cf)
      {"\xee\x80\x80", "U+E000"},             // private use (Co)
      {"\xf3\xb0\x80\x80", "U+F0000"},        // supplementary private use (Co)
      {"\xef\xbf\xbe", "U+FFFE"},             // noncharacter
      {"\xef\xb7\x90", "U+FDD0"},             // noncharacter
      {"\xf3\xa0\x80\x81", "U+E0001"},        // language tag (Cf)
      {"ab\xff", "invalid UTF-8 at byte 2"},
      {"\xc0\xaf", "invalid UTF-8 at byte 0"},   // overlong '/'
      {"\xed\xa0\x80", "invalid UTF-8 at byte 0"},  // surrogate
      {"\xe2\x82", "invalid UTF-8 at byte 0"},   // cut short
  };
  for (const Case& c : refused) {
    INFO(c.why_part);
    const Encoded e = update_with_detail("k", c.value);
    CHECK(e.status == commands_status(StatusCode::kInvalidArgument, Field::kStatusDetails));
    CHECK(contains(e.why, c.why_part));
    CHECK(contains(e.why, "statusDetails value of \"k\""));
  }
  // Letters, symbols and separators of every plane are fine, tabs are not (a control).
  for (std::string_view fine : {" ", "\xe2\x80\xa8", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80", "~"}) {
    CHECK(update_with_detail("k", fine).status.ok());
  }
  CHECK_FALSE(update_with_detail("k", "a\tb").status.ok());
  CHECK(validate_status_details(Span<const StatusDetail>()).ok());
}

TEST_CASE("a buffer too small for a request is kResourceExhausted and an exact one works") {
  UpdateRequest r;
  r.client_token = "tok";
  const std::string full = update(r).text;
  REQUIRE_FALSE(full.empty());
  const Encoded exact =
      encode_with([&r](Span<char> out, ErrorText* why) { return encode_update(r, out, why); }, full.size());
  CHECK(exact.text == full);
  const Encoded small =
      encode_with([&r](Span<char> out, ErrorText* why) { return encode_update(r, out, why); }, full.size() - 1);
  CHECK(small.status == Status(StatusCode::kResourceExhausted, Origin::kJson));
  CHECK(small.why == "the output buffer is too small for the request");
}

TEST_CASE("an encoded update decodes back: status, details and token through the response readers") {
  const StatusDetail details[] = {{"reason", "disk \"full\""}, {"code:x", "\xe2\x82\xac"}};
  UpdateRequest r;
  r.status = JobStatus::kFailed;
  r.status_details = Span<const StatusDetail>(details);
  r.expected_version = 41;
  r.client_token = "tok-9";
  const Encoded e = update(r);
  REQUIRE(e.status.ok());
  // The request read as an update/accepted (clientToken) and as the execution state inside one.
  const Decoded as_root = decode_update(e.text);
  REQUIRE(as_root.status.ok());
  CHECK(as_root.client_token == "tok-9");
  const Decoded as_state = decode_update(R"({"executionState":)" + e.text + "}");
  REQUIRE(as_state.status.ok());
  CHECK(as_state.state->status == JobStatus::kFailed);
  CHECK(as_state.state->details == Details{{"reason", "disk \"full\""}, {"code:x", "\xe2\x82\xac"}});
}

TEST_CASE("sanitizing a status detail value replaces what the service refuses and keeps the rest") {
  char out[64];
  std::size_t replaced = 99;
  struct Case {
    std::string_view in;
    std::string_view expected;
    std::size_t replaced;
  };
  const Case cases[] = {
      {"hello from run\n", "hello from run ", 1},
      {"a\tb\r\nc", "a b  c", 3},
      {"\x7f\xc2\x85x", "??x", 2},                          // DEL, C1 NEL (two bytes, one '?')
      {"\xe4\xb8\xad\xe2\x80\x8b\xf0\x9f\x98\x80", "\xe4\xb8\xad?\xf0\x9f\x98\x80", 1},  // ZWSP between kept
      {"ab\xff\xc0\xaf", "ab???", 3},                       // each ill-formed byte
      {"fine", "fine", 0},
      {"", "", 0},
  };
  for (const Case& c : cases) {
    INFO("case " << (&c - cases));
    const Result<std::string_view> clean = sanitize_status_detail_value(c.in, Span<char>(out, sizeof out), &replaced);
    REQUIRE(clean.ok());
    CHECK(clean.value() == c.expected);
    CHECK(replaced == c.replaced);
    if (!clean.value().empty()) {
      const StatusDetail one{"k", clean.value()};
      CHECK(validate_status_details(Span<const StatusDetail>(&one, 1)).ok());
    }
  }
  // Never longer than the input: a buffer of the input's size is enough, a shorter one is refused.
  CHECK(sanitize_status_detail_value("a\nb", Span<char>(out, 3)).ok());
  CHECK(sanitize_status_detail_value("a\nb", Span<char>(out, 2)).status() ==
        Status(StatusCode::kResourceExhausted, Origin::kCommands, 0));
}
