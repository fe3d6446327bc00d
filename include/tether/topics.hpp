// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Topic names and thing names: validation, matching and the two topic profiles.
///
/// Pure functions over bytes (no I/O, no heap). Topics are built only from validated thing names.
///
/// Profiles (DESIGN.md §6):
/// | family      | kAws                                        | kNeutral (IoT Atlas)          |
/// |-------------|---------------------------------------------|-------------------------------|
/// | shadow      | `$aws/things/<t>/shadow[/name/<s>]`          | `state/<t>[/<s>]`             |
/// | jobs        | `$aws/things/<t>/jobs`                       | `cmd/<t>/jobs`                |
/// | commands    | `$aws/commands/things/<t>/executions`        | `cmd/<t>`                     |
/// | metrics     | `$aws/things/<t>/defender/metrics`           | `things/<t>/metrics`          |
/// | telemetry   | `dt/<t>/<stream>`                            | `dt/<t>/<stream>`             |

#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

namespace tether {

enum class TopicProfile : std::uint8_t { kAws, kNeutral };

enum class TopicFamily : std::uint8_t { kShadow, kJobs, kCommands, kMetrics, kTelemetry };

const char* to_string(TopicProfile profile);

/// Validates a thing name: 1..kMaxThingName (128) bytes; never `+`, `#`, `/`, NUL or a leading `$`;
/// under kAws only `[a-zA-Z0-9:_-]` (the AWS IoT thing-name pattern); under kNeutral valid UTF-8
/// without control characters (C0, DEL, C1) or noncharacters. Returns ok, kInvalidArgument/kTopic
/// (detail = byte offset of the first bad byte) or kOutOfRange/kTopic (empty or too long; detail =
/// length). `why` (optional) says what and where: "character '/' at byte 3 is not allowed in a
/// thing name". Byte offsets count from 0.
Status validate_thing_name(std::string_view name, TopicProfile profile, ErrorText* why = nullptr);

/// Validates a topic name to publish to: 1..kMaxTopic bytes, no wildcards, valid UTF-8 without
/// U+0000, control characters (U+0001..U+001F, U+007F..U+009F) or noncharacters (MQTT says topics
/// should not hold them and brokers such as mosquitto drop the connection over them); under kAws
/// at most 7 `/`, where Basic Ingest topics (`$aws/rules/<rule>/...`, rule name not empty) count
/// only the slashes after that prefix (`$aws/rules//...` counts them all) and other AWS reserved
/// topics (`$aws/...`, whose shape AWS defines: the Commands response topics have 8) are exempt.
/// Returns ok, kInvalidArgument/kTopic (detail = byte offset) or kOutOfRange/kTopic (empty or too
/// long: detail = length; too many `/`: detail = their count), e.g. "topic has 8 '/' (AWS IoT
/// allows at most 7)".
Status validate_topic_name(std::string_view topic, TopicProfile profile, ErrorText* why = nullptr);

/// Validates a subscription filter: the rules of validate_topic_name, except that `#` may appear as
/// the whole last level and `+` as a whole level.
Status validate_topic_filter(std::string_view filter, TopicProfile profile, ErrorText* why = nullptr);

/// MQTT matching of a topic name against a filter (`+` one level, possibly empty; `#` the rest,
/// including the parent level: `a/#` matches `a`). Filters starting with a wildcard never match
/// topics starting with `$`. A malformed filter (`a#`, `a/#/b`) or a topic holding a wildcard
/// matches nothing.
bool topic_matches(std::string_view filter, std::string_view topic);

/// Builds topics for one thing under one profile into caller buffers.
class TopicScheme {
 public:
  /// `thing_name` must have passed validate_thing_name for `profile` and outlive the scheme.
  TopicScheme(TopicProfile profile, std::string_view thing_name)
      : profile_(profile), thing_(thing_name) {}

  TopicProfile profile() const { return profile_; }
  std::string_view thing_name() const { return thing_; }

  /// The root of a family (table above) followed by `/suffix` when `suffix` is not empty. For
  /// kShadow, `name` selects a named shadow (empty = classic; at most 64 bytes, validated like a
  /// thing name; under kNeutral not `get`, `update` or `delete`, which would collide with the
  /// classic shadow's topics); for kTelemetry, `name` is the stream (required, validated like a
  /// thing name); other families take no name. `suffix` is one or more non-empty levels; it may hold
  /// the filter wildcards `+` and `#` as whole levels (`#` last) to build subscription filters.
  /// Returns the topic as a view into `out` (not NUL-terminated), or (origin kTopic):
  /// - kInvalidArgument (detail = byte offset in the name or suffix): a bad name or suffix, or a
  ///   name given to a family without names
  /// - whatever validate_thing_name returns for a thing name that fails it (also a contract
  ///   violation)
  /// - kOutOfRange: a missing or over-long name (detail = its length); a topic longer than kMaxTopic
  ///   (detail = its length) or, under kAws, a telemetry topic with more than 7 `/` (detail = their
  ///   count; the other AWS families are reserved `$aws/` topics, see validate_topic_name)
  /// - kResourceExhausted (detail = the topic's length): `out` is too small.
  Result<std::string_view> build(Span<char> out, TopicFamily family, std::string_view name = {},
                                 std::string_view suffix = {}) const;

 private:
  TopicProfile profile_;
  std::string_view thing_;
};

}  // namespace tether
