// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Shadow topics (tether/shadow/topics.hpp): the topics of classic and named shadows under both
// topic profiles (PROTOCOLS.md §1, docs/cloudsim.md), and which of them an inbound topic is.

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/topics.hpp"

using namespace tether;
using namespace tether::shadow;

namespace {

// PROTOCOLS.md, general rules: a shadow name is at most 64 bytes (private to lib/core).
constexpr std::size_t kMaxShadowName = 64;

constexpr Topic kAllTopics[] = {
    Topic::kGet,         Topic::kUpdate,          Topic::kDelete,         Topic::kGetAccepted,
    Topic::kGetRejected, Topic::kUpdateAccepted,  Topic::kUpdateRejected, Topic::kUpdateDelta,
    Topic::kUpdateDocuments, Topic::kDeleteAccepted, Topic::kDeleteRejected,
};
static_assert(sizeof kAllTopics / sizeof kAllTopics[0] == kTopicCount, "every topic is listed");

// The suffixes of PROTOCOLS.md §1, in the order of the enum.
constexpr const char* kExpectedSuffixes[] = {
    "get",          "update",          "delete",           "get/accepted",    "get/rejected",    "update/accepted",
    "update/rejected", "update/delta", "update/documents", "delete/accepted", "delete/rejected",
};

ShadowTopics make(TopicProfile profile, std::string_view thing, std::string_view name) {
  ShadowTopics topics;
  const TopicScheme scheme(profile, thing);
  ErrorText why;
  const Status s = topics.init(scheme, name, &why);
  INFO(why.view());
  REQUIRE(s.ok());
  CHECK(why.empty());
  return topics;
}

std::string topic_of(const ShadowTopics& topics, Topic t) {
  FixedString<kMaxTopic> out;
  return std::string(topics.build(t, out));
}

bool matches(const ShadowTopics& topics, std::string_view topic, Topic* which = nullptr) {
  Topic t = Topic::kGet;
  const bool m = topics.match(topic, t);
  if (which != nullptr) *which = t;
  return m;
}

struct InitOutcome {
  Status status;
  std::string why;
};

InitOutcome init_with(TopicProfile profile, std::string_view thing, std::string_view name) {
  ShadowTopics topics;
  ErrorText why;
  InitOutcome out;
  out.status = topics.init(TopicScheme(profile, thing), name, &why);
  out.why = std::string(why.view());
  return out;
}

bool is_printable_line(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("suffix names every shadow topic as PROTOCOLS.md lists it") {
  for (std::size_t i = 0; i < kTopicCount; ++i) CHECK(std::string(suffix(kAllTopics[i])) == kExpectedSuffixes[i]);
}

TEST_CASE("a classic shadow under kAws lives under $aws/things/<thing>/shadow") {
  const ShadowTopics t = make(TopicProfile::kAws, "dev-1", "");
  CHECK(t.prefix() == "$aws/things/dev-1/shadow");
  CHECK(topic_of(t, Topic::kGet) == "$aws/things/dev-1/shadow/get");
  CHECK(topic_of(t, Topic::kUpdate) == "$aws/things/dev-1/shadow/update");
  CHECK(topic_of(t, Topic::kDelete) == "$aws/things/dev-1/shadow/delete");
  CHECK(topic_of(t, Topic::kUpdateDelta) == "$aws/things/dev-1/shadow/update/delta");
  CHECK(topic_of(t, Topic::kUpdateDocuments) == "$aws/things/dev-1/shadow/update/documents");
  CHECK(topic_of(t, Topic::kDeleteRejected) == "$aws/things/dev-1/shadow/delete/rejected");
}

TEST_CASE("a named shadow under kAws lives under $aws/things/<thing>/shadow/name/<shadow>") {
  const ShadowTopics t = make(TopicProfile::kAws, "dev-1", "cfg");
  CHECK(t.prefix() == "$aws/things/dev-1/shadow/name/cfg");
  CHECK(topic_of(t, Topic::kGetAccepted) == "$aws/things/dev-1/shadow/name/cfg/get/accepted");
  CHECK(topic_of(t, Topic::kUpdate) == "$aws/things/dev-1/shadow/name/cfg/update");
}

TEST_CASE("a classic shadow under kNeutral lives under state/<thing>") {
  const ShadowTopics t = make(TopicProfile::kNeutral, "dev-1", "");
  CHECK(t.prefix() == "state/dev-1");
  CHECK(topic_of(t, Topic::kUpdate) == "state/dev-1/update");
  CHECK(topic_of(t, Topic::kUpdateDelta) == "state/dev-1/update/delta");
}

TEST_CASE("a named shadow under kNeutral lives under state/<thing>/<shadow>") {
  const ShadowTopics t = make(TopicProfile::kNeutral, "dev-1", "cfg");
  CHECK(t.prefix() == "state/dev-1/cfg");
  CHECK(topic_of(t, Topic::kGetAccepted) == "state/dev-1/cfg/get/accepted");
  CHECK(topic_of(t, Topic::kDelete) == "state/dev-1/cfg/delete");
}

TEST_CASE("match recognises every topic it builds, for each profile and shadow kind") {
  struct Case {
    TopicProfile profile;
    const char* name;
    const char* prefix;
  };
  const Case cases[] = {
      {TopicProfile::kAws, "", "$aws/things/dev-1/shadow"},
      {TopicProfile::kAws, "cfg", "$aws/things/dev-1/shadow/name/cfg"},
      {TopicProfile::kNeutral, "", "state/dev-1"},
      {TopicProfile::kNeutral, "cfg", "state/dev-1/cfg"},
  };
  for (const Case& c : cases) {
    const ShadowTopics t = make(c.profile, "dev-1", c.name);
    for (std::size_t i = 0; i < kTopicCount; ++i) {
      const std::string topic = std::string(c.prefix) + "/" + kExpectedSuffixes[i];
      INFO(topic);
      CHECK(topic_of(t, kAllTopics[i]) == topic);
      Topic which = Topic::kGet;
      CHECK(matches(t, topic, &which));
      CHECK(which == kAllTopics[i]);
    }
  }
}

TEST_CASE("match refuses the topics of another thing whose name extends this one") {
  const ShadowTopics aws = make(TopicProfile::kAws, "dev", "");
  CHECK_FALSE(matches(aws, "$aws/things/dev-1/shadow/update/delta"));
  CHECK_FALSE(matches(aws, "$aws/things/de/shadow/update/delta"));
  const ShadowTopics neutral = make(TopicProfile::kNeutral, "dev", "");
  CHECK_FALSE(matches(neutral, "state/dev-1/update/delta"));
  CHECK_FALSE(matches(neutral, "state/devupdate/delta"));
  const ShadowTopics named = make(TopicProfile::kNeutral, "dev", "cfg");
  CHECK_FALSE(matches(named, "state/dev/cfg2/update/delta"));
}

TEST_CASE("a classic shadow does not match its named shadows' topics and the reverse") {
  const ShadowTopics classic = make(TopicProfile::kAws, "dev", "");
  const ShadowTopics named = make(TopicProfile::kAws, "dev", "cfg");
  CHECK_FALSE(matches(classic, "$aws/things/dev/shadow/name/cfg/update/delta"));
  CHECK_FALSE(matches(named, "$aws/things/dev/shadow/update/delta"));
  const ShadowTopics neutral_classic = make(TopicProfile::kNeutral, "dev", "");
  CHECK_FALSE(matches(neutral_classic, "state/dev/cfg/update/delta"));
}

TEST_CASE("match refuses unknown suffixes, extra levels and a missing slash") {
  const ShadowTopics t = make(TopicProfile::kAws, "dev", "");
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/update/delta/x"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/update/"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/update/deltas"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/accepted"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadowget"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow//get"));
  CHECK_FALSE(matches(t, "$aws/things/dev/shadow/GET"));
  CHECK_FALSE(matches(t, "state/dev/get"));  // the other profile
  CHECK_FALSE(matches(t, ""));
}

TEST_CASE("match of an uninitialised ShadowTopics matches nothing") {
  const ShadowTopics t;
  CHECK(t.prefix().empty());
  CHECK_FALSE(matches(t, "/get"));
  CHECK_FALSE(matches(t, "get"));
}

TEST_CASE("init refuses a shadow name over 64 bytes with its length and says why") {
  CHECK(init_with(TopicProfile::kAws, "dev", std::string(kMaxShadowName, 'n')).status.ok());
  const InitOutcome o = init_with(TopicProfile::kAws, "dev", std::string(kMaxShadowName + 1, 'n'));
  CHECK(o.status == Status(StatusCode::kOutOfRange, Origin::kTopic, static_cast<std::uint16_t>(kMaxShadowName + 1)));
  CHECK_FALSE(o.why.empty());
  CHECK(o.why.find("shadow name") != std::string::npos);
  CHECK(init_with(TopicProfile::kNeutral, "dev", std::string(kMaxShadowName + 1, 'n')).status.code() ==
        StatusCode::kOutOfRange);
}

TEST_CASE("init refuses a shadow name holding a slash at its byte and says why") {
  for (TopicProfile p : {TopicProfile::kAws, TopicProfile::kNeutral}) {
    const InitOutcome o = init_with(p, "dev", "cf/g");
    CHECK(o.status == Status(StatusCode::kInvalidArgument, Origin::kTopic, 2));
    CHECK(o.why.find("shadow name") != std::string::npos);
  }
}

TEST_CASE("init refuses names that are not valid for the profile") {
  CHECK(init_with(TopicProfile::kAws, "dev", "caf\xc3\xa9").status ==
        Status(StatusCode::kInvalidArgument, Origin::kTopic, 3));
  CHECK(init_with(TopicProfile::kNeutral, "dev", "caf\xc3\xa9").status.ok());
  CHECK(init_with(TopicProfile::kAws, "dev", "a+b").status == Status(StatusCode::kInvalidArgument, Origin::kTopic, 1));
  // Under kNeutral a shadow named like a classic operation would collide with the classic topics.
  CHECK(init_with(TopicProfile::kNeutral, "dev", "update").status.code() == StatusCode::kInvalidArgument);
  CHECK(init_with(TopicProfile::kAws, "dev", "update").status.ok());
}

TEST_CASE("init explains a refused name in one printable line whatever bytes the name holds") {
  for (std::string_view name : {std::string_view("a\nb"), std::string_view("\xff\xfe"), std::string_view("x\x1b[2J")}) {
    for (TopicProfile p : {TopicProfile::kAws, TopicProfile::kNeutral}) {
      const InitOutcome o = init_with(p, "dev", name);
      CHECK_FALSE(o.status.ok());
      INFO(o.why);
      CHECK_FALSE(o.why.empty());
      CHECK(is_printable_line(o.why));
    }
  }
}

TEST_CASE("the longest names still give topics within kMaxTopic") {
  const std::string thing(kMaxThingName, 't');
  const std::string name(kMaxShadowName, 's');
  const ShadowTopics t = make(TopicProfile::kAws, thing, name);
  const std::string longest = topic_of(t, Topic::kUpdateDocuments);
  CHECK(longest == "$aws/things/" + thing + "/shadow/name/" + name + "/update/documents");
  CHECK(longest.size() <= kMaxTopic);
  Topic which = Topic::kGet;
  CHECK(matches(t, longest, &which));
  CHECK(which == Topic::kUpdateDocuments);
}
