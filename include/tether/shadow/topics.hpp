// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Shadow topics (pure): the request and response topics of one shadow (classic or named) under a
/// topic profile, and which response an inbound topic is.
///
/// | profile  | classic                      | named                                   |
/// |----------|------------------------------|-----------------------------------------|
/// | kAws     | `$aws/things/<t>/shadow/...` | `$aws/things/<t>/shadow/name/<s>/...`    |
/// | kNeutral | `state/<t>/...`              | `state/<t>/<s>/...`                     |

#include <cstdint>
#include <string_view>

#include "tether/fixed_string.hpp"
#include "tether/limits.hpp"
#include "tether/result.hpp"
#include "tether/topics.hpp"

namespace tether::shadow {

enum class Topic : std::uint8_t {
  kGet,
  kUpdate,
  kDelete,
  kGetAccepted,
  kGetRejected,
  kUpdateAccepted,
  kUpdateRejected,
  kUpdateDelta,
  kUpdateDocuments,
  kDeleteAccepted,
  kDeleteRejected,
};
inline constexpr std::size_t kTopicCount = 11;

/// The suffix after the shadow's prefix: "get", "update/delta", ...
const char* suffix(Topic topic);

class ShadowTopics {
 public:
  /// Builds the prefix for `shadow_name` (empty = classic) under `scheme`. Returns ok or the
  /// TopicScheme::build error (bad or over-long shadow name: kInvalidArgument / kOutOfRange, origin
  /// kTopic), or kOutOfRange/kTopic when the longest topic of the shadow would exceed kMaxTopic.
  Status init(const TopicScheme& scheme, std::string_view shadow_name, ErrorText* why = nullptr);

  /// `<prefix>/<suffix>`. Contract: init() succeeded.
  std::string_view build(Topic topic, FixedString<kMaxTopic>& out) const;

  /// Which of this shadow's topics `topic` is; false when it is none of them.
  bool match(std::string_view topic, Topic& which) const;

  std::string_view prefix() const { return prefix_.view(); }

 private:
  FixedString<kMaxTopic> prefix_;
};

}  // namespace tether::shadow
