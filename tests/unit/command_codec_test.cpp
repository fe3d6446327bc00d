// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The command codecs (tether/commands/command_codec.hpp): AWS IoT Commands topics and documents
// (PROTOCOLS.md §3) and the cloud-neutral `cmd/<thing>` pattern, against the topics, bodies and
// answers of the independent emulator (docs/cloudsim.md "Commands";
// tools/cloudsim/cloudsim/commands_model.py and commands_service.py). The answer documents below are
// what the emulator publishes (CommandsError.document, accepted_document); the update checks of
// read_update follow commands_model.validate_update case by case.

#include "tether/commands/command_codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/topics.hpp"

using namespace tether;
using namespace tether::commands;

namespace {

Status commands_status(StatusCode code, CodecDetail detail) {
  return Status(code, Origin::kCommands, static_cast<std::uint16_t>(detail));
}

CommandTopics things(TopicProfile profile, std::string_view thing = "dev-1") {
  CommandTopics topics;
  ErrorText why;
  const Status s = topics.init(TopicScheme(profile, thing), &why);
  INFO(why.view());
  REQUIRE(s.ok());
  return topics;
}

CommandTopics client(std::string_view client_id) {
  CommandTopics topics;
  ErrorText why;
  const Status s = topics.init_client(client_id, &why);
  INFO(why.view());
  REQUIRE(s.ok());
  return topics;
}

std::string filter_of(const CommandTopics& topics, CommandFilter which) {
  FixedString<kMaxTopic> out;
  const Result<std::string_view> f = topics.filter(which, out);
  REQUIRE(f.ok());
  return std::string(*f);
}

std::string topic_of(const CommandTopics& topics, CommandTopic kind, std::string_view id,
                     PayloadFormat format = PayloadFormat::kJson) {
  FixedString<kMaxTopic> out;
  const Result<std::string_view> t = topics.build(kind, id, out, format);
  REQUIRE(t.ok());
  return std::string(*t);
}

struct Classified {
  Status status;
  InboundTopic topic;
  std::string why;
};

Classified classify(const CommandTopics& topics, std::string_view topic) {
  ErrorText why;
  const Result<InboundTopic> r = topics.classify(topic, &why);
  Classified c;
  c.status = r.status();
  if (r.ok()) c.topic = *r;
  c.why = std::string(why.view());
  return c;
}

bool is_printable_line(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

std::size_t slashes(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += c == '/' ? 1 : 0;
  return n;
}

// ---- requests ----

struct Decoded {
  Status status;
  bool visited = false;
  std::string id;
  PayloadFormat format = PayloadFormat::kOther;
  std::string content_type;
  std::string payload;
  std::optional<std::uint32_t> expiry;
  json::Type document_type = json::Type::kInvalid;
  std::string operation;
  std::int64_t delay_s = -1;  // the document's "delay_s" when it has one
  std::string why;
};

struct Request {
  std::string topic;
  std::string payload;
  std::string content_type;
  std::optional<std::uint32_t> expiry;
};

Decoded decode(const CommandTopics& topics, const Request& request, Status visitor_result = Status()) {
  InboundMessage message;
  message.topic = request.topic;
  message.payload = as_bytes(request.payload);
  message.properties.content_type = request.content_type;
  message.properties.message_expiry_s = request.expiry;
  const Result<InboundTopic> topic = topics.classify(message.topic);
  REQUIRE(topic.ok());
  Decoded d;
  Decoded* out = &d;
  ErrorText why;
  d.status = decode_request(
      message, *topic,
      [out, visitor_result](const RequestView& v) {
        out->visited = true;
        out->id = std::string(v.execution_id);
        out->format = v.format;
        out->content_type = std::string(v.content_type);
        out->payload = std::string(reinterpret_cast<const char*>(v.payload.data()), v.payload.size());
        out->expiry = v.message_expiry_s;
        out->document_type = v.document.type();
        out->operation = std::string(v.operation);
        out->delay_s = v.document["delay_s"].as_int().value_or(-1);
        return visitor_result;
      },
      &why);
  d.why = std::string(why.view());
  return d;
}

// ---- updates ----

StatusUpdate update_of(ExecutionStatus status, std::string_view code = {}, std::string_view description = {},
                       Span<const ResultEntry> result = {}) {
  StatusUpdate u;
  u.status = status;
  u.reason_code = code;
  u.reason_description = description;
  u.result = result;
  return u;
}

std::string encoded(const StatusUpdate& update) {
  std::string buffer(4096, '\0');
  ErrorText why;
  const Result<std::string_view> out = encode_update(update, Span<char>(&buffer[0], buffer.size()), &why);
  INFO(why.view());
  REQUIRE(out.ok());
  CHECK(why.empty());
  return std::string(*out);
}

struct EncodeFailure {
  Status status;
  std::string why;
};

EncodeFailure encode_failure(const StatusUpdate& update, std::size_t buffer_size = 4096) {
  std::string buffer(buffer_size, '\0');
  ErrorText why;
  const Result<std::string_view> out = encode_update(update, Span<char>(&buffer[0], buffer.size()), &why);
  EncodeFailure f;
  f.status = out.status();
  f.why = std::string(why.view());
  CHECK_FALSE(out.ok());
  CHECK(is_printable_line(f.why));
  CHECK_FALSE(f.why.empty());
  return f;
}

struct ReadUpdate {
  Status status;
  ExecutionStatus execution_status = ExecutionStatus::kInProgress;
  bool has_status_reason = false;
  std::string reason_code;
  std::string reason_description;
  std::size_t result_entries = 0;
  std::string why;
};

ReadUpdate read(std::string_view document) {
  ReadUpdate r;
  ReadUpdate* out = &r;
  ErrorText why;
  ErrorText* w = &why;
  const Status parsed = json::parse(document, kMaxJsonInput, [out, w](const json::Value& root) {
    UpdateView view;
    out->status = read_update(root, view, w);
    out->execution_status = view.status;
    out->has_status_reason = view.has_status_reason;
    out->reason_code = std::string(view.reason_code);
    out->reason_description = std::string(view.reason_description);
    out->result_entries = view.result.size();
    return Status();
  });
  REQUIRE(parsed.ok());
  r.why = std::string(why.view());
  return r;
}

// ---- answers ----

struct Answered {
  Status status;
  ExecutionAnswer answer;
  std::string why;
};

Answered answer(const CommandTopics& topics, std::string_view topic, std::string_view payload) {
  const Result<InboundTopic> t = topics.classify(topic);
  REQUIRE(t.ok());
  Answered a;
  ErrorText why;
  a.status = decode_answer(*t, as_bytes(payload), a.answer, &why);
  a.why = std::string(why.view());
  CHECK(is_printable_line(a.why));
  CHECK(a.status.ok() == a.why.empty());
  return a;
}

}  // namespace

// ---- topics ------------------------------------------------------------------------------------------

TEST_CASE("AWS thing subscription filters are the three request topics and the two answers of PROTOCOLS.md") {
  const CommandTopics t = things(TopicProfile::kAws);
  CHECK(t.prefix() == "$aws/commands/things/dev-1/executions");
  CHECK(t.device_type() == DeviceType::kThing);
  CHECK(filter_of(t, CommandFilter::kRequestJson) == "$aws/commands/things/dev-1/executions/+/request/json");
  CHECK(filter_of(t, CommandFilter::kRequestCbor) == "$aws/commands/things/dev-1/executions/+/request/cbor");
  CHECK(filter_of(t, CommandFilter::kRequestGeneric) == "$aws/commands/things/dev-1/executions/+/request");
  CHECK(filter_of(t, CommandFilter::kAccepted) == "$aws/commands/things/dev-1/executions/+/response/accepted/json");
  CHECK(filter_of(t, CommandFilter::kRejected) == "$aws/commands/things/dev-1/executions/+/response/rejected/json");
  for (CommandFilter f : {CommandFilter::kRequestJson, CommandFilter::kRequestCbor, CommandFilter::kRequestGeneric,
                          CommandFilter::kAccepted, CommandFilter::kRejected}) {
    CHECK(validate_topic_filter(filter_of(t, f), TopicProfile::kAws).ok());
  }
}

TEST_CASE("AWS client-id topics use the clients device type") {
  const CommandTopics t = client("sensor-42");
  CHECK(t.device_type() == DeviceType::kClient);
  CHECK(t.profile() == TopicProfile::kAws);
  CHECK(filter_of(t, CommandFilter::kRequestJson) == "$aws/commands/clients/sensor-42/executions/+/request/json");
  CHECK(topic_of(t, CommandTopic::kResponse, "x1") == "$aws/commands/clients/sensor-42/executions/x1/response/json");
  const Classified c = classify(t, "$aws/commands/clients/sensor-42/executions/x1/request/cbor");
  REQUIRE(c.status.ok());
  CHECK(c.topic.format == PayloadFormat::kCbor);
  // A thing of the same name is another device.
  CHECK(classify(t, "$aws/commands/things/sensor-42/executions/x1/request/cbor").status.code() ==
        StatusCode::kNotFound);
}

TEST_CASE("neutral subscription filters are cmd/<thing>/+/request and the two answers; no per-format filters") {
  const CommandTopics t = things(TopicProfile::kNeutral);
  CHECK(t.prefix() == "cmd/dev-1");
  CHECK(filter_of(t, CommandFilter::kRequestGeneric) == "cmd/dev-1/+/request");
  CHECK(filter_of(t, CommandFilter::kAccepted) == "cmd/dev-1/+/response/accepted");
  CHECK(filter_of(t, CommandFilter::kRejected) == "cmd/dev-1/+/response/rejected");
  FixedString<kMaxTopic> out;
  CHECK(t.filter(CommandFilter::kRequestJson, out).status() ==
        commands_status(StatusCode::kNotFound, CodecDetail::kTopicKind));
  CHECK(t.filter(CommandFilter::kRequestCbor, out).status() ==
        commands_status(StatusCode::kNotFound, CodecDetail::kTopicKind));
}

TEST_CASE("AWS per-execution topics are the ones cloudsim publishes and listens on") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string base = "$aws/commands/things/dev-1/executions/0b1c-2d_3e/";
  CHECK(topic_of(t, CommandTopic::kRequest, "0b1c-2d_3e", PayloadFormat::kJson) == base + "request/json");
  CHECK(topic_of(t, CommandTopic::kRequest, "0b1c-2d_3e", PayloadFormat::kCbor) == base + "request/cbor");
  CHECK(topic_of(t, CommandTopic::kRequest, "0b1c-2d_3e", PayloadFormat::kOther) == base + "request");
  CHECK(topic_of(t, CommandTopic::kResponse, "0b1c-2d_3e") == base + "response/json");
  CHECK(topic_of(t, CommandTopic::kAccepted, "0b1c-2d_3e") == base + "response/accepted/json");
  CHECK(topic_of(t, CommandTopic::kRejected, "0b1c-2d_3e") == base + "response/rejected/json");
}

TEST_CASE("AWS answer topics have 8 slashes and still pass topic validation as reserved topics") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string rejected = topic_of(t, CommandTopic::kRejected, "e1");
  CHECK(slashes(rejected) == 8);
  CHECK(validate_topic_name(rejected, TopicProfile::kAws).ok());
  CHECK(validate_topic_name(topic_of(t, CommandTopic::kResponse, "e1"), TopicProfile::kAws).ok());
}

TEST_CASE("neutral per-execution topics are cmd/<thing>/<id>/request, /response and /response/accepted|rejected") {
  const CommandTopics t = things(TopicProfile::kNeutral);
  CHECK(topic_of(t, CommandTopic::kRequest, "abc", PayloadFormat::kCbor) == "cmd/dev-1/abc/request");
  CHECK(topic_of(t, CommandTopic::kResponse, "abc") == "cmd/dev-1/abc/response");
  CHECK(topic_of(t, CommandTopic::kAccepted, "abc") == "cmd/dev-1/abc/response/accepted");
  CHECK(topic_of(t, CommandTopic::kRejected, "abc") == "cmd/dev-1/abc/response/rejected");
}

TEST_CASE("classify names the kind, execution id and format of every topic build makes") {
  for (TopicProfile p : {TopicProfile::kAws, TopicProfile::kNeutral}) {
    const CommandTopics t = things(p);
    for (CommandTopic kind :
         {CommandTopic::kRequest, CommandTopic::kResponse, CommandTopic::kAccepted, CommandTopic::kRejected}) {
      for (PayloadFormat f : {PayloadFormat::kJson, PayloadFormat::kCbor, PayloadFormat::kOther}) {
        const std::string topic = topic_of(t, kind, "exec_1", f);
        INFO(topic);
        const Classified c = classify(t, topic);
        REQUIRE(c.status.ok());
        CHECK(c.why.empty());
        CHECK(c.topic.kind == kind);
        CHECK(c.topic.execution_id == "exec_1");
        PayloadFormat expected = PayloadFormat::kJson;
        if (kind == CommandTopic::kRequest) expected = p == TopicProfile::kAws ? f : PayloadFormat::kOther;
        CHECK(c.topic.format == expected);
      }
    }
  }
}

TEST_CASE("classify says not-mine for other devices, families, suffixes and levels") {
  const CommandTopics aws = things(TopicProfile::kAws, "dev");
  for (const char* topic : {
           "$aws/commands/things/dev-1/executions/e/request/json",  // a thing whose name extends this one
           "$aws/commands/things/de/executions/e/request/json",
           "$aws/commands/things/dev/executions/e/request/xml",
           "$aws/commands/things/dev/executions/e/request/json/x",
           "$aws/commands/things/dev/executions/e/response/accepted",  // the neutral shape
           "$aws/commands/things/dev/executions/e/response/accepted/cbor",
           "$aws/commands/things/dev/executions/e",
           "$aws/commands/things/dev/executions/",
           "$aws/commands/things/dev/executions",
           "$aws/commands/things/dev/executionsX/e/request",
           "$aws/things/dev/shadow/update/delta",
           "cmd/dev/e/request",
           "",
       }) {
    INFO(topic);
    const Classified c = classify(aws, topic);
    CHECK(c.status == commands_status(StatusCode::kNotFound, CodecDetail::kForeignTopic));
    CHECK(is_printable_line(c.why));
    CHECK_FALSE(c.why.empty());
  }
  const CommandTopics neutral = things(TopicProfile::kNeutral, "dev");
  for (const char* topic : {
           "cmd/dev/jobs/request",  // the Jobs family owns cmd/<thing>/jobs
           "cmd/dev/jobs/response/accepted",
           "cmd/dev/e/request/json",
           "cmd/dev/e/response/accepted/json",
           "cmd/dev/e",
           "cmd/dev-1/e/request",
           "cmd/devx/request",
           "state/dev/update",
       }) {
    INFO(topic);
    CHECK(classify(neutral, topic).status == commands_status(StatusCode::kNotFound, CodecDetail::kForeignTopic));
  }
}

TEST_CASE("classify refuses a commands topic whose execution id is invalid and says why") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string prefix = "$aws/commands/things/dev-1/executions/";
  const Status bad_id = commands_status(StatusCode::kInvalidArgument, CodecDetail::kExecutionId);
  CHECK(classify(t, prefix + std::string(64, 'a') + "/request/json").status.ok());
  const Classified too_long = classify(t, prefix + std::string(65, 'a') + "/request/json");
  CHECK(too_long.status == bad_id);
  CHECK(too_long.why.find("too long") != std::string::npos);
  const Classified empty = classify(t, prefix + "/request/json");
  CHECK(empty.status == bad_id);
  CHECK(empty.why.find("empty") != std::string::npos);
  const Classified dot = classify(t, prefix + "a.b/response/accepted/json");
  CHECK(dot.status == bad_id);
  CHECK(dot.why.find("'.' at byte 1") != std::string::npos);
  const Classified control = classify(t, prefix + "a\x01" + "b/request");
  CHECK(control.status == bad_id);
  CHECK(is_printable_line(control.why));
  CHECK(control.why.find("0x01") != std::string::npos);
}

TEST_CASE("validate_execution_id takes 1..64 of [A-Za-z0-9_-]; 'jobs' only under AWS") {
  CHECK(validate_execution_id("a", TopicProfile::kAws).ok());
  CHECK(validate_execution_id("A-z_09", TopicProfile::kNeutral).ok());
  CHECK(validate_execution_id(std::string(64, 'x'), TopicProfile::kAws).ok());
  const Status bad = commands_status(StatusCode::kInvalidArgument, CodecDetail::kExecutionId);
  CHECK(validate_execution_id(std::string(65, 'x'), TopicProfile::kAws) == bad);
  CHECK(validate_execution_id("", TopicProfile::kAws) == bad);
  CHECK(validate_execution_id("a b", TopicProfile::kAws) == bad);
  CHECK(validate_execution_id("a+", TopicProfile::kAws) == bad);
  CHECK(validate_execution_id("caf\xC3\xA9", TopicProfile::kNeutral) == bad);
  CHECK(validate_execution_id("jobs", TopicProfile::kAws).ok());
  ErrorText why;
  CHECK(validate_execution_id("jobs", TopicProfile::kNeutral, &why) == bad);
  CHECK(why.view().find("reserved") != std::string_view::npos);
  FixedString<kMaxTopic> out;
  CHECK(things(TopicProfile::kNeutral).build(CommandTopic::kResponse, "jobs", out).status() == bad);
}

TEST_CASE("init refuses a thing name that cannot form a topic, with the topic layer's status") {
  CommandTopics t;
  ErrorText why;
  const Status s = t.init(TopicScheme(TopicProfile::kAws, "dev 1"), &why);
  CHECK(s == Status(StatusCode::kInvalidArgument, Origin::kTopic, 3));
  CHECK(why.view().find("thing name") != std::string_view::npos);
  CHECK_FALSE(t.initialized());
  CHECK(t.init(TopicScheme(TopicProfile::kNeutral, ""), nullptr).code() == StatusCode::kOutOfRange);
  // The neutral profile takes UTF-8 thing names.
  CHECK(things(TopicProfile::kNeutral, "ger\xC3\xA4t").prefix() == "cmd/ger\xC3\xA4t");
}

TEST_CASE("init_client refuses client ids that cannot stand as a topic level") {
  struct Case {
    std::string id;
    Status status;
  };
  const Case cases[] = {
      {"", Status(StatusCode::kOutOfRange, Origin::kTopic, 0)},
      {std::string(kMaxClientId + 1, 'c'),
       Status(StatusCode::kOutOfRange, Origin::kTopic, static_cast<std::uint16_t>(kMaxClientId + 1))},
      {"a/b", Status(StatusCode::kInvalidArgument, Origin::kTopic, 1)},
      {"a+", Status(StatusCode::kInvalidArgument, Origin::kTopic, 1)},
      {"#", Status(StatusCode::kInvalidArgument, Origin::kTopic, 0)},
      {"$sys", Status(StatusCode::kInvalidArgument, Origin::kTopic, 0)},
      {std::string("ab\0c", 4), Status(StatusCode::kInvalidArgument, Origin::kTopic, 2)},
      {"a\x7F", Status(StatusCode::kInvalidArgument, Origin::kTopic, 1)},
      {"ab\xC3", Status(StatusCode::kInvalidArgument, Origin::kTopic, 2)},
      {"a\xEF\xBF\xBF", Status(StatusCode::kInvalidArgument, Origin::kTopic, 1)},  // U+FFFF
  };
  for (const Case& c : cases) {
    CommandTopics t;
    ErrorText why;
    INFO(c.id.size());
    CHECK(t.init_client(c.id, &why) == c.status);
    CHECK_FALSE(t.initialized());
    CHECK(is_printable_line(why.view()));
    CHECK_FALSE(why.empty());
  }
  CHECK(client(std::string(kMaxClientId, 'c')).initialized());
  CHECK(client("a$b:c.d@e").initialized());
  CHECK(client("ger\xC3\xA4t").prefix() == "$aws/commands/clients/ger\xC3\xA4t/executions");
}

TEST_CASE("using topics before init is a contract violation and fails cleanly") {
  test::ContractCounter counter;
  const CommandTopics t;
  FixedString<kMaxTopic> out;
  CHECK(t.build(CommandTopic::kResponse, "e", out).status() ==
        commands_status(StatusCode::kFailedPrecondition, CodecDetail::kTopicKind));
  CHECK(t.filter(CommandFilter::kAccepted, out).status().code() == StatusCode::kFailedPrecondition);
  CHECK(counter.count() == 2);
  CHECK(t.classify("cmd/x/e/request").status().code() == StatusCode::kFailedPrecondition);
}

// ---- requests ----------------------------------------------------------------------------------------

TEST_CASE("a JSON request gives its id, operation, document, content type and message expiry") {
  const CommandTopics t = things(TopicProfile::kAws);
  const Decoded d = decode(t, {"$aws/commands/things/dev-1/executions/c0ffee/request/json",
                               R"({"operation":"reboot","delay_s":5})", "application/json", 9});
  REQUIRE(d.status.ok());
  CHECK(d.visited);
  CHECK(d.id == "c0ffee");
  CHECK(d.format == PayloadFormat::kJson);
  CHECK(d.content_type == "application/json");
  CHECK(d.payload == R"({"operation":"reboot","delay_s":5})");
  CHECK(d.expiry == std::optional<std::uint32_t>(9));
  CHECK(d.document_type == json::Type::kObject);
  CHECK(d.operation == "reboot");
  CHECK(d.delay_s == 5);
}

TEST_CASE("a JSON request without an operation, or that is not an object, has an empty operation") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string topic = "$aws/commands/things/dev-1/executions/e1/request/json";
  const Decoded no_op = decode(t, {topic, R"({"delay_s":1})", "", std::nullopt});
  REQUIRE(no_op.status.ok());
  CHECK(no_op.operation.empty());
  CHECK_FALSE(no_op.expiry.has_value());
  const Decoded array = decode(t, {topic, R"([{"operation":"x"}])", "", std::nullopt});
  REQUIRE(array.status.ok());
  CHECK(array.document_type == json::Type::kArray);
  CHECK(array.operation.empty());
  const Decoded scalar = decode(t, {topic, "42", "", std::nullopt});
  REQUIRE(scalar.status.ok());
  CHECK(scalar.document_type == json::Type::kNumber);
}

TEST_CASE("a request whose operation is not a string is refused before the visitor") {
  const CommandTopics t = things(TopicProfile::kAws);
  const Decoded d =
      decode(t, {"$aws/commands/things/dev-1/executions/e1/request/json", R"({"operation":7})", "application/json", 5});
  CHECK(d.status == commands_status(StatusCode::kInvalidArgument, CodecDetail::kOperation));
  CHECK_FALSE(d.visited);
  CHECK(d.why.find("operation") != std::string::npos);
  CHECK(decode(t, {"$aws/commands/things/dev-1/executions/e1/request/json", R"({"operation":null})", "", {}})
            .status.code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a JSON request that does not parse is kPayloadNotJson with the position") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string topic = "$aws/commands/things/dev-1/executions/e1/request/json";
  const Decoded broken = decode(t, {topic, R"({"operation":"reboot")", "application/json", 5});
  CHECK(broken.status == commands_status(StatusCode::kInvalidArgument, CodecDetail::kPayloadNotJson));
  CHECK_FALSE(broken.visited);
  CHECK(broken.why.find("line 1 column") != std::string::npos);
  CHECK(broken.why.find("\"e1\"") != std::string::npos);
  CHECK(is_printable_line(broken.why));
  CHECK(decode(t, {topic, "", "", {}}).status ==
        commands_status(StatusCode::kInvalidArgument, CodecDetail::kPayloadNotJson));
  const std::string deep = std::string(json::kMaxDepth + 1, '[') + std::string(json::kMaxDepth + 1, ']');
  CHECK(decode(t, {topic, deep, "", {}}).status ==
        commands_status(StatusCode::kOutOfRange, CodecDetail::kPayloadNotJson));
  const std::string huge = "\"" + std::string(kMaxJsonInput, 'x') + "\"";
  const Decoded too_large = decode(t, {topic, huge, "", {}});
  CHECK(too_large.status == commands_status(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge));
  CHECK_FALSE(too_large.visited);
}

TEST_CASE("a CBOR request is handed over as bytes; the topic's format wins over the content type") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string cbor("\xA1\x69operation\x66reboot", 18);  // {"operation": "reboot"} in CBOR
  const Decoded d = decode(t, {"$aws/commands/things/dev-1/executions/e2/request/cbor", cbor, "application/json", 3});
  REQUIRE(d.status.ok());
  CHECK(d.format == PayloadFormat::kCbor);
  CHECK(d.payload == cbor);
  CHECK(d.document_type == json::Type::kInvalid);
  CHECK(d.operation.empty());
  CHECK(d.expiry == std::optional<std::uint32_t>(3));
  // and a JSON topic with some other content type (cloudsim passes the operator's contentType on)
  const Decoded json_topic =
      decode(t, {"$aws/commands/things/dev-1/executions/e2/request/json", R"({"operation":"x"})", "text/plain", {}});
  REQUIRE(json_topic.status.ok());
  CHECK(json_topic.format == PayloadFormat::kJson);
  CHECK(json_topic.operation == "x");
}

TEST_CASE("where the topic names no format the content type decides, else the payload is opaque") {
  CHECK(format_of_content_type("application/json") == PayloadFormat::kJson);
  CHECK(format_of_content_type("Application/JSON; charset=utf-8") == PayloadFormat::kJson);
  CHECK(format_of_content_type(" application/cbor ") == PayloadFormat::kCbor);
  CHECK(format_of_content_type("application/json-seq") == PayloadFormat::kOther);
  CHECK(format_of_content_type("text/plain") == PayloadFormat::kOther);
  CHECK(format_of_content_type("") == PayloadFormat::kOther);

  const CommandTopics aws = things(TopicProfile::kAws);
  const std::string generic = "$aws/commands/things/dev-1/executions/e3/request";
  const Decoded as_json = decode(aws, {generic, R"({"operation":"ping"})", "application/json; charset=utf-8", 1});
  REQUIRE(as_json.status.ok());
  CHECK(as_json.format == PayloadFormat::kJson);
  CHECK(as_json.operation == "ping");
  const Decoded opaque = decode(aws, {generic, "not json at all", "application/octet-stream", 1});
  REQUIRE(opaque.status.ok());
  CHECK(opaque.format == PayloadFormat::kOther);
  CHECK(opaque.payload == "not json at all");
  CHECK(decode(aws, {generic, "\x01\x02", "", {}}).format == PayloadFormat::kOther);
}

TEST_CASE("a neutral request as cloudsim sends it: JSON by content type, expiry = seconds left") {
  const CommandTopics t = things(TopicProfile::kNeutral);
  const Decoded d = decode(t, {"cmd/dev-1/5f2a/request", R"({"operation":"led","on":true})", "application/json", 10});
  REQUIRE(d.status.ok());
  CHECK(d.id == "5f2a");
  CHECK(d.format == PayloadFormat::kJson);
  CHECK(d.operation == "led");
  CHECK(d.expiry == std::optional<std::uint32_t>(10));
  const Decoded cbor = decode(t, {"cmd/dev-1/5f2a/request", std::string("\xA0", 1), "application/cbor", 10});
  REQUIRE(cbor.status.ok());
  CHECK(cbor.format == PayloadFormat::kCbor);
}

TEST_CASE("decode_request returns what the visitor returns") {
  const CommandTopics t = things(TopicProfile::kAws);
  const Status mine(StatusCode::kAborted, Origin::kApp, 7);
  CHECK(decode(t, {"$aws/commands/things/dev-1/executions/e/request/json", "{}", "", {}}, mine).status == mine);
  CHECK(decode(t, {"$aws/commands/things/dev-1/executions/e/request/cbor", "x", "", {}}, mine).status == mine);
}

TEST_CASE("decode_request of a topic that is not a request is a contract violation and fails cleanly") {
  test::ContractCounter counter;
  InboundMessage message;
  message.topic = "cmd/dev-1/e/response/accepted";
  InboundTopic topic;
  topic.kind = CommandTopic::kAccepted;
  topic.execution_id = "e";
  bool visited = false;
  bool* v = &visited;
  CHECK(decode_request(message, topic, [v](const RequestView&) {
          *v = true;
          return Status();
        }) == commands_status(StatusCode::kInvalidArgument, CodecDetail::kTopicKind));
  CHECK_FALSE(visited);
  CHECK(counter.count() == 1);
}

// ---- status updates ----------------------------------------------------------------------------------

TEST_CASE("execution statuses have the protocol's names; SUCCEEDED, FAILED, REJECTED are terminal") {
  const std::pair<ExecutionStatus, const char*> names[] = {
      {ExecutionStatus::kCreated, "CREATED"},     {ExecutionStatus::kInProgress, "IN_PROGRESS"},
      {ExecutionStatus::kSucceeded, "SUCCEEDED"}, {ExecutionStatus::kFailed, "FAILED"},
      {ExecutionStatus::kRejected, "REJECTED"},   {ExecutionStatus::kTimedOut, "TIMED_OUT"},
  };
  for (const auto& [status, name] : names) {
    CHECK(std::string(to_string(status)) == name);
    CHECK(parse_execution_status(name) == status);
  }
  CHECK_FALSE(parse_execution_status("succeeded").has_value());
  CHECK_FALSE(parse_execution_status("QUEUED").has_value());
  CHECK(is_terminal(ExecutionStatus::kSucceeded));
  CHECK(is_terminal(ExecutionStatus::kFailed));
  CHECK(is_terminal(ExecutionStatus::kRejected));
  CHECK_FALSE(is_terminal(ExecutionStatus::kTimedOut));
  CHECK_FALSE(is_terminal(ExecutionStatus::kInProgress));
}

TEST_CASE("a bare status update is {\"status\": ...}") {
  StatusUpdate u;
  u.status = ExecutionStatus::kInProgress;
  CHECK(encoded(u) == R"({"status":"IN_PROGRESS"})");
  u.status = ExecutionStatus::kTimedOut;  // a device may report TIMED_OUT itself
  CHECK(encoded(u) == R"({"status":"TIMED_OUT"})");
}

TEST_CASE("an update with a status reason and typed results is the body of PROTOCOLS.md §3") {
  const std::uint8_t blob[] = {0x00, 0x01, 0x02, 0xFF};
  const ResultEntry result[] = {
      ResultEntry::string("output", "hello"),
      ResultEntry::boolean("rebooted", true),
      ResultEntry::boolean("dirty", false),
      ResultEntry::binary("raw", Span<const std::uint8_t>(blob, sizeof blob)),
  };
  const std::string body = encoded(update_of(ExecutionStatus::kSucceeded, "OK", "done", result));
  CHECK(body ==
        R"({"status":"SUCCEEDED","statusReason":{"reasonCode":"OK","reasonDescription":"done"},)"
        R"("result":{"output":{"s":"hello"},"rebooted":{"b":true},"dirty":{"b":false},"raw":{"bin":"AAEC/w=="}}})");
  const ReadUpdate r = read(body);
  INFO(r.why);
  REQUIRE(r.status.ok());
  CHECK(r.execution_status == ExecutionStatus::kSucceeded);
  CHECK(r.reason_code == "OK");
  CHECK(r.reason_description == "done");
  CHECK(r.result_entries == 4);
}

TEST_CASE("binary results are padded base64 (RFC 4648 test vectors)") {
  const std::pair<const char*, const char*> vectors[] = {
      {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, base64] : vectors) {
    const ResultEntry entry = ResultEntry::binary("b", as_bytes(plain));
    StatusUpdate u;
    u.status = ExecutionStatus::kFailed;
    u.result = Span<const ResultEntry>(&entry, 1);
    CHECK(encoded(u) == std::string(R"({"status":"FAILED","result":{"b":{"bin":")") + base64 + "\"}}}");
    CHECK(base64_size(std::string_view(plain).size()) == std::string_view(base64).size());
  }
}

TEST_CASE("a reason code alone gives a statusReason without a description") {
  CHECK(encoded(update_of(ExecutionStatus::kFailed, "DISK_FULL-2")) ==
        R"({"status":"FAILED","statusReason":{"reasonCode":"DISK_FULL-2"}})");
}

TEST_CASE("descriptions, keys and strings are JSON-escaped and read back the same") {
  const ResultEntry result[] = {ResultEntry::string("k\"ey", "line1\nline2 \\ \xE2\x82\xAC")};
  const StatusUpdate u = update_of(ExecutionStatus::kRejected, "BAD_ARGS",
                                   "say \"hi\" \\ gr\xC3\xBC\xC3\x9F"
                                   "e",
                                   result);
  const std::string body = encoded(u);
  CHECK(body ==
        "{\"status\":\"REJECTED\",\"statusReason\":{\"reasonCode\":\"BAD_ARGS\",\"reasonDescription\":"
        "\"say \\\"hi\\\" \\\\ gr\xC3\xBC\xC3\x9F"
        "e\"},\"result\":{\"k\\\"ey\":{\"s\":\"line1\\nline2 \\\\ "
        "\xE2\x82\xAC\"}}}");
  const ReadUpdate r = read(body);
  REQUIRE(r.status.ok());
  CHECK(r.reason_description == u.reason_description);
}

TEST_CASE("encode_update refuses what the service would refuse, and says why") {
  const Status bad_status = commands_status(StatusCode::kInvalidArgument, CodecDetail::kStatus);
  StatusUpdate created;
  created.status = ExecutionStatus::kCreated;
  CHECK(encode_failure(created).status == bad_status);
  StatusUpdate out_of_enum;
  out_of_enum.status = static_cast<ExecutionStatus>(42);
  CHECK(encode_failure(out_of_enum).status == bad_status);

  StatusUpdate no_code;
  no_code.reason_description = "why";
  const EncodeFailure f = encode_failure(no_code);
  CHECK(f.status == commands_status(StatusCode::kInvalidArgument, CodecDetail::kStatusReason));
  CHECK(f.why.find("reasonCode is required") != std::string::npos);

  const Status bad_code = commands_status(StatusCode::kInvalidArgument, CodecDetail::kReasonCode);
  for (const std::string& code : {std::string("ok"), std::string("$NO_RESPONSE_FROM_DEVICE"), std::string("A B"),
                                  std::string(kMaxStatusReasonCode + 1, 'A')}) {
    StatusUpdate u;
    u.reason_code = code;
    INFO(code);
    CHECK(encode_failure(u).status == bad_code);
  }
  const std::string longest(kMaxStatusReasonCode, 'A');
  StatusUpdate longest_code;
  longest_code.reason_code = longest;
  CHECK(encoded(longest_code) == R"({"status":"IN_PROGRESS","statusReason":{"reasonCode":")" + longest + "\"}}");
}

TEST_CASE("reason descriptions: no control characters, valid UTF-8, at most 1024 UTF-16 units") {
  const Status bad = commands_status(StatusCode::kInvalidArgument, CodecDetail::kReasonDescription);
  StatusUpdate u;
  u.status = ExecutionStatus::kFailed;
  u.reason_code = "E";
  for (const std::string& text : {std::string("two\nlines"), std::string("tab\there"), std::string("del\x7F"),
                                  std::string("c1 \xC2\x85"), std::string("cut \xE2\x82"), std::string("\xC0\xAF")}) {
    u.reason_description = text;
    CHECK(encode_failure(u).status == bad);
  }
  const std::string limit(kMaxStatusReasonDescription, 'd');
  u.reason_description = limit;
  CHECK(read(encoded(u)).reason_description == limit);
  const std::string over = limit + "d";
  u.reason_description = over;
  CHECK(encode_failure(u).status == bad);
  std::string emoji;  // U+1F600 is 2 UTF-16 units
  for (std::size_t i = 0; i < kMaxStatusReasonDescription / 2; ++i) emoji += "\xF0\x9F\x98\x80";
  u.reason_description = emoji;
  CHECK(read(encoded(u)).status.ok());
  const std::string emoji_over = emoji + "\xF0\x9F\x98\x80";
  u.reason_description = emoji_over;
  CHECK(encode_failure(u).status == bad);
}

TEST_CASE("result entries: keys non-empty, distinct, UTF-8 without controls; values non-empty without NUL") {
  const std::uint8_t byte = 1;
  const Status bad_key = commands_status(StatusCode::kInvalidArgument, CodecDetail::kResultKey);
  const Status bad_value = commands_status(StatusCode::kInvalidArgument, CodecDetail::kResultValue);
  struct Case {
    std::vector<ResultEntry> entries;
    Status status;
  };
  const Case cases[] = {
      {{ResultEntry::string("", "v")}, bad_key},
      {{ResultEntry::string("a", "1"), ResultEntry::boolean("b", true), ResultEntry::boolean("a", false)}, bad_key},
      {{ResultEntry::string("k\xFF", "v")}, bad_key},
      {{ResultEntry::string("a\tb", "v")}, bad_key},
      {{ResultEntry::string("a\xC2\x9F", "v")}, bad_key},
      {{ResultEntry::string("k", std::string_view("a\0b", 3))}, bad_value},
      {{ResultEntry::string("k", "")}, bad_value},
      {{ResultEntry::string("k", "v\xED\xA0\x80")}, bad_value},  // a surrogate
      {{ResultEntry::binary("k", Span<const std::uint8_t>())}, bad_value},
  };
  for (const Case& c : cases) {
    StatusUpdate u;
    u.result = Span<const ResultEntry>(c.entries.data(), c.entries.size());
    CHECK(encode_failure(u).status == c.status);
  }
  ResultEntry odd = ResultEntry::binary("k", Span<const std::uint8_t>(&byte, 1));
  odd.type = static_cast<ResultType>(9);
  StatusUpdate u;
  u.result = Span<const ResultEntry>(&odd, 1);
  CHECK(encode_failure(u).status == bad_value);
}

TEST_CASE("encode_update needs room for the whole body and writes nothing useful otherwise") {
  const std::uint8_t blob[40] = {};
  const ResultEntry result[] = {ResultEntry::binary("blob", Span<const std::uint8_t>(blob, sizeof blob)),
                                ResultEntry::string("s", "text")};
  const StatusUpdate u = update_of(ExecutionStatus::kSucceeded, "DONE", "all good", result);
  const std::string body = encoded(u);
  std::string exact(body.size(), '\0');
  const Result<std::string_view> fits = encode_update(u, Span<char>(&exact[0], exact.size()));
  REQUIRE(fits.ok());
  CHECK(*fits == body);
  const Status too_small = commands_status(StatusCode::kResourceExhausted, CodecDetail::kBufferTooSmall);
  for (std::size_t size = 0; size < body.size(); ++size) {
    std::string buffer(size, '\0');
    INFO(size);
    CHECK(encode_update(u, Span<char>(size == 0 ? nullptr : &buffer[0], size)).status() == too_small);
  }
}

TEST_CASE("an update over the 128 KB payload limit is refused") {
  std::vector<std::uint8_t> blob(kMaxCommandPayload / 4 * 3, 0xAB);
  const ResultEntry entry = ResultEntry::binary("b", Span<const std::uint8_t>(blob.data(), blob.size()));
  StatusUpdate u;
  u.status = ExecutionStatus::kSucceeded;
  u.result = Span<const ResultEntry>(&entry, 1);
  std::vector<char> buffer(2 * kMaxCommandPayload);
  ErrorText why;
  CHECK(encode_update(u, Span<char>(buffer.data(), buffer.size()), &why).status() ==
        commands_status(StatusCode::kOutOfRange, CodecDetail::kPayloadTooLarge));
  blob.resize(blob.size() - 64);
  const ResultEntry smaller = ResultEntry::binary("b", Span<const std::uint8_t>(blob.data(), blob.size()));
  u.result = Span<const ResultEntry>(&smaller, 1);
  const Result<std::string_view> ok = encode_update(u, Span<char>(buffer.data(), buffer.size()));
  REQUIRE(ok.ok());
  CHECK(ok->size() <= kMaxCommandPayload);
}

// ---- read_update: commands_model.validate_update -----------------------------------------------------

TEST_CASE("read_update accepts what the emulator accepts") {
  CHECK(read(R"({"status":"IN_PROGRESS"})").status.ok());
  const ReadUpdate created = read(R"({"status":"CREATED"})");  // shape ok; the service refuses the transition
  CHECK(created.status.ok());
  CHECK(created.execution_status == ExecutionStatus::kCreated);
  const ReadUpdate extra = read(R"({"status":"FAILED","clientToken":"x","statusReason":{}})");
  CHECK(extra.status.ok());
  CHECK(extra.has_status_reason);
  CHECK(extra.reason_code.empty());
  const ReadUpdate nulls = read(R"({"status":"FAILED","statusReason":{"reasonCode":null,"reasonDescription":null}})");
  CHECK(nulls.status.ok());
  const ReadUpdate lenient = read(R"({"status":"FAILED","statusReason":{"reasonCode":"lower case ok"}})");
  CHECK(lenient.status.ok());  // the emulator checks the length only
  CHECK(lenient.reason_code == "lower case ok");
  CHECK(read(R"({"status":"SUCCEEDED","result":{}})").status.ok());
  CHECK(read(R"({"status":"SUCCEEDED","result":{"a":{"s":""},"b":{"b":false},"c":{"bin":""},"d":{"bin":"QQ=="}}})")
            .result_entries == 4);
}

TEST_CASE("read_update refuses what the emulator answers with InvalidRequest, by rule") {
  const auto detail_of = [](const char* doc) {
    const ReadUpdate r = read(doc);
    INFO(doc << " -> " << r.why);
    CHECK(is_printable_line(r.why));
    CHECK(r.status.code() == StatusCode::kInvalidArgument);
    CHECK(r.status.origin() == Origin::kCommands);
    return static_cast<CodecDetail>(r.status.detail());
  };
  CHECK(detail_of(R"([1])") == CodecDetail::kNotObject);
  CHECK(detail_of(R"({})") == CodecDetail::kStatus);
  CHECK(detail_of(R"({"status":null})") == CodecDetail::kStatus);
  CHECK(detail_of(R"({"status":5})") == CodecDetail::kStatus);
  CHECK(detail_of(R"({"status":"DONE"})") == CodecDetail::kStatus);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":null})") == CodecDetail::kStatusReason);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":"x"})") == CodecDetail::kStatusReason);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":{"reasonCode":"A","extra":1}})") == CodecDetail::kStatusReason);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":{"reasonDescription":"d"}})") == CodecDetail::kStatusReason);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":{"reasonCode":""}})") == CodecDetail::kReasonCode);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":{"reasonCode":7}})") == CodecDetail::kReasonCode);
  const std::string long_code = R"({"status":"FAILED","statusReason":{"reasonCode":")" + std::string(65, 'A') + "\"}}";
  CHECK(detail_of(long_code.c_str()) == CodecDetail::kReasonCode);
  const std::string long_description =
      R"({"status":"FAILED","statusReason":{"reasonCode":"A","reasonDescription":")" + std::string(1025, 'd') + "\"}}";
  CHECK(detail_of(long_description.c_str()) == CodecDetail::kReasonDescription);
  CHECK(detail_of(R"({"status":"FAILED","statusReason":{"reasonCode":"A","reasonDescription":false}})") ==
        CodecDetail::kReasonDescription);
  CHECK(detail_of(R"({"status":"FAILED","result":[]})") == CodecDetail::kResult);
  CHECK(detail_of(R"({"status":"FAILED","result":null})") == CodecDetail::kResult);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":"plain"}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"x":"1"}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"s":"1","b":true}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"s":1}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"b":"true"}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"bin":"not base64!"}}})") == CodecDetail::kResultValue);
  CHECK(detail_of(R"({"status":"FAILED","result":{"a":{"bin":"QQ"}}})") == CodecDetail::kResultValue);
}

// ---- answers -----------------------------------------------------------------------------------------

TEST_CASE("an accepted answer names the execution (cloudsim accepted_document)") {
  const CommandTopics t = things(TopicProfile::kAws);
  const Answered a =
      answer(t, "$aws/commands/things/dev-1/executions/e7/response/accepted/json", R"({"executionId":"e7"})");
  REQUIRE(a.status.ok());
  CHECK(a.answer.accepted);
  CHECK(a.answer.execution_id == "e7");
  const Answered bare = answer(things(TopicProfile::kNeutral), "cmd/dev-1/e7/response/accepted", "{}");
  REQUIRE(bare.status.ok());
  CHECK(bare.answer.accepted);
  CHECK(bare.answer.execution_id == "e7");  // from the topic
}

TEST_CASE("a rejected answer gives the error code, its message and the execution (CommandsError.document)") {
  const CommandTopics t = things(TopicProfile::kNeutral);
  const Answered a =
      answer(t, "cmd/dev-1/e7/response/rejected",
             R"({"error":"TerminalStateReached","errorMessage":"command execution is already SUCCEEDED",)"
             R"("executionId":"e7"})");
  REQUIRE(a.status.ok());
  CHECK_FALSE(a.answer.accepted);
  CHECK(a.answer.execution_id == "e7");
  CHECK(a.answer.error == RejectedError::kTerminalStateReached);
  CHECK(a.answer.error_code == "TerminalStateReached");
  CHECK(a.answer.error_message == "command execution is already SUCCEEDED");
  CHECK_FALSE(a.answer.truncated);
  CHECK_FALSE(is_retryable(a.answer.error));
}

TEST_CASE("every documented rejected error code is recognised; others are kUnknown with their text") {
  const std::pair<const char*, RejectedError> codes[] = {
      {"InvalidTopic", RejectedError::kInvalidTopic},
      {"InvalidJson", RejectedError::kInvalidJson},
      {"InvalidRequest", RejectedError::kInvalidRequest},
      {"InvalidStateTransition", RejectedError::kInvalidStateTransition},
      {"ResourceNotFound", RejectedError::kResourceNotFound},
      {"VersionMismatch", RejectedError::kVersionMismatch},
      {"InternalError", RejectedError::kInternalError},
      {"RequestThrottled", RejectedError::kRequestThrottled},
      {"TerminalStateReached", RejectedError::kTerminalStateReached},
  };
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string topic = "$aws/commands/things/dev-1/executions/e/response/rejected/json";
  for (const auto& [text, code] : codes) {
    CHECK(parse_rejected_error(text) == code);
    CHECK(std::string(to_string(code)) == text);
    const Answered a = answer(t, topic, std::string(R"({"error":")") + text + R"(","errorMessage":"m"})");
    REQUIRE(a.status.ok());
    CHECK(a.answer.error == code);
    CHECK(is_retryable(code) == (code == RejectedError::kInternalError || code == RejectedError::kRequestThrottled));
  }
  const Answered future = answer(t, topic, R"({"error":"QuotaExceeded","executionId":"e"})");
  REQUIRE(future.status.ok());
  CHECK(future.answer.error == RejectedError::kUnknown);
  CHECK(future.answer.error_code == "QuotaExceeded");
  CHECK(future.answer.error_message.empty());
  CHECK(parse_rejected_error("invalidjson") == RejectedError::kUnknown);
  const Answered none = answer(t, topic, "{}");
  REQUIRE(none.status.ok());
  CHECK(none.answer.error == RejectedError::kUnknown);
  CHECK(none.answer.error_code.empty());
}

TEST_CASE("over-long error codes and messages are cut at a UTF-8 boundary and flagged") {
  const CommandTopics t = things(TopicProfile::kAws);
  std::string message;
  while (message.size() < 300) message += "\xE2\x82\xAC";  // 3-byte characters
  message = "x" + message;
  const Answered a = answer(t, "$aws/commands/things/dev-1/executions/e/response/rejected/json",
                            R"({"error":")" + std::string(70, 'E') + R"(","errorMessage":")" + message + "\"}");
  REQUIRE(a.status.ok());
  CHECK(a.answer.truncated);
  CHECK(a.answer.error == RejectedError::kUnknown);
  CHECK(a.answer.error_code.view() == std::string(kMaxRejectedErrorCode, 'E'));
  CHECK(a.answer.error_message.size() == 253);  // 1 + 84 * 3: a cut at 255 bytes falls inside a character
  CHECK(a.answer.error_message.view() == std::string_view(message).substr(0, 253));
}

TEST_CASE("malformed answers are refused with a reason and leave nothing behind") {
  const CommandTopics t = things(TopicProfile::kAws);
  const std::string accepted = "$aws/commands/things/dev-1/executions/e1/response/accepted/json";
  const std::string rejected = "$aws/commands/things/dev-1/executions/e1/response/rejected/json";
  struct Case {
    const std::string* topic;
    const char* payload;
    Status status;
  };
  const Case cases[] = {
      {&accepted, "", commands_status(StatusCode::kInvalidArgument, CodecDetail::kPayloadNotJson)},
      {&accepted, "{\"executionId\":", commands_status(StatusCode::kInvalidArgument, CodecDetail::kPayloadNotJson)},
      {&accepted, "[]", commands_status(StatusCode::kInvalidArgument, CodecDetail::kNotObject)},
      {&accepted, R"({"executionId":1})", commands_status(StatusCode::kInvalidArgument, CodecDetail::kExecutionId)},
      {&accepted, R"({"executionId":"e2"})",
       commands_status(StatusCode::kInvalidArgument, CodecDetail::kExecutionIdMismatch)},
      {&rejected, R"({"error":404,"executionId":"e1"})",
       commands_status(StatusCode::kInvalidArgument, CodecDetail::kErrorField)},
      {&rejected, R"({"error":"InvalidJson","errorMessage":{}})",
       commands_status(StatusCode::kInvalidArgument, CodecDetail::kErrorField)},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    const Answered a = answer(t, *c.topic, c.payload);
    CHECK(a.status == c.status);
    CHECK(a.answer.execution_id.empty());
    CHECK_FALSE(a.answer.accepted);
  }
}

TEST_CASE("decode_answer of a request topic is a contract violation and fails cleanly") {
  test::ContractCounter counter;
  InboundTopic topic;
  topic.kind = CommandTopic::kRequest;
  topic.execution_id = "e";
  ExecutionAnswer out;
  CHECK(decode_answer(topic, as_bytes("{}"), out) ==
        commands_status(StatusCode::kInvalidArgument, CodecDetail::kTopicKind));
  CHECK(counter.count() == 1);
}
