// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tether/config.hpp"

using namespace tether;
using namespace std::string_literals;
using std::chrono::milliseconds;

namespace {

struct Parsed {
  Status status;
  std::string error;
  AgentConfig config;
};

Parsed parse(std::string_view json, std::string_view source = "agent.json") {
  Parsed p;
  ErrorText error;
  p.status = parse_config(json, source, p.config, &error);
  p.error = std::string(error.view());
  return p;
}

constexpr const char* kTls = R"("tls": {"ca_file": "ca.pem", "cert_file": "dev.crt", "key": "dev.key"})";

// The smallest valid document plus `extra` top-level members.
std::string minimal(const std::string& extra = "") {
  return std::string(R"({"thing_name": "dev-1", "endpoint": "broker.local", )") + kTls +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// Just the error text of parsing `json`.
std::string error_of(const std::string& json) { return parse(json).error; }

Status config_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kConfig, detail); }

// A valid configuration built in code.
AgentConfig coded() {
  AgentConfig c;
  REQUIRE(c.thing_name.assign("dev-1").ok());
  REQUIRE(c.broker.endpoint.assign("broker.local").ok());
  REQUIRE(c.broker.ca_file.assign("ca.pem").ok());
  REQUIRE(c.broker.cert_file.assign("dev.crt").ok());
  REQUIRE(c.broker.key.assign("dev.key").ok());
  return c;
}

std::string validate_error(AgentConfig c, Status expected) {
  ErrorText error;
  CHECK(validate_config(c, "code", &error) == expected);
  return std::string(error.view());
}

}  // namespace

// The example of docs/configuration.md, verbatim.
TEST_CASE("a full configuration file sets every field") {
  const char* json = R"({
  "thing_name": "gw-0042",
  "client_id": "gw-0042-agent",
  "profile": "aws",
  "endpoint": "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
  "port": 443,
  "tls": {
    "ca_file": "/etc/tether/AmazonRootCA1.pem",
    "cert_file": "/etc/tether/device.crt",
    "key": "pkcs11:token=tether;object=device;type=private",
    "alpn": true
  },
  "mqtt": {
    "version": 5,
    "keep_alive_s": 300,
    "clean_session": false,
    "session_expiry_s": 3600,
    "connect_timeout_ms": 20000
  },
  "reconnect": {
    "initial_ms": 500,
    "max_ms": 60000,
    "fatal_initial_ms": 600000,
    "fatal_max_ms": 7200000
  },
  "log": { "level": "debug" },
  "heartbeat": { "enabled": false, "interval_s": 120 },
  "offline_queue": {
    "directory": "/var/lib/tether/queue",
    "max_inflight": 50,
    "streams": [
      { "name": "telemetry", "durability": "batch", "batch_records": 64, "batch_interval_ms": 200,
        "segment_bytes": 1048576, "max_segments": 32, "ttl_s": 86400, "overflow": "drop-oldest" },
      { "name": "alarms", "durability": "always", "priority": 9, "overflow": "reject",
        "segment_bytes": 65536, "max_segments": 4 }
    ]
  },
  "shadow": {},
  "commands": {
    "max_running": 2,
    "heartbeat_s": 30,
    "reboot": true,
    "set_config": true,
    "run": [
      { "name": "restart-modem", "path": "/usr/bin/systemctl", "args": ["restart", "ModemManager.service"],
        "timeout_s": 60 },
      { "name": "ping", "path": "/usr/bin/ping", "args": ["-c", "3", "-W", "2"], "extra_args": true, "timeout_s": 20 }
    ]
  },
  "metrics": {},
  "pkcs11": {
    "module": "/usr/lib/softhsm/libsofthsm2.so",
    "pin_file": "/etc/tether/pkcs11-pin",
    "token": "pkcs11:token=tether",
    "provider": "/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so"
  }
})";
  const Parsed p = parse(json);
  REQUIRE(p.status.ok());
  CHECK(p.error.empty());
  const AgentConfig& c = p.config;
  CHECK(c.thing_name == "gw-0042");
  CHECK(c.client_id == "gw-0042-agent");
  CHECK(c.profile == TopicProfile::kAws);
  CHECK(c.broker.endpoint == "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com");
  CHECK(c.broker.port == 443);
  CHECK(c.broker.ca_file == "/etc/tether/AmazonRootCA1.pem");
  CHECK(c.broker.cert_file == "/etc/tether/device.crt");
  CHECK(c.broker.key == "pkcs11:token=tether;object=device;type=private");
  CHECK(c.broker.alpn);
  CHECK(c.mqtt.version == MqttVersion::k5);
  CHECK(c.mqtt.keep_alive_s == 300);
  CHECK_FALSE(c.mqtt.clean_session);
  CHECK(c.mqtt.session_expiry_s == 3600);
  CHECK(c.mqtt.connect_timeout == Milliseconds(20000));
  CHECK(c.reconnect.initial == Milliseconds(500));
  CHECK(c.reconnect.max == Milliseconds(60000));
  CHECK(c.reconnect.fatal_initial == Milliseconds(600000));
  CHECK(c.reconnect.fatal_max == Milliseconds(7200000));
  CHECK(c.log_level == LogLevel::kDebug);
  CHECK_FALSE(c.heartbeat.enabled);
  CHECK(c.heartbeat.interval_s == 120);
  CHECK(c.commands.enabled);
  CHECK(c.commands.max_running == 2);
  CHECK(c.commands.heartbeat_s == 30);
  CHECK(c.commands.reboot);
  CHECK(c.commands.set_config);
  REQUIRE(c.commands.run_count == 2);
  const RunCommandConfig* ping = c.commands.find_run("ping");
  REQUIRE(ping == &c.commands.run[1]);
  CHECK(ping->path == "/usr/bin/ping");
  REQUIRE(ping->arg_count == 4);
  CHECK(ping->args[3] == "2");
  CHECK(ping->extra_args);
  CHECK(ping->timeout_s == 20);
  CHECK_FALSE(c.commands.run[0].extra_args);
  CHECK(c.commands.find_run("sh") == nullptr);
  CHECK(c.pkcs11.enabled);
  CHECK(c.pkcs11.module == "/usr/lib/softhsm/libsofthsm2.so");
  CHECK(c.pkcs11.pin_file == "/etc/tether/pkcs11-pin");
  CHECK(c.pkcs11.token == "pkcs11:token=tether");
}

// The second example of docs/configuration.md, verbatim.
TEST_CASE("a neutral-profile file for a local mosquitto parses") {
  const char* json = R"({
  "thing_name": "bench-01",
  "profile": "neutral",
  "endpoint": "127.0.0.1",
  "tls": {
    "ca_file": "certs/ca.pem",
    "cert_file": "certs/bench-01.crt",
    "key": "certs/bench-01.key"
  },
  "mqtt": { "version": "3.1.1" }
})";
  const Parsed p = parse(json);
  REQUIRE(p.status.ok());
  CHECK(p.config.profile == TopicProfile::kNeutral);
  CHECK(p.config.client_id == "bench-01");
  CHECK(p.config.broker.endpoint == "127.0.0.1");
  CHECK(p.config.broker.port == 8883);
  CHECK(p.config.broker.key == "certs/bench-01.key");
  CHECK(p.config.mqtt.version == MqttVersion::k3_1_1);
}

TEST_CASE("a minimal configuration gets the documented defaults") {
  const Parsed p = parse(minimal());
  REQUIRE(p.status.ok());
  const AgentConfig& c = p.config;
  CHECK(c.thing_name == "dev-1");
  CHECK(c.client_id == "dev-1");  // defaults to the thing name
  CHECK(c.profile == TopicProfile::kAws);
  CHECK(c.broker.port == 8883);
  CHECK_FALSE(c.broker.alpn);
  CHECK(c.mqtt.version == MqttVersion::k5);
  CHECK(c.mqtt.keep_alive_s == 60);
  CHECK(c.mqtt.clean_session);
  CHECK(c.mqtt.session_expiry_s == 0);
  CHECK(c.mqtt.connect_timeout == Milliseconds(10000));
  CHECK(c.reconnect.initial == Milliseconds(1000));
  CHECK(c.reconnect.max == Milliseconds(120000));
  CHECK(c.reconnect.fatal_initial == Milliseconds(300000));
  CHECK(c.reconnect.fatal_max == Milliseconds(3600000));
  CHECK(c.log_level == LogLevel::kInfo);
  CHECK(c.heartbeat.enabled);
  CHECK(c.heartbeat.interval_s == 30);
  CHECK_FALSE(c.commands.enabled);
  CHECK(c.commands.run_count == 0);
}

TEST_CASE("parse_config starts from the defaults rather than from what out held") {
  AgentConfig c;
  REQUIRE(c.client_id.assign("stale").ok());
  c.broker.port = 1;
  c.log_level = LogLevel::kTrace;
  ErrorText error;
  REQUIRE(parse_config(minimal(), "agent.json", c, &error).ok());
  CHECK(c.client_id == "dev-1");
  CHECK(c.broker.port == 8883);
  CHECK(c.log_level == LogLevel::kInfo);
}

TEST_CASE("mqtt.version accepts 5, \"5\" and \"3.1.1\" only") {
  CHECK(parse(minimal(R"("mqtt": {"version": 5})")).config.mqtt.version == MqttVersion::k5);
  CHECK(parse(minimal(R"("mqtt": {"version": "5"})")).config.mqtt.version == MqttVersion::k5);
  CHECK(parse(minimal(R"("mqtt": {"version": "3.1.1"})")).config.mqtt.version == MqttVersion::k3_1_1);
  const Parsed p = parse(minimal(R"("mqtt": {"version": 4})"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == R"(agent.json: mqtt.version: must be 5, "5" or "3.1.1", got 4)");
  CHECK(error_of(minimal(R"("mqtt": {"version": "3.1"})")) ==
        R"(agent.json: mqtt.version: must be 5, "5" or "3.1.1", got string "3.1")");
}

TEST_CASE("profile and log.level accept only their documented names") {
  CHECK(parse(minimal(R"("profile": "aws")")).config.profile == TopicProfile::kAws);
  const Parsed p = parse(minimal(R"("profile": "azure")"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == R"(agent.json: profile: must be "aws" or "neutral", got string "azure")");
  for (auto [name, level] : {std::pair{"error", LogLevel::kError}, std::pair{"warn", LogLevel::kWarn},
                             std::pair{"info", LogLevel::kInfo}, std::pair{"debug", LogLevel::kDebug},
                             std::pair{"trace", LogLevel::kTrace}}) {
    INFO(name);
    CHECK(parse(minimal(R"("log": {"level": ")" + std::string(name) + "\"}")).config.log_level == level);
  }
  CHECK(error_of(minimal(R"("log": {"level": "verbose"})")) ==
        R"(agent.json: log.level: must be "error", "warn", "info", "debug" or "trace", got string "verbose")");
  CHECK(error_of(minimal(R"("log": {"level": 3})")) ==
        R"(agent.json: log.level: must be "error", "warn", "info", "debug" or "trace", got 3)");
}

TEST_CASE("missing required keys are reported by name") {
  const Parsed p = parse(R"({"thing_name": "dev-1", "tls": {}})");
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == R"(agent.json: missing required key "endpoint")");
  CHECK(error_of(std::string(R"({"endpoint": "h", )") + kTls + "}") ==
        R"(agent.json: missing required key "thing_name")");
  CHECK(error_of(R"({"thing_name": "dev-1", "endpoint": "h"})") == R"(agent.json: missing required key "tls")");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"cert_file": "c", "key": "k"}})") ==
        R"(agent.json: tls: missing required key "ca_file")");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": "a", "key": "k"}})") ==
        R"(agent.json: tls: missing required key "cert_file")");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": "a", "cert_file": "c"}})") ==
        R"(agent.json: tls: missing required key "key")");
}

TEST_CASE("unknown keys are errors at every level") {
  const Parsed p = parse(minimal(R"("thingname": "x")"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == R"(agent.json: unknown key "thingname")");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"cafile": "a", "cert_file": "c", "key": "k"}})") ==
        R"(agent.json: tls: unknown key "cafile")");
  CHECK(error_of(minimal(R"("mqtt": {"keepalive": 5})")) == R"(agent.json: mqtt: unknown key "keepalive")");
  CHECK(error_of(minimal(R"("reconnect": {"initial": 5})")) == R"(agent.json: reconnect: unknown key "initial")");
  CHECK(error_of(minimal(R"("log": {"file": "x"})")) == R"(agent.json: log: unknown key "file")");
  CHECK(error_of(minimal(R"("heartbeat": {"period_s": 5})")) == R"(agent.json: heartbeat: unknown key "period_s")");
  // Control characters in a key are not copied into the text.
  CHECK(error_of(minimal(R"("bad\nkey": 1)")) == R"(agent.json: unknown key "bad?key")");
}

TEST_CASE("duplicate keys are errors") {
  CHECK(error_of(minimal(R"("port": 1883, "port": 8883)")) == R"(agent.json: duplicate key "port")");
  CHECK(error_of(minimal(R"("mqtt": {"keep_alive_s": 1, "keep_alive_s": 2})")) ==
        R"(agent.json: mqtt: duplicate key "keep_alive_s")");
}

TEST_CASE("integers outside their range are out of range and quote the value") {
  const Parsed p = parse(minimal(R"("mqtt": {"keep_alive_s": 70000})"));
  CHECK(p.status == config_error(StatusCode::kOutOfRange));
  CHECK(p.error == "agent.json: mqtt.keep_alive_s: must be an integer between 0 and 65535, got 70000");
  CHECK(error_of(minimal(R"("port": 0)")) == "agent.json: port: must be an integer between 1 and 65535, got 0");
  CHECK(error_of(minimal(R"("port": 65536)")) == "agent.json: port: must be an integer between 1 and 65535, got 65536");
  const Parsed negative = parse(minimal(R"("port": -1)"));
  CHECK(negative.status == config_error(StatusCode::kOutOfRange));
  CHECK(negative.error == "agent.json: port: must be an integer between 1 and 65535, got -1");
  CHECK(error_of(minimal(R"("mqtt": {"session_expiry_s": 4294967296})")) ==
        "agent.json: mqtt.session_expiry_s: must be an integer between 0 and 4294967295, got 4294967296");
  CHECK(parse(minimal(R"("mqtt": {"session_expiry_s": 4294967295})")).config.mqtt.session_expiry_s == 4294967295u);
  CHECK(error_of(minimal(R"("mqtt": {"connect_timeout_ms": 99})")) ==
        "agent.json: mqtt.connect_timeout_ms: must be an integer between 100 and 600000, got 99");
  CHECK(error_of(minimal(R"("heartbeat": {"interval_s": 0})")) ==
        "agent.json: heartbeat.interval_s: must be an integer between 1 and 86400, got 0");
  const Parsed huge = parse(minimal(R"("port": 1e300)"));
  CHECK(huge.status == config_error(StatusCode::kOutOfRange));
  CHECK(huge.error == "agent.json: port: must be an integer between 1 and 65535, got 1e+300");
}

TEST_CASE("a string, a fraction or a boolean where an integer is expected is an invalid argument") {
  const Parsed text = parse(minimal(R"("port": "8883")"));
  CHECK(text.status == config_error(StatusCode::kInvalidArgument));
  CHECK(text.error == R"(agent.json: port: must be an integer between 1 and 65535, got string "8883")");
  const Parsed fraction = parse(minimal(R"("mqtt": {"keep_alive_s": 1.5})"));
  CHECK(fraction.status == config_error(StatusCode::kInvalidArgument));
  CHECK(fraction.error == "agent.json: mqtt.keep_alive_s: must be an integer between 0 and 65535, got 1.5");
  CHECK(error_of(minimal(R"("port": true)")) == "agent.json: port: must be an integer between 1 and 65535, got true");
  CHECK(error_of(minimal(R"("port": null)")) == "agent.json: port: must be an integer between 1 and 65535, got null");
  CHECK(error_of(minimal(R"("port": [8883])")) ==
        "agent.json: port: must be an integer between 1 and 65535, got an array");
  // Integral values written with a fraction or exponent are integers.
  CHECK(parse(minimal(R"("port": 1883.0)")).config.broker.port == 1883);
}

TEST_CASE("strings, booleans and sections of the wrong type are invalid arguments") {
  const Parsed p = parse(R"({"thing_name": 42, "endpoint": "h", )" + std::string(kTls) + "}");
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == "agent.json: thing_name: must be a string, got 42");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": "a", "cert_file": "c", "key": 1}})") ==
        "agent.json: tls.key: must be a string, got 1");
  CHECK(error_of(minimal(R"("client_id": null)")) == "agent.json: client_id: must be a string, got null");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": "a", "cert_file": "c", "key": "k",
                     "alpn": "yes"}})") == R"(agent.json: tls.alpn: must be true or false, got string "yes")");
  CHECK(error_of(minimal(R"("mqtt": {"clean_session": 1})")) ==
        "agent.json: mqtt.clean_session: must be true or false, got 1");
  CHECK(error_of(minimal(R"("mqtt": [])")) == "agent.json: mqtt: must be an object, got an array");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": "tls.json"})") ==
        R"(agent.json: tls: must be an object, got string "tls.json")");
}

TEST_CASE("feature sections accept any object for now and refuse other types") {
  CHECK(parse(minimal(R"("shadow": {"x": [1, {"y": null}]}, "commands": {}, "metrics": {})")).status.ok());
  const Parsed p = parse(minimal(R"("metrics": true)"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == "agent.json: metrics: must be an object, got true");
  CHECK(error_of(minimal(R"("offline_queue": "on")")) == R"(agent.json: offline_queue: must be an object, got string "on")");
}

TEST_CASE("a shadow section, whatever it holds, turns the shadow on") {
  CHECK_FALSE(parse(minimal()).config.shadow.enabled);
  const Parsed p = parse(minimal(R"("shadow": {"x": 1})"));
  REQUIRE(p.status.ok());
  CHECK(p.config.shadow.enabled);
}

TEST_CASE("strings that do not fit their field are out of range") {
  const Parsed p = parse(R"({"thing_name": "d", "endpoint": ")" + std::string(254, 'a') + "\", " + kTls + "}");
  CHECK(p.status == config_error(StatusCode::kOutOfRange, 254));
  CHECK(p.error == "agent.json: endpoint: too long (254 bytes, at most 253)");
  CHECK(error_of(R"({"thing_name": ")" + std::string(129, 't') + R"(", "endpoint": "h", )" + kTls + "}") ==
        "agent.json: thing_name: too long (129 bytes, at most 128)");
  CHECK(error_of(minimal(R"("client_id": ")" + std::string(129, 'c') + "\"")) ==
        "agent.json: client_id: too long (129 bytes, at most 128)");
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": ")" + std::string(257, 'p') +
                 R"(", "cert_file": "c", "key": "k"}})") == "agent.json: tls.ca_file: too long (257 bytes, at most 256)");
  // A thing name of exactly 128 bytes fits.
  CHECK(parse(R"({"thing_name": ")" + std::string(128, 't') + R"(", "endpoint": "h", )" + kTls + "}").status.ok());
}

TEST_CASE("errors about tls.key never quote its value") {
  const std::string secret_uri = "pkcs11:token=t;object=k?pin-value=123456" + std::string(300, 'x');
  const std::string text = error_of(R"({"thing_name": "d", "endpoint": "h", "tls": {"ca_file": "a", "cert_file": "c",
                                       "key": ")" + secret_uri + R"("}})");
  CHECK(text == "agent.json: tls.key: too long (340 bytes, at most 256)");
  CHECK(text.find("123456") == std::string::npos);
}

TEST_CASE("the thing name is validated for the chosen profile") {
  const Parsed p = parse(R"({"thing_name": "dev/1", "endpoint": "h", )" + std::string(kTls) + "}");
  CHECK(p.status == config_error(StatusCode::kInvalidArgument, 3));
  CHECK(p.error == "agent.json: thing_name: character '/' at byte 3 is not allowed in a thing name");
  // "dev.1" breaks the AWS pattern but is fine under the neutral profile, wherever "profile" appears.
  CHECK(error_of(R"({"thing_name": "dev.1", "endpoint": "h", )" + std::string(kTls) + "}") ==
        "agent.json: thing_name: character '.' at byte 3 is not allowed in an AWS IoT thing name "
        "(only a-z A-Z 0-9 : _ -)");
  const Parsed neutral = parse(R"({"thing_name": "dev.1", "endpoint": "h", )" + std::string(kTls) +
                               R"(, "profile": "neutral"})");
  CHECK(neutral.status.ok());
  CHECK(neutral.config.client_id == "dev.1");
  CHECK(error_of(R"({"thing_name": "", "endpoint": "h", )" + std::string(kTls) + "}") ==
        "agent.json: thing_name: must not be empty");
}

TEST_CASE("client ids must be printable ASCII without spaces") {
  CHECK(parse(minimal(R"("client_id": "a!~:/#+$")")).status.ok());
  const Parsed p = parse(minimal(R"("client_id": "dev 1")"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument, 3));
  CHECK(p.error == "agent.json: client_id: character ' ' at byte 3 is not allowed (printable ASCII without spaces only)");
  CHECK(error_of(minimal("\"client_id\": \"caf\xC3\xA9\"")) ==
        "agent.json: client_id: byte 0xC3 at byte 3 is not allowed (printable ASCII without spaces only)");
  CHECK(error_of(minimal(R"("client_id": "")")) == "agent.json: client_id: must not be empty");
  // A neutral thing name that is not a valid client id needs an explicit client_id.
  const std::string spaced = R"({"thing_name": "dev 1", "profile": "neutral", "endpoint": "h", )" + std::string(kTls);
  CHECK(error_of(spaced + "}") ==
        "agent.json: client_id: defaults to the thing name, but character ' ' at byte 3 is not allowed "
        "(printable ASCII without spaces only); set client_id");
  CHECK(parse(spaced + R"(, "client_id": "dev-1"})").status.ok());
}

TEST_CASE("the endpoint must be a host name or an IP address") {
  for (const char* host : {"localhost", "broker.local", "a-1.example.com.", "x_y.internal", "127.0.0.1", "10.0.0.255",
                           "::1", "::", "2001:db8::8a2e:370:7334", "2001:db8:0:0:0:0:2:1", "::ffff:192.0.2.1",
                           "fe80::1%eth0", "a123456789012345678901234567890123456789012345678901234567890bc.com"}) {
    INFO(host);
    const Parsed p = parse(R"({"thing_name": "d", "endpoint": ")" + std::string(host) + "\", " + kTls + "}");
    CHECK(p.status.ok());
    CHECK(p.config.broker.endpoint == host);
  }
  // Brackets around an IPv6 literal are accepted and removed.
  CHECK(parse(R"({"thing_name": "d", "endpoint": "[::1]", )" + std::string(kTls) + "}").config.broker.endpoint == "::1");

  struct Case {
    const char* host;
    const char* problem;
  };
  const Case cases[] = {
      {"mqtts://broker", R"(must be a host name or IP address without a scheme, got "mqtts://broker")"},
      {"broker:8883", R"(must not include a port (use "port"), got "broker:8883")"},
      {"[::1]:8883", R"(not a valid bracketed IPv6 address (no port allowed; use "port"), got "[::1]:8883")"},
      {"1:2:3", R"(not a valid IPv6 address, got "1:2:3")"},
      {"1::2::3", R"(not a valid IPv6 address, got "1::2::3")"},
      {"12345::1", R"(not a valid IPv6 address, got "12345::1")"},
      {"999.1.1.1", R"(not a valid IPv4 address, got "999.1.1.1")"},
      {"1.2.3", R"(not a valid IPv4 address, got "1.2.3")"},
      {"01.2.3.4", R"(not a valid IPv4 address, got "01.2.3.4")"},
      {"a..b", "empty label at byte 2 in a host name"},
      {".a", "empty label at byte 0 in a host name"},
      {"-a.b", "label at byte 0 must not start or end with '-'"},
      {"a.b-", "label at byte 2 must not start or end with '-'"},
      {"my broker", "character ' ' at byte 2 is not allowed in a host name"},
      {"caf\xC3\xA9", "byte 0xC3 at byte 3 is not allowed in a host name"},
      {"a1234567890123456789012345678901234567890123456789012345678901234.com",
       "label at byte 0 is longer than 63 bytes"},
  };
  for (const Case& c : cases) {
    INFO(c.host);
    const Parsed p = parse(R"({"thing_name": "d", "endpoint": ")" + std::string(c.host) + "\", " + kTls + "}");
    CHECK(p.status.code() == StatusCode::kInvalidArgument);
    CHECK(p.status.origin() == Origin::kConfig);
    CHECK(p.error == "agent.json: endpoint: " + std::string(c.problem));
  }
  CHECK(error_of(R"({"thing_name": "d", "endpoint": "", )" + std::string(kTls) + "}") ==
        "agent.json: endpoint: must not be empty");
}

TEST_CASE("reconnect delays must be positive and each initial delay at most its cap") {
  CHECK(parse(minimal(R"("reconnect": {"initial_ms": 1, "max_ms": 1, "fatal_initial_ms": 1, "fatal_max_ms": 1})"))
            .status.ok());
  CHECK(error_of(minimal(R"("reconnect": {"initial_ms": 0})")) ==
        "agent.json: reconnect.initial_ms: must be an integer between 1 and 86400000, got 0");
  const Parsed p = parse(minimal(R"("reconnect": {"initial_ms": 5000, "max_ms": 1000})"));
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == "agent.json: reconnect.initial_ms: must not exceed reconnect.max_ms (1000), got 5000");
  // Checked against the default of the key that is not given.
  CHECK(error_of(minimal(R"("reconnect": {"fatal_initial_ms": 7200000})")) ==
        "agent.json: reconnect.fatal_initial_ms: must not exceed reconnect.fatal_max_ms (3600000), got 7200000");
}

TEST_CASE("invalid JSON is reported with line and column and its byte offset in the detail") {
  const Parsed p = parse("{\n  \"thing_name\": \"d\",\n  \"endpoint\" \"h\"\n}");
  CHECK(p.status == config_error(StatusCode::kInvalidArgument, 36));
  CHECK(p.error == "agent.json: invalid JSON at line 3 column 14: expected ':'");
  const Parsed deep = parse(R"({"shadow": )" + std::string(20, '[') + std::string(20, ']') + "}");
  CHECK(deep.status == config_error(StatusCode::kOutOfRange, 26));
  CHECK(deep.error == "agent.json: JSON nested deeper than 16 levels at line 1 column 27");
}

TEST_CASE("a document that is not an object is refused") {
  const Parsed p = parse("[]");
  CHECK(p.status == config_error(StatusCode::kInvalidArgument));
  CHECK(p.error == "agent.json: the configuration must be a JSON object, got an array");
}

TEST_CASE("input larger than kMaxJsonInput is out of range") {
  const std::string big = minimal(R"("shadow": {"pad": ")" + std::string(kMaxJsonInput, ' ') + "\"}");
  const Parsed p = parse(big);
  CHECK(p.status == config_error(StatusCode::kOutOfRange));
  CHECK(p.error == "agent.json: JSON input too large (" + std::to_string(big.size()) + " bytes, at most 65536)");
}

TEST_CASE("an empty source name leaves the prefix out and a null error pointer is allowed") {
  AgentConfig c;
  ErrorText error;
  CHECK(parse_config(R"({"port": 1})", "", c, &error) == config_error(StatusCode::kInvalidArgument));
  CHECK(error == R"(missing required key "thing_name")");
  CHECK(parse_config(R"({"port": 1})", "agent.json", c, nullptr) == config_error(StatusCode::kInvalidArgument));
}

TEST_CASE("validate_config accepts a config built in code and defaults its client id") {
  AgentConfig c = coded();
  ErrorText error;
  REQUIRE(validate_config(c, "code", &error).ok());
  CHECK(c.client_id == "dev-1");
}

TEST_CASE("validate_config refuses empty or NUL-containing paths") {
  AgentConfig empty = coded();
  empty.broker.cert_file.clear();
  CHECK(validate_error(empty, config_error(StatusCode::kInvalidArgument)) == "code: tls.cert_file: must not be empty");
  AgentConfig nul = coded();
  REQUIRE(nul.broker.key.assign("dev\0.key"s).ok());
  CHECK(validate_error(nul, config_error(StatusCode::kInvalidArgument, 3)) == "code: tls.key: must not contain NUL (byte 3)");
  AgentConfig ca = coded();
  REQUIRE(ca.broker.ca_file.assign("\0"s).ok());
  CHECK(validate_error(ca, config_error(StatusCode::kInvalidArgument, 0)) == "code: tls.ca_file: must not contain NUL (byte 0)");
}

TEST_CASE("validate_config checks required fields and ranges of a config built in code") {
  AgentConfig no_thing = coded();
  no_thing.thing_name.clear();
  CHECK(validate_error(no_thing, config_error(StatusCode::kInvalidArgument)) == "code: thing_name: must not be empty");
  AgentConfig no_endpoint = coded();
  no_endpoint.broker.endpoint.clear();
  CHECK(validate_error(no_endpoint, config_error(StatusCode::kInvalidArgument)) == "code: endpoint: must not be empty");
  AgentConfig port = coded();
  port.broker.port = 0;
  CHECK(validate_error(port, config_error(StatusCode::kOutOfRange)) ==
        "code: port: must be an integer between 1 and 65535, got 0");
  AgentConfig timeout = coded();
  timeout.mqtt.connect_timeout = Milliseconds(50);
  CHECK(validate_error(timeout, config_error(StatusCode::kOutOfRange)) ==
        "code: mqtt.connect_timeout_ms: must be an integer between 100 and 600000, got 50");
  AgentConfig backoff = coded();
  backoff.reconnect.max = Milliseconds(0);
  CHECK(validate_error(backoff, config_error(StatusCode::kOutOfRange)) ==
        "code: reconnect.max_ms: must be an integer between 1 and 86400000, got 0");
  AgentConfig heartbeat = coded();
  heartbeat.heartbeat.interval_s = 100000;
  CHECK(validate_error(heartbeat, config_error(StatusCode::kOutOfRange)) ==
        "code: heartbeat.interval_s: must be an integer between 1 and 86400, got 100000");
  AgentConfig thing = coded();
  REQUIRE(thing.thing_name.assign("$dev").ok());
  CHECK(validate_error(thing, config_error(StatusCode::kInvalidArgument, 0)) ==
        "code: thing_name: character '$' at byte 0 is not allowed at the start of a thing name");
}

TEST_CASE("validate_config leaves an empty client id alone when it fails") {
  AgentConfig c = coded();
  c.broker.port = 0;
  ErrorText error;
  CHECK_FALSE(validate_config(c, "code", &error).ok());
  CHECK(c.client_id.empty());
}

TEST_CASE("the offline queue section sets the queue and every stream") {
  const Parsed p = parse(minimal(R"("offline_queue": {"directory": "/var/q", "max_inflight": 100,
      "message_id": "envelope", "max_total_bytes": 1000000, "ack_flush_interval_ms": 500,
      "streams": [{"name": "bulk", "durability": "memory", "max_records": 10, "max_bytes": 2048,
                   "overflow": "drop-newest", "segment_bytes": 4096, "max_segments": 2},
                  {"name": "alarms", "durability": "always", "priority": 255, "ttl_s": 60,
                   "bundle_max_bytes": 4096}]})"));
  REQUIRE(p.status.ok());
  const OfflineQueueConfig& q = p.config.offline_queue;
  CHECK(q.enabled);
  CHECK(q.directory == "/var/q");
  CHECK(q.queue.max_inflight == 100);
  CHECK(q.queue.message_id == MessageIdMode::kEnvelope);
  CHECK(q.queue.max_total_bytes == 1000000);
  CHECK(q.queue.ack_flush_interval == milliseconds(500));
  REQUIRE(q.stream_count == 2);
  CHECK(q.streams[0].name == "bulk");
  CHECK(q.streams[0].settings.durability == Durability::kMemory);
  CHECK(q.streams[0].settings.max_records == 10);
  CHECK(q.streams[0].settings.max_bytes == 2048);
  CHECK(q.streams[0].settings.overflow == OverflowPolicy::kDropNewest);
  CHECK(q.streams[0].segment_bytes == 4096);
  CHECK(q.streams[0].max_segments == 2);
  CHECK(q.streams[1].stream_settings().name == "alarms");
  CHECK(q.streams[1].settings.durability == Durability::kAlways);
  CHECK(q.streams[1].settings.priority == 255);
  CHECK(q.streams[1].settings.ttl == milliseconds(60000));
  CHECK(q.streams[1].settings.bundle_max_bytes == 4096);
  // Defaults: one "telemetry" stream with batch durability.
  const Parsed d = parse(minimal(R"("offline_queue": {"directory": "q"})"));
  REQUIRE(d.status.ok());
  REQUIRE(d.config.offline_queue.stream_count == 1);
  CHECK(d.config.offline_queue.streams[0].name == "telemetry");
  CHECK(d.config.offline_queue.streams[0].settings.durability == Durability::kBatch);
  CHECK(!parse(minimal("")).config.offline_queue.enabled);
}

TEST_CASE("offline queue mistakes are named with their key") {
  CHECK(error_of(minimal(R"("offline_queue": {})")) == R"(agent.json: offline_queue: missing required key "directory")");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": []})")) ==
        "agent.json: offline_queue.streams: must be an array of 1 to 4 stream objects, got an array");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a b"}]})")) ==
        R"(agent.json: offline_queue.streams[].name: must be 1 to 32 of A-Z a-z 0-9 _ -, got "a b")");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a"}, {"name": "a"}]})")) ==
        R"(agent.json: offline_queue.streams: stream name "a" used twice)");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a", "durability": "disk"}]})")) ==
        R"(agent.json: offline_queue.streams[].durability: must be "memory", "batch" or "always", got string "disk")");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a", "max_segments": 65}]})")) ==
        "agent.json: offline_queue.streams[].max_segments: must be an integer between 2 and 64, got 65");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "max_inflight": 0})")) ==
        "agent.json: offline_queue.max_inflight: must be an integer between 1 and 100, got 0");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a", "overflow": "drop"}]})")) ==
        R"(agent.json: offline_queue.streams[].overflow: must be "drop-oldest", "drop-newest" or "reject", got string "drop")");
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a", "sync": 1}]})")) ==
        R"(agent.json: offline_queue.streams[]: unknown key "sync")");
}

TEST_CASE("an encrypting stream needs the queue's key file") {
  CHECK(error_of(minimal(R"("offline_queue": {"directory": "q", "streams": [{"name": "a", "encrypt": true}]})")) ==
        R"(agent.json: offline_queue.key_file: is required when a stream sets "encrypt" (stream "a"))");
  const Parsed p = parse(minimal(
      R"("offline_queue": {"directory": "q", "key_file": "/etc/tether/queue.key", "streams": [{"name": "a", "encrypt": true}]})"));
  REQUIRE(p.status.ok());
  CHECK(p.config.offline_queue.key_file == "/etc/tether/queue.key");
  CHECK(p.config.offline_queue.streams[0].settings.encrypt);
}

TEST_CASE("an empty commands section turns commands on with every built-in operation off") {
  const Parsed p = parse(minimal(R"("commands": {})"));
  REQUIRE(p.status.ok());
  const CommandsConfig& c = p.config.commands;
  CHECK(c.enabled);
  CHECK(c.max_running == 1);
  CHECK(c.heartbeat_s == 60);
  CHECK_FALSE(c.reboot);
  CHECK_FALSE(c.set_config);
  CHECK(c.run_count == 0);
  CHECK_FALSE(parse(minimal(R"("commands": {"enabled": false, "reboot": true})")).config.commands.enabled);
}

TEST_CASE("an allow-list entry gets the documented defaults") {
  const Parsed p = parse(minimal(R"("commands": {"run": [{"name": "df", "path": "/bin/df"}]})"));
  REQUIRE(p.status.ok());
  const RunCommandConfig& r = p.config.commands.run[0];
  CHECK(r.name == "df");
  CHECK(r.arg_count == 0);
  CHECK_FALSE(r.extra_args);
  CHECK(r.timeout_s == 60);
}

TEST_CASE("commands mistakes are named with their key") {
  const auto commands = [](const std::string& inside) { return error_of(minimal(R"("commands": {)" + inside + "}")); };
  const auto entry = [&](const std::string& inside) {
    return commands(R"("run": [{"name": "x", "path": "/bin/x"}, {)" + inside + "}]");
  };
  CHECK(commands(R"("reboots": true)") == R"(agent.json: commands: unknown key "reboots")");
  CHECK(commands(R"("max_running": 0)") ==
        "agent.json: commands.max_running: must be an integer between 1 and 4, got 0");
  CHECK(commands(R"("max_running": 5)") ==
        "agent.json: commands.max_running: must be an integer between 1 and 4, got 5");
  CHECK(commands(R"("heartbeat_s": -1)") ==
        "agent.json: commands.heartbeat_s: must be an integer between 0 and 86400, got -1");
  CHECK(commands(R"("reboot": "yes")") == R"(agent.json: commands.reboot: must be true or false, got string "yes")");
  CHECK(commands(R"("run": {"name": "x"})") == "agent.json: commands.run: must be an array of objects, got an object");
  CHECK(commands(R"("run": ["/bin/x"])") == R"(agent.json: commands.run[0]: must be an object, got string "/bin/x")");
  CHECK(entry(R"("path": "/bin/y")") == R"(agent.json: commands.run[1]: missing required key "name")");
  CHECK(entry(R"("name": "y")") == R"(agent.json: commands.run[1]: missing required key "path")");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "shell": true)") ==
        R"(agent.json: commands.run[1]: unknown key "shell")");
  CHECK(entry(R"("name": "x", "path": "/bin/y")") ==
        R"(agent.json: commands.run[1].name: "x" is used by commands.run[0] too)");
  CHECK(entry(R"("name": "a b", "path": "/bin/y")") ==
        R"(agent.json: commands.run[1].name: must be 1 to 32 of A-Z a-z 0-9 . _ -, got "a b")");
  CHECK(entry(R"("name": "", "path": "/bin/y")") == "agent.json: commands.run[1].name: must not be empty");
  CHECK(entry(R"("name": ")" + std::string(33, 'n') + R"(", "path": "/bin/y")") ==
        "agent.json: commands.run[1].name: too long (33 bytes, at most 32)");
  CHECK(entry(R"("name": "y", "path": "bin/y")") ==
        R"(agent.json: commands.run[1].path: must be an absolute path (start with '/'), got "bin/y")");
  CHECK(entry(R"("name": "y", "path": "")") ==
        R"(agent.json: commands.run[1].path: must be an absolute path (start with '/'), got "")");
  for (const char* path : {"/usr/bin/../../tmp/y", "/usr//bin/y", "/usr/./bin/y", "/usr/bin/", "/"}) {
    INFO(path);
    CHECK(entry(R"("name": "y", "path": ")" + std::string(path) + "\"") ==
          "agent.json: commands.run[1].path: must name a file by a normalized path "
          R"((no empty, "." or ".." component), got ")" + std::string(path) + "\"");
  }
  CHECK(entry(R"("name": "y", "path": "/bin/my prog")") ==
        "agent.json: commands.run[1].path: byte 0x20 at byte 7 is not allowed (printable ASCII without spaces only)");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "args": "-a")") ==
        R"(agent.json: commands.run[1].args: must be an array of strings, got string "-a")");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "args": ["-a", 2])") ==
        "agent.json: commands.run[1].args: element 1 must be a string, got 2");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "args": [")" + std::string(65, 'a') + R"("])") ==
        "agent.json: commands.run[1].args: element 0 is too long (65 bytes, at most 64: TETHER_MAX_RUN_ARG)");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "args": ["1","2","3","4","5","6","7","8","9"])") ==
        "agent.json: commands.run[1].args: must hold at most 8 arguments (TETHER_MAX_RUN_ARGS), got 9");
  CHECK(entry(R"("name": "y", "path": "/bin/y", "timeout_s": 0)") ==
        "agent.json: commands.run[1].timeout_s: must be an integer between 1 and 86400, got 0");
  std::string many;
  for (std::size_t i = 0; i <= kMaxRunCommands; ++i) {
    many += std::string(i ? ", " : "") + R"({"name": "n)" + std::to_string(i) + R"(", "path": "/bin/x"})";
  }
  const Parsed too_many = parse(minimal(R"("commands": {"run": [)" + many + "]}"));
  CHECK(too_many.status == config_error(StatusCode::kOutOfRange, static_cast<std::uint16_t>(kMaxRunCommands + 1)));
  CHECK(too_many.error == "agent.json: commands.run: must hold at most " + std::to_string(kMaxRunCommands) +
                              " entries (TETHER_MAX_RUN_COMMANDS), got " + std::to_string(kMaxRunCommands + 1));
  // The commands section is only checked when it is on.
  CHECK(parse(minimal(R"("commands": {"enabled": false, "run": [{"name": "y", "path": "y"}]})")).status.ok());
}

TEST_CASE("validate_config checks the commands section of a config built in code") {
  AgentConfig c = coded();
  c.commands.enabled = true;
  c.commands.run_count = 1;
  REQUIRE(c.commands.run[0].name.assign("df").ok());
  REQUIRE(c.commands.run[0].path.assign("/bin/df").ok());
  ErrorText error;
  CHECK(validate_config(c, "code", &error).ok());
  c.commands.run[0].path.assign("df").ignore();
  CHECK(validate_error(c, config_error(StatusCode::kInvalidArgument)) ==
        R"(code: commands.run[0].path: must be an absolute path (start with '/'), got "df")");
  c.commands.run[0].path.assign("/bin/df").ignore();
  c.commands.run[0].timeout_s = 0;
  CHECK(validate_error(c, config_error(StatusCode::kOutOfRange)) ==
        "code: commands.run[0].timeout_s: must be an integer between 1 and 86400, got 0");
  c.commands.run[0].timeout_s = 1;
  c.commands.max_running = 9;
  CHECK(validate_error(c, config_error(StatusCode::kOutOfRange)) ==
        "code: commands.max_running: must be an integer between 1 and 4, got 9");
  c.commands.max_running = 1;
  c.commands.run_count = kMaxRunCommands + 1;
  CHECK(validate_error(c, config_error(StatusCode::kOutOfRange)) == "code: commands.run: must list at most " +
                                                                      std::to_string(kMaxRunCommands) +
                                                                      " entries (TETHER_MAX_RUN_COMMANDS)");
}
