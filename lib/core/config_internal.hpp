// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Private to lib/core: the configuration reader, shared by config.cpp (the document, the general
// sections, validation) and config_sections.cpp (the feature sections: commands, metrics, pkcs11).

#include <array>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "tether/config.hpp"
#include "tether/decimal.hpp"
#include "tether/json.hpp"

#if defined(__GNUC__)
#define TETHER_CONFIG_PRINTF_(fmt_index, args_index) __attribute__((format(printf, fmt_index, args_index)))
#else
#define TETHER_CONFIG_PRINTF_(fmt_index, args_index)
#endif

namespace tether::config_detail {

constexpr std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

inline int as_int(std::size_t n) { return n > 0x7FFF ? 0x7FFF : static_cast<int>(n); }

struct Ctx {
  std::string_view source;
  ErrorText* error;
};

// Returns code/kConfig/detail and writes "<source>: <section>.<key>: <problem>" (empty parts left
// out) into ctx.error.
TETHER_CONFIG_PRINTF_(6, 7)
Status fail(const Ctx& ctx, StatusCode code, std::uint16_t detail, std::string_view section, std::string_view key,
            const char* format, ...);

// `"text"` for an error message: at most 32 bytes, non-printable and non-ASCII bytes shown as '?'
// (error texts end up in logs; they must stay one printable line).
struct Quoted {
  char text[48];
};
Quoted quote(std::string_view s);

// What a JSON value is, for "got ..." in error texts.
struct Described {
  char text[64];
};
Described describe(const json::Value& v);

inline bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// IP literals as written in configuration files (IPv6 may carry a zone id: fe80::1%eth0).
bool valid_ipv4(std::string_view s);
bool valid_ipv6(std::string_view s);

Status check_range(const Ctx& ctx, std::string_view section, std::string_view key, std::int64_t value,
                   std::int64_t min, std::int64_t max);

// config_sections.cpp: what validate_config checks in the feature sections.
Status check_commands(const Ctx& ctx, const CommandsConfig& c);
Status check_metrics(const Ctx& ctx, TopicProfile profile, const MetricsConfig& m);
// The "pkcs11" section when enabled, and always the cross-check with `tls_key`: a `pkcs11:` URI
// needs the section and must not carry a PIN.
Status check_pkcs11(const Ctx& ctx, std::string_view tls_key, const Pkcs11Config& p);
// config_gpio.cpp
Status check_gpio(const Ctx& ctx, const GpioConfig& g);

// ---------------------------------------------------------------------------------------------
// Reading the JSON document

class Reader {
 public:
  Reader(const Ctx& ctx, AgentConfig& out) : ctx_(ctx), out_(out) {}

  Status root(const json::Value& doc);

 private:
  template <std::size_t N>
  static constexpr std::size_t count_of(const std::string_view (&)[N]) {
    return N;
  }

  // Unknown and duplicate keys are errors: a typo must not silently fall back to a default.
  Status check_keys(const json::Value& object, std::string_view section, const std::string_view* known,
                    std::size_t known_count) const {
    std::size_t index = 0;
    for (json::Value m = object.first_child(); m.valid(); m = m.next(), ++index) {
      const std::string_view key = m.key();
      json::Value earlier = object.first_child();
      for (std::size_t j = 0; j < index; ++j, earlier = earlier.next()) {
        if (earlier.key() == key) {
          return fail(ctx_, StatusCode::kInvalidArgument, 0, section, {}, "duplicate key %s", quote(key).text);
        }
      }
      bool is_known = false;
      for (std::size_t k = 0; k < known_count && !is_known; ++k) is_known = known[k] == key;
      if (!is_known) return fail(ctx_, StatusCode::kInvalidArgument, 0, section, {}, "unknown key %s", quote(key).text);
    }
    return ok_status();
  }

  Status require(const json::Value& object, std::string_view section, std::string_view key) const {
    if (object[key].valid()) return ok_status();
    return fail(ctx_, StatusCode::kInvalidArgument, 0, section, {}, "missing required key %s", quote(key).text);
  }

  Status expect_object(const json::Value& v, std::string_view key) const {
    if (v.is_object()) return ok_status();
    return fail(ctx_, StatusCode::kInvalidArgument, 0, {}, key, "must be an object, got %s", describe(v).text);
  }

  template <std::size_t N>
  Status read_string(const json::Value& object, std::string_view section, std::string_view key,
                     FixedString<N>& out) const {
    const json::Value v = object[key];
    if (!v.valid()) return ok_status();
    const Result<std::string_view> s = v.as_string();
    if (!s.ok()) return fail(ctx_, StatusCode::kInvalidArgument, 0, section, key, "must be a string, got %s", describe(v).text);
    if (s->size() > N) {
      return fail(ctx_, StatusCode::kOutOfRange, clamp16(s->size()), section, key, "too long (%lu bytes, at most %lu)",
                  static_cast<unsigned long>(s->size()), static_cast<unsigned long>(N));
    }
    out.assign(*s).ignore();  // fits: checked above
    return ok_status();
  }

  // Reads an integer in [min, max] into `*out` when the key is present.
  template <typename T>
  Status read_int(const json::Value& object, std::string_view section, std::string_view key, std::int64_t min,
                  std::int64_t max, T* out) const {
    const json::Value v = object[key];
    if (!v.valid()) return ok_status();
    const Result<std::int64_t> n = v.as_int();
    if (!n.ok() || *n < min || *n > max) {
      const StatusCode code = v.is_number() && n.status().code() != StatusCode::kInvalidArgument
                                  ? StatusCode::kOutOfRange
                                  : StatusCode::kInvalidArgument;
      return fail(ctx_, code, 0, section, key, "must be an integer between %s and %s, got %s", Decimal(min).c_str(),
                  Decimal(max).c_str(), describe(v).text);
    }
    *out = static_cast<T>(*n);
    return ok_status();
  }

  Status read_ms(const json::Value& object, std::string_view section, std::string_view key, std::int64_t min,
                 std::int64_t max, Milliseconds* out) const {
    std::int64_t ms = out->count();
    TETHER_RETURN_IF_ERROR(read_int(object, section, key, min, max, &ms));
    *out = Milliseconds(ms);
    return ok_status();
  }

  Status read_bool(const json::Value& object, std::string_view section, std::string_view key, bool* out) const {
    const json::Value v = object[key];
    if (!v.valid()) return ok_status();
    const Result<bool> b = v.as_bool();
    if (!b.ok()) return fail(ctx_, StatusCode::kInvalidArgument, 0, section, key, "must be true or false, got %s", describe(v).text);
    *out = *b;
    return ok_status();
  }

  Status read_tls(const json::Value& tls);
  Status read_mqtt(const json::Value& mqtt);
  Status read_reconnect(const json::Value& reconnect);
  Status read_log(const json::Value& log);
  Status read_heartbeat(const json::Value& heartbeat);
  Status read_offline_queue(const json::Value& queue);
  Status read_stream(const json::Value& stream, QueueStreamConfig* out);
  // config_sections.cpp
  Status read_commands(const json::Value& commands);
  Status read_run_entry(const json::Value& entry, std::size_t index, RunCommandConfig* out);
  Status read_metrics(const json::Value& metrics);
  Status read_metrics_rules(const json::Value& rules);
  Status read_ports(const json::Value& object, std::string_view section, std::string_view key,
                    std::array<std::uint16_t, kMaxMetricsRuleItems>& out, std::size_t* count, bool* present);
  Status read_pkcs11(const json::Value& pkcs11);
  // config_gpio.cpp
  Status read_gpio(const json::Value& gpio);
  Status read_gpio_lines(const json::Value& gpio, std::string_view key, GpioDirection direction);

  // Reads a string that must be one of `names` into `*out` (the matching entry of `values`).
  template <typename T, std::size_t N>
  Status read_choice(const json::Value& object, std::string_view section, std::string_view key,
                     const std::string_view (&names)[N], const T (&values)[N], const char* expected, T* out) const {
    const json::Value v = object[key];
    if (!v.valid()) return ok_status();
    const std::string_view s = v.as_string().value_or("");
    for (std::size_t i = 0; i < N; ++i) {
      if (v.is_string() && s == names[i]) {
        *out = values[i];
        return ok_status();
      }
    }
    return fail(ctx_, StatusCode::kInvalidArgument, 0, section, key, "must be %s, got %s", expected, describe(v).text);
  }

  const Ctx& ctx_;
  AgentConfig& out_;
};

}  // namespace tether::config_detail
