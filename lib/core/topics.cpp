// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/topics.hpp"

#include <cstddef>
#include <cstdint>

#include "tether/limits.hpp"
#include "text_util.hpp"

namespace tether {
namespace {

// AWS IoT message broker: at most 7 '/' in a topic name or filter (PROTOCOLS.md §7).
constexpr std::size_t kAwsMaxSlashes = 7;
// Basic Ingest topics: the slashes of "$aws/rules/<rule>/" do not count (PROTOCOLS.md §7).
constexpr std::string_view kAwsRulesPrefix = "$aws/rules/";
// Other AWS reserved topics have the shape AWS gives them, which may exceed the limit: the Commands
// response topics "$aws/commands/things/<t>/executions/<id>/response/accepted/json" have 8 '/'.
constexpr std::string_view kAwsReservedPrefix = "$aws/";
// AWS shadow names are at most 64 bytes (PROTOCOLS.md, General rules).
constexpr std::size_t kMaxShadowName = 64;

constexpr std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

Status invalid(std::size_t offset) { return Status(StatusCode::kInvalidArgument, Origin::kTopic, clamp16(offset)); }
Status out_of_range(std::size_t n) { return Status(StatusCode::kOutOfRange, Origin::kTopic, clamp16(n)); }

bool is_aws_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
         c == '-';
}

bool is_printable_ascii(std::uint8_t b) { return b >= 0x20 && b < 0x7F; }

// Explains a code point MQTT brokers refuse (see detail::is_mqtt_disallowed_code_point).
Status disallowed_code_point(std::uint32_t cp, std::size_t offset, const char* noun, ErrorText* why) {
  if (cp == 0) {
    set_error_text(why, "character U+0000 at byte %lu is not allowed in a %s", static_cast<unsigned long>(offset),
                   noun);
  } else if (cp <= 0x9F) {
    set_error_text(why, "control character U+%04X at byte %lu is not allowed in a %s", static_cast<unsigned>(cp),
                   static_cast<unsigned long>(offset), noun);
  } else {
    set_error_text(why, "noncharacter U+%04X at byte %lu is not allowed in a %s", static_cast<unsigned>(cp),
                   static_cast<unsigned long>(offset), noun);
  }
  return invalid(offset);
}

// Thing, shadow and stream names: the rules of validate_thing_name, with `max_size` and `noun`.
Status validate_name(std::string_view name, TopicProfile profile, std::size_t max_size, const char* noun,
                     ErrorText* why) {
  if (name.empty()) {
    set_error_text(why, "%s is empty", noun);
    return out_of_range(0);
  }
  if (name.size() > max_size) {
    set_error_text(why, "%s is too long (%lu bytes, at most %lu)", noun, static_cast<unsigned long>(name.size()),
                   static_cast<unsigned long>(max_size));
    return out_of_range(name.size());
  }
  std::size_t i = 0;
  while (i < name.size()) {
    const char c = name[i];
    const auto b = static_cast<std::uint8_t>(c);
    if (c == '+' || c == '#' || c == '/') {
      set_error_text(why, "character '%c' at byte %lu is not allowed in a %s", c, static_cast<unsigned long>(i), noun);
      return invalid(i);
    }
    if (c == '$' && i == 0) {
      set_error_text(why, "character '$' at byte 0 is not allowed at the start of a %s", noun);
      return invalid(0);
    }
    if (b == 0) return disallowed_code_point(0, i, noun, why);
    if (profile == TopicProfile::kAws) {
      if (!is_aws_name_char(c)) {
        if (is_printable_ascii(b)) {
          set_error_text(why, "character '%c' at byte %lu is not allowed in an AWS IoT %s (only a-z A-Z 0-9 : _ -)", c,
                         static_cast<unsigned long>(i), noun);
        } else if (b < 0x80) {
          set_error_text(why, "control character U+%04X at byte %lu is not allowed in an AWS IoT %s",
                         static_cast<unsigned>(b), static_cast<unsigned long>(i), noun);
        } else {
          set_error_text(why,
                         "non-ASCII byte 0x%02X at byte %lu is not allowed in an AWS IoT %s (only a-z A-Z 0-9 : _ -)",
                         static_cast<unsigned>(b), static_cast<unsigned long>(i), noun);
        }
        return invalid(i);
      }
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t len = detail::decode_utf8(name, i, &cp);
    if (len == 0) {
      set_error_text(why, "invalid UTF-8 at byte %lu in a %s", static_cast<unsigned long>(i), noun);
      return invalid(i);
    }
    if (detail::is_mqtt_disallowed_code_point(cp)) return disallowed_code_point(cp, i, noun, why);
    i += len;
  }
  return ok_status();
}

enum class TopicKind : std::uint8_t { kName, kFilter, kSuffix };

const char* noun_of(TopicKind kind) {
  switch (kind) {
    case TopicKind::kName: return "topic";
    case TopicKind::kFilter: return "topic filter";
    case TopicKind::kSuffix: return "topic suffix";
  }
  return "topic";
}

// Character-level rules shared by topic names, filters and suffixes: valid UTF-8 without U+0000,
// controls or noncharacters; wildcards only in filters and suffixes, and there only as whole levels
// ('#' also only last).
Status check_topic_chars(std::string_view topic, TopicKind kind, ErrorText* why) {
  const char* noun = noun_of(kind);
  std::size_t i = 0;
  while (i < topic.size()) {
    const char c = topic[i];
    if (c == '+' || c == '#') {
      if (kind == TopicKind::kName) {
        set_error_text(why, "wildcard '%c' at byte %lu is not allowed in a %s", c, static_cast<unsigned long>(i), noun);
        return invalid(i);
      }
      const bool starts_level = i == 0 || topic[i - 1] == '/';
      const bool ends_level = i + 1 == topic.size() || topic[i + 1] == '/';
      if (c == '+' && !(starts_level && ends_level)) {
        set_error_text(why, "wildcard '+' at byte %lu must be a whole level of a %s", static_cast<unsigned long>(i),
                       noun);
        return invalid(i);
      }
      if (c == '#' && !(starts_level && i + 1 == topic.size())) {
        set_error_text(why, "wildcard '#' at byte %lu must be the whole last level of a %s",
                       static_cast<unsigned long>(i), noun);
        return invalid(i);
      }
    }
    std::uint32_t cp = 0;
    const std::size_t len = detail::decode_utf8(topic, i, &cp);
    if (len == 0) {
      set_error_text(why, "invalid UTF-8 at byte %lu in a %s", static_cast<unsigned long>(i), noun);
      return invalid(i);
    }
    if (detail::is_mqtt_disallowed_code_point(cp)) return disallowed_code_point(cp, i, noun, why);
    i += len;
  }
  return ok_status();
}

// The part of an AWS topic whose '/' count against the limit: all of it, what follows
// "$aws/rules/<rule>/" in a Basic Ingest topic (`*rules` set), or nothing in another reserved topic.
std::string_view slash_counted_part(std::string_view topic, bool* rules) {
  *rules = false;
  if (topic.substr(0, kAwsRulesPrefix.size()) == kAwsRulesPrefix) {
    const std::string_view rest = topic.substr(kAwsRulesPrefix.size());
    const std::size_t rule_end = rest.find('/');
    if (rest.substr(0, rule_end).empty()) return topic;  // no rule name: not a Basic Ingest topic
    *rules = true;
    return rule_end == std::string_view::npos ? std::string_view() : rest.substr(rule_end + 1);
  }
  if (topic.substr(0, kAwsReservedPrefix.size()) == kAwsReservedPrefix) return {};
  return topic;
}

std::size_t count_slashes(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += c == '/' ? 1 : 0;
  return n;
}

Status check_topic(std::string_view topic, TopicProfile profile, TopicKind kind, ErrorText* why) {
  const char* noun = noun_of(kind);
  if (topic.empty()) {
    set_error_text(why, "%s is empty", noun);
    return out_of_range(0);
  }
  if (topic.size() > kMaxTopic) {
    set_error_text(why, "%s is too long (%lu bytes, at most %lu)", noun, static_cast<unsigned long>(topic.size()),
                   static_cast<unsigned long>(kMaxTopic));
    return out_of_range(topic.size());
  }
  TETHER_RETURN_IF_ERROR(check_topic_chars(topic, kind, why));
  if (profile != TopicProfile::kAws) return ok_status();

  bool rules = false;
  const std::string_view counted = slash_counted_part(topic, &rules);
  const std::size_t slashes = count_slashes(counted);
  if (slashes > kAwsMaxSlashes) {
    if (rules) {
      set_error_text(why, "%s has %lu '/' after the $aws/rules/<rule>/ prefix (AWS IoT allows at most %lu)", noun,
                     static_cast<unsigned long>(slashes), static_cast<unsigned long>(kAwsMaxSlashes));
    } else {
      set_error_text(why, "%s has %lu '/' (AWS IoT allows at most %lu)", noun, static_cast<unsigned long>(slashes),
                     static_cast<unsigned long>(kAwsMaxSlashes));
    }
    return out_of_range(slashes);
  }
  return ok_status();
}

bool contains_wildcard(std::string_view level) {
  return level.find('+') != std::string_view::npos || level.find('#') != std::string_view::npos;
}

}  // namespace

const char* to_string(TopicProfile profile) {
  switch (profile) {
    case TopicProfile::kAws: return "aws";
    case TopicProfile::kNeutral: return "neutral";
  }
  return "invalid_profile";
}

Status validate_thing_name(std::string_view name, TopicProfile profile, ErrorText* why) {
  return validate_name(name, profile, kMaxThingName, "thing name", why);
}

Status validate_topic_name(std::string_view topic, TopicProfile profile, ErrorText* why) {
  return check_topic(topic, profile, TopicKind::kName, why);
}

Status validate_topic_filter(std::string_view filter, TopicProfile profile, ErrorText* why) {
  return check_topic(filter, profile, TopicKind::kFilter, why);
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  if (contains_wildcard(topic)) return false;  // not a topic name
  if ((filter[0] == '+' || filter[0] == '#') && topic[0] == '$') return false;
  std::size_t f = 0;
  std::size_t t = 0;
  bool topic_done = false;  // every level of the topic has been matched
  for (;;) {
    std::size_t fe = filter.find('/', f);
    if (fe == std::string_view::npos) fe = filter.size();
    const std::string_view flevel = filter.substr(f, fe - f);
    const bool filter_last = fe == filter.size();
    if (flevel == "#") return filter_last;  // the rest, including no level at all (the parent)
    if (topic_done) return false;
    std::size_t te = topic.find('/', t);
    if (te == std::string_view::npos) te = topic.size();
    const std::string_view tlevel = topic.substr(t, te - t);
    const bool topic_last = te == topic.size();
    if (flevel != "+") {
      if (contains_wildcard(flevel)) return false;  // malformed filter matches nothing
      if (flevel != tlevel) return false;
    }
    if (filter_last) return topic_last;
    f = fe + 1;
    if (topic_last) {
      topic_done = true;
    } else {
      t = te + 1;
    }
  }
}

Result<std::string_view> TopicScheme::build(Span<char> out, TopicFamily family, std::string_view name,
                                            std::string_view suffix) const {
  const Status thing_status = validate_thing_name(thing_, profile_);
  TETHER_EXPECTS(thing_status.ok());
  if (!thing_status.ok()) return thing_status;

  const bool aws = profile_ == TopicProfile::kAws;
  std::string_view parts[7];
  std::size_t count = 0;
  const auto add = [&](std::string_view part) { parts[count++] = part; };

  switch (family) {
    case TopicFamily::kShadow:
      if (!name.empty()) {
        TETHER_RETURN_IF_ERROR(validate_name(name, profile_, kMaxShadowName, "shadow name", nullptr));
        // Neutral: "state/<t>/<s>" would collide with the classic shadow's "state/<t>/{get,update,delete}".
        if (!aws && (name == "get" || name == "update" || name == "delete")) return invalid(0);
      }
      add(aws ? "$aws/things/" : "state/");
      add(thing_);
      if (aws) add("/shadow");
      if (!name.empty()) {
        add(aws ? "/name/" : "/");
        add(name);
      }
      break;
    case TopicFamily::kJobs:
      if (!name.empty()) return invalid(0);
      add(aws ? "$aws/things/" : "cmd/");
      add(thing_);
      add("/jobs");
      break;
    case TopicFamily::kCommands:
      if (!name.empty()) return invalid(0);
      add(aws ? "$aws/commands/things/" : "cmd/");
      add(thing_);
      if (aws) add("/executions");
      break;
    case TopicFamily::kMetrics:
      if (!name.empty()) return invalid(0);
      add(aws ? "$aws/things/" : "things/");
      add(thing_);
      add(aws ? "/defender/metrics" : "/metrics");
      break;
    case TopicFamily::kTelemetry:
      TETHER_RETURN_IF_ERROR(validate_name(name, profile_, kMaxThingName, "stream name", nullptr));
      add("dt/");
      add(thing_);
      add("/");
      add(name);
      break;
    default:
      return invalid(0);
  }

  if (!suffix.empty()) {
    // Whole levels only: no leading, trailing or empty level; wildcards as in filters.
    if (suffix.front() == '/' || suffix.back() == '/') return invalid(suffix.front() == '/' ? 0 : suffix.size() - 1);
    const std::size_t empty_level = suffix.find("//");
    if (empty_level != std::string_view::npos) return invalid(empty_level + 1);
    TETHER_RETURN_IF_ERROR(check_topic_chars(suffix, TopicKind::kSuffix, nullptr));
    add("/");
    add(suffix);
  }

  std::size_t size = 0;
  std::size_t slashes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    size += parts[i].size();
    slashes += count_slashes(parts[i]);
  }
  if (size > kMaxTopic) return out_of_range(size);
  // Only telemetry ("dt/...") is a customer topic under kAws; the other families are reserved
  // "$aws/..." topics, exempt from the slash limit like in validate_topic_name.
  if (aws && parts[0].substr(0, kAwsReservedPrefix.size()) != kAwsReservedPrefix && slashes > kAwsMaxSlashes) {
    return out_of_range(slashes);
  }
  if (size > out.size()) return Status(StatusCode::kResourceExhausted, Origin::kTopic, clamp16(size));

  std::size_t used = 0;
  for (std::size_t i = 0; i < count; ++i) {
    for (char c : parts[i]) out[used++] = c;
  }
  return std::string_view(out.data(), used);
}

}  // namespace tether
