// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: tether::parse_config on arbitrary bytes (a configuration file is outside input).
//
// Invariants checked:
// - the status is ok or one of the documented codes, origin kConfig (kInternal would mean the JSON
//   validator and cJSON disagree); the same without an error text;
// - a failure is explained: "<source>: ..." on one printable ASCII line, NUL-terminated;
// - a success is a usable config: every string NUL-terminated within its capacity with no NUL
//   inside, ranges held, validate_config passes again and changes nothing, and a TopicScheme built
//   from the thing name yields valid topic names;
// - for any input that is valid JSON, the result depends on the document, not its spelling: the
//   canonical rewrite (json::Writer) parses to the same status and text;
// - error texts never depend on (so never quote) the value of tls.key beyond what validation reads
//   (a leading "pkcs11:", "pin-value", "pin-source"): the same document with the rest of that value
//   replaced gives the same status and text.

#include <cstring>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"
#include "tether/topics.hpp"

namespace {

using tether::AgentConfig;
using tether::ErrorText;
using tether::Origin;
using tether::Status;
using tether::StatusCode;

constexpr std::string_view kSource = "fuzz.json";

template <std::size_t N>
void check_fixed_string(const tether::FixedString<N>& s) {
  TETHER_FUZZ_CHECK(s.size() <= N);
  TETHER_FUZZ_CHECK(s.c_str()[s.size()] == '\0');
  TETHER_FUZZ_CHECK(std::strlen(s.c_str()) == s.size());
}

bool same_config(const AgentConfig& a, const AgentConfig& b) {
  return a.thing_name.view() == b.thing_name.view() && a.client_id.view() == b.client_id.view() &&
         a.profile == b.profile && a.broker.endpoint.view() == b.broker.endpoint.view() &&
         a.broker.port == b.broker.port && a.broker.ca_file.view() == b.broker.ca_file.view() &&
         a.broker.cert_file.view() == b.broker.cert_file.view() && a.broker.key.view() == b.broker.key.view() &&
         a.broker.alpn == b.broker.alpn && a.mqtt.version == b.mqtt.version &&
         a.mqtt.keep_alive_s == b.mqtt.keep_alive_s && a.mqtt.clean_session == b.mqtt.clean_session &&
         a.mqtt.session_expiry_s == b.mqtt.session_expiry_s && a.mqtt.connect_timeout == b.mqtt.connect_timeout &&
         a.reconnect.initial == b.reconnect.initial && a.reconnect.max == b.reconnect.max &&
         a.reconnect.fatal_initial == b.reconnect.fatal_initial && a.reconnect.fatal_max == b.reconnect.fatal_max &&
         a.log_level == b.log_level && a.heartbeat.enabled == b.heartbeat.enabled &&
         a.heartbeat.interval_s == b.heartbeat.interval_s;
}

void check_error(Status status, const ErrorText& error) {
  TETHER_FUZZ_CHECK(status.origin() == Origin::kConfig);
  TETHER_FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kOutOfRange ||
                    status.code() == StatusCode::kResourceExhausted);
  check_fixed_string(error);
  const std::string_view text = error.view();
  TETHER_FUZZ_CHECK(text.size() > kSource.size() + 2);
  TETHER_FUZZ_CHECK(text.substr(0, kSource.size() + 2) == "fuzz.json: ");
  TETHER_FUZZ_CHECK(tether::fuzz::is_printable_line(text));
}

void check_valid_config(const AgentConfig& c) {
  check_fixed_string(c.thing_name);
  check_fixed_string(c.client_id);
  check_fixed_string(c.broker.endpoint);
  check_fixed_string(c.broker.ca_file);
  check_fixed_string(c.broker.cert_file);
  check_fixed_string(c.broker.key);
  TETHER_FUZZ_CHECK(validate_thing_name(c.thing_name.view(), c.profile).ok());
  TETHER_FUZZ_CHECK(!c.client_id.empty());
  TETHER_FUZZ_CHECK(!c.broker.endpoint.empty() && !c.broker.ca_file.empty() && !c.broker.cert_file.empty() &&
                    !c.broker.key.empty());
  TETHER_FUZZ_CHECK(c.broker.port >= 1);
  TETHER_FUZZ_CHECK(c.mqtt.version == tether::MqttVersion::k5 || c.mqtt.version == tether::MqttVersion::k3_1_1);
  TETHER_FUZZ_CHECK(c.mqtt.connect_timeout.count() >= 100 && c.mqtt.connect_timeout.count() <= 600000);
  TETHER_FUZZ_CHECK(c.reconnect.initial.count() >= 1 && c.reconnect.initial <= c.reconnect.max);
  TETHER_FUZZ_CHECK(c.reconnect.fatal_initial.count() >= 1 && c.reconnect.fatal_initial <= c.reconnect.fatal_max);
  TETHER_FUZZ_CHECK(c.reconnect.max.count() <= 86400000 && c.reconnect.fatal_max.count() <= 86400000);
  TETHER_FUZZ_CHECK(c.heartbeat.interval_s >= 1 && c.heartbeat.interval_s <= 86400);
  TETHER_FUZZ_CHECK(static_cast<unsigned>(c.log_level) <= static_cast<unsigned>(tether::LogLevel::kTrace));

  // Re-validation passes and is a no-op (the client id default and IPv6 brackets are applied once).
  AgentConfig again = c;
  ErrorText error;
  const Status status = validate_config(again, kSource, &error);
  if (!status.ok()) std::fprintf(stderr, "re-validation failed: %s\n", error.c_str());
  TETHER_FUZZ_CHECK(status.ok());
  TETHER_FUZZ_CHECK(same_config(again, c));

  // The validated thing name builds valid topics (no contract violation, no bad topic).
  const tether::TopicScheme scheme(c.profile, c.thing_name.view());
  char buf[tether::kMaxTopic];
  for (tether::TopicFamily family : {tether::TopicFamily::kShadow, tether::TopicFamily::kJobs,
                                     tether::TopicFamily::kCommands, tether::TopicFamily::kMetrics}) {
    const tether::Result<std::string_view> topic = scheme.build(buf, family);
    TETHER_FUZZ_CHECK(topic.ok());
    TETHER_FUZZ_CHECK(validate_topic_name(*topic, c.profile).ok());
  }
}

struct Outcome {
  Status status;
  ErrorText error;
  AgentConfig config;
};

Outcome parse(std::string_view text) {
  Outcome o;
  o.status = tether::parse_config(text, kSource, o.config, &o.error);
  return o;
}

// tls.key replaced by a string of the same length that differs in every byte but what validation
// reads: a leading "pkcs11:" and any "pin-value" or "pin-source" (the replacement bytes, 'x' and
// 'y', cannot form new ones).
struct ReplaceTlsKey {
  std::string* replacement;
  std::string_view operator()(std::string_view container_key, std::string_view key, std::size_t level,
                              std::string_view value) const {
    if (level != 2 || container_key != "tls" || key != "key") return value;
    replacement->assign(value.size(), 'x');
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == 'x') (*replacement)[i] = 'y';
    }
    const auto keep = [&](std::size_t at, std::size_t n) { replacement->replace(at, n, value.substr(at, n)); };
    if (value.substr(0, 7) == "pkcs11:") keep(0, 7);
    for (std::string_view pin : {std::string_view("pin-value"), std::string_view("pin-source")}) {
      for (std::size_t at = value.find(pin); at != std::string_view::npos; at = value.find(pin, at + 1)) {
        keep(at, pin.size());
      }
    }
    return *replacement;
  }
};

// Rewrites the document (valid JSON) canonically, once as is and once with tls.key replaced, and
// checks that both give what the original gave.
void check_spelling_and_key_independence(std::string_view text, const Outcome& original) {
  const std::size_t capacity = 8 * text.size() + 64;
  std::unique_ptr<char[]> canonical(new char[capacity]);
  std::unique_ptr<char[]> replaced(new char[capacity]);
  std::string replacement;
  tether::Result<std::string_view> canonical_text = Status(StatusCode::kUnknown, Origin::kNone);
  tether::Result<std::string_view> replaced_text = Status(StatusCode::kUnknown, Origin::kNone);
  const Status parsed = tether::json::parse(text, tether::kMaxJsonInput, [&](const tether::json::Value& root) {
    tether::json::Writer a(tether::Span<char>(canonical.get(), capacity));
    tether::fuzz::write_json(a, root, tether::fuzz::Identity{});
    canonical_text = a.finish();
    tether::json::Writer b(tether::Span<char>(replaced.get(), capacity));
    tether::fuzz::write_json(b, root, ReplaceTlsKey{&replacement});
    replaced_text = b.finish();
    return tether::ok_status();
  });
  if (!parsed.ok()) return;  // not JSON: nothing to compare
  // Writing can only run out of room (then there is nothing to compare).
  if (!canonical_text.ok() || !replaced_text.ok()) {
    TETHER_FUZZ_CHECK(canonical_text.status().code() == StatusCode::kResourceExhausted ||
                      replaced_text.status().code() == StatusCode::kResourceExhausted);
    return;
  }
  for (std::string_view rewritten : {*canonical_text, *replaced_text}) {
    const Outcome o = parse(rewritten);
    if (o.status != original.status || o.error.view() != original.error.view()) {
      std::fprintf(stderr, "original:  %s\nrewritten: %.*s\n  gives:   %s\n", original.error.c_str(),
                   static_cast<int>(rewritten.size()), rewritten.data(), o.error.c_str());
    }
    TETHER_FUZZ_CHECK(o.status == original.status);
    TETHER_FUZZ_CHECK(o.error.view() == original.error.view());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tether::fuzz::as_text(data, size);
  const Outcome o = parse(text);

  AgentConfig quiet;
  TETHER_FUZZ_CHECK(tether::parse_config(text, kSource, quiet, nullptr) == o.status);

  if (o.status.ok()) {
    check_valid_config(o.config);
    TETHER_FUZZ_CHECK(same_config(quiet, o.config));
  } else {
    check_error(o.status, o.error);
  }
  check_spelling_and_key_independence(text, o);
  return 0;
}
