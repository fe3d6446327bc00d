// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The "pkcs11" section of the configuration (module, PIN source, token, provider) and its
// cross-check with tls.key: a pkcs11: key needs the section, and no URI may carry a PIN. Error texts
// never quote a pkcs11: URI.

#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"
#include "tether/config.hpp"

using namespace tether;

namespace {

constexpr const char* kTokenKey = "pkcs11:token=dev;object=identity;type=private";

struct Outcome {
  Status status;
  std::string error;
  AgentConfig config;
};

// A document with `key` as tls.key and, unless empty, `section` as the "pkcs11" section.
Outcome parse_with(const std::string& key, const std::string& section) {
  std::string json = R"({"thing_name": "dev-1", "endpoint": "broker.local",
    "tls": {"ca_file": "/etc/tether/ca.pem", "cert_file": "/etc/tether/dev.crt", "key": ")" + key + R"("})";
  if (!section.empty()) json += R"(, "pkcs11": )" + section;
  json += "}";
  Outcome o;
  ErrorText error;
  o.status = parse_config(json, "agent.json", o.config, &error);
  o.error = std::string(error.view());
  return o;
}

// The section with `members` after a valid module (the key a token URI).
Outcome parse_section(const std::string& members) {
  return parse_with(kTokenKey, R"({"module": "/usr/lib/softhsm/libsofthsm2.so", )" + members + "}");
}

Status invalid(std::uint16_t detail = 0) { return Status(StatusCode::kInvalidArgument, Origin::kConfig, detail); }

}  // namespace

TEST_CASE("config pkcs11: a full section is read into every field") {
  const Outcome o = parse_with(kTokenKey, R"({
    "module": "/usr/lib/softhsm/libsofthsm2.so",
    "pin_file": "/etc/tether/pin",
    "token": "pkcs11:token=dev",
    "provider": "/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so"})");
  INFO(o.error);
  REQUIRE(o.status.ok());
  const Pkcs11Config& p = o.config.pkcs11;
  CHECK(p.enabled);
  CHECK(p.module == "/usr/lib/softhsm/libsofthsm2.so");
  CHECK(p.pin_file == "/etc/tether/pin");
  CHECK(p.pin_env.empty());
  CHECK(p.token == "pkcs11:token=dev");
  CHECK(p.provider == "/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so");
  CHECK(o.config.broker.key == kTokenKey);
}

TEST_CASE("config pkcs11: the PIN may come from an environment variable, token and provider may be left out") {
  const Outcome o = parse_section(R"("pin_env": "TETHER_PKCS11_PIN")");
  INFO(o.error);
  REQUIRE(o.status.ok());
  const Pkcs11Config& p = o.config.pkcs11;
  CHECK(p.enabled);
  CHECK(p.pin_env == "TETHER_PKCS11_PIN");
  CHECK(p.pin_file.empty());
  CHECK(p.token.empty());
  CHECK(p.provider.empty());
  // The longest name (63 bytes), and one starting with '_'.
  CHECK(parse_section(R"("pin_env": ")" + std::string(63, 'P') + "\"").status.ok());
  CHECK(parse_section(R"("pin_env": "_pin_1")").status.ok());
}

TEST_CASE("config pkcs11: without the section nothing is enabled") {
  const Outcome o = parse_with("/etc/tether/dev.key", "");
  REQUIRE(o.status.ok());
  CHECK_FALSE(o.config.pkcs11.enabled);
  CHECK(o.config.pkcs11.module.empty());
}

TEST_CASE("config pkcs11: the module is required and must be an absolute path") {
  Outcome o = parse_with(kTokenKey, R"({"pin_file": "/etc/tether/pin"})");
  CHECK(o.status == invalid());
  CHECK(o.error == R"(agent.json: pkcs11: missing required key "module")");
  o = parse_with(kTokenKey, R"({"module": "libsofthsm2.so", "pin_file": "/etc/tether/pin"})");
  CHECK(o.status == invalid());
  CHECK(o.error == R"(agent.json: pkcs11.module: must be an absolute path (start with '/'), got "libsofthsm2.so")");
  o = parse_with(kTokenKey, R"({"module": "", "pin_file": "/etc/tether/pin"})");
  CHECK(o.error == R"(agent.json: pkcs11.module: must be an absolute path (start with '/'), got "")");
}

TEST_CASE("config pkcs11: exactly one of pin_file and pin_env") {
  Outcome o = parse_section(R"("pin_file": "/etc/tether/pin", "pin_env": "TETHER_PKCS11_PIN")");
  CHECK(o.status == invalid());
  CHECK(o.error ==
        "agent.json: pkcs11.pin_env: must not be given together with pin_file (exactly one of them names the "
        "PIN's source)");
  o = parse_with(kTokenKey, R"({"module": "/usr/lib/softhsm/libsofthsm2.so"})");
  CHECK(o.status == invalid());
  CHECK(o.error ==
        R"(agent.json: pkcs11: missing "pin_file" or "pin_env" (exactly one of them names the PIN's source))");
  // An empty one is not "left out": it would otherwise let the other pass alone unnoticed.
  o = parse_section(R"("pin_file": "/etc/tether/pin", "pin_env": "")");
  CHECK(o.status == invalid());
  CHECK(o.error == "agent.json: pkcs11.pin_env: must not be empty (leave the key out)");
}

TEST_CASE("config pkcs11: pin_file must be an absolute path") {
  const Outcome o = parse_section(R"("pin_file": "pin.txt")");
  CHECK(o.status == invalid());
  CHECK(o.error == R"(agent.json: pkcs11.pin_file: must be an absolute path (start with '/'), got "pin.txt")");
}

TEST_CASE("config pkcs11: pin_env must be an environment variable name") {
  const std::string rule = "must be an environment variable name (1 to 63 of A-Z a-z 0-9 _, not starting with a digit)";
  Outcome o = parse_section(R"("pin_env": "TETHER-PIN")");
  CHECK(o.status == invalid(6));  // the byte offset of '-'
  CHECK(o.error == "agent.json: pkcs11.pin_env: " + rule + R"(, got "TETHER-PIN")");
  o = parse_section(R"("pin_env": "1PIN")");
  CHECK(o.status == invalid(0));
  CHECK(o.error == "agent.json: pkcs11.pin_env: " + rule + R"(, got "1PIN")");
  o = parse_section(R"("pin_env": "PIN=1")");
  CHECK(o.status == invalid(3));
  o = parse_section(R"("pin_env": ")" + std::string(64, 'P') + "\"");  // fits the field, not the rule
  CHECK(o.status == invalid(0));
  CHECK(o.error.rfind("agent.json: pkcs11.pin_env: " + rule, 0) == 0);
}

TEST_CASE("config pkcs11: the token must be a pkcs11 URI and is never quoted") {
  Outcome o = parse_section(R"("pin_file": "/etc/tether/pin", "token": "dev-token")");
  CHECK(o.status == invalid());
  CHECK(o.error ==
        "agent.json: pkcs11.token: must be a pkcs11: URI naming a token (RFC 7512, e.g. pkcs11:token=<label>)");
  CHECK(o.error.find("dev-token") == std::string::npos);
  o = parse_section(R"("pin_file": "/etc/tether/pin", "token": "")");
  CHECK(o.status == invalid());
  CHECK(o.error == "agent.json: pkcs11.token: must not be empty (leave the key out)");
}

TEST_CASE("config pkcs11: a token URI with pin-value or pin-source is refused without quoting it") {
  const std::string expected =
      "agent.json: pkcs11.token: a pkcs11: URI must not carry pin-value or pin-source (the PIN comes from "
      "pkcs11.pin_file or pkcs11.pin_env)";
  Outcome o = parse_section(R"("pin_file": "/etc/tether/pin", "token": "pkcs11:token=dev?pin-value=975310")");
  CHECK(o.status == invalid());
  CHECK(o.error == expected);
  CHECK(o.error.find("975310") == std::string::npos);
  o = parse_section(R"("pin_file": "/etc/tether/pin", "token": "pkcs11:token=dev?pin-source=file:/tmp/p")");
  CHECK(o.status == invalid());
  CHECK(o.error == expected);
}

TEST_CASE("config pkcs11: the provider must be an absolute path when given") {
  Outcome o = parse_section(R"("pin_file": "/etc/tether/pin", "provider": "pkcs11.so")");
  CHECK(o.status == invalid());
  CHECK(o.error == R"(agent.json: pkcs11.provider: must be an absolute path (start with '/'), got "pkcs11.so")");
  // Empty: OpenSSL looks in its own modules directory.
  o = parse_section(R"("pin_file": "/etc/tether/pin", "provider": "")");
  INFO(o.error);
  CHECK(o.status.ok());
}

TEST_CASE("config pkcs11: unknown keys and wrong types are refused") {
  Outcome o = parse_section(R"("pin_file": "/etc/tether/pin", "pin": "1234")");
  CHECK(o.status == invalid());
  CHECK(o.error == R"(agent.json: pkcs11: unknown key "pin")");
  o = parse_section(R"("pin_file": "/etc/tether/pin", "enabled": true)");  // present = enabled, nothing else
  CHECK(o.error == R"(agent.json: pkcs11: unknown key "enabled")");
  o = parse_with(kTokenKey, "[]");
  CHECK(o.error == "agent.json: pkcs11: must be an object, got an array");
  o = parse_section(R"("pin_env": 1234)");
  CHECK(o.error == "agent.json: pkcs11.pin_env: must be a string, got 1234");
}

TEST_CASE("config pkcs11: a pkcs11 tls.key needs the section") {
  const Outcome o = parse_with(kTokenKey, "");
  CHECK(o.status == invalid());
  CHECK(o.error ==
        "agent.json: tls.key: a pkcs11: URI needs the \"pkcs11\" section (module and pin_file or pin_env)");
  CHECK(o.error.find("identity") == std::string::npos);
}

TEST_CASE("config pkcs11: a tls.key URI with a PIN is refused and the PIN is not in the error") {
  const std::string expected =
      "agent.json: tls.key: a pkcs11: URI must not carry pin-value or pin-source (the PIN comes from "
      "pkcs11.pin_file or pkcs11.pin_env)";
  const std::string section = R"({"module": "/usr/lib/softhsm/libsofthsm2.so", "pin_file": "/etc/tether/pin"})";
  for (const std::string& key : {std::string("pkcs11:token=dev;object=identity;type=private?pin-value=975310"),
                                 std::string("pkcs11:token=dev;object=identity;pin-value=975310"),
                                 std::string("pkcs11:token=dev;object=identity?pin-source=file:/tmp/975310")}) {
    INFO(key);
    for (const std::string& s : {section, std::string()}) {  // with the section and without it
      const Outcome o = parse_with(key, s);
      CHECK(o.status == invalid());
      CHECK(o.error == expected);
      CHECK(o.error.find("975310") == std::string::npos);
    }
  }
}

TEST_CASE("config pkcs11: a file path tls.key with the section is accepted") {
  const Outcome o = parse_with("/etc/tether/dev.key",
                               R"({"module": "/usr/lib/softhsm/libsofthsm2.so", "pin_env": "TETHER_PKCS11_PIN"})");
  INFO(o.error);
  REQUIRE(o.status.ok());
  CHECK(o.config.pkcs11.enabled);
  CHECK(o.config.broker.key == "/etc/tether/dev.key");
}

TEST_CASE("config pkcs11: validate_config applies the same rules to a config built in code") {
  AgentConfig c;
  REQUIRE(c.thing_name.assign("dev-1").ok());
  REQUIRE(c.broker.endpoint.assign("broker.local").ok());
  REQUIRE(c.broker.ca_file.assign("/etc/tether/ca.pem").ok());
  REQUIRE(c.broker.cert_file.assign("/etc/tether/dev.crt").ok());
  REQUIRE(c.broker.key.assign(kTokenKey).ok());
  ErrorText error;
  CHECK(validate_config(c, "firmware", &error) == invalid());
  CHECK(error.view() ==
        "firmware: tls.key: a pkcs11: URI needs the \"pkcs11\" section (module and pin_file or pin_env)");

  c.pkcs11.enabled = true;
  CHECK(validate_config(c, "firmware", &error) == invalid());
  CHECK(error.view() == R"(firmware: pkcs11.module: must be an absolute path (start with '/'), got "")");

  REQUIRE(c.pkcs11.module.assign("/usr/lib/softhsm/libsofthsm2.so").ok());
  REQUIRE(c.pkcs11.pin_env.assign("TETHER_PKCS11_PIN").ok());
  REQUIRE(c.pkcs11.pin_file.assign(std::string_view("/etc/tether/p\0in", 16)).ok());
  CHECK(validate_config(c, "firmware", &error) == invalid());
  CHECK(error.view() ==
        "firmware: pkcs11.pin_env: must not be given together with pin_file (exactly one of them names the "
        "PIN's source)");

  c.pkcs11.pin_env.clear();
  CHECK(validate_config(c, "firmware", &error) == invalid(13));
  CHECK(error.view() == "firmware: pkcs11.pin_file: must not contain NUL (byte 13)");

  REQUIRE(c.pkcs11.pin_file.assign("/etc/tether/pin").ok());
  CHECK(validate_config(c, "firmware", &error).ok());
}
