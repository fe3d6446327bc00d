// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: thing-name, topic-name and topic-filter validation, topic_matches, TopicScheme::build.
//
// Input: up to five fields separated by '\n' (the last one takes the rest, newlines included):
//   filter \n topic \n thing name \n name (shadow or stream) \n suffix
// Missing fields are empty. Every field is checked under both profiles, and every family is built.
//
// Invariants checked (the reference rules below are written from topics.hpp, independently of
// lib/core/topics.cpp, and must give the very same Status, detail included):
// - validate_thing_name / validate_topic_name / validate_topic_filter against the reference; the
//   same status without `why`; a failure explained on one printable line, a success not explained;
// - a valid topic name has no wildcard, is a valid filter, matches itself, and is valid under kNeutral
//   when valid under kAws; a valid thing name is a valid topic name;
// - topic_matches against a reference MQTT matcher (so never true for a topic holding a wildcard
//   or for a malformed filter);
// - TopicScheme::build (for thing names valid for the profile) gives exactly the topic of the table
//   in topics.hpp, or exactly the reference error; its output is a valid filter (a valid topic name
//   when the suffix has no wildcard), it needs exactly its size in `out` (one byte less is
//   kResourceExhausted, never an overrun), and a filter built with wildcards matches the topic built
//   with those levels filled in.

#include <cstring>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "tether/limits.hpp"
#include "tether/topics.hpp"

namespace {

using tether::ErrorText;
using tether::Origin;
using tether::Status;
using tether::StatusCode;
using tether::TopicFamily;
using tether::TopicProfile;
using tether::fuzz::check_utf8;
using tether::fuzz::contains;
using tether::fuzz::is_mqtt_bad_code_point;

constexpr std::size_t kNpos = std::string_view::npos;
constexpr std::size_t kMaxShadowName = 64;
constexpr std::size_t kAwsMaxSlashes = 7;
constexpr TopicProfile kProfiles[] = {TopicProfile::kAws, TopicProfile::kNeutral};
constexpr TopicFamily kFamilies[] = {TopicFamily::kShadow, TopicFamily::kJobs, TopicFamily::kCommands,
                                     TopicFamily::kMetrics, TopicFamily::kTelemetry};

std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }
Status invalid(std::size_t offset) { return Status(StatusCode::kInvalidArgument, Origin::kTopic, clamp16(offset)); }
Status out_of_range(std::size_t n) { return Status(StatusCode::kOutOfRange, Origin::kTopic, clamp16(n)); }

std::size_t count_slashes(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += c == '/' ? 1 : 0;
  return n;
}

bool is_aws_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
         c == '-';
}

// ---------------------------------------------------------------------------------------------
// Reference rules (topics.hpp)

// Thing, shadow and stream names: 1..max bytes, no + # / NUL, no leading $; kAws: [a-zA-Z0-9:_-];
// kNeutral: valid UTF-8 without controls or noncharacters. Detail: first bad byte or the length.
Status ref_name(std::string_view name, TopicProfile profile, std::size_t max) {
  if (name.empty() || name.size() > max) return out_of_range(name.size());
  if (profile == TopicProfile::kAws) {
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (!is_aws_name_char(name[i])) return invalid(i);
    }
    return tether::ok_status();
  }
  std::size_t first_bad = kNpos;
  const std::size_t ill_formed = check_utf8(name, [&](std::uint32_t cp, std::size_t at) {
    if (first_bad != kNpos) return;
    if (cp == '+' || cp == '#' || cp == '/' || (cp == '$' && at == 0) || is_mqtt_bad_code_point(cp)) first_bad = at;
  });
  if (first_bad != kNpos) return invalid(first_bad);
  if (ill_formed != kNpos) return invalid(ill_formed);
  return tether::ok_status();
}

enum class Kind { kName, kFilter };

// Topic names and filters (character rules; kFilter: + as a whole level, # as the whole last level).
Status ref_topic_chars(std::string_view s, Kind kind) {
  std::size_t first_bad = kNpos;
  const std::size_t ill_formed = check_utf8(s, [&](std::uint32_t cp, std::size_t at) {
    if (first_bad != kNpos) return;
    if (is_mqtt_bad_code_point(cp)) first_bad = at;
    if (cp != '+' && cp != '#') return;
    const bool starts_level = at == 0 || s[at - 1] == '/';
    const bool whole = cp == '+' ? starts_level && (at + 1 == s.size() || s[at + 1] == '/')
                                 : starts_level && at + 1 == s.size();
    if (kind == Kind::kName || !whole) first_bad = at;
  });
  if (first_bad != kNpos) return invalid(first_bad);
  if (ill_formed != kNpos) return invalid(ill_formed);
  return tether::ok_status();
}

Status ref_topic(std::string_view s, TopicProfile profile, Kind kind) {
  if (s.empty() || s.size() > tether::kMaxTopic) return out_of_range(s.size());
  const Status chars = ref_topic_chars(s, kind);
  if (!chars.ok()) return chars;
  if (profile == TopicProfile::kNeutral) return tether::ok_status();
  // At most 7 '/'; Basic Ingest topics "$aws/rules/<rule>/..." count only those after the prefix,
  // other reserved "$aws/..." topics none. "$aws/rules/" with an empty rule name counts them all
  // (what lib/core does; topics.hpp does not say).
  std::size_t slashes = count_slashes(s);
  constexpr std::string_view kRules = "$aws/rules/";
  if (s.substr(0, kRules.size()) == kRules) {
    const std::string_view rest = s.substr(kRules.size());
    const std::size_t end = rest.find('/');
    if (end != 0 && !rest.empty()) slashes = end == kNpos ? 0 : count_slashes(rest.substr(end + 1));
  } else if (s.substr(0, 5) == "$aws/") {
    slashes = 0;
  }
  if (slashes > kAwsMaxSlashes) return out_of_range(slashes);
  return tether::ok_status();
}

// MQTT 3.1.1 §4.7 / MQTT 5 §4.7 matching, written level by level.
bool ref_matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty() || contains(topic, '+') || contains(topic, '#')) return false;
  if ((filter[0] == '+' || filter[0] == '#') && topic[0] == '$') return false;
  auto level = [](std::string_view s, std::size_t& pos, bool& more) {
    const std::size_t end = s.find('/', pos);
    const std::string_view l = s.substr(pos, end == kNpos ? kNpos : end - pos);
    more = end != kNpos;
    pos = more ? end + 1 : s.size();
    return l;
  };
  std::size_t fp = 0;
  std::size_t tp = 0;
  bool f_more = true;
  bool t_more = true;
  bool topic_exhausted = false;  // every level of the topic has been consumed
  bool result = true;
  while (f_more) {
    const std::string_view fl = level(filter, fp, f_more);
    if (fl == "#") return !f_more && result;  // the rest, including the parent level
    if (contains(fl, '+') || contains(fl, '#')) {
      if (fl != "+") return false;  // malformed filter
    }
    if (topic_exhausted) {
      result = false;  // keep scanning: a malformed filter level later still means "no match"
      continue;
    }
    const std::string_view tl = level(topic, tp, t_more);
    if (fl != "+" && fl != tl) result = false;
    if (!t_more) topic_exhausted = true;
  }
  return result && topic_exhausted;
}

bool has_wildcard(std::string_view s) { return contains(s, '+') || contains(s, '#'); }

// ---------------------------------------------------------------------------------------------

void check_explained(Status status, const ErrorText& why) {
  if (status.ok()) {
    TETHER_FUZZ_CHECK(why.empty());
    return;
  }
  TETHER_FUZZ_CHECK(!why.empty() && tether::fuzz::is_printable_line(why.view()));
  TETHER_FUZZ_CHECK(std::strlen(why.c_str()) == why.size());
}

void report(const char* what, std::string_view input, TopicProfile profile, Status got, Status want) {
  if (got == want) return;
  char g[32];
  char w[32];
  std::fprintf(stderr, "%s(\"%.*s\", %s): got %s, reference %s\n", what, static_cast<int>(input.size()), input.data(),
               tether::to_string(profile), tether::format_status(got, g, sizeof g),
               tether::format_status(want, w, sizeof w));
}

void check_thing_name(std::string_view name) {
  for (TopicProfile p : kProfiles) {
    ErrorText why;
    const Status s = tether::validate_thing_name(name, p, &why);
    report("validate_thing_name", name, p, s, ref_name(name, p, tether::kMaxThingName));
    TETHER_FUZZ_CHECK(s == ref_name(name, p, tether::kMaxThingName));
    TETHER_FUZZ_CHECK(s == tether::validate_thing_name(name, p));
    check_explained(s, why);
    if (s.ok()) {
      TETHER_FUZZ_CHECK(tether::validate_topic_name(name, p).ok());
      TETHER_FUZZ_CHECK(tether::validate_thing_name(name, TopicProfile::kNeutral).ok());
    }
  }
}

void check_topic(std::string_view topic) {
  for (TopicProfile p : kProfiles) {
    ErrorText why;
    const Status name = tether::validate_topic_name(topic, p, &why);
    report("validate_topic_name", topic, p, name, ref_topic(topic, p, Kind::kName));
    TETHER_FUZZ_CHECK(name == ref_topic(topic, p, Kind::kName));
    TETHER_FUZZ_CHECK(name == tether::validate_topic_name(topic, p));
    check_explained(name, why);

    ErrorText fwhy;
    const Status filter = tether::validate_topic_filter(topic, p, &fwhy);
    report("validate_topic_filter", topic, p, filter, ref_topic(topic, p, Kind::kFilter));
    TETHER_FUZZ_CHECK(filter == ref_topic(topic, p, Kind::kFilter));
    TETHER_FUZZ_CHECK(filter == tether::validate_topic_filter(topic, p));
    check_explained(filter, fwhy);

    if (name.ok()) {
      TETHER_FUZZ_CHECK(!has_wildcard(topic));
      TETHER_FUZZ_CHECK(filter.ok());
      TETHER_FUZZ_CHECK(tether::validate_topic_name(topic, TopicProfile::kNeutral).ok());
      TETHER_FUZZ_CHECK(tether::topic_matches(topic, topic));
      TETHER_FUZZ_CHECK(tether::topic_matches("#", topic) == (topic[0] != '$'));
    }
  }
}

void check_match(std::string_view filter, std::string_view topic) {
  const bool got = tether::topic_matches(filter, topic);
  const bool want = ref_matches(filter, topic);
  if (got != want) {
    std::fprintf(stderr, "topic_matches(\"%.*s\", \"%.*s\") = %d, reference %d\n", static_cast<int>(filter.size()),
                 filter.data(), static_cast<int>(topic.size()), topic.data(), got, want);
  }
  TETHER_FUZZ_CHECK(got == want);
}

// The topic the table in topics.hpp gives (without validation).
std::string expected_topic(TopicProfile p, TopicFamily family, std::string_view t, std::string_view name,
                           std::string_view suffix) {
  const bool aws = p == TopicProfile::kAws;
  std::string s;
  switch (family) {
    case TopicFamily::kShadow:
      s = std::string(aws ? "$aws/things/" : "state/") + std::string(t) + (aws ? "/shadow" : "");
      if (!name.empty()) s += std::string(aws ? "/name/" : "/") + std::string(name);
      break;
    case TopicFamily::kJobs: s = std::string(aws ? "$aws/things/" : "cmd/") + std::string(t) + "/jobs"; break;
    case TopicFamily::kCommands:
      s = aws ? "$aws/commands/things/" + std::string(t) + "/executions" : "cmd/" + std::string(t);
      break;
    case TopicFamily::kMetrics:
      s = aws ? "$aws/things/" + std::string(t) + "/defender/metrics" : "things/" + std::string(t) + "/metrics";
      break;
    case TopicFamily::kTelemetry: s = "dt/" + std::string(t) + "/" + std::string(name); break;
  }
  if (!suffix.empty()) s += "/" + std::string(suffix);
  return s;
}

// The Status build must return for a valid thing name (`out` large enough).
Status ref_build(TopicProfile p, TopicFamily family, std::string_view name, std::string_view suffix,
                 const std::string& topic) {
  switch (family) {
    case TopicFamily::kShadow:
      if (!name.empty()) {
        const Status s = ref_name(name, p, kMaxShadowName);
        if (!s.ok()) return s;
        if (p == TopicProfile::kNeutral && (name == "get" || name == "update" || name == "delete")) return invalid(0);
      }
      break;
    case TopicFamily::kTelemetry: {
      const Status s = ref_name(name, p, tether::kMaxThingName);
      if (!s.ok()) return s;
      break;
    }
    default:
      if (!name.empty()) return invalid(0);
  }
  if (!suffix.empty()) {
    if (suffix.front() == '/') return invalid(0);
    if (suffix.back() == '/') return invalid(suffix.size() - 1);
    const std::size_t empty_level = suffix.find("//");
    if (empty_level != kNpos) return invalid(empty_level + 1);
    const Status s = ref_topic_chars(suffix, Kind::kFilter);
    if (!s.ok()) return s;
  }
  if (topic.size() > tether::kMaxTopic) return out_of_range(topic.size());
  // Under kAws only telemetry is a customer topic; the other families are reserved "$aws/" topics.
  if (p == TopicProfile::kAws && family == TopicFamily::kTelemetry && count_slashes(topic) > kAwsMaxSlashes) {
    return out_of_range(count_slashes(topic));
  }
  return tether::ok_status();
}

// Builds into a heap block of exactly `capacity` bytes (so ASan sees any overrun).
struct Built {
  std::unique_ptr<char[]> buffer;
  tether::Result<std::string_view> topic = Status(StatusCode::kUnknown, Origin::kNone);
};

Built build(const tether::TopicScheme& scheme, std::size_t capacity, TopicFamily family, std::string_view name,
            std::string_view suffix) {
  Built b;
  b.buffer.reset(new char[capacity == 0 ? 1 : capacity]);
  b.topic = scheme.build(tether::Span<char>(b.buffer.get(), capacity), family, name, suffix);
  return b;
}

void check_build(std::string_view thing, std::string_view name, std::string_view suffix) {
  for (TopicProfile p : kProfiles) {
    if (!tether::validate_thing_name(thing, p).ok()) continue;  // a contract violation by design
    const tether::TopicScheme scheme(p, thing);
    TETHER_FUZZ_CHECK(scheme.profile() == p && scheme.thing_name() == thing);
    for (TopicFamily family : kFamilies) {
      const std::string expected = expected_topic(p, family, thing, name, suffix);
      const Status want = ref_build(p, family, name, suffix, expected);
      const Built b = build(scheme, tether::kMaxTopic, family, name, suffix);
      if (b.topic.status() != want) {
        char g[32];
        char w[32];
        std::fprintf(stderr, "build(%s, family %d, \"%.*s\", \"%.*s\") for \"%.*s\": got %s, reference %s\n",
                     tether::to_string(p), static_cast<int>(family), static_cast<int>(name.size()), name.data(),
                     static_cast<int>(suffix.size()), suffix.data(), static_cast<int>(thing.size()), thing.data(),
                     tether::format_status(b.topic.status(), g, sizeof g), tether::format_status(want, w, sizeof w));
      }
      TETHER_FUZZ_CHECK(b.topic.status() == want);
      if (!b.topic.ok()) continue;
      const std::string_view topic = *b.topic;
      TETHER_FUZZ_CHECK(topic.data() == b.buffer.get());
      TETHER_FUZZ_CHECK(topic == expected);
      TETHER_FUZZ_CHECK(tether::validate_topic_filter(topic, p).ok());
      if (!has_wildcard(suffix)) {
        TETHER_FUZZ_CHECK(tether::validate_topic_name(topic, p).ok());
        TETHER_FUZZ_CHECK(tether::topic_matches(topic, topic));
      } else {
        // The filter matches the topic with its wildcard levels filled in.
        std::string concrete(suffix);
        for (char& c : concrete) {
          if (c == '+' || c == '#') c = 'x';
        }
        const Built filled = build(scheme, tether::kMaxTopic, family, name, concrete);
        TETHER_FUZZ_CHECK(filled.topic.ok());
        TETHER_FUZZ_CHECK(tether::validate_topic_name(*filled.topic, p).ok());
        TETHER_FUZZ_CHECK(tether::topic_matches(topic, *filled.topic));
      }
      // Exactly its size is enough; one byte less is refused without writing past the end.
      const Built exact = build(scheme, topic.size(), family, name, suffix);
      TETHER_FUZZ_CHECK(exact.topic.ok() && *exact.topic == topic);
      const Built short_one = build(scheme, topic.size() - 1, family, name, suffix);
      TETHER_FUZZ_CHECK(short_one.topic.status() == Status(StatusCode::kResourceExhausted, Origin::kTopic,
                                                           clamp16(topic.size())));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = tether::fuzz::as_text(data, size);
  std::string_view fields[5];
  for (std::size_t i = 0; i < 5 && !rest.empty(); ++i) {
    const std::size_t nl = i == 4 ? kNpos : rest.find('\n');
    fields[i] = rest.substr(0, nl);
    rest = nl == kNpos ? std::string_view() : rest.substr(nl + 1);
  }
  const std::string_view filter = fields[0];
  const std::string_view topic = fields[1];
  const std::string_view thing = fields[2];
  const std::string_view name = fields[3];
  const std::string_view suffix = fields[4];

  for (std::string_view s : {filter, topic}) check_topic(s);
  for (std::string_view s : {thing, name}) check_thing_name(s);
  check_match(filter, topic);
  check_match(topic, filter);
  check_match(filter, filter);
  check_match(topic, topic);
  check_build(thing, name, suffix);
  return 0;
}
