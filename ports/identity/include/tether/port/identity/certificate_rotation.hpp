// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// CertificateRotation: a device replaces its TLS identity (key and certificate) without ever being
/// left without one that works. Linux; the key lives in a PKCS#11 token.
///
/// Steps (start(), then the agent's run_once() drives it):
///  1. a new EC P-256 key is generated inside the token (`<key_label_prefix>-<unix time>`, never
///     extractable) and its CSR is built with the key in the token (tether::openssl::build_csr);
///  2. over the agent's *current* connection, Fleet Provisioning by CSR (FleetProvisioner attached
///     to the agent): CreateCertificateFromCsr, then RegisterThing with `template_name` and the
///     parameters (`ThingName` = the configured thing name, plus `parameters`); the connection and
///     every other feature keep running meanwhile;
///  3. the issued certificate is checked: its public key must be the new key's, RegisterThing must
///     name this same thing; it is written to `<certificate_dir>/<thing>-<certificate id, 16 hex>.crt`
///     (0644) and the key made usable by TLS (enable_pkcs11_tls_key: key file in `runtime_dir`);
///  4. **test connection**: a separate MQTT connection with the new key and certificate (same
///     client id, so the broker ends the agent's connection for that moment; the agent's thread is
///     busy with the test, at most `probe_timeout`) must get CONNACK success;
///  5. only then **the switch**: `config_path` is rewritten atomically with `tls.cert_file` and
///     `tls.key` (the new key's URI), and the agent's Paho client takes the new files for its next
///     connect (set_tls_identity); the agent reconnects with them.
///
/// On any failure before the switch the old identity is untouched — files, configuration, the
/// Paho client — the new key is deleted from the token again and the new certificate file removed;
/// the agent reconnects (or stays connected) with the old identity. result() says why, last_error()
/// names the step. A failure to rewrite the configuration also rolls back (the old text is kept in
/// memory and written back if the Paho client refuses the new files).
///
/// Not done here: the old key and certificate stay in the token and on disk (delete them once the
/// service confirms the new certificate is in use); the service's old certificate is not
/// deactivated (AWS: UpdateCertificate, from the cloud side).
///
/// Not thread-safe: the agent's thread calls everything.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tether/agent.hpp"
#include "tether/error_text.hpp"
#include "tether/inplace_function.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/provisioning/provisioner.hpp"

namespace tether::identity {

struct RotationSettings {
  port::Pkcs11KeyStoreSettings token;  ///< module, PIN source, and token_uri: where the new key goes
  std::string provider_module;         ///< OpenSSL's pkcs11-provider (.so); empty: the default place
  std::string template_name;           ///< the fleet provisioning template that registers the new certificate
  std::vector<std::pair<std::string, std::string>> parameters;  ///< more template parameters
  std::string config_path;             ///< the agent configuration rewritten by the switch
  std::string certificate_dir;         ///< where the new certificate file goes
  std::string runtime_dir;             ///< where the new key's PEM (the URI only) goes
  std::string key_label_prefix = "tether-identity";
  Milliseconds answer_timeout{30000};  ///< per provisioning answer
  Milliseconds probe_timeout{15000};   ///< the test connection
};

/// What the switch installed.
struct RotationOutcome {
  std::string key_uri;         ///< the new key (pkcs11: URI)
  std::string cert_file;       ///< the new certificate file
  std::string key_file;        ///< the PEM Paho reads (names the URI)
  std::string certificate_id;  ///< the service's id of the new certificate
};

class CertificateRotation final : public AgentComponent {
 public:
  using DoneHandler = InplaceFunction<void(Status), 4 * sizeof(void*)>;

  /// `agent` runs over `mqtt`; `log` optional. None is owned; all must outlive this.
  CertificateRotation(Agent& agent, port::PahoMqttClient& mqtt, RotationSettings settings,
                      port::LogSink* log = nullptr);
  ~CertificateRotation() override;
  CertificateRotation(const CertificateRotation&) = delete;
  CertificateRotation& operator=(const CertificateRotation&) = delete;

  /// Attaches this and its provisioner to the agent (once, before start()).
  Status attach();
  void detach();

  /// Starts a rotation (steps 1 and 2). kFailedPrecondition: one is running, or the agent is not
  /// connected; kInvalidArgument: settings (which, in last_error()); the key store's and the CSR
  /// builder's errors for step 1. Nothing has changed when it fails.
  Status start();
  /// Called once when a started rotation has ended (result()).
  void set_done_handler(DoneHandler handler) { done_handler_ = std::move(handler); }

  bool running() const { return step_ != Step::kIdle && step_ != Step::kDone; }
  Status result() const { return result_; }
  /// The failure, naming the step (never the PIN or the ownership token). Empty after a success.
  const char* last_error() const { return last_error_.c_str(); }
  /// Valid after a successful rotation.
  const RotationOutcome& outcome() const { return outcome_; }

  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

 private:
  enum class Step : std::uint8_t { kIdle, kProvisioning, kDone };

  void finish_provisioned();
  Status check_certificate(std::string* cert_pem);
  Status write_certificate(const std::string& pem);
  Status test_connection();
  Status switch_identity();
  void rollback();
  void end(Status status);
  Status failed(Status status, const char* step, const std::string& why);

  Agent& agent_;
  port::PahoMqttClient& mqtt_;
  RotationSettings settings_;
  Logger log_;
  port::LogSink* sink_;
  std::unique_ptr<provisioning::FleetProvisioner> provisioner_;
  std::unique_ptr<port::Pkcs11KeyStore> keys_;  // only while a step needs the token (see start())
  DoneHandler done_handler_;

  Step step_ = Step::kIdle;
  Status result_ = Status(StatusCode::kFailedPrecondition, Origin::kProvisioning, 0);
  ErrorText last_error_;
  std::string new_key_uri_;
  std::vector<std::uint8_t> new_public_key_;
  std::string csr_;
  std::vector<std::string> parameter_texts_;
  std::vector<provisioning::Entry> parameters_;
  std::string new_cert_file_;
  std::string new_key_file_;
  RotationOutcome outcome_;
  bool attached_ = false;
};

}  // namespace tether::identity
