// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tether/limits.hpp"
#include "tether/topics.hpp"

using namespace tether;
using namespace std::string_literals;

namespace {

constexpr TopicProfile kBothProfiles[] = {TopicProfile::kAws, TopicProfile::kNeutral};

Status invalid_at(std::size_t offset) {
  return Status(StatusCode::kInvalidArgument, Origin::kTopic, static_cast<std::uint16_t>(offset));
}
Status out_of_range(std::size_t n) { return Status(StatusCode::kOutOfRange, Origin::kTopic, static_cast<std::uint16_t>(n)); }

std::string why_thing(std::string_view name, TopicProfile profile) {
  ErrorText why;
  validate_thing_name(name, profile, &why).ignore();
  return std::string(why.view());
}
std::string why_topic(std::string_view topic, TopicProfile profile = TopicProfile::kAws) {
  ErrorText why;
  validate_topic_name(topic, profile, &why).ignore();
  return std::string(why.view());
}
std::string why_filter(std::string_view filter, TopicProfile profile = TopicProfile::kAws) {
  ErrorText why;
  validate_topic_filter(filter, profile, &why).ignore();
  return std::string(why.view());
}

std::string build(const TopicScheme& scheme, TopicFamily family, std::string_view name = {},
                  std::string_view suffix = {}) {
  char buf[kMaxTopic];
  Result<std::string_view> topic = scheme.build(buf, family, name, suffix);
  REQUIRE(topic.ok());
  return std::string(*topic);
}

Status build_status(const TopicScheme& scheme, TopicFamily family, std::string_view name = {},
                    std::string_view suffix = {}) {
  char buf[kMaxTopic + 64];
  return scheme.build(buf, family, name, suffix).status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Thing names

TEST_CASE("a thing name of 128 bytes is valid and one of 129 bytes is out of range") {
  for (TopicProfile profile : kBothProfiles) {
    CHECK(validate_thing_name(std::string(128, 'a'), profile).ok());
    CHECK(validate_thing_name(std::string(129, 'a'), profile) == out_of_range(129));
    CHECK(why_thing(std::string(129, 'a'), profile) == "thing name is too long (129 bytes, at most 128)");
  }
}

TEST_CASE("an empty thing name is out of range") {
  for (TopicProfile profile : kBothProfiles) {
    CHECK(validate_thing_name("", profile) == out_of_range(0));
    CHECK(why_thing("", profile) == "thing name is empty");
  }
}

TEST_CASE("plus, hash, slash and NUL are refused in a thing name under both profiles at their byte offset") {
  for (TopicProfile profile : kBothProfiles) {
    CHECK(validate_thing_name("abc/def", profile) == invalid_at(3));
    CHECK(why_thing("abc/def", profile) == "character '/' at byte 3 is not allowed in a thing name");
    CHECK(validate_thing_name("a+", profile) == invalid_at(1));
    CHECK(why_thing("a+", profile) == "character '+' at byte 1 is not allowed in a thing name");
    CHECK(validate_thing_name("#a", profile) == invalid_at(0));
    CHECK(why_thing("#a", profile) == "character '#' at byte 0 is not allowed in a thing name");
    CHECK(validate_thing_name("ab\0c"s, profile) == invalid_at(2));
    CHECK(why_thing("ab\0c"s, profile) == "character U+0000 at byte 2 is not allowed in a thing name");
  }
}

TEST_CASE("a thing name must not start with a dollar sign") {
  for (TopicProfile profile : kBothProfiles) {
    CHECK(validate_thing_name("$aws", profile) == invalid_at(0));
    CHECK(why_thing("$aws", profile) == "character '$' at byte 0 is not allowed at the start of a thing name");
  }
  CHECK(validate_thing_name("a$b", TopicProfile::kNeutral).ok());
  CHECK(validate_thing_name("a$b", TopicProfile::kAws) == invalid_at(1));
}

TEST_CASE("the AWS profile allows only letters, digits, colon, underscore and hyphen in thing names") {
  CHECK(validate_thing_name("Sensor_01:rack-7", TopicProfile::kAws).ok());
  CHECK(validate_thing_name("dev.1", TopicProfile::kAws) == invalid_at(3));
  CHECK(why_thing("dev.1", TopicProfile::kAws) ==
        "character '.' at byte 3 is not allowed in an AWS IoT thing name (only a-z A-Z 0-9 : _ -)");
  CHECK(validate_thing_name("my dev", TopicProfile::kAws) == invalid_at(2));
  CHECK(why_thing("caf\xC3\xA9", TopicProfile::kAws) ==
        "non-ASCII byte 0xC3 at byte 3 is not allowed in an AWS IoT thing name (only a-z A-Z 0-9 : _ -)");
  CHECK(why_thing("a\tb", TopicProfile::kAws) ==
        "control character U+0009 at byte 1 is not allowed in an AWS IoT thing name");
}

TEST_CASE("the neutral profile accepts UTF-8 and punctuation in thing names but not bad UTF-8 or controls") {
  CHECK(validate_thing_name("caf\xC3\xA9 No.1 \xF0\x9F\x9A\x80", TopicProfile::kNeutral).ok());
  CHECK(validate_thing_name("ab\xC3", TopicProfile::kNeutral) == invalid_at(2));
  CHECK(why_thing("ab\xC3", TopicProfile::kNeutral) == "invalid UTF-8 at byte 2 in a thing name");
  CHECK(validate_thing_name("a\nb", TopicProfile::kNeutral) == invalid_at(1));
  CHECK(why_thing("a\nb", TopicProfile::kNeutral) == "control character U+000A at byte 1 is not allowed in a thing name");
}

// ---------------------------------------------------------------------------------------------
// Topic names

TEST_CASE("AWS topics may have at most 7 slashes while neutral topics have no such limit") {
  CHECK(validate_topic_name("a/b/c/d/e/f/g/h", TopicProfile::kAws).ok());
  CHECK(validate_topic_name("a/b/c/d/e/f/g/h/i", TopicProfile::kAws) == out_of_range(8));
  CHECK(why_topic("a/b/c/d/e/f/g/h/i") == "topic has 8 '/' (AWS IoT allows at most 7)");
  CHECK(validate_topic_name("a/b/c/d/e/f/g/h/i", TopicProfile::kNeutral).ok());
}

TEST_CASE("Basic Ingest topics do not count the slashes of the $aws/rules/<rule>/ prefix") {
  CHECK(validate_topic_name("$aws/rules/my_rule/a/b/c/d/e/f/g/h", TopicProfile::kAws).ok());
  CHECK(validate_topic_name("$aws/rules/my_rule", TopicProfile::kAws).ok());
  CHECK(validate_topic_name("$aws/rules/my_rule/a/b/c/d/e/f/g/h/i", TopicProfile::kAws) == out_of_range(8));
  CHECK(why_topic("$aws/rules/my_rule/a/b/c/d/e/f/g/h/i") ==
        "topic has 8 '/' after the $aws/rules/<rule>/ prefix (AWS IoT allows at most 7)");
  // Without a rule name there is no exemption.
  CHECK(validate_topic_name("$aws/rules//a/b/c/d/e/f", TopicProfile::kAws) == out_of_range(8));
}

TEST_CASE("AWS reserved topics other than Basic Ingest are exempt from the slash limit") {
  // The Commands response topics have 8 slashes by design.
  const char* accepted = "$aws/commands/things/dev-1/executions/42/response/accepted/json";
  CHECK(validate_topic_name(accepted, TopicProfile::kAws).ok());
  CHECK(validate_topic_filter("$aws/commands/things/dev-1/executions/+/response/+/json", TopicProfile::kAws).ok());
  const TopicScheme s(TopicProfile::kAws, "dev-1");
  CHECK(build(s, TopicFamily::kCommands, {}, "42/response/accepted/json") == accepted);
  // The exemption needs the whole "$aws/" prefix.
  CHECK(validate_topic_name("$awsx/a/b/c/d/e/f/g/h", TopicProfile::kAws) == out_of_range(8));
}

TEST_CASE("topic names refuse wildcards") {
  CHECK(validate_topic_name("a/+/b", TopicProfile::kAws) == invalid_at(2));
  CHECK(why_topic("a/+/b") == "wildcard '+' at byte 2 is not allowed in a topic");
  CHECK(validate_topic_name("a/#", TopicProfile::kNeutral) == invalid_at(2));
}

TEST_CASE("topic names are 1 to kMaxTopic bytes and may start with a dollar sign") {
  CHECK(validate_topic_name("", TopicProfile::kAws) == out_of_range(0));
  CHECK(why_topic("") == "topic is empty");
  CHECK(validate_topic_name(std::string(kMaxTopic, 'x'), TopicProfile::kAws).ok());
  CHECK(validate_topic_name(std::string(kMaxTopic + 1, 'x'), TopicProfile::kAws) == out_of_range(kMaxTopic + 1));
  CHECK(why_topic(std::string(kMaxTopic + 1, 'x')) == "topic is too long (257 bytes, at most 256)");
  CHECK(validate_topic_name("$aws/things/t/shadow/update", TopicProfile::kAws).ok());
}

TEST_CASE("invalid UTF-8 sequences are refused in topics at the offset of their first byte") {
  struct Case {
    const char* text;
    std::size_t offset;
  };
  const Case cases[] = {
      {"ab\x80", 2},                // stray continuation byte
      {"a\xC0\xAF", 1},             // overlong '/'
      {"a\xC1\xBF", 1},             // overlong
      {"a\xE0\x80\xAF", 1},         // overlong 3-byte
      {"a\xF0\x80\x80\xAF", 1},     // overlong 4-byte
      {"a\xED\xA0\x80", 1},         // UTF-16 surrogate D800
      {"a\xF4\x90\x80\x80", 1},     // above U+10FFFF
      {"a\xF5\x80\x80\x80", 1},     // invalid lead byte
      {"a\xFF", 1},                 // invalid lead byte
      {"ab\xE2\x82", 2},            // cut short
      {"ab\xC3", 2},                // cut short at the end
      {"a\xC3(", 1},                // continuation missing
  };
  for (const Case& c : cases) {
    INFO("offset " << c.offset);
    CHECK(validate_topic_name(c.text, TopicProfile::kNeutral) == invalid_at(c.offset));
    CHECK(validate_topic_filter(c.text, TopicProfile::kAws) == invalid_at(c.offset));
  }
  CHECK(why_topic("ab\x80") == "invalid UTF-8 at byte 2 in a topic");
  // Well-formed sequences of every length, including the edges of the ranges.
  CHECK(validate_topic_name("\xC2\xA0/\xE2\x82\xAC/\xED\x9F\xBF/\xF0\x9F\x98\x80/\xF3\xA0\x80\x81",
                            TopicProfile::kAws)
            .ok());
}

TEST_CASE("U+0000, control characters and noncharacters are refused in topics") {
  CHECK(validate_topic_name("a\0b"s, TopicProfile::kAws) == invalid_at(1));
  CHECK(why_topic("a\0b"s) == "character U+0000 at byte 1 is not allowed in a topic");
  CHECK(validate_topic_name("a\x7F", TopicProfile::kAws) == invalid_at(1));
  CHECK(why_topic("a/\xC2\x85") == "control character U+0085 at byte 2 is not allowed in a topic");
  CHECK(why_topic("a/\xEF\xBF\xBE") == "noncharacter U+FFFE at byte 2 is not allowed in a topic");
  CHECK(validate_topic_name("\xEF\xB7\x90", TopicProfile::kNeutral) == invalid_at(0));  // U+FDD0
}

// ---------------------------------------------------------------------------------------------
// Topic filters

TEST_CASE("filters accept hash as the whole last level and plus as whole levels") {
  for (const char* filter : {"a/#", "#", "+", "+/+/c", "a/+", "/+", "+/", "$aws/things/+/shadow/#", "a//+/#"}) {
    INFO(filter);
    CHECK(validate_topic_filter(filter, TopicProfile::kAws).ok());
  }
}

TEST_CASE("filters refuse hash that is not the whole last level and plus inside a level") {
  CHECK(validate_topic_filter("a/#/b", TopicProfile::kAws) == invalid_at(2));
  CHECK(why_filter("a/#/b") == "wildcard '#' at byte 2 must be the whole last level of a topic filter");
  CHECK(validate_topic_filter("a#", TopicProfile::kAws) == invalid_at(1));
  CHECK(validate_topic_filter("#/", TopicProfile::kNeutral) == invalid_at(0));
  CHECK(validate_topic_filter("+a", TopicProfile::kAws) == invalid_at(0));
  CHECK(why_filter("+a") == "wildcard '+' at byte 0 must be a whole level of a topic filter");
  CHECK(validate_topic_filter("a+", TopicProfile::kAws) == invalid_at(1));
  CHECK(validate_topic_filter("a/b+/c", TopicProfile::kNeutral) == invalid_at(3));
}

TEST_CASE("filters follow the same length and AWS slash limits as topic names") {
  CHECK(validate_topic_filter("", TopicProfile::kNeutral) == out_of_range(0));
  CHECK(why_filter("") == "topic filter is empty");
  CHECK(validate_topic_filter("+/+/+/+/+/+/+/#", TopicProfile::kAws).ok());
  CHECK(validate_topic_filter("+/+/+/+/+/+/+/+/#", TopicProfile::kAws) == out_of_range(8));
  CHECK(why_filter("+/+/+/+/+/+/+/+/#") == "topic filter has 8 '/' (AWS IoT allows at most 7)");
  CHECK(validate_topic_filter("+/+/+/+/+/+/+/+/#", TopicProfile::kNeutral).ok());
}

// ---------------------------------------------------------------------------------------------
// Matching

TEST_CASE("topic_matches follows MQTT wildcard semantics") {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  };
  const Case cases[] = {
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/b", "a/b/c", false},
      {"a/b/c", "a/b", false},
      {"a/+", "a/b", true},
      {"a/+", "a/", true},  // + matches an empty level
      {"a/+", "a", false},
      {"a/+", "a/b/c", false},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+", "/finance", false},
      {"a/#", "a", true},  // # includes the parent level
      {"a/#", "a/b/c", true},
      {"a/#", "ab", false},
      {"a/+/#", "a/b", true},
      {"#", "a/b/c", true},
      {"#", "/", true},
      {"#", "$SYS/broker", false},  // wildcards at the start never match $ topics
      {"+/broker", "$SYS/broker", false},
      {"$SYS/#", "$SYS/broker", true},
      {"$aws/things/+/shadow/#", "$aws/things/t1/shadow/update/delta", true},
      {"a/b", "a/+", false},  // topic names never contain wildcards
      {"#", "+", false},
      {"a/#", "a/#", false},
      {"a/#/b", "a/x/b", false},  // malformed filters match nothing
      {"a#", "a#", false},
      {"", "a", false},
      {"a", "", false},
  };
  for (const Case& c : cases) {
    INFO(c.filter << " vs " << c.topic);
    CHECK(topic_matches(c.filter, c.topic) == c.match);
  }
}

// ---------------------------------------------------------------------------------------------
// TopicScheme

TEST_CASE("the AWS scheme builds every family") {
  const TopicScheme s(TopicProfile::kAws, "dev-1");
  CHECK(s.profile() == TopicProfile::kAws);
  CHECK(s.thing_name() == "dev-1");
  CHECK(build(s, TopicFamily::kShadow) == "$aws/things/dev-1/shadow");
  CHECK(build(s, TopicFamily::kShadow, {}, "update/delta") == "$aws/things/dev-1/shadow/update/delta");
  CHECK(build(s, TopicFamily::kShadow, "cfg", "get") == "$aws/things/dev-1/shadow/name/cfg/get");
  CHECK(build(s, TopicFamily::kShadow, {}, "#") == "$aws/things/dev-1/shadow/#");
  CHECK(build(s, TopicFamily::kJobs, {}, "notify-next") == "$aws/things/dev-1/jobs/notify-next");
  CHECK(build(s, TopicFamily::kCommands, {}, "+/request/json") == "$aws/commands/things/dev-1/executions/+/request/json");
  CHECK(build(s, TopicFamily::kMetrics, {}, "json") == "$aws/things/dev-1/defender/metrics/json");
  CHECK(build(s, TopicFamily::kTelemetry, "temp") == "dt/dev-1/temp");
}

TEST_CASE("the neutral scheme builds every family") {
  const TopicScheme s(TopicProfile::kNeutral, "dev.1");
  CHECK(build(s, TopicFamily::kShadow) == "state/dev.1");
  CHECK(build(s, TopicFamily::kShadow, {}, "update/delta") == "state/dev.1/update/delta");
  CHECK(build(s, TopicFamily::kShadow, "cfg", "update") == "state/dev.1/cfg/update");
  CHECK(build(s, TopicFamily::kJobs) == "cmd/dev.1/jobs");
  CHECK(build(s, TopicFamily::kCommands, {}, "42/request") == "cmd/dev.1/42/request");
  CHECK(build(s, TopicFamily::kMetrics) == "things/dev.1/metrics");
  CHECK(build(s, TopicFamily::kTelemetry, "temp", "raw") == "dt/dev.1/temp/raw");
}

TEST_CASE("build reports a buffer that is too small as resource exhausted") {
  const TopicScheme s(TopicProfile::kAws, "dev-1");
  const std::string_view expected = "$aws/things/dev-1/shadow/update";
  char exact[31];
  REQUIRE(sizeof exact == expected.size());
  Result<std::string_view> fits = s.build(exact, TopicFamily::kShadow, {}, "update");
  REQUIRE(fits.ok());
  CHECK(*fits == expected);
  CHECK(fits->data() == exact);
  char small[30];
  CHECK(s.build(small, TopicFamily::kShadow, {}, "update").status() ==
        Status(StatusCode::kResourceExhausted, Origin::kTopic, 31));
}

TEST_CASE("build refuses bad names and suffixes as invalid arguments") {
  const TopicScheme s(TopicProfile::kAws, "dev-1");
  CHECK(build_status(s, TopicFamily::kTelemetry) == out_of_range(0));  // a stream is required
  CHECK(build_status(s, TopicFamily::kTelemetry, "a/b") == invalid_at(1));
  CHECK(build_status(s, TopicFamily::kTelemetry, "a.b") == invalid_at(1));  // AWS name pattern
  CHECK(build_status(s, TopicFamily::kShadow, std::string(65, 's')) == out_of_range(65));
  CHECK(build_status(s, TopicFamily::kShadow, "$x") == invalid_at(0));
  CHECK(build_status(s, TopicFamily::kJobs, "x") == invalid_at(0));
  CHECK(build_status(s, TopicFamily::kCommands, "x") == invalid_at(0));
  CHECK(build_status(s, TopicFamily::kMetrics, "x") == invalid_at(0));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "/get") == invalid_at(0));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "get/") == invalid_at(3));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "get//accepted") == invalid_at(4));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "get/a#") == invalid_at(5));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "a+") == invalid_at(1));
  CHECK(build_status(s, TopicFamily::kShadow, {}, "g\xC3") == invalid_at(1));
}

TEST_CASE("build refuses topics that break the profile's limits as out of range") {
  const TopicScheme aws(TopicProfile::kAws, "dev-1");
  // "dt/dev-1/temp" has 2 slashes; five more levels make 7, six make 8.
  CHECK(build_status(aws, TopicFamily::kTelemetry, "temp", "a/b/c/d/e") == Status());
  CHECK(build_status(aws, TopicFamily::kTelemetry, "temp", "a/b/c/d/e/f") == out_of_range(8));
  const TopicScheme neutral(TopicProfile::kNeutral, "dev-1");
  CHECK(build_status(neutral, TopicFamily::kShadow, "s", "a/b/c/d/e/f/g") == Status());
  const std::string long_suffix(kMaxTopic, 'x');
  CHECK(build_status(neutral, TopicFamily::kJobs, {}, long_suffix) == out_of_range(kMaxTopic + 15));
}

TEST_CASE("neutral shadow names that collide with the classic shadow operations are refused") {
  const TopicScheme s(TopicProfile::kNeutral, "dev-1");
  for (const char* name : {"get", "update", "delete"}) {
    INFO(name);
    CHECK(build_status(s, TopicFamily::kShadow, name) == invalid_at(0));
  }
  const TopicScheme aws(TopicProfile::kAws, "dev-1");
  CHECK(build(aws, TopicFamily::kShadow, "update") == "$aws/things/dev-1/shadow/name/update");
}

TEST_CASE("building with an invalid thing name is a contract violation that still returns an error") {
  test::ContractCounter contracts;
  const TopicScheme s(TopicProfile::kAws, "a/b");
  CHECK(build_status(s, TopicFamily::kJobs) == invalid_at(1));
  CHECK(contracts.count() == 1);
}

TEST_CASE("topic profiles have stable names") {
  CHECK(std::string(to_string(TopicProfile::kAws)) == "aws");
  CHECK(std::string(to_string(TopicProfile::kNeutral)) == "neutral");
}
