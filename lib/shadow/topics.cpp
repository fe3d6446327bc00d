// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/shadow/topics.hpp"

#include <cstring>

#include "tether/contract.hpp"

namespace tether::shadow {
namespace {
constexpr const char* kSuffixes[kTopicCount] = {
    "get",           "update",          "delete",       "get/accepted",     "get/rejected",     "update/accepted",
    "update/rejected", "update/delta", "update/documents", "delete/accepted", "delete/rejected",
};
constexpr std::size_t kLongestSuffix = sizeof("update/documents") - 1;

bool is_printable_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}
}  // namespace

const char* suffix(Topic topic) { return kSuffixes[static_cast<std::size_t>(topic)]; }

Status ShadowTopics::init(const TopicScheme& scheme, std::string_view shadow_name, ErrorText* why) {
  char buf[kMaxTopic];
  Result<std::string_view> prefix = scheme.build(Span<char>(buf, sizeof buf), TopicFamily::kShadow, shadow_name);
  if (!prefix.ok()) {
    const Status s = prefix.status();
    const char* const detail_is = s.code() == StatusCode::kInvalidArgument ? "at byte" : "length";
    if (is_printable_ascii(shadow_name)) {
      set_error_text(why, "shadow name \"%.*s\" cannot form a topic (%s, %s %u)", static_cast<int>(shadow_name.size()),
                     shadow_name.data(), to_string(s.code()), detail_is, static_cast<unsigned>(s.detail()));
    } else {  // never copy control characters or broken UTF-8 into a text that gets logged
      set_error_text(why, "shadow name of %u bytes cannot form a topic (%s, %s %u)",
                     static_cast<unsigned>(shadow_name.size()), to_string(s.code()), detail_is,
                     static_cast<unsigned>(s.detail()));
    }
    return s;
  }
  if (prefix.value().size() + 1 + kLongestSuffix > kMaxTopic) {
    set_error_text(why, "shadow topics under \"%.*s\" would exceed %u bytes", static_cast<int>(prefix.value().size()),
                   prefix.value().data(), static_cast<unsigned>(kMaxTopic));
    return Status(StatusCode::kOutOfRange, Origin::kTopic, static_cast<std::uint16_t>(prefix.value().size()));
  }
  return prefix_.assign(prefix.value());
}

std::string_view ShadowTopics::build(Topic topic, FixedString<kMaxTopic>& out) const {
  TETHER_EXPECTS(!prefix_.empty());
  out.assign(prefix_.view()).ignore();
  out.append("/").ignore();
  out.append(suffix(topic)).ignore();  // fits: checked in init()
  return out.view();
}

bool ShadowTopics::match(std::string_view topic, Topic& which) const {
  const std::string_view prefix = prefix_.view();
  if (prefix.empty() || topic.size() <= prefix.size() + 1 || topic.substr(0, prefix.size()) != prefix ||
      topic[prefix.size()] != '/') {
    return false;
  }
  const std::string_view rest = topic.substr(prefix.size() + 1);
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    if (rest == kSuffixes[i]) {
      which = static_cast<Topic>(i);
      return true;
    }
  }
  return false;
}

}  // namespace tether::shadow
