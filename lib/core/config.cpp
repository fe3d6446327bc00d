// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/config.hpp"

#include <cstdarg>
#include <cstdio>
#include <new>
#include <type_traits>

#include "tether/json.hpp"
#include "text_util.hpp"

#if defined(__GNUC__)
#define TETHER_CONFIG_PRINTF_(fmt_index, args_index) __attribute__((format(printf, fmt_index, args_index)))
#else
#define TETHER_CONFIG_PRINTF_(fmt_index, args_index)
#endif

namespace tether {
namespace {

// Ranges that the field types alone do not enforce (docs/configuration.md).
constexpr std::int64_t kMinConnectTimeoutMs = 100;
constexpr std::int64_t kMaxConnectTimeoutMs = 600000;
constexpr std::int64_t kMinBackoffMs = 1;
constexpr std::int64_t kMaxBackoffMs = 86400000;  // one day
constexpr std::int64_t kMinHeartbeatS = 1;
constexpr std::int64_t kMaxHeartbeatS = 86400;
constexpr std::size_t kMaxHostLabel = 63;
constexpr std::int64_t kMaxCommandsHeartbeatS = 86400;
constexpr std::int64_t kMinRunTimeoutS = 1;
constexpr std::int64_t kMaxRunTimeoutS = 86400;

constexpr std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

int as_int(std::size_t n) { return n > 0x7FFF ? 0x7FFF : static_cast<int>(n); }

struct Ctx {
  std::string_view source;
  ErrorText* error;
};

// Returns code/kConfig/detail and writes "<source>: <section>.<key>: <problem>" (empty parts left
// out) into ctx.error.
TETHER_CONFIG_PRINTF_(6, 7)
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

// `"text"` for an error message: at most 32 bytes, non-printable and non-ASCII bytes shown as '?'
// (error texts end up in logs; they must stay one printable line).
struct Quoted {
  char text[48];
};

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

// What a JSON value is, for "got ..." in error texts.
struct Described {
  char text[64];
};

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
        std::snprintf(d.text, sizeof d.text, "%.*s", as_int(len), buf);
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

// ---------------------------------------------------------------------------------------------
// Host names and IP literals

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

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
                    "empty label at byte %zu in a host name", i);
      }
      if (length > kMaxHostLabel) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(label_start), {}, "endpoint",
                    "label at byte %zu is longer than %zu bytes", label_start, kMaxHostLabel);
      }
      if (name[label_start] == '-' || name[i - 1] == '-') {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(label_start), {}, "endpoint",
                    "label at byte %zu must not start or end with '-'", label_start);
      }
      label_start = i + 1;
      continue;
    }
    const char c = name[i];
    if (!is_alnum(c) && c != '-' && c != '_') {
      const auto b = static_cast<unsigned char>(c);
      if (b >= 0x20 && b < 0x7F) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "endpoint",
                    "character '%c' at byte %zu is not allowed in a host name", c, i);
      }
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "endpoint",
                  "byte 0x%02X at byte %zu is not allowed in a host name", static_cast<unsigned>(b), i);
    }
  }
  return ok_status();
}

Status check_path(const Ctx& ctx, std::string_view key, std::string_view path) {
  if (path.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, "tls", key, "must not be empty");
  const std::size_t nul = path.find('\0');
  if (nul != std::string_view::npos) {
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(nul), "tls", key, "must not contain NUL (byte %zu)", nul);
  }
  return ok_status();
}

Status check_range(const Ctx& ctx, std::string_view section, std::string_view key, std::int64_t value,
                   std::int64_t min, std::int64_t max) {
  if (value >= min && value <= max) return ok_status();
  return fail(ctx, StatusCode::kOutOfRange, 0, section, key, "must be an integer between %lld and %lld, got %lld",
              static_cast<long long>(min), static_cast<long long>(max), static_cast<long long>(value));
}

// Client ids: printable ASCII without spaces (what every broker accepts and logs can show).
Status check_client_id(const Ctx& ctx, std::string_view id, bool defaulted) {
  const char* origin = defaulted ? "defaults to the thing name, but " : "";
  const char* hint = defaulted ? "; set client_id" : "";
  if (id.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, {}, "client_id", "must not be empty");
  if (id.size() > kMaxClientId) {
    return fail(ctx, StatusCode::kOutOfRange, clamp16(id.size()), {}, "client_id", "%stoo long (%zu bytes, at most %zu)%s",
                origin, id.size(), kMaxClientId, hint);
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto b = static_cast<unsigned char>(id[i]);
    if (b > 0x20 && b < 0x7F) continue;
    if (b == ' ') {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "client_id",
                  "%scharacter ' ' at byte %zu is not allowed (printable ASCII without spaces only)%s", origin, i, hint);
    }
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), {}, "client_id",
                "%sbyte 0x%02X at byte %zu is not allowed (printable ASCII without spaces only)%s", origin,
                static_cast<unsigned>(b), i, hint);
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// The `commands` section

bool is_run_name_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }

// "commands.run[<index>]", the section of an allow-list entry in error texts.
struct RunSection {
  char text[48];  // "commands.run[" + up to 20 digits + "]"
};

RunSection run_section(std::size_t index) {
  RunSection r{};
  std::snprintf(r.text, sizeof r.text, "commands.run[%zu]", index);
  return r;
}

Status check_run_name(const Ctx& ctx, std::string_view section, std::string_view name) {
  if (name.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, section, "name", "must not be empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_run_name_char(name[i])) {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), section, "name",
                  "must be 1 to %zu of A-Z a-z 0-9 . _ -, got %s", kMaxRunName, quote(name).text);
    }
  }
  return ok_status();
}

// An absolute, normalized path of printable ASCII without spaces: what is run is exactly what the
// file says, with no room for "/usr/bin/../../tmp/x" or a relative name looked up somewhere.
Status check_run_path(const Ctx& ctx, std::string_view section, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return fail(ctx, StatusCode::kInvalidArgument, 0, section, "path",
                "must be an absolute path (start with '/'), got %s", quote(path).text);
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto b = static_cast<unsigned char>(path[i]);
    if (b <= 0x20 || b >= 0x7F) {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), section, "path",
                  "byte 0x%02X at byte %zu is not allowed (printable ASCII without spaces only)",
                  static_cast<unsigned>(b), i);
    }
  }
  std::size_t start = 1;  // each component between slashes
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string_view part = path.substr(start, i - start);
    if (part.empty() || part == "." || part == "..") {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(start), section, "path",
                  "must name a file by a normalized path (no empty, \".\" or \"..\" component), got %s",
                  quote(path).text);
    }
    start = i + 1;
  }
  return ok_status();
}

Status check_commands(const Ctx& ctx, const CommandsConfig& c) {
  TETHER_RETURN_IF_ERROR(check_range(ctx, "commands", "max_running", c.max_running, 1,
                                     static_cast<std::int64_t>(TETHER_COMMANDS_MAX_RUNNING)));
  TETHER_RETURN_IF_ERROR(check_range(ctx, "commands", "heartbeat_s", c.heartbeat_s, 0, kMaxCommandsHeartbeatS));
  if (c.run_count > kMaxRunCommands) {
    return fail(ctx, StatusCode::kOutOfRange, 0, "commands", "run",
                "must list at most %zu entries (TETHER_MAX_RUN_COMMANDS)", kMaxRunCommands);
  }
  for (std::size_t i = 0; i < c.run_count && i < kMaxRunCommands; ++i) {
    const RunCommandConfig& r = c.run[i];
    const RunSection section = run_section(i);
    TETHER_RETURN_IF_ERROR(check_run_name(ctx, section.text, r.name.view()));
    for (std::size_t j = 0; j < i; ++j) {
      if (c.run[j].name == r.name.view()) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "name", "%s is used by commands.run[%zu] too",
                    quote(r.name.view()).text, j);
      }
    }
    TETHER_RETURN_IF_ERROR(check_run_path(ctx, section.text, r.path.view()));
    if (r.arg_count > kMaxRunArgs) {
      return fail(ctx, StatusCode::kOutOfRange, 0, section.text, "args",
                  "must hold at most %zu arguments (TETHER_MAX_RUN_ARGS)", kMaxRunArgs);
    }
    TETHER_RETURN_IF_ERROR(check_range(ctx, section.text, "timeout_s", r.timeout_s, kMinRunTimeoutS, kMaxRunTimeoutS));
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
                "must not exceed reconnect.max_ms (%lld), got %lld", static_cast<long long>(r.max.count()),
                static_cast<long long>(r.initial.count()));
  }
  if (r.fatal_initial > r.fatal_max) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "reconnect", "fatal_initial_ms",
                "must not exceed reconnect.fatal_max_ms (%lld), got %lld", static_cast<long long>(r.fatal_max.count()),
                static_cast<long long>(r.fatal_initial.count()));
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
      return fail(ctx, StatusCode::kInvalidArgument, 0, "offline_queue", "streams", "must list 1 to %zu streams",
                  kMaxStreams);
    }
    for (std::size_t i = 0; i < q.stream_count && i < kMaxStreams; ++i) {
      if (q.streams[i].settings.encrypt && q.key_file.empty()) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, "offline_queue", "key_file",
                    "is required when a stream sets \"encrypt\" (stream %s)", quote(q.streams[i].name.view()).text);
      }
    }
    if (q.queue.max_inflight < 1 || q.queue.max_inflight > kMaxQueueInflight) {
      return fail(ctx, StatusCode::kOutOfRange, 0, "offline_queue", "max_inflight", "must be between 1 and %zu",
                  kMaxQueueInflight);
    }
  }

  if (config.commands.enabled) TETHER_RETURN_IF_ERROR(check_commands(ctx, config.commands));

  if (defaulted) config.client_id.assign(client_id).ignore();  // checked to fit above
  return ok_status();
}

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
      return fail(ctx_, StatusCode::kOutOfRange, clamp16(s->size()), section, key, "too long (%zu bytes, at most %zu)",
                  s->size(), N);
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
      return fail(ctx_, code, 0, section, key, "must be an integer between %lld and %lld, got %s",
                  static_cast<long long>(min), static_cast<long long>(max), describe(v).text);
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
  Status read_commands(const json::Value& commands);
  Status read_run_entry(const json::Value& entry, std::size_t index, RunCommandConfig* out);

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

Status Reader::root(const json::Value& doc) {
  if (!doc.is_object()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, {}, {}, "the configuration must be a JSON object, got %s",
                describe(doc).text);
  }
  static constexpr std::string_view kKeys[] = {"thing_name", "client_id", "profile",   "endpoint",      "port",
                                               "tls",        "mqtt",      "reconnect", "log",           "heartbeat",
                                               "offline_queue", "shadow", "commands",  "metrics"};
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
  // Feature sections: later versions validate their content; for now they only have to be objects.
  for (std::string_view feature : {"shadow", "metrics"}) {
    if (const json::Value v = doc[feature]; v.valid()) TETHER_RETURN_IF_ERROR(expect_object(v, feature));
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
                "must be an array of 1 to %zu stream objects, got %s", kMaxStreams, describe(streams).text);
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
                  "must be 1 to %zu of A-Z a-z 0-9 _ -, got %s", kMaxStreamName, quote(out->name.view()).text);
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

Status Reader::read_commands(const json::Value& commands) {
  constexpr std::string_view kSection = "commands";
  TETHER_RETURN_IF_ERROR(expect_object(commands, kSection));
  static constexpr std::string_view kKeys[] = {"enabled", "max_running", "heartbeat_s", "reboot", "set_config", "run"};
  TETHER_RETURN_IF_ERROR(check_keys(commands, kSection, kKeys, count_of(kKeys)));
  CommandsConfig& c = out_.commands;
  c.enabled = true;
  TETHER_RETURN_IF_ERROR(read_bool(commands, kSection, "enabled", &c.enabled));
  TETHER_RETURN_IF_ERROR(read_int(commands, kSection, "max_running", 1,
                                  static_cast<std::int64_t>(TETHER_COMMANDS_MAX_RUNNING), &c.max_running));
  TETHER_RETURN_IF_ERROR(read_int(commands, kSection, "heartbeat_s", 0, kMaxCommandsHeartbeatS, &c.heartbeat_s));
  TETHER_RETURN_IF_ERROR(read_bool(commands, kSection, "reboot", &c.reboot));
  TETHER_RETURN_IF_ERROR(read_bool(commands, kSection, "set_config", &c.set_config));
  const json::Value run = commands["run"];
  if (!run.valid()) return ok_status();
  if (!run.is_array()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, "run", "must be an array of objects, got %s",
                describe(run).text);
  }
  if (run.size() > kMaxRunCommands) {
    return fail(ctx_, StatusCode::kOutOfRange, clamp16(run.size()), kSection, "run",
                "must hold at most %zu entries (TETHER_MAX_RUN_COMMANDS), got %zu", kMaxRunCommands, run.size());
  }
  c.run_count = run.size();
  for (std::size_t i = 0; i < c.run_count; ++i) TETHER_RETURN_IF_ERROR(read_run_entry(run.at(i), i, &c.run[i]));
  return ok_status();
}

Status Reader::read_run_entry(const json::Value& entry, std::size_t index, RunCommandConfig* out) {
  const RunSection section = run_section(index);
  if (!entry.is_object()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, section.text, {}, "must be an object, got %s",
                describe(entry).text);
  }
  static constexpr std::string_view kKeys[] = {"name", "path", "args", "extra_args", "timeout_s"};
  TETHER_RETURN_IF_ERROR(check_keys(entry, section.text, kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(entry, section.text, "name"));
  TETHER_RETURN_IF_ERROR(require(entry, section.text, "path"));
  TETHER_RETURN_IF_ERROR(read_string(entry, section.text, "name", out->name));
  TETHER_RETURN_IF_ERROR(read_string(entry, section.text, "path", out->path));
  TETHER_RETURN_IF_ERROR(read_bool(entry, section.text, "extra_args", &out->extra_args));
  TETHER_RETURN_IF_ERROR(read_int(entry, section.text, "timeout_s", kMinRunTimeoutS, kMaxRunTimeoutS, &out->timeout_s));
  const json::Value args = entry["args"];
  if (!args.valid()) return ok_status();
  if (!args.is_array()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, section.text, "args", "must be an array of strings, got %s",
                describe(args).text);
  }
  if (args.size() > kMaxRunArgs) {
    return fail(ctx_, StatusCode::kOutOfRange, clamp16(args.size()), section.text, "args",
                "must hold at most %zu arguments (TETHER_MAX_RUN_ARGS), got %zu", kMaxRunArgs, args.size());
  }
  out->arg_count = args.size();
  for (std::size_t i = 0; i < out->arg_count; ++i) {
    const json::Value a = args.at(i);
    const Result<std::string_view> text = a.as_string();
    if (!text.ok()) {
      return fail(ctx_, StatusCode::kInvalidArgument, clamp16(i), section.text, "args",
                  "element %zu must be a string, got %s", i, describe(a).text);
    }
    if (text->size() > kMaxRunArg) {
      return fail(ctx_, StatusCode::kOutOfRange, clamp16(text->size()), section.text, "args",
                  "element %zu is too long (%zu bytes, at most %zu: TETHER_MAX_RUN_ARG)", i, text->size(), kMaxRunArg);
    }
    out->args[i].assign(*text).ignore();  // fits: checked above
  }
  return ok_status();
}

}  // namespace

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
