// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// tether-provision: a device's first boot. It has a claim certificate (a file) and a PKCS#11 token;
// it leaves with its own identity, whose private key never left the token:
//   1. loads CONFIG, an agent configuration whose tls.cert_file/tls.key are the claim certificate
//      and key (files) and which has a "pkcs11" section (module, pin_file or pin_env, token),
//   2. generates an EC P-256 key in the token (label --key-label; an existing label is an error),
//   3. builds a CSR for it, signed inside the token (CN --common-name, default the thing name),
//   4. connects to the broker with the claim identity (client id = the configured client id),
//   5. runs AWS IoT Fleet Provisioning by CSR (CreateCertificateFromCsr, RegisterThing with
//      --template and the --param values),
//   6. checks that the issued certificate carries the token key's public half,
//   7. writes the certificate (0644) and a new agent configuration (0600), each to a temporary file,
//      fsync, rename: CONFIG merged with {"thing_name", "client_id", "tls": {"cert_file", "key"}}
//      (the key's pkcs11: URI), and prints one line.
// On any failure after step 2 the new key is deleted from the token again (a retry starts clean)
// and nothing is left written. Messages name the step and, for a refusal, the service's statusCode,
// errorCode and errorMessage; never the ownership token, never the PIN.
//
// Usage: tether-provision CONFIG --template NAME [--param KEY=VALUE]... [--key-label LABEL]
//                         [--common-name CN] [--out-config PATH] [--cert-out PATH] [--timeout-s N]
//   --template NAME     the fleet provisioning template (required)
//   --param KEY=VALUE   a template parameter (repeatable, at most 8)
//   --key-label LABEL   CKA_LABEL of the new key (default tether-identity)
//   --common-name CN    the CSR's CN (default: CONFIG's thing_name; the broker may confine a
//                       certificate to the topics of its CN: use the thing name the template gives)
//   --out-config PATH   the new configuration (default <directory of CONFIG>/<thing>.json; CONFIG
//                       itself is never overwritten unless named here)
//   --cert-out PATH     the certificate (default <directory of the new configuration>/<thing>.crt)
//   --timeout-s N       connecting and each answer of the service (1..3600, default 30)
//
// stdout, on success only:
//   PROVISIONED thing=<thing> certificate=<id> config=<path> cert=<path> key=<pkcs11 URI>
// stderr: the steps, the MQTT client's and the provisioner's log, and errors.
// Exit codes: 0 provisioned; 1 bad usage or configuration; 2 the token or the key (PIN, module,
// label taken, CSR); 3 provisioning failed: the broker cannot be reached or refused the claim, the
// service refused (its errorCode is printed) or did not answer in time, or the certificate is not
// for the key; 4 the certificate or the configuration cannot be written.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "example_support.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"
#include "tether/port/openssl/csr.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/identity/identity_files.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/port/pkcs11/tls_key.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"
#include "tether/provisioning/provisioner.hpp"
#include "tether/shadow/document.hpp"

namespace {

namespace fs = std::filesystem;
using tether::ErrorText;
using tether::Status;
using tether::StatusCode;

constexpr const char* kProgram = "tether-provision";
// MQTT reason code 0x87 "Not authorized" (a PUBACK or SUBACK the broker's policy refused).
constexpr std::uint16_t kMqttNotAuthorized = 0x87;

enum Exit : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitToken = 2,
  kExitProvisioning = 3,
  kExitFiles = 4,
};

struct Options {
  const char* config = nullptr;
  std::string template_name;
  std::vector<std::pair<std::string, std::string>> params;
  std::string key_label = "tether-identity";
  std::string common_name;
  std::string out_config;
  std::string cert_out;
  long timeout_s = 30;
};

void say_error(const char* format, ...) __attribute__((format(printf, 1, 2)));
void say_error(const char* format, ...) {
  char text[900];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  tether::examples::tell(LOG_ERR, "%s: %s\n", kProgram, text);
}

std::string status_text(Status status) {
  char buf[64];
  return tether::format_status(status, buf, sizeof buf);
}

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    const bool has_value = value != nullptr && *value != '\0';
    if (std::strcmp(arg, "--template") == 0 && has_value) {
      o->template_name = value;
    } else if (std::strcmp(arg, "--param") == 0 && has_value) {
      const char* eq = std::strchr(value, '=');
      if (eq == nullptr || eq == value) {
        say_error("--param %s: expected KEY=VALUE", value);
        return false;
      }
      o->params.emplace_back(std::string(value, eq), std::string(eq + 1));
    } else if (std::strcmp(arg, "--key-label") == 0 && has_value) {
      o->key_label = value;
    } else if (std::strcmp(arg, "--common-name") == 0 && has_value) {
      o->common_name = value;
    } else if (std::strcmp(arg, "--out-config") == 0 && has_value) {
      o->out_config = value;
    } else if (std::strcmp(arg, "--cert-out") == 0 && has_value) {
      o->cert_out = value;
    } else if (std::strcmp(arg, "--timeout-s") == 0 && has_value) {
      char* end = nullptr;
      errno = 0;
      o->timeout_s = std::strtol(value, &end, 10);
      if (errno != 0 || *end != '\0' || o->timeout_s < 1 || o->timeout_s > 3600) {
        say_error("--timeout-s %s: expected 1..3600 seconds", value);
        return false;
      }
    } else if (arg[0] == '-' || o->config != nullptr) {
      say_error("unexpected argument %s", arg);
      return false;
    } else {
      o->config = arg;
      continue;
    }
    ++i;
  }
  if (o->config == nullptr) say_error("CONFIG is required");
  if (o->template_name.empty()) say_error("--template NAME is required");
  return o->config != nullptr && !o->template_name.empty();
}

bool read_text(const std::string& path, std::string* text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[4096];
  std::size_t n = 0;
  text->clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text->append(buf, n);
  const bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

// Waits for the outcome of one connection attempt (and for the end of the connection later).
class ConnectionWatch final : public tether::port::MqttListener {
 public:
  void on_connection(const tether::ConnectionEvent& event) override {
    state = event.state;
    reason = event.reason;
    answered = true;
  }
  void on_message(const tether::InboundMessage&) override {}
  void on_publish_complete(tether::PacketToken, Status) override {}
  void on_subscribe_complete(tether::PacketToken, Status, tether::Qos) override {}

  bool answered = false;
  tether::ConnectionState state = tether::ConnectionState::kDisconnected;
  Status reason;
};

// Everything after the key exists; the caller deletes the key when this does not return kExitOk.
class Provisioning {
 public:
  Provisioning(const Options& options, const tether::AgentConfig& config, std::string config_text,
               tether::port::Pkcs11KeyStore& store, const tether::port::KeyInfo& key)
      : options_(options), config_(config), config_text_(std::move(config_text)), store_(store), key_(key) {}

  int run() {
    // The public half (for the check of step 6) and the CSR, both from the token.
    std::array<std::uint8_t, 1024> der{};
    const tether::Result<std::size_t> der_size = store_.public_key_der(key_.uri.view(), der);
    if (!der_size.ok()) {
      say_error("reading the public key of %s: %s: %s", key_.uri.c_str(), status_text(der_size.status()).c_str(),
                store_.last_error());
      return kExitToken;
    }
    std::vector<char> csr(tether::openssl::kCsrPemMaxSize);
    tether::openssl::CsrSubject subject;
    subject.common_name = common_name();
    ErrorText why;
    const tether::Result<std::size_t> csr_size =
        tether::openssl::build_csr(store_, key_.uri.view(), subject, tether::Span<char>(csr.data(), csr.size()), &why);
    if (!csr_size.ok()) {
      say_error("building the CSR: %s: %s", status_text(csr_size.status()).c_str(), why.c_str());
      return kExitToken;
    }

    // Connect with the claim identity.
    tether::port::StderrLogSink log;
    tether::port::PosixClock clock;
    tether::port::PahoSettings settings = tether::port::PahoSettings::from_config(config_.broker);
    settings.log_level = config_.log_level;
    tether::port::PahoMqttClient mqtt(settings, &log);
    ConnectionWatch watch;
    mqtt.set_listener(&watch);
    const std::chrono::milliseconds timeout(options_.timeout_s * 1000);
    tether::ConnectOptions connect;
    connect.client_id = config_.client_id.view();
    connect.version = config_.mqtt.version;
    connect.keep_alive_s = config_.mqtt.keep_alive_s;
    connect.connect_timeout = timeout;
    tether::examples::tell(LOG_INFO,
        "%s: connecting to %s:%u as %s with the claim certificate %s\n", kProgram,
        config_.broker.endpoint.c_str(), static_cast<unsigned>(config_.broker.port), config_.client_id.c_str(),
        config_.broker.cert_file.c_str());
    Status status = mqtt.connect(connect);
    const tether::Milliseconds deadline = clock.now() + timeout + std::chrono::seconds(5);
    while (status.ok() && !watch.answered && clock.now() < deadline) status = mqtt.poll(std::chrono::milliseconds(100));
    if (!status.ok() || !watch.answered || watch.state != tether::ConnectionState::kConnected) {
      const Status why_not = !status.ok() ? status : watch.answered ? watch.reason
                                                                      : Status(StatusCode::kDeadlineExceeded, tether::Origin::kApp);
      say_error("connecting with the claim certificate %s to %s:%u failed: %s (is the broker there, and does it "
                "accept the claim certificate?)",
                config_.broker.cert_file.c_str(), config_.broker.endpoint.c_str(),
                static_cast<unsigned>(config_.broker.port), status_text(why_not).c_str());
      return kExitProvisioning;
    }

    // Fleet Provisioning by CSR.
    std::vector<tether::provisioning::Entry> params;
    for (const auto& p : options_.params) params.push_back({p.first, p.second});
    tether::provisioning::ProvisioningRequest request;
    request.template_name = options_.template_name;
    request.csr_pem = std::string_view(csr.data(), *csr_size);
    request.parameters = tether::Span<const tether::provisioning::Entry>(params.data(), params.size());
    request.answer_timeout = timeout;
    tether::provisioning::FleetProvisioner provisioner(mqtt, clock, &log);
    const Status provisioned = provisioner.run(request);
    disconnect(mqtt, watch, clock);
    if (!provisioned.ok()) {
      const tether::provisioning::Rejection& r = provisioner.rejection();
      if (r.status_code != 0) {
        say_error("provisioning with template %s was refused: statusCode %d, errorCode %s, errorMessage \"%s\" (%s)",
                  options_.template_name.c_str(), static_cast<int>(r.status_code), r.error_code.c_str(),
                  r.error_message.c_str(), provisioner.last_error());
      } else {
        say_error("provisioning with template %s failed: %s: %s", options_.template_name.c_str(),
                  status_text(provisioned).c_str(), provisioner.last_error());
        if (provisioned.code() == StatusCode::kPermissionDenied || provisioned.detail() == kMqttNotAuthorized) {
          say_error("the broker did not authorize the provisioning topics for %s: does its policy (the claim policy, "
                    "README.md) cover this certificate?",
                    config_.broker.cert_file.c_str());
        }
      }
      return kExitProvisioning;
    }
    const std::string thing(provisioner.thing().thing_name.view());
    const std::string certificate_id(provisioner.certificate().certificate_id.view());
    const std::string pem(provisioner.certificate().certificate_pem.view());
    provisioner.clear();

    ErrorText mismatch;
    if (!tether::identity::check_certificate_key(pem, tether::Span<const std::uint8_t>(der.data(), *der_size),
                                                 &mismatch)
             .ok()) {
      say_error("checking the certificate %s issued for thing %s: %s; not using it (revoke it at the service)",
                certificate_id.c_str(), thing.c_str(), mismatch.c_str());
      return kExitProvisioning;
    }
    for (std::size_t i = 0; i < provisioner.thing().config_count; ++i) {
      tether::examples::tell(LOG_INFO,
          "%s: deviceConfiguration %s = %s\n", kProgram, provisioner.thing().config_keys[i].c_str(),
          provisioner.thing().config_values[i].c_str());
    }
    const int written = write_files(thing, certificate_id, pem);
    if (written != kExitOk) {
      say_error("the certificate %s stays registered for thing %s at the service: revoke it there", certificate_id.c_str(),
                thing.c_str());
    }
    return written;
  }

 private:
  std::string_view common_name() const {
    return options_.common_name.empty() ? config_.thing_name.view() : std::string_view(options_.common_name);
  }

  static void disconnect(tether::port::PahoMqttClient& mqtt, ConnectionWatch& watch,
                         const tether::port::PosixClock& clock) {
    mqtt.set_listener(&watch);
    if (!mqtt.connected()) return;
    mqtt.disconnect().ignore();  // best effort: the work is done (or failed) either way
    const tether::Milliseconds deadline = clock.now() + std::chrono::seconds(2);
    while (mqtt.connected() && clock.now() < deadline) mqtt.poll(std::chrono::milliseconds(50)).ignore();
  }

  int write_files(const std::string& thing, const std::string& certificate_id, const std::string& pem) {
    std::error_code ec;
    const fs::path config_path(options_.config);
    const fs::path config_dir = config_path.has_parent_path() ? config_path.parent_path() : fs::path(".");
    fs::path out_config = options_.out_config.empty() ? config_dir / (thing + ".json") : fs::path(options_.out_config);
    out_config = fs::absolute(out_config, ec);
    if (options_.out_config.empty() && fs::equivalent(out_config, config_path, ec)) {
      say_error("the new configuration would overwrite %s (the thing is named like it): pass --out-config PATH",
                options_.config);
      return kExitFiles;
    }
    fs::path cert = options_.cert_out.empty() ? out_config.parent_path() / (thing + ".crt") : fs::path(options_.cert_out);
    cert = fs::absolute(cert, ec);

    // The new configuration, checked to load as the agent will load it.
    std::string merged;
    ErrorText why;
    if (!tether::identity::identity_config(config_text_, out_config.string(), thing, cert.string(), key_.uri.view(),
                                           &merged, &why)
             .ok()) {
      say_error("building the new configuration from %s: %s", options_.config, why.c_str());
      return kExitFiles;
    }
    if (!tether::port::write_file_atomically(cert.string(), pem, 0644, &why).ok()) {
      say_error("writing the certificate: %s", why.c_str());
      return kExitFiles;
    }
    if (!tether::port::write_file_atomically(out_config.string(), merged, 0600, &why).ok()) {
      say_error("writing the configuration: %s", why.c_str());
      ::unlink(cert.c_str());  // of no use without the key, which goes too
      return kExitFiles;
    }
    std::printf("PROVISIONED thing=%s certificate=%s config=%s cert=%s key=%s\n", thing.c_str(),
                certificate_id.c_str(), out_config.c_str(), cert.c_str(), key_.uri.c_str());
    std::fflush(stdout);
    return kExitOk;
  }

  const Options& options_;
  const tether::AgentConfig& config_;
  std::string config_text_;
  tether::port::Pkcs11KeyStore& store_;
  const tether::port::KeyInfo& key_;
};

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    tether::examples::tell(LOG_ERR,
        "usage: %s CONFIG --template NAME [--param KEY=VALUE]... [--key-label LABEL] [--common-name CN]\n"
        "       [--out-config PATH] [--cert-out PATH] [--timeout-s N]\n",
        kProgram);
    return kExitUsage;
  }

  // Step 1: the claim configuration.
  auto config = std::make_unique<tether::AgentConfig>();
  ErrorText error;
  if (!tether::port::load_config_file(options.config, *config, &error).ok()) {
    say_error("%s", error.c_str());
    return kExitUsage;
  }
  std::string config_text;
  if (!read_text(options.config, &config_text)) {
    say_error("%s: cannot read: %s", options.config, std::strerror(errno));
    return kExitUsage;
  }
  if (!config->pkcs11.enabled) {
    say_error("%s has no \"pkcs11\" section: it names the token the new key is generated in", options.config);
    return kExitUsage;
  }
  if (config->broker.key.view().substr(0, 7) == "pkcs11:") {
    say_error("%s: tls.key must be the claim key file, not a key in a token", options.config);
    return kExitUsage;
  }
  if (!tether::provisioning::validate_template_name(options.template_name, &error).ok()) {
    say_error("--template: %s", error.c_str());
    return kExitUsage;
  }
  if (options.params.size() > tether::provisioning::kMaxEntries) {
    say_error("at most %zu --param", tether::provisioning::kMaxEntries);
    return kExitUsage;
  }
  tether::openssl::CsrSubject subject;
  subject.common_name = options.common_name.empty() ? config->thing_name.view() : options.common_name;
  if (!tether::openssl::validate_csr_subject(subject, &error).ok()) {
    say_error("--common-name: %s", error.c_str());
    return kExitUsage;
  }

  // Step 2: the key, inside the token.
  tether::port::Pkcs11KeyStoreSettings token;
  token.module_path = config->pkcs11.module.c_str();
  token.pin_file = config->pkcs11.pin_file.c_str();
  token.pin_env = config->pkcs11.pin_env.c_str();
  token.token_uri = config->pkcs11.token.c_str();
  tether::port::Pkcs11KeyStore store(token);
  tether::port::KeySpec spec;
  spec.algorithm = tether::port::KeyAlgorithm::kEcP256;
  spec.label = options.key_label;
  const tether::Result<tether::port::KeyInfo> key = store.generate_key(spec);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kAlreadyExists) {
      say_error("generating the key: a key labelled \"%s\" already exists in the token (%s): delete it or pass another "
                "--key-label",
                options.key_label.c_str(), store.last_error());
    } else {
      say_error("generating the key \"%s\" in the token: %s: %s", options.key_label.c_str(),
                status_text(key.status()).c_str(), store.last_error());
    }
    return kExitToken;
  }
  tether::examples::tell(LOG_INFO,
      "%s: generated %s key %s\n", kProgram, tether::port::to_string(key->algorithm), key->uri.c_str());

  // Steps 3 to 7; on failure the key goes again.
  const int code = Provisioning(options, *config, std::move(config_text), store, *key).run();
  if (code != kExitOk) {
    const Status deleted = store.delete_object(key->uri.view());
    if (deleted.ok()) {
      say_error("deleted the new key %s from the token again", key->uri.c_str());
    } else {
      say_error("could not delete the new key %s from the token: %s: %s (delete it before retrying)",
                key->uri.c_str(), status_text(deleted).c_str(), store.last_error());
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const int code = run(argc, argv);
  tether::examples::exit_now(code);
}
