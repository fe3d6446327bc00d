// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The feature sections of the configuration: "commands", "metrics" and "pkcs11".

#include <cstdio>

#include "config_internal.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"

namespace tether {
namespace config_detail {
namespace {

constexpr std::int64_t kMaxCommandsHeartbeatS = 86400;
constexpr std::int64_t kMinRunTimeoutS = 1;
constexpr std::int64_t kMaxRunTimeoutS = 86400;

bool is_run_name_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }

// "commands.run[<index>]", the section of an allow-list entry in error texts.
struct RunSection {
  char text[48];  // "commands.run[" + up to 20 digits + "]"
};

RunSection run_section(std::size_t index) {
  RunSection r{};
  std::snprintf(r.text, sizeof r.text, "commands.run[%lu]", static_cast<unsigned long>(index));
  return r;
}

Status check_run_name(const Ctx& ctx, std::string_view section, std::string_view name) {
  if (name.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, section, "name", "must not be empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_run_name_char(name[i])) {
      return fail(ctx, StatusCode::kInvalidArgument, clamp16(i), section, "name",
                  "must be 1 to %lu of A-Z a-z 0-9 . _ -, got %s", static_cast<unsigned long>(kMaxRunName),
                  quote(name).text);
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
                  "byte 0x%02X at byte %lu is not allowed (printable ASCII without spaces only)",
                  static_cast<unsigned>(b), static_cast<unsigned long>(i));
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

}  // namespace

Status check_commands(const Ctx& ctx, const CommandsConfig& c) {
  TETHER_RETURN_IF_ERROR(check_range(ctx, "commands", "max_running", c.max_running, 1,
                                     static_cast<std::int64_t>(TETHER_COMMANDS_MAX_RUNNING)));
  TETHER_RETURN_IF_ERROR(check_range(ctx, "commands", "heartbeat_s", c.heartbeat_s, 0, kMaxCommandsHeartbeatS));
  if (c.run_count > kMaxRunCommands) {
    return fail(ctx, StatusCode::kOutOfRange, 0, "commands", "run",
                "must list at most %lu entries (TETHER_MAX_RUN_COMMANDS)", static_cast<unsigned long>(kMaxRunCommands));
  }
  for (std::size_t i = 0; i < c.run_count && i < kMaxRunCommands; ++i) {
    const RunCommandConfig& r = c.run[i];
    const RunSection section = run_section(i);
    TETHER_RETURN_IF_ERROR(check_run_name(ctx, section.text, r.name.view()));
    for (std::size_t j = 0; j < i; ++j) {
      if (c.run[j].name == r.name.view()) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "name", "%s is used by commands.run[%lu] too",
                    quote(r.name.view()).text, static_cast<unsigned long>(j));
      }
    }
    TETHER_RETURN_IF_ERROR(check_run_path(ctx, section.text, r.path.view()));
    if (r.arg_count > kMaxRunArgs) {
      return fail(ctx, StatusCode::kOutOfRange, 0, section.text, "args",
                  "must hold at most %lu arguments (TETHER_MAX_RUN_ARGS)", static_cast<unsigned long>(kMaxRunArgs));
    }
    TETHER_RETURN_IF_ERROR(check_range(ctx, section.text, "timeout_s", r.timeout_s, kMinRunTimeoutS, kMaxRunTimeoutS));
  }
  return ok_status();
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
                "must hold at most %lu entries (TETHER_MAX_RUN_COMMANDS), got %lu",
                static_cast<unsigned long>(kMaxRunCommands), static_cast<unsigned long>(run.size()));
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
                "must hold at most %lu arguments (TETHER_MAX_RUN_ARGS), got %lu",
                static_cast<unsigned long>(kMaxRunArgs), static_cast<unsigned long>(args.size()));
  }
  out->arg_count = args.size();
  for (std::size_t i = 0; i < out->arg_count; ++i) {
    const json::Value a = args.at(i);
    const Result<std::string_view> text = a.as_string();
    if (!text.ok()) {
      return fail(ctx_, StatusCode::kInvalidArgument, clamp16(i), section.text, "args",
                  "element %lu must be a string, got %s", static_cast<unsigned long>(i), describe(a).text);
    }
    if (text->size() > kMaxRunArg) {
      return fail(ctx_, StatusCode::kOutOfRange, clamp16(text->size()), section.text, "args",
                  "element %lu is too long (%lu bytes, at most %lu: TETHER_MAX_RUN_ARG)", static_cast<unsigned long>(i),
                  static_cast<unsigned long>(text->size()), static_cast<unsigned long>(kMaxRunArg));
    }
    out->args[i].assign(*text).ignore();  // fits: checked above
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// The `metrics` section

namespace {

constexpr std::int64_t kMinMetricsIntervalS = 1;
constexpr std::int64_t kMaxMetricsIntervalS = 86400;
constexpr std::int64_t kAwsMinMetricsIntervalS = 300;  // the Device Defender service's floor
constexpr std::int64_t kMaxRulesIntervalS = 3600;
constexpr const char* kHardwareKinds[] = {"spi", "i2c", "usb", "serial"};

// "metrics.rules.<key>[<index>]", the section of one list entry in error texts.
struct ItemSection {
  char text[64];
};

ItemSection item_section(std::string_view key, std::size_t index) {
  ItemSection r{};
  std::snprintf(r.text, sizeof r.text, "metrics.rules.%.*s[%lu]", as_int(key.size()), key.data(),
                static_cast<unsigned long>(index));
  return r;
}

// "10.0.0.0/8", "2001:db8::/32", or one address. The host bits are checked by the metrics library
// when it builds the rules (metrics::parse_cidr), which names the network it meant.
Status check_cidr(const Ctx& ctx, std::size_t index, std::string_view text) {
  const ItemSection section = item_section("remote_networks", index);
  const std::size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  const bool v4 = valid_ipv4(address);
  const bool v6 = !v4 && address.find('%') == std::string_view::npos && valid_ipv6(address);
  if (!v4 && !v6) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, {},
                "must be a network like \"10.0.0.0/8\" or \"2001:db8::/32\", got %s", quote(text).text);
  }
  if (slash == std::string_view::npos) return ok_status();
  const std::string_view digits = text.substr(slash + 1);
  const unsigned max = v4 ? 32 : 128;
  unsigned prefix = 0;
  bool ok = !digits.empty() && digits.size() <= 3 && !(digits.size() > 1 && digits[0] == '0');
  for (char c : digits) {
    ok = ok && is_digit(c);
    if (ok) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
  }
  if (!ok || prefix > max) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, {}, "the prefix length must be 0 to %u, got %s",
                max, quote(text).text);
  }
  return ok_status();
}

// "<kind>" or "<kind> <name prefix>", kind one of kHardwareKinds.
Status check_hardware_rule(const Ctx& ctx, std::size_t index, std::string_view text) {
  const ItemSection section = item_section("inactive_hardware", index);
  const std::size_t space = text.find(' ');
  const std::string_view kind = text.substr(0, space);
  bool known = false;
  for (const char* k : kHardwareKinds) known = known || kind == k;
  if (!known) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, {},
                "must start with spi, i2c, usb or serial (then optionally a space and a name prefix), got %s",
                quote(text).text);
  }
  if (space != std::string_view::npos && space + 1 >= text.size()) {
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(space), section.text, {},
                "a space must be followed by a name prefix, got %s", quote(text).text);
  }
  return ok_status();
}

}  // namespace

Status check_metrics(const Ctx& ctx, TopicProfile profile, const MetricsConfig& m) {
  const std::int64_t floor =
      profile == TopicProfile::kAws && !m.allow_short_interval ? kAwsMinMetricsIntervalS : kMinMetricsIntervalS;
  if (m.interval_s < floor || m.interval_s > kMaxMetricsIntervalS) {
    if (floor == kAwsMinMetricsIntervalS && m.interval_s >= kMinMetricsIntervalS && m.interval_s < floor) {
      return fail(ctx, StatusCode::kOutOfRange, 0, "metrics", "interval_s",
                  "must be at least 300 on the aws profile (Device Defender throttles faster reports), got %u; "
                  "set \"allow_short_interval\": true to report faster anyway",
                  static_cast<unsigned>(m.interval_s));
    }
    TETHER_RETURN_IF_ERROR(check_range(ctx, "metrics", "interval_s", m.interval_s, floor, kMaxMetricsIntervalS));
  }
  TETHER_RETURN_IF_ERROR(check_range(ctx, "metrics", "rules_interval_s", m.rules_interval_s, 0, kMaxRulesIntervalS));
  if (!m.alert_topic.empty()) {
    ErrorText why;
    const Status topic = validate_topic_name(m.alert_topic.view(), profile, &why);
    if (!topic.ok()) return fail(ctx, topic.code(), topic.detail(), "metrics", "alert_topic", "%s", why.c_str());
  }
  const auto ports = [&ctx](const char* key, const std::array<std::uint16_t, kMaxMetricsRuleItems>& list,
                            std::size_t count) -> Status {
    for (std::size_t i = 0; i < count && i < kMaxMetricsRuleItems; ++i) {
      const ItemSection section = item_section(key, i);
      if (list[i] == 0) return fail(ctx, StatusCode::kOutOfRange, 0, section.text, {}, "port 0 is not a port (1 to 65535)");
      for (std::size_t j = 0; j < i; ++j) {
        if (list[j] == list[i]) {
          return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, {}, "port %u is listed twice", list[i]);
        }
      }
    }
    return ok_status();
  };
  TETHER_RETURN_IF_ERROR(ports("tcp_ports", m.tcp_ports, m.tcp_port_count));
  TETHER_RETURN_IF_ERROR(ports("udp_ports", m.udp_ports, m.udp_port_count));
  for (std::size_t i = 0; i < m.remote_network_count && i < kMaxMetricsRuleItems; ++i) {
    TETHER_RETURN_IF_ERROR(check_cidr(ctx, i, m.remote_networks[i].view()));
  }
  for (std::size_t i = 0; i < m.inactive_hardware_count && i < kMaxMetricsRuleItems; ++i) {
    TETHER_RETURN_IF_ERROR(check_hardware_rule(ctx, i, m.inactive_hardware[i].view()));
  }
  return ok_status();
}

Status Reader::read_metrics(const json::Value& metrics) {
  constexpr std::string_view kSection = "metrics";
  TETHER_RETURN_IF_ERROR(expect_object(metrics, kSection));
  static constexpr std::string_view kKeys[] = {"enabled", "format", "interval_s", "allow_short_interval",
                                               "rules_interval_s", "alert_topic", "rules"};
  TETHER_RETURN_IF_ERROR(check_keys(metrics, kSection, kKeys, count_of(kKeys)));
  MetricsConfig& m = out_.metrics;
  m.enabled = true;
  TETHER_RETURN_IF_ERROR(read_bool(metrics, kSection, "enabled", &m.enabled));
  static constexpr std::string_view kFormats[] = {"json-long", "json-short", "cbor"};
  static constexpr MetricsFormat kFormatValues[] = {MetricsFormat::kJsonLong, MetricsFormat::kJsonShort,
                                                    MetricsFormat::kCbor};
  TETHER_RETURN_IF_ERROR(read_choice(metrics, kSection, "format", kFormats, kFormatValues,
                                     "\"json-long\", \"json-short\" or \"cbor\"", &m.format));
  TETHER_RETURN_IF_ERROR(read_int(metrics, kSection, "interval_s", kMinMetricsIntervalS, kMaxMetricsIntervalS, &m.interval_s));
  TETHER_RETURN_IF_ERROR(read_bool(metrics, kSection, "allow_short_interval", &m.allow_short_interval));
  TETHER_RETURN_IF_ERROR(read_int(metrics, kSection, "rules_interval_s", 0, kMaxRulesIntervalS, &m.rules_interval_s));
  TETHER_RETURN_IF_ERROR(read_string(metrics, kSection, "alert_topic", m.alert_topic));
  if (const json::Value rules = metrics["rules"]; rules.valid()) return read_metrics_rules(rules);
  return ok_status();
}

Status Reader::read_ports(const json::Value& object, std::string_view section, std::string_view key,
                          std::array<std::uint16_t, kMaxMetricsRuleItems>& out, std::size_t* count, bool* present) {
  const json::Value list = object[key];
  if (!list.valid()) return ok_status();
  if (!list.is_array()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, section, key, "must be an array of port numbers, got %s",
                describe(list).text);
  }
  if (list.size() > kMaxMetricsRuleItems) {
    return fail(ctx_, StatusCode::kOutOfRange, clamp16(list.size()), section, key,
                "must hold at most %lu ports (TETHER_METRICS_MAX_RULE_ITEMS), got %lu",
                static_cast<unsigned long>(kMaxMetricsRuleItems), static_cast<unsigned long>(list.size()));
  }
  *present = true;
  *count = list.size();
  for (std::size_t i = 0; i < *count; ++i) {
    const Result<std::int64_t> port = list.at(i).as_int();
    if (!port.ok() || *port < 1 || *port > 65535) {
      return fail(ctx_, StatusCode::kInvalidArgument, clamp16(i), section, key,
                  "element %lu must be a port number (1 to 65535), got %s", static_cast<unsigned long>(i),
                  describe(list.at(i)).text);
    }
    out[i] = static_cast<std::uint16_t>(*port);
  }
  return ok_status();
}

Status Reader::read_metrics_rules(const json::Value& rules) {
  constexpr std::string_view kSection = "metrics.rules";
  if (!rules.is_object()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, "metrics", "rules", "must be an object, got %s",
                describe(rules).text);
  }
  static constexpr std::string_view kKeys[] = {"tcp_ports", "udp_ports", "remote_networks", "inactive_hardware",
                                               "max_bytes_in_per_s", "max_bytes_out_per_s"};
  TETHER_RETURN_IF_ERROR(check_keys(rules, kSection, kKeys, count_of(kKeys)));
  MetricsConfig& m = out_.metrics;
  TETHER_RETURN_IF_ERROR(read_ports(rules, kSection, "tcp_ports", m.tcp_ports, &m.tcp_port_count, &m.check_tcp_ports));
  TETHER_RETURN_IF_ERROR(read_ports(rules, kSection, "udp_ports", m.udp_ports, &m.udp_port_count, &m.check_udp_ports));
  constexpr std::int64_t kMaxRate = std::int64_t{1} << 53;  // exact in JSON numbers
  TETHER_RETURN_IF_ERROR(read_int(rules, kSection, "max_bytes_in_per_s", 0, kMaxRate, &m.max_bytes_in_per_s));
  TETHER_RETURN_IF_ERROR(read_int(rules, kSection, "max_bytes_out_per_s", 0, kMaxRate, &m.max_bytes_out_per_s));
  struct TextList {
    std::string_view key;
    FixedString<kMaxHardwareRuleText>* hardware;
    FixedString<kMaxCidrText>* networks;
    std::size_t* count;
  };
  const TextList lists[] = {{"remote_networks", nullptr, m.remote_networks.data(), &m.remote_network_count},
                            {"inactive_hardware", m.inactive_hardware.data(), nullptr, &m.inactive_hardware_count}};
  for (const TextList& l : lists) {
    const json::Value list = rules[l.key];
    if (!list.valid()) continue;
    if (!list.is_array()) {
      return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, l.key, "must be an array of strings, got %s",
                  describe(list).text);
    }
    if (list.size() > kMaxMetricsRuleItems) {
      return fail(ctx_, StatusCode::kOutOfRange, clamp16(list.size()), kSection, l.key,
                  "must hold at most %lu entries (TETHER_METRICS_MAX_RULE_ITEMS), got %lu",
                  static_cast<unsigned long>(kMaxMetricsRuleItems), static_cast<unsigned long>(list.size()));
    }
    if (l.networks != nullptr) m.check_remote_networks = true;
    *l.count = list.size();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Result<std::string_view> text = list.at(i).as_string();
      const std::size_t capacity = l.networks != nullptr ? kMaxCidrText : kMaxHardwareRuleText;
      if (!text.ok() || text->empty() || text->size() > capacity) {
        return fail(ctx_, StatusCode::kInvalidArgument, clamp16(i), kSection, l.key,
                    "element %lu must be a string of 1 to %lu bytes, got %s", static_cast<unsigned long>(i),
                    static_cast<unsigned long>(capacity), describe(list.at(i)).text);
      }
      if (l.networks != nullptr) {
        l.networks[i].assign(*text).ignore();  // fits: checked above
      } else {
        l.hardware[i].assign(*text).ignore();
      }
    }
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// The `pkcs11` section. A pkcs11: URI is never quoted in an error text: it might carry a PIN.

namespace {

constexpr std::string_view kPkcs11Scheme = "pkcs11:";
constexpr std::size_t kMaxPinEnvName = 63;

bool is_pkcs11_uri(std::string_view s) { return s.substr(0, kPkcs11Scheme.size()) == kPkcs11Scheme; }

bool carries_pin(std::string_view uri) {
  return uri.find("pin-value") != std::string_view::npos || uri.find("pin-source") != std::string_view::npos;
}

Status check_uri_without_pin(const Ctx& ctx, std::string_view section, std::string_view key, std::string_view uri) {
  if (!carries_pin(uri)) return ok_status();
  return fail(ctx, StatusCode::kInvalidArgument, 0, section, key,
              "a pkcs11: URI must not carry pin-value or pin-source (the PIN comes from pkcs11.pin_file or "
              "pkcs11.pin_env)");
}

// An absolute path without NUL; empty passes when the key is optional.
Status check_absolute(const Ctx& ctx, std::string_view key, std::string_view path, bool required) {
  if (path.empty() && !required) return ok_status();
  if (path.empty() || path.front() != '/') {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "pkcs11", key,
                "must be an absolute path (start with '/'), got %s", quote(path).text);
  }
  const std::size_t nul = path.find('\0');
  if (nul != std::string_view::npos) {
    return fail(ctx, StatusCode::kInvalidArgument, clamp16(nul), "pkcs11", key, "must not contain NUL (byte %lu)",
                static_cast<unsigned long>(nul));
  }
  return ok_status();
}

// An environment variable name as POSIX shells accept it.
Status check_pin_env(const Ctx& ctx, std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxPinEnvName && !is_digit(name.front());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < name.size() && ok; ++i) {
    ok = is_alnum(name[i]) || name[i] == '_';
    bad = i;
  }
  if (ok) return ok_status();
  return fail(ctx, StatusCode::kInvalidArgument, clamp16(bad), "pkcs11", "pin_env",
              "must be an environment variable name (1 to %lu of A-Z a-z 0-9 _, not starting with a digit), got %s",
              static_cast<unsigned long>(kMaxPinEnvName), quote(name).text);
}

}  // namespace

Status check_pkcs11(const Ctx& ctx, std::string_view tls_key, const Pkcs11Config& p) {
  if (is_pkcs11_uri(tls_key)) {
    TETHER_RETURN_IF_ERROR(check_uri_without_pin(ctx, "tls", "key", tls_key));
    if (!p.enabled) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, "tls", "key",
                  "a pkcs11: URI needs the \"pkcs11\" section (module and pin_file or pin_env)");
    }
  }
  if (!p.enabled) return ok_status();
  TETHER_RETURN_IF_ERROR(check_absolute(ctx, "module", p.module.view(), true));
  if (!p.pin_file.empty() && !p.pin_env.empty()) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "pkcs11", "pin_env",
                "must not be given together with pin_file (exactly one of them names the PIN's source)");
  }
  if (p.pin_file.empty() && p.pin_env.empty()) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, "pkcs11", {},
                "missing \"pin_file\" or \"pin_env\" (exactly one of them names the PIN's source)");
  }
  TETHER_RETURN_IF_ERROR(check_absolute(ctx, "pin_file", p.pin_file.view(), false));
  if (!p.pin_env.empty()) TETHER_RETURN_IF_ERROR(check_pin_env(ctx, p.pin_env.view()));
  if (!p.token.empty()) {
    if (!is_pkcs11_uri(p.token.view())) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, "pkcs11", "token",
                  "must be a pkcs11: URI naming a token (RFC 7512, e.g. pkcs11:token=<label>)");
    }
    TETHER_RETURN_IF_ERROR(check_uri_without_pin(ctx, "pkcs11", "token", p.token.view()));
  }
  return check_absolute(ctx, "provider", p.provider.view(), false);
}

Status Reader::read_pkcs11(const json::Value& pkcs11) {
  constexpr std::string_view kSection = "pkcs11";
  TETHER_RETURN_IF_ERROR(expect_object(pkcs11, kSection));
  static constexpr std::string_view kKeys[] = {"module", "pin_file", "pin_env", "token", "provider"};
  TETHER_RETURN_IF_ERROR(check_keys(pkcs11, kSection, kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(pkcs11, kSection, "module"));
  Pkcs11Config& p = out_.pkcs11;
  p.enabled = true;
  TETHER_RETURN_IF_ERROR(read_string(pkcs11, kSection, "module", p.module));
  TETHER_RETURN_IF_ERROR(read_string(pkcs11, kSection, "pin_file", p.pin_file));
  TETHER_RETURN_IF_ERROR(read_string(pkcs11, kSection, "pin_env", p.pin_env));
  TETHER_RETURN_IF_ERROR(read_string(pkcs11, kSection, "token", p.token));
  TETHER_RETURN_IF_ERROR(read_string(pkcs11, kSection, "provider", p.provider));
  // An explicit "" would read as "not given" (and so pass as the other PIN source): leave the key out.
  for (std::string_view key : {"pin_file", "pin_env", "token"}) {
    if (pkcs11[key].valid() && pkcs11[key].as_string().value_or("-").empty()) {
      return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, key, "must not be empty (leave the key out)");
    }
  }
  return ok_status();
}

}  // namespace config_detail
}  // namespace tether
