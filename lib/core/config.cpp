// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/config.hpp"

#include <cstdio>
#include <new>
#include <type_traits>

#include "config_internal.hpp"
#include "tether/decimal.hpp"
#include "tether/json.hpp"
#include "text_util.hpp"

namespace tether {
namespace config_detail {

Status fail(const Ctx& ctx, StatusCode code, std::uint16_t detail, std::string_view section, std::string_view key,
            const char* format, ...) {
  if (ctx.error != nullptr) {
    char problem[ErrorText::kCapacity + 1];
    va_list args;
    va_start(args, format);
    std::vsnprintf(problem, sizeof problem, format, args);
    va_end(args);
    char path[96] = "";
    if (!section.empty() && !key.empty()) {
      std::snprintf(path, sizeof path, "%.*s.%.*s: ", as_int(section.size()), section.data(), as_int(key.size()),
                    key.data());
    } else if (!section.empty() || !key.empty()) {
      const std::string_view one = section.empty() ? key : section;
      std::snprintf(path, sizeof path, "%.*s: ", as_int(one.size()), one.data());
    }
    set_error_text(ctx.error, "%.*s%s%s%s", as_int(ctx.source.size()), ctx.source.data(),
                   ctx.source.empty() ? "" : ": ", path, problem);
  }
  return Status(code, Origin::kConfig, detail);
}

Quoted quote(std::string_view s) {
  Quoted q{};
  constexpr std::size_t kShown = 32;
  std::size_t n = 0;
  q.text[n++] = '"';
  for (std::size_t i = 0; i < s.size() && i < kShown; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    q.text[n++] = b >= 0x20 && b < 0x7F ? static_cast<char>(b) : '?';
  }
  if (s.size() > kShown) {
    for (char c : {'.', '.', '.'}) q.text[n++] = c;
  }
  q.text[n++] = '"';
  q.text[n] = '\0';
  return q;
}

Described describe(const json::Value& v) {
  Described d{};
  switch (v.type()) {
    case json::Type::kString:
      std::snprintf(d.text, sizeof d.text, "string %s", quote(v.as_string().value_or({})).text);
      break;
    case json::Type::kNumber: {
      const Result<double> number = v.as_double();
      if (number.ok()) {
        char buf[32];
        const std::size_t len = detail::format_double(*number, buf);
        if (len > 0) {
          std::snprintf(d.text, sizeof d.text, "%.*s", as_int(len), buf);
        } else {  // a C library without floating point in printf
          std::snprintf(d.text, sizeof d.text, "a number");
        }
      } else {
        std::snprintf(d.text, sizeof d.text, "a number beyond the range of a double");
      }
      break;
    }
    case json::Type::kBool: std::snprintf(d.text, sizeof d.text, "%s", v.as_bool().value_or(false) ? "true" : "false"); break;
    case json::Type::kNull: std::snprintf(d.text, sizeof d.text, "null"); break;
    case json::Type::kArray: std::snprintf(d.text, sizeof d.text, "an array"); break;
    case json::Type::kObject: std::snprintf(d.text, sizeof d.text, "an object"); break;
    case json::Type::kInvalid: std::snprintf(d.text, sizeof d.text, "nothing"); break;
  }
  return d;
}

bool valid_ipv4(std::string_view s) {
  std::size_t parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    unsigned value = 0;
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i]) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (digits > 1 && s[start] == '0') return false;  // leading zeros read as octal by some resolvers
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

bool valid_ipv6(std::string_view s) {
  const std::size_t percent = s.find('%');
  if (percent != std::string_view::npos) {  // zone id (RFC 6874): fe80::1%eth0
    const std::string_view zone = s.substr(percent + 1);
    if (zone.empty()) return false;
    for (char c : zone) {
      if (!is_alnum(c) && c != '.' && c != '_' && c != '~' && c != '-') return false;
    }
    s = s.substr(0, percent);
  }
  std::size_t groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s.substr(0, 1) == ":") {
    return false;
  }
  for (;;) {
    const std::size_t start = i;
    while (i < s.size() && is_hex(s[i]) && i - start <= 4) ++i;
    if (i < s.size() && s[i] == '.') {  // an embedded IPv4 address ends the literal
      if (!valid_ipv4(s.substr(start))) return false;
      groups += 2;
      break;
    }
    const std::size_t digits = i - start;
    if (digits == 0 || digits > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// Checks a broker address and strips the brackets of "[IPv6]". Errors name `endpoint`.

Status check_range(const Ctx& ctx, std::string_view section, std::string_view key, std::int64_t value,
                   std::int64_t min, std::int64_t max) {
  if (value >= min && value <= max) return ok_status();
  return fail(ctx, StatusCode::kOutOfRange, 0, section, key, "must be an integer between %s and %s, got %s",
              Decimal(min).c_str(), Decimal(max).c_str(), Decimal(value).c_str());
}

}  // namespace config_detail

namespace {

using namespace config_detail;

// Ranges that the field types alone do not enforce (docs/configuration.md).
constexpr std::int64_t kMinConnectTimeoutMs = 100;
constexpr std::int64_t kMaxConnectTimeoutMs = 600000;
constexpr std::int64_t kMinBackoffMs = 1;
constexpr std::int64_t kMaxBackoffMs = 86400000;  // one day
constexpr std::int64_t kMinHeartbeatS = 1;
constexpr std::int64_t kMaxHeartbeatS = 86400;
constexpr std::size_t kMaxHostLabel = 63;

// ---------------------------------------------------------------------------------------------
// Host names and IP literals

Status check_endpoint(const Ctx& ctx, FixedString<kMaxHost>& endpoint) {
  std::string_view host = endpoint.view();
  if (host.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint", "must not be empty");
  if (host.find("://") != std::string_view::npos) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint",
                "must be a host name or IP address without a scheme, got %s", quote(host).text);
  }
  if (host.front() == '[') {
    const std::string_view inner = host.substr(1, host.size() >= 2 ? host.size() - 2 : 0);
    if (host.back() != ']' || host.size() < 2 || !valid_ipv6(inner)) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint",
                  "not a valid bracketed IPv6 address (no port allowed; use \"port\"), got %s", quote(host).text);
    }
    endpoint.assign(inner).ignore();  // shorter than before: cannot fail
    return ok_status();
  }
  if (host.find(':') != std::string_view::npos) {
    if (valid_ipv6(host)) return ok_status();
    const std::size_t colon = host.rfind(':');
    bool port_like = colon + 1 < host.size() && host.find(':') == colon;
    for (std::size_t i = colon + 1; i < host.size(); ++i) port_like = port_like && is_digit(host[i]);
    if (port_like) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint",
                  "must not include a port (use \"port\"), got %s", quote(host).text);
    }
    return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint", "not a valid IPv6 address, got %s",
                quote(host).text);
  }
  bool numeric = true;
  for (char c : host) numeric = numeric && (is_digit(c) || c == '.');
  if (numeric) {
    if (valid_ipv4(host)) return ok_status();
    return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "endpoint", "not a valid IPv4 address, got %s",
                quote(host).text);
  }
  // A DNS name: labels of 1..63 letters, digits, '-' (not first or last) or '_', one optional final '.'.
  const std::string_view name = host.back() == '.' ? host.substr(0, host.size() - 1) : host;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      const std::size_t length = i - label_start;
      if (length == 0) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "endpoint",
                    "empty label at byte %lu in a host name", static_cast<unsigned long>(i));
      }
      if (length > kMaxHostLabel) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(label_start), {}, "endpoint",
                    "label at byte %lu is longer than %lu bytes", static_cast<unsigned long>(label_start),
                    static_cast<unsigned long>(kMaxHostLabel));
      }
      if (name[label_start] == '-' || name[i - 1] == '-') {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(label_start), {}, "endpoint",
                    "label at byte %lu must not start or end with '-'", static_cast<unsigned long>(label_start));
      }
      label_start = i + 1;
      continue;
    }
    const char c = name[i];
    if (!is_alnum(c) && c != '-' && c != '_') {
      const auto b = static_cast<unsigned char>(c);
      if (b >= 0x20 && b < 0x7F) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "endpoint",
                    "character '%c' at byte %lu is not allowed in a host name", c, static_cast<unsigned long>(i));
      }
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "endpoint",
                  "byte 0x%02X at byte %lu is not allowed in a host name", static_cast<unsigned>(b),
                  static_cast<unsigned long>(i));
    }
  }
  return ok_status();
}

Status check_path(const Ctx& ctx, std::string_view key, std::string_view path) {
  if (path.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, "tls", key, "must not be empty");
  const std::size_t nul = path.find('\0');
  if (nul != std::string_view::npos) {
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(nul), "tls", key, "must not contain NUL (byte %lu)",
                static_cast<unsigned long>(nul));
  }
  return ok_status();
}

// Client ids: printable ASCII without spaces (what every broker accepts and logs can show).
Status check_client_id(const Ctx& ctx, std::string_view id, bool defaulted) {
  const char* origin = defaulted ? "defaults to the thing name, but " : "";
  const char* hint = defaulted ? "; set client_id" : "";
  if (id.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "client_id", "must not be empty");
  if (id.size() > kMaxClientId) {
    return fail(ctx, StatusCode::kOutOfRange, clamp16(id.size()), {}, "client_id",
                "%stoo long (%lu bytes, at most %lu)%s", origin, static_cast<unsigned long>(id.size()),
                static_cast<unsigned long>(kMaxClientId), hint);
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto b = static_cast<unsigned char>(id[i]);
    if (b > 0x20 && b < 0x7F) continue;
    if (b == ' ') {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "client_id",
                  "%scharacter ' ' at byte %lu is not allowed (printable ASCII without spaces only)%s", origin,
                  static_cast<unsigned long>(i), hint);
    }
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "client_id",
                "%sbyte 0x%02X at byte %lu is not allowed (printable ASCII without spaces only)%s", origin,
                static_cast<unsigned>(b), static_cast<unsigned long>(i), hint);
  }
  return ok_status();
}

Status validate(const Ctx& ctx, AgentConfig& config) {
  if (config.profile != TopicProfile::kAws && config.profile != TopicProfile::kNeutral) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "profile", "must be \"aws\" or \"neutral\"");
  }
  if (config.thing_name.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "thing_name", "must not be empty");
  ErrorText why;
  const Status thing = validate_thing_name(config.thing_name.view(), config.profile, &why);
  if (!thing.ok()) return fail(ctx, thing.code(), thing.detail(), {}, "thing_name", "%s", why.c_str());

  const bool defaulted = config.client_id.empty();
  const std::string_view client_id = defaulted ? config.thing_name.view() : config.client_id.view();
  TETHER_RETURN_IF_ERROR(check_client_id(ctx, client_id, defaulted));

  TETHER_RETURN_IF_ERROR(check_endpoint(ctx, config.broker.endpoint));
  TETHER_RETURN_IF_ERROR(check_range(ctx, {}, "port", config.broker.port, 1, 65535));
  TETHER_RETURN_IF_ERROR(check_path(ctx, "ca_file", config.broker.ca_file.view()));
  TETHER_RETURN_IF_ERROR(check_path(ctx, "cert_file", config.broker.cert_file.view()));
  TETHER_RETURN_IF_ERROR(check_path(ctx, "key", config.broker.key.view()));

  if (config.mqtt.version != MqttVersion::k5 && config.mqtt.version != MqttVersion::k3_1_1) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "mqtt", "version", "must be 5 or 3.1.1");
  }
  TETHER_RETURN_IF_ERROR(check_range(ctx, "mqtt", "connect_timeout_ms", config.mqtt.connect_timeout.count(),
                                     kMinConnectTimeoutMs, kMaxConnectTimeoutMs));

  const BackoffSettings& r = config.reconnect;
  TETHER_RETURN_IF_ERROR(check_range(ctx, "reconnect", "initial_ms", r.initial.count(), kMinBackoffMs, kMaxBackoffMs));
  TETHER_RETURN_IF_ERROR(check_range(ctx, "reconnect", "max_ms", r.max.count(), kMinBackoffMs, kMaxBackoffMs));
  TETHER_RETURN_IF_ERROR(
      check_range(ctx, "reconnect", "fatal_initial_ms", r.fatal_initial.count(), kMinBackoffMs, kMaxBackoffMs));
  TETHER_RETURN_IF_ERROR(check_range(ctx, "reconnect", "fatal_max_ms", r.fatal_max.count(), kMinBackoffMs, kMaxBackoffMs));
  if (r.initial > r.max) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "reconnect", "initial_ms",
                "must not exceed reconnect.max_ms (%s), got %s", Decimal(r.max.count()).c_str(),
                Decimal(r.initial.count()).c_str());
  }
  if (r.fatal_initial > r.fatal_max) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "reconnect", "fatal_initial_ms",
                "must not exceed reconnect.fatal_max_ms (%s), got %s", Decimal(r.fatal_max.count()).c_str(),
                Decimal(r.fatal_initial.count()).c_str());
  }

  if (static_cast<unsigned>(config.log_level) > static_cast<unsigned>(LogLevel::kTrace)) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "log", "level", "invalid level");
  }
  TETHER_RETURN_IF_ERROR(
      check_range(ctx, "heartbeat", "interval_s", config.heartbeat.interval_s, kMinHeartbeatS, kMaxHeartbeatS));

  const OfflineQueueConfig& q = config.offline_queue;
  if (q.enabled) {
    if (q.directory.empty()) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, "offline_queue", "directory", "must not be empty");
    }
    if (q.stream_count == 0 || q.stream_count > kMaxStreams) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, "offline_queue", "streams", "must list 1 to %lu streams",
                  static_cast<unsigned long>(kMaxStreams));
    }
    for (std::size_t i = 0; i < q.stream_count && i < kMaxStreams; ++i) {
      if (q.streams[i].settings.encrypt && q.key_file.empty()) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, "offline_queue", "key_file",
                    "is required when a stream sets \"encrypt\" (stream %s)", quote(q.streams[i].name.view()).text);
      }
    }
    if (q.queue.max_inflight < 1 || q.queue.max_inflight > kMaxQueueInflight) {
      return fail(ctx, StatusCode::kOutOfRange, 0, "offline_queue", "max_inflight", "must be between 1 and %lu",
                  static_cast<unsigned long>(kMaxQueueInflight));
    }
  }

  if (config.commands.enabled) TETHER_RETURN_IF_ERROR(check_commands(ctx, config.commands));
  if (config.metrics.enabled) TETHER_RETURN_IF_ERROR(check_metrics(ctx, config.profile, config.metrics));
  TETHER_RETURN_IF_ERROR(check_pkcs11(ctx, config.broker.key.view(), config.pkcs11));  // also when absent
  if (config.gpio.enabled) TETHER_RETURN_IF_ERROR(check_gpio(ctx, config.gpio));

  if (defaulted) config.client_id.assign(client_id).ignore();  // checked to fit above
  return ok_status();
}

}  // namespace

namespace config_detail {

Status Reader::root(const json::Value& doc) {
  if (!doc.is_object()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, {}, {}, "the configuration must be a JSON object, got %s",
                describe(doc).text);
  }
  static constexpr std::string_view kKeys[] = {"thing_name", "client_id", "profile",   "endpoint",      "port",
                                               "tls",        "mqtt",      "reconnect", "log",           "heartbeat",
                                               "offline_queue", "shadow", "commands",  "metrics",       "pkcs11",
                                               "gpio"};
  TETHER_RETURN_IF_ERROR(check_keys(doc, {}, kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(doc, {}, "thing_name"));
  TETHER_RETURN_IF_ERROR(require(doc, {}, "endpoint"));
  TETHER_RETURN_IF_ERROR(require(doc, {}, "tls"));

  TETHER_RETURN_IF_ERROR(read_string(doc, {}, "thing_name", out_.thing_name));
  TETHER_RETURN_IF_ERROR(read_string(doc, {}, "client_id", out_.client_id));
  if (doc["client_id"].valid() && out_.client_id.empty()) {  // leave it out to get the default
    return fail(ctx_, StatusCode::kInvalidArgument, 0, {}, "client_id", "must not be empty");
  }
  if (const json::Value v = doc["profile"]; v.valid()) {
    const std::string_view s = v.as_string().value_or("");
    if (v.is_string() && s == "aws") {
      out_.profile = TopicProfile::kAws;
    } else if (v.is_string() && s == "neutral") {
      out_.profile = TopicProfile::kNeutral;
    } else {
      return fail(ctx_, StatusCode::kInvalidArgument, 0, {}, "profile", "must be \"aws\" or \"neutral\", got %s",
                  describe(v).text);
    }
  }
  TETHER_RETURN_IF_ERROR(read_string(doc, {}, "endpoint", out_.broker.endpoint));
  TETHER_RETURN_IF_ERROR(read_int(doc, {}, "port", 1, 65535, &out_.broker.port));

  TETHER_RETURN_IF_ERROR(read_tls(doc["tls"]));
  if (const json::Value v = doc["mqtt"]; v.valid()) TETHER_RETURN_IF_ERROR(read_mqtt(v));
  if (const json::Value v = doc["reconnect"]; v.valid()) TETHER_RETURN_IF_ERROR(read_reconnect(v));
  if (const json::Value v = doc["log"]; v.valid()) TETHER_RETURN_IF_ERROR(read_log(v));
  if (const json::Value v = doc["heartbeat"]; v.valid()) TETHER_RETURN_IF_ERROR(read_heartbeat(v));
  if (const json::Value v = doc["offline_queue"]; v.valid()) TETHER_RETURN_IF_ERROR(read_offline_queue(v));
  if (const json::Value v = doc["commands"]; v.valid()) TETHER_RETURN_IF_ERROR(read_commands(v));
  if (const json::Value v = doc["metrics"]; v.valid()) TETHER_RETURN_IF_ERROR(read_metrics(v));
  if (const json::Value v = doc["pkcs11"]; v.valid()) TETHER_RETURN_IF_ERROR(read_pkcs11(v));
  if (const json::Value v = doc["gpio"]; v.valid()) TETHER_RETURN_IF_ERROR(read_gpio(v));
  // The shadow section: a later version validates its content; for now it only has to be an object.
  if (const json::Value v = doc["shadow"]; v.valid()) {
    TETHER_RETURN_IF_ERROR(expect_object(v, "shadow"));
    out_.shadow.enabled = true;
  }
  return ok_status();
}

Status Reader::read_tls(const json::Value& tls) {
  TETHER_RETURN_IF_ERROR(expect_object(tls, "tls"));
  static constexpr std::string_view kKeys[] = {"ca_file", "cert_file", "key", "alpn"};
  TETHER_RETURN_IF_ERROR(check_keys(tls, "tls", kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(tls, "tls", "ca_file"));
  TETHER_RETURN_IF_ERROR(require(tls, "tls", "cert_file"));
  TETHER_RETURN_IF_ERROR(require(tls, "tls", "key"));
  TETHER_RETURN_IF_ERROR(read_string(tls, "tls", "ca_file", out_.broker.ca_file));
  TETHER_RETURN_IF_ERROR(read_string(tls, "tls", "cert_file", out_.broker.cert_file));
  TETHER_RETURN_IF_ERROR(read_string(tls, "tls", "key", out_.broker.key));  // a path or a pkcs11: URI
  return read_bool(tls, "tls", "alpn", &out_.broker.alpn);
}

Status Reader::read_mqtt(const json::Value& mqtt) {
  TETHER_RETURN_IF_ERROR(expect_object(mqtt, "mqtt"));
  static constexpr std::string_view kKeys[] = {"version", "keep_alive_s", "clean_session", "session_expiry_s",
                                               "connect_timeout_ms"};
  TETHER_RETURN_IF_ERROR(check_keys(mqtt, "mqtt", kKeys, count_of(kKeys)));
  if (const json::Value v = mqtt["version"]; v.valid()) {
    const std::string_view s = v.as_string().value_or("");
    const std::int64_t n = v.as_int().value_or(0);
    if ((v.is_number() && n == 5) || (v.is_string() && s == "5")) {
      out_.mqtt.version = MqttVersion::k5;
    } else if (v.is_string() && s == "3.1.1") {
      out_.mqtt.version = MqttVersion::k3_1_1;
    } else {
      return fail(ctx_, StatusCode::kInvalidArgument, 0, "mqtt", "version", "must be 5, \"5\" or \"3.1.1\", got %s",
                  describe(v).text);
    }
  }
  TETHER_RETURN_IF_ERROR(read_int(mqtt, "mqtt", "keep_alive_s", 0, 65535, &out_.mqtt.keep_alive_s));
  TETHER_RETURN_IF_ERROR(read_bool(mqtt, "mqtt", "clean_session", &out_.mqtt.clean_session));
  TETHER_RETURN_IF_ERROR(read_int(mqtt, "mqtt", "session_expiry_s", 0, 4294967295LL, &out_.mqtt.session_expiry_s));
  return read_ms(mqtt, "mqtt", "connect_timeout_ms", kMinConnectTimeoutMs, kMaxConnectTimeoutMs,
                 &out_.mqtt.connect_timeout);
}

Status Reader::read_reconnect(const json::Value& reconnect) {
  TETHER_RETURN_IF_ERROR(expect_object(reconnect, "reconnect"));
  static constexpr std::string_view kKeys[] = {"initial_ms", "max_ms", "fatal_initial_ms", "fatal_max_ms"};
  TETHER_RETURN_IF_ERROR(check_keys(reconnect, "reconnect", kKeys, count_of(kKeys)));
  BackoffSettings& r = out_.reconnect;
  TETHER_RETURN_IF_ERROR(read_ms(reconnect, "reconnect", "initial_ms", kMinBackoffMs, kMaxBackoffMs, &r.initial));
  TETHER_RETURN_IF_ERROR(read_ms(reconnect, "reconnect", "max_ms", kMinBackoffMs, kMaxBackoffMs, &r.max));
  TETHER_RETURN_IF_ERROR(
      read_ms(reconnect, "reconnect", "fatal_initial_ms", kMinBackoffMs, kMaxBackoffMs, &r.fatal_initial));
  return read_ms(reconnect, "reconnect", "fatal_max_ms", kMinBackoffMs, kMaxBackoffMs, &r.fatal_max);
}

Status Reader::read_log(const json::Value& log) {
  TETHER_RETURN_IF_ERROR(expect_object(log, "log"));
  static constexpr std::string_view kKeys[] = {"level"};
  TETHER_RETURN_IF_ERROR(check_keys(log, "log", kKeys, count_of(kKeys)));
  const json::Value v = log["level"];
  if (!v.valid()) return ok_status();
  const std::string_view s = v.as_string().value_or("");
  for (LogLevel level : {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug, LogLevel::kTrace}) {
    if (v.is_string() && s == to_string(level)) {
      out_.log_level = level;
      return ok_status();
    }
  }
  return fail(ctx_, StatusCode::kInvalidArgument, 0, "log", "level",
              "must be \"error\", \"warn\", \"info\", \"debug\" or \"trace\", got %s", describe(v).text);
}

Status Reader::read_heartbeat(const json::Value& heartbeat) {
  TETHER_RETURN_IF_ERROR(expect_object(heartbeat, "heartbeat"));
  static constexpr std::string_view kKeys[] = {"enabled", "interval_s"};
  TETHER_RETURN_IF_ERROR(check_keys(heartbeat, "heartbeat", kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(read_bool(heartbeat, "heartbeat", "enabled", &out_.heartbeat.enabled));
  return read_int(heartbeat, "heartbeat", "interval_s", kMinHeartbeatS, kMaxHeartbeatS, &out_.heartbeat.interval_s);
}

Status Reader::read_offline_queue(const json::Value& queue) {
  TETHER_RETURN_IF_ERROR(expect_object(queue, "offline_queue"));
  static constexpr std::string_view kKeys[] = {"enabled",         "directory",             "max_inflight", "message_id",
                                               "max_total_bytes", "ack_flush_interval_ms", "streams",      "key_file",
                                               "ack_flush_records"};
  constexpr std::string_view kSection = "offline_queue";
  TETHER_RETURN_IF_ERROR(check_keys(queue, kSection, kKeys, count_of(kKeys)));
  OfflineQueueConfig& q = out_.offline_queue;
  q.enabled = true;
  TETHER_RETURN_IF_ERROR(read_bool(queue, kSection, "enabled", &q.enabled));
  TETHER_RETURN_IF_ERROR(require(queue, kSection, "directory"));
  TETHER_RETURN_IF_ERROR(read_string(queue, kSection, "directory", q.directory));
  TETHER_RETURN_IF_ERROR(read_string(queue, kSection, "key_file", q.key_file));
  TETHER_RETURN_IF_ERROR(read_int(queue, kSection, "max_inflight", 1, static_cast<std::int64_t>(kMaxQueueInflight),
                                  &q.queue.max_inflight));
  static constexpr std::string_view kIdNames[] = {"auto", "property", "envelope", "none"};
  static constexpr MessageIdMode kIdModes[] = {MessageIdMode::kAuto, MessageIdMode::kUserProperty,
                                               MessageIdMode::kEnvelope, MessageIdMode::kNone};
  TETHER_RETURN_IF_ERROR(read_choice(queue, kSection, "message_id", kIdNames, kIdModes,
                                     "\"auto\", \"property\", \"envelope\" or \"none\"", &q.queue.message_id));
  TETHER_RETURN_IF_ERROR(read_int(queue, kSection, "max_total_bytes", 0, INT64_MAX, &q.queue.max_total_bytes));
  TETHER_RETURN_IF_ERROR(
      read_ms(queue, kSection, "ack_flush_interval_ms", 10, 3600000, &q.queue.ack_flush_interval));
  TETHER_RETURN_IF_ERROR(read_int(queue, kSection, "ack_flush_records", 0, 1000000, &q.queue.ack_flush_records));
  const json::Value streams = queue["streams"];
  if (!streams.valid()) {
    q.stream_count = 1;
    q.streams[0].name.assign("telemetry").ignore();
    return ok_status();
  }
  if (!streams.is_array() || streams.size() == 0 || streams.size() > kMaxStreams) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, "streams",
                "must be an array of 1 to %lu stream objects, got %s", static_cast<unsigned long>(kMaxStreams),
                describe(streams).text);
  }
  q.stream_count = streams.size();
  for (std::size_t i = 0; i < q.stream_count; ++i) {
    TETHER_RETURN_IF_ERROR(read_stream(streams.at(i), &q.streams[i]));
    for (std::size_t j = 0; j < i; ++j) {
      if (q.streams[j].name == q.streams[i].name.view()) {
        return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, "streams", "stream name %s used twice",
                    quote(q.streams[i].name.view()).text);
      }
    }
  }
  return ok_status();
}

Status Reader::read_stream(const json::Value& stream, QueueStreamConfig* out) {
  constexpr std::string_view kSection = "offline_queue.streams[]";
  if (!stream.is_object()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, {}, "must be an object, got %s", describe(stream).text);
  }
  static constexpr std::string_view kKeys[] = {"name",      "durability",  "batch_records", "batch_interval_ms",
                                               "max_bytes", "max_records", "ttl_s",         "overflow",
                                               "priority",  "segment_bytes", "max_segments", "bundle_max_bytes",
                                               "encrypt"};
  TETHER_RETURN_IF_ERROR(check_keys(stream, kSection, kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(stream, kSection, "name"));
  TETHER_RETURN_IF_ERROR(read_string(stream, kSection, "name", out->name));
  for (std::size_t i = 0; i < out->name.size(); ++i) {
    if (!is_stream_name_char(out->name.view()[i])) {
      return fail(ctx_, StatusCode::kInvalidArgument, clamp16(i), kSection, "name",
                  "must be 1 to %lu of A-Z a-z 0-9 _ -, got %s", static_cast<unsigned long>(kMaxStreamName),
                  quote(out->name.view()).text);
    }
  }
  if (out->name.empty()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, "name", "must not be empty");
  }
  StreamSettings& st = out->settings;
  static constexpr std::string_view kDurabilityNames[] = {"memory", "batch", "always"};
  static constexpr Durability kDurabilities[] = {Durability::kMemory, Durability::kBatch, Durability::kAlways};
  TETHER_RETURN_IF_ERROR(read_choice(stream, kSection, "durability", kDurabilityNames, kDurabilities,
                                     "\"memory\", \"batch\" or \"always\"", &st.durability));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "batch_records", 1, 1000000, &st.batch_records));
  TETHER_RETURN_IF_ERROR(read_ms(stream, kSection, "batch_interval_ms", 1, 60000, &st.batch_interval));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "max_bytes", 0, INT64_MAX, &st.max_bytes));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "max_records", 0, 4294967295LL, &st.max_records));
  std::int64_t ttl_s = st.ttl.count() / 1000;
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "ttl_s", 0, 315360000, &ttl_s));  // ten years
  st.ttl = Milliseconds(ttl_s * 1000);
  static constexpr std::string_view kOverflowNames[] = {"drop-oldest", "drop-newest", "reject"};
  static constexpr OverflowPolicy kPolicies[] = {OverflowPolicy::kDropOldest, OverflowPolicy::kDropNewest,
                                                 OverflowPolicy::kReject};
  TETHER_RETURN_IF_ERROR(read_choice(stream, kSection, "overflow", kOverflowNames, kPolicies,
                                     "\"drop-oldest\", \"drop-newest\" or \"reject\"", &st.overflow));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "priority", 0, 255, &st.priority));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "bundle_max_bytes", 0, 131072, &st.bundle_max_bytes));
  TETHER_RETURN_IF_ERROR(read_bool(stream, kSection, "encrypt", &st.encrypt));
  TETHER_RETURN_IF_ERROR(read_int(stream, kSection, "segment_bytes", 4096, 1073741824, &out->segment_bytes));
  return read_int(stream, kSection, "max_segments", 2, static_cast<std::int64_t>(kMaxQueueSegments),
                  &out->max_segments);
}

}  // namespace config_detail

using config_detail::Ctx;
using config_detail::Reader;

Status parse_config(std::string_view json, std::string_view source, AgentConfig& out, ErrorText* error) {
  const Ctx ctx{source, error};
  // Back to the defaults in place: `out = AgentConfig()` would put a second AgentConfig (1.4 KB on
  // Cortex-M) on the stack.
  static_assert(std::is_trivially_destructible_v<AgentConfig>, "reset in place needs no destructor");
  new (&out) AgentConfig();
  Reader reader(ctx, out);
  bool visited = false;
  struct Visit {
    Reader* reader;
    bool* visited;
    Status operator()(const json::Value& root) const {
      *visited = true;
      return reader->root(root);
    }
  };
  ErrorText why;
  const Status parsed = json::parse(json, kMaxJsonInput, Visit{&reader, &visited}, &why);
  if (!parsed.ok()) {
    if (visited) return parsed;  // the reader's own error, already explained
    return fail(ctx, parsed.code(), parsed.detail(), {}, {}, "%s", why.c_str());
  }
  return validate(ctx, out);
}

Status validate_config(AgentConfig& config, std::string_view source, ErrorText* error) {
  return validate(Ctx{source, error}, config);
}

}  // namespace tether
