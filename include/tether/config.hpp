// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Agent configuration: one JSON document (docs/configuration.md lists every key).
///
/// `parse_config` validates everything it reads; on failure it returns kInvalidArgument (origin
/// kConfig) or kOutOfRange and, when `error` is given, text of the form `<source>: <key>: <problem>`
/// (for example `agent.json: mqtt.keep_alive_s: must be an integer between 0 and 65535, got 70000`).
/// Unknown and duplicate keys are errors too (a typo must not silently fall back to a default).
/// Error texts never quote the value of `tls.key` or `pkcs11.token` (a PKCS#11 URI may carry a PIN).

#include <array>
#include <cstdint>
#include <string_view>

#include "tether/backoff.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/limits.hpp"
#include "tether/offline/settings.hpp"
#include "tether/port/log_sink.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/topics.hpp"

#ifndef TETHER_MAX_RUN_COMMANDS
#if defined(__unix__) || defined(__APPLE__)
#define TETHER_MAX_RUN_COMMANDS 8  ///< entries of the `commands.run` allow-list (0 without processes)
#else
#define TETHER_MAX_RUN_COMMANDS 0  ///< a microcontroller has no processes to run
#endif
#endif
#ifndef TETHER_MAX_RUN_ARGS
#define TETHER_MAX_RUN_ARGS 8  ///< fixed arguments of an allow-list entry, and extra arguments of a request
#endif
#ifndef TETHER_MAX_RUN_ARG
#define TETHER_MAX_RUN_ARG 64  ///< bytes of one argument
#endif
#ifndef TETHER_MAX_GPIO_LINES
#define TETHER_MAX_GPIO_LINES 8  ///< lines of the `gpio` section, inputs and outputs together (0: no section)
#endif
#ifndef TETHER_COMMANDS_MAX_RUNNING
#define TETHER_COMMANDS_MAX_RUNNING 4  ///< commands running at once (`commands.max_running`, InboxSettings)
#endif

namespace tether {

inline constexpr std::size_t kMaxRunCommands = TETHER_MAX_RUN_COMMANDS;
inline constexpr std::size_t kMaxRunArgs = TETHER_MAX_RUN_ARGS;
inline constexpr std::size_t kMaxRunArg = TETHER_MAX_RUN_ARG;
/// Names of allow-list entries (`commands.run[].name`): 1..32 of `[A-Za-z0-9._-]`.
inline constexpr std::size_t kMaxRunName = 32;

/// Where and how to reach the broker (used by the MqttClient implementation).
struct BrokerSettings {
  FixedString<kMaxHost> endpoint;      ///< "endpoint": host name or IP (required)
  std::uint16_t port = 8883;           ///< "port"
  FixedString<kMaxPath> ca_file;       ///< "tls.ca_file": CA bundle for the server (required)
  FixedString<kMaxPath> cert_file;     ///< "tls.cert_file": device certificate (required)
  FixedString<kMaxPath> key;           ///< "tls.key": key file path or `pkcs11:` URI (required)
  bool alpn = false;                   ///< "tls.alpn": send ALPN x-amzn-mqtt-ca (AWS on port 443)
};

/// MQTT session settings (see ConnectOptions).
struct MqttSettings {
  MqttVersion version = MqttVersion::k5;   ///< "mqtt.version": 5 or "3.1.1"
  std::uint16_t keep_alive_s = 60;         ///< "mqtt.keep_alive_s": 0..65535 (AWS clamps to 30..1200)
  bool clean_session = true;               ///< "mqtt.clean_session"
  std::uint32_t session_expiry_s = 0;      ///< "mqtt.session_expiry_s" (MQTT 5)
  Milliseconds connect_timeout{10000};     ///< "mqtt.connect_timeout_ms": 100..600000
};

/// The heartbeat the example agents publish (feature section "heartbeat").
struct HeartbeatSettings {
  bool enabled = true;                     ///< "heartbeat.enabled"
  std::uint32_t interval_s = 30;           ///< "heartbeat.interval_s": 1..86400
};

/// One stream of the offline queue ("offline_queue.streams[]").
struct QueueStreamConfig {
  FixedString<kMaxStreamName> name;       ///< "name" (required)
  StreamSettings settings;                ///< "durability", "batch_records", "batch_interval_ms", "max_bytes",
                                          ///< "max_records", "ttl_s", "overflow", "priority"
  std::uint32_t segment_bytes = 1u << 20; ///< "segment_bytes": size of each segment file
  std::uint32_t max_segments = 16;        ///< "max_segments": 2..kMaxQueueSegments

  /// The stream's settings with `name` filled in (views this object).
  StreamSettings stream_settings() const {
    StreamSettings s = settings;
    s.name = name.view();
    return s;
  }
};

/// The durable offline queue (feature section "offline_queue"; docs/offline.md).
struct OfflineQueueConfig {
  bool enabled = false;                   ///< true when the section is present ("enabled" can turn it off)
  FixedString<kMaxPath> directory;        ///< "directory": one sub-directory per stream (required)
  FixedString<kMaxPath> key_file;         ///< "key_file": 32-byte key for streams that set "encrypt"
  QueueSettings queue;                    ///< "max_inflight", "message_id", "max_total_bytes",
                                          ///< "ack_flush_interval_ms" (boot_id is set at run time)
  std::array<QueueStreamConfig, kMaxStreams> streams{};  ///< "streams" (default: one "telemetry")
  std::size_t stream_count = 0;
};

/// One program the `run` command may start ("commands.run[]"): never anything else, never a shell.
struct RunCommandConfig {
  FixedString<kMaxRunName> name;                        ///< "name" (required): what a request names
  FixedString<kMaxPath> path;                           ///< "path" (required): absolute, normalized
  std::array<FixedString<kMaxRunArg>, kMaxRunArgs> args{};  ///< "args": fixed argv prefix (after argv[0])
  std::size_t arg_count = 0;
  bool extra_args = false;                              ///< "extra_args": a request may append arguments
  std::uint32_t timeout_s = 60;                         ///< "timeout_s": 1..86400, then killed
};

/// The command inbox and its built-in operations (feature section "commands"; docs/commands.md).
struct CommandsConfig {
  bool enabled = false;            ///< true when the section is present ("enabled" can turn it off)
  std::uint8_t max_running = 1;    ///< "max_running": 1..TETHER_COMMANDS_MAX_RUNNING
  std::uint32_t heartbeat_s = 60;  ///< "heartbeat_s": 0..86400, IN_PROGRESS (with output) this often
  bool reboot = false;             ///< "reboot": the `reboot` operation
  bool set_config = false;         ///< "set_config": the `set-config` operation
  std::array<RunCommandConfig, kMaxRunCommands> run{};  ///< "run": the allow-list of `run`
  std::size_t run_count = 0;

  /// The allow-list entry called `name`, or null.
  const RunCommandConfig* find_run(std::string_view name) const {
    for (std::size_t i = 0; i < run_count && i < kMaxRunCommands; ++i) {
      if (run[i].name == name) return &run[i];
    }
    return nullptr;
  }
};

/// Report formats of the "metrics" section (tether::metrics::ReportFormat, in the same order).
enum class MetricsFormat : std::uint8_t { kJsonLong, kJsonShort, kCbor };

/// Longest entry of "metrics.rules.remote_networks": an IPv6 address with an embedded IPv4 and "/128".
inline constexpr std::size_t kMaxCidrText = 49;
/// Longest entry of "metrics.rules.inactive_hardware": a kind, a space and a name prefix.
inline constexpr std::size_t kMaxHardwareRuleText = 56;

/// Device metrics and on-device rules (feature section "metrics"; docs/metrics.md). The metrics
/// library turns it into reporter settings and a rule set (metrics::settings_from_config).
struct MetricsConfig {
  bool enabled = false;                          ///< true when the section is present ("enabled" can turn it off)
  MetricsFormat format = MetricsFormat::kJsonShort;  ///< "format": "json-long", "json-short", "cbor"
  std::uint32_t interval_s = 300;                ///< "interval_s": 1..86400; >= 300 on "aws" unless allowed
  bool allow_short_interval = false;             ///< "allow_short_interval": lift the 300 s AWS floor
  std::uint32_t rules_interval_s = 10;           ///< "rules_interval_s": 0..3600 (0: rules checked with reports only)
  FixedString<kMaxTopic> alert_topic;            ///< "alert_topic": rule changes published here (optional)
  bool check_tcp_ports = false;                  ///< "rules.tcp_ports" present: only these may listen
  std::array<std::uint16_t, kMaxMetricsRuleItems> tcp_ports{};
  std::size_t tcp_port_count = 0;
  bool check_udp_ports = false;                  ///< "rules.udp_ports" present
  std::array<std::uint16_t, kMaxMetricsRuleItems> udp_ports{};
  std::size_t udp_port_count = 0;
  bool check_remote_networks = false;            ///< "rules.remote_networks" present: CIDR text
  std::array<FixedString<kMaxCidrText>, kMaxMetricsRuleItems> remote_networks{};
  std::size_t remote_network_count = 0;
  std::array<FixedString<kMaxHardwareRuleText>, kMaxMetricsRuleItems> inactive_hardware{};  ///< "rules.inactive_hardware"
  std::size_t inactive_hardware_count = 0;
  std::uint64_t max_bytes_in_per_s = 0;          ///< "rules.max_bytes_in_per_s": 0 = no ceiling
  std::uint64_t max_bytes_out_per_s = 0;         ///< "rules.max_bytes_out_per_s"
};

/// Where the device key lives when `tls.key` is a `pkcs11:` URI (feature section "pkcs11";
/// ports/pkcs11). The user PIN comes from exactly one of `pin_file` or `pin_env`, never from this
/// configuration or from a URI: validation refuses `pin-value` and `pin-source` in `tls.key` and
/// `token`, and a `pkcs11:` `tls.key` without this section.
struct Pkcs11Config {
  bool enabled = false;            ///< true when the section is present
  FixedString<kMaxPath> module;    ///< "module" (required): absolute path of the PKCS#11 module (.so)
  FixedString<kMaxPath> pin_file;  ///< "pin_file": absolute path of a file whose first line is the PIN; or
  FixedString<64> pin_env;         ///< "pin_env": the environment variable holding the PIN
                                   ///< (`[A-Za-z_][A-Za-z0-9_]*`, 1..63 bytes)
  FixedString<kMaxPath> token;     ///< "token": `pkcs11:` URI of the token new keys are generated in
  FixedString<kMaxPath> provider;  ///< "provider": absolute path of OpenSSL's pkcs11-provider module
                                   ///< (empty: looked up in OpenSSL's modules directory)
};

inline constexpr std::size_t kMaxGpioLines = TETHER_MAX_GPIO_LINES;
/// Names of GPIO lines in the configuration (`gpio.inputs[].name`): 1..32 of `[A-Za-z0-9_-]`; the
/// key of the line in telemetry and in the shadow (`gpio.<name>`).
inline constexpr std::size_t kMaxGpioName = 32;
/// A line's name on its chip (`"line": "GPIO17"`) and the chip's name, path or label.
inline constexpr std::size_t kMaxGpioLineName = 32;
inline constexpr std::size_t kMaxGpioChip = 64;
/// Highest line offset accepted (`"line": 17`); the chip itself says how many lines it has.
inline constexpr std::uint32_t kMaxGpioOffset = 1023;

enum class GpioDirection : std::uint8_t { kInput, kOutput };
/// "bias" of an input: leave the line as the board set it, or switch the pull resistors.
enum class GpioBias : std::uint8_t { kAsIs, kDisabled, kPullUp, kPullDown };

/// One line of the "gpio" section ("gpio.inputs[]" or "gpio.outputs[]").
struct GpioLineConfig {
  FixedString<kMaxGpioName> name;           ///< "name" (required): the key in telemetry and the shadow
  FixedString<kMaxGpioLineName> line_name;  ///< "line" as a string: the line's name on the chip ("GPIO17")
  std::uint32_t offset = 0;                 ///< "line" as an integer: its offset on the chip (0..1023)
  GpioDirection direction = GpioDirection::kInput;
  bool active_low = false;                  ///< "active_low": true = a low level reads (or is set) as true
  GpioBias bias = GpioBias::kAsIs;          ///< "bias" (inputs): "as-is", "disabled", "pull-up", "pull-down"
  bool initial = false;                     ///< "initial" (outputs): the value set when the line is taken

  bool by_name() const { return !line_name.empty(); }
};

/// GPIO lines the agent reads and drives (feature section "gpio"): inputs go into telemetry and
/// the shadow's reported state, outputs follow the shadow's desired state. One chip.
struct GpioConfig {
  bool enabled = false;                            ///< true when the section is present
  FixedString<kMaxGpioChip> chip;                  ///< "chip" (required): "gpiochip0", "/dev/gpiochip0" or a label
  std::uint32_t poll_ms = 100;                     ///< "poll_ms": inputs are read this often (10..60000)
  std::array<GpioLineConfig, kMaxGpioLines> lines{};  ///< "inputs" first, then "outputs"
  std::size_t line_count = 0;

  /// The line called `name`, or null.
  const GpioLineConfig* find(std::string_view name) const {
    for (std::size_t i = 0; i < line_count && i < kMaxGpioLines; ++i) {
      if (lines[i].name == name) return &lines[i];
    }
    return nullptr;
  }

  /// Where `lines[i]` stands in its own list: k of "inputs[k]" or "outputs[k]" (error texts).
  std::size_t position(std::size_t i) const {
    std::size_t first = 0;
    for (std::size_t j = 0; j < i; ++j) {
      if (lines[j].direction != lines[i].direction) first = j + 1;
    }
    return i - first;
  }
};

/// The device shadow (feature section "shadow"). Its content is not read by this version (any
/// object is accepted); its presence tells an application that the shadow is wanted.
struct ShadowConfig {
  bool enabled = false;  ///< true when the section is present
};

struct AgentConfig {
  FixedString<kMaxThingName> thing_name;   ///< "thing_name" (required; validated for `profile`)
  FixedString<kMaxClientId> client_id;     ///< "client_id" (default: the thing name)
  TopicProfile profile = TopicProfile::kAws;  ///< "profile": "aws" or "neutral"
  BrokerSettings broker;
  MqttSettings mqtt;
  BackoffSettings reconnect;               ///< "reconnect.{initial_ms,max_ms,fatal_initial_ms,fatal_max_ms}"
  LogLevel log_level = LogLevel::kInfo;    ///< "log.level": error|warn|info|debug|trace
  HeartbeatSettings heartbeat;
  OfflineQueueConfig offline_queue;
  ShadowConfig shadow;
  CommandsConfig commands;
  MetricsConfig metrics;
  Pkcs11Config pkcs11;
  GpioConfig gpio;
};

/// Parses `json` (at most kMaxJsonInput bytes) into `out`, starting from the defaults (whatever `out`
/// held before is replaced), then applies validate_config. `source` names the input in error texts
/// (normally the file name; empty leaves the prefix out). On error `out` may be partly filled and
/// must not be used. Returns ok or (origin kConfig):
/// - kInvalidArgument: malformed JSON (detail = byte offset; "invalid JSON at line L column C:
///   <reason>"), a document that is not an object, an unknown or duplicate key, a missing required
///   key, a wrong type (a string or a fraction where an integer is expected), an invalid value
///   (detail = byte offset in the value where one applies, e.g. a bad thing-name character)
/// - kOutOfRange: an integer outside its range, a string longer than its field (detail = its
///   length), input larger than kMaxJsonInput, JSON nested deeper than json::kMaxDepth
Status parse_config(std::string_view json, std::string_view source, AgentConfig& out, ErrorText* error);

/// Checks a config built in code (what parse_config also enforces): required fields present, thing
/// name valid for the profile, client id printable ASCII without spaces (an empty one is set to the
/// thing name, only on success), endpoint a host name or IP literal (brackets around an IPv6
/// literal are removed), paths not empty and without NUL, ranges, reconnect initial delays at most
/// their caps, the enabled feature sections, and that a `pkcs11:` `tls.key` has a "pkcs11" section
/// and carries no PIN. Returns ok, kInvalidArgument/kConfig or kOutOfRange/kConfig, texts as above.
Status validate_config(AgentConfig& config, std::string_view source, ErrorText* error);

}  // namespace tether
