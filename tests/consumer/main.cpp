// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Builds against an installed Tether (find_package or pkg-config) and exercises each library once.
#include <array>
#include <cstdint>
#include <cstdio>

#include "tether/agent.hpp"
#include "tether/config.hpp"
#include "tether/port/mbedtls/mbed_crypto.hpp"
#include "tether/port/openssl/openssl_crypto.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/identity/identity_files.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/provisioning/fleet_provisioning.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"
#include "tether/shadow/shadow.hpp"

int main() {
  const char* json = R"({"thing_name": "consumer-1", "endpoint": "localhost",
    "tls": {"ca_file": "ca.crt", "cert_file": "d.crt", "key": "d.key"}})";
  tether::AgentConfig config;
  tether::ErrorText error;
  if (!tether::parse_config(json, "inline", config, &error).ok()) {
    std::fprintf(stderr, "consumer: %s\n", error.c_str());
    return 1;
  }
  tether::port::PosixClock clock;
  tether::port::StderrLogSink log;
  tether::port::PahoMqttClient paho(tether::port::PahoSettings::from_config(config.broker), &log);
  tether::testing::FakeMqttClient fake;
  tether::Agent agent(fake, clock, config, &log, tether::port::random_seed());
  if (!agent.start().ok() || !agent.run_once(tether::Milliseconds(0)).ok() || !agent.connected()) {
    std::fprintf(stderr, "consumer: agent did not connect over the fake client\n");
    return 1;
  }
  static tether::shadow::Shadow shadow(agent, nullptr);
  if (!shadow.start().ok() || !shadow.report_int("consumer", 1).ok()) {
    std::fprintf(stderr, "consumer: the shadow did not start\n");
    return 1;
  }
  static tether::commands::Inbox inbox(agent, nullptr);
  if (!inbox.on_command("noop", [](const tether::commands::CommandContext&) {}).ok() || !inbox.start().ok()) {
    std::fprintf(stderr, "consumer: the command inbox did not start\n");
    return 1;
  }
  static tether::port::LinuxMetricsSource source;
  static tether::metrics::Snapshot snapshot;
  const tether::Status read = source.snapshot(snapshot);
  static std::uint8_t report[tether::metrics::kMaxReportBytes];
  tether::metrics::ReportInput input;
  input.report_id = 1;
  input.snapshot = &snapshot;
  if ((!read.ok() && read.code() != tether::StatusCode::kDataLoss) ||
      !tether::metrics::encode_report(input, tether::metrics::ReportFormat::kJsonShort,
                                      tether::Span<std::uint8_t>(report, sizeof report))
           .ok()) {
    std::fprintf(stderr, "consumer: the metrics snapshot or report failed: %s\n", source.last_error());
    return 1;
  }
  tether::mbedtls::MbedCrypto crypto;
  std::array<std::uint8_t, tether::port::Crypto::kSha256Size> digest{};
  std::array<std::uint8_t, tether::port::Crypto::kAeadKeySize> key{};
  if (!crypto.random(key).ok() || !crypto.sha256(key, digest).ok()) {
    std::fprintf(stderr, "consumer: the mbedTLS crypto port failed\n");
    return 1;
  }
  // The OpenSSL crypto port gives the same digest.
  tether::openssl::OpenSslCrypto openssl_crypto;
  std::array<std::uint8_t, tether::port::Crypto::kSha256Size> openssl_digest{};
  if (!openssl_crypto.sha256(key, openssl_digest).ok() || openssl_digest != digest) {
    std::fprintf(stderr, "consumer: the OpenSSL crypto port failed or disagrees with mbedTLS\n");
    return 1;
  }
  // The PKCS#11 key store links (libp11, p11-kit) and explains a module that is not there.
  tether::port::Pkcs11KeyStoreSettings key_settings;
  key_settings.module_path = "/nonexistent/pkcs11-module.so";
  key_settings.pin_env = "TETHER_CONSUMER_PIN";
  tether::port::Pkcs11KeyStore keys(key_settings);
  if (keys.open().code() != tether::StatusCode::kUnavailable) {
    std::fprintf(stderr, "consumer: the PKCS#11 key store loaded a module that does not exist\n");
    return 1;
  }
  // Fleet Provisioning's codec, and the identity port's check of a certificate against a key.
  char topic[128];
  const tether::Result<std::string_view> provisioning_topic = tether::provisioning::topic(
      tether::provisioning::Api::kRegisterThing, tether::provisioning::Answer::kAccepted, "consumer-template",
      tether::Span<char>(topic, sizeof topic));
  if (!provisioning_topic.ok() ||
      *provisioning_topic != "$aws/provisioning-templates/consumer-template/provision/json/accepted") {
    std::fprintf(stderr, "consumer: the Fleet Provisioning topic is wrong\n");
    return 1;
  }
  if (tether::identity::check_certificate_key("not a certificate", {}, &error).code() !=
      tether::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "consumer: the identity port took a certificate that is not one\n");
    return 1;
  }
  std::printf("consumer: ok (thing %s)\n", config.thing_name.c_str());
  return 0;
}
