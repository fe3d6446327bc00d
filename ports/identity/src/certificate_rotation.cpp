// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/identity/certificate_rotation.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <ctime>

#include "tether/port/identity/identity_files.hpp"
#include "tether/port/openssl/csr.hpp"
#include "tether/port/pkcs11/tls_key.hpp"

namespace tether::identity {

namespace {

constexpr std::size_t kMaxConfigText = 64 * 1024;
constexpr Milliseconds kProbePoll{50};

Status rotation_status(StatusCode code, std::uint16_t detail = 0) {
  return Status(code, Origin::kProvisioning, detail);
}

// Records every event of the test connection.
class ProbeListener final : public port::MqttListener {
 public:
  bool decided = false;
  Status outcome = rotation_status(StatusCode::kDeadlineExceeded);
  void on_connection(const ConnectionEvent& event) override {
    if (decided) return;
    decided = true;
    outcome = event.state == ConnectionState::kConnected ? ok_status() : event.reason;
  }
  void on_message(const InboundMessage&) override {}
  void on_publish_complete(PacketToken, Status) override {}
  void on_subscribe_complete(PacketToken, Status, Qos) override {}
};

}  // namespace

CertificateRotation::CertificateRotation(Agent& agent, port::PahoMqttClient& mqtt, RotationSettings settings,
                                         port::LogSink* log)
    : agent_(agent),
      mqtt_(mqtt),
      settings_(std::move(settings)),
      log_(log),
      sink_(log),
      provisioner_(std::make_unique<provisioning::FleetProvisioner>(agent, log)) {}

CertificateRotation::~CertificateRotation() { detach(); }

Status CertificateRotation::attach() {
  if (attached_) return ok_status();
  TETHER_RETURN_IF_ERROR(agent_.attach(*provisioner_));
  const Status s = agent_.attach(*this);
  if (!s.ok()) {
    agent_.detach(*provisioner_).ignore();
    return s;
  }
  attached_ = true;
  return ok_status();
}

void CertificateRotation::detach() {
  if (!attached_) return;
  agent_.detach(*this).ignore();
  agent_.detach(*provisioner_).ignore();
  attached_ = false;
}

Status CertificateRotation::failed(Status status, const char* step, const std::string& why) {
  set_error_text(&last_error_, "certificate rotation: %s: %s", step, why.c_str());
  TETHER_LOG_ERROR(log_, Origin::kProvisioning, status, "%s", last_error_.c_str());
  return status;
}

Status CertificateRotation::start() {
  if (running()) return rotation_status(StatusCode::kFailedPrecondition);
  last_error_.clear();
  outcome_ = RotationOutcome();
  if (!attached_) {
    return failed(rotation_status(StatusCode::kFailedPrecondition), "start", "not attached to the agent (attach())");
  }
  if (!agent_.connected()) {
    return failed(rotation_status(StatusCode::kFailedPrecondition), "start",
                  "the agent is not connected (the new certificate is requested over its connection)");
  }
  const char* missing = settings_.template_name.empty()     ? "template_name"
                        : settings_.config_path.empty()     ? "config_path"
                        : settings_.certificate_dir.empty() ? "certificate_dir"
                        : settings_.runtime_dir.empty()     ? "runtime_dir"
                                                            : nullptr;
  if (missing != nullptr) {
    return failed(rotation_status(StatusCode::kInvalidArgument), "settings", std::string(missing) + " is not set");
  }
  const std::string thing(agent_.config().thing_name.view());

  // 1. The new key, inside the token, and its CSR. The store lives for this step only: libp11
  // opens its read/write session with PKCS11_open_session, which closes the other sessions of the
  // slot (another store's, too), so a store kept across steps could find its session gone.
  keys_ = std::make_unique<port::Pkcs11KeyStore>(settings_.token);
  const std::string label = settings_.key_label_prefix + "-" + std::to_string(static_cast<long long>(std::time(nullptr)));
  port::KeySpec spec;
  spec.algorithm = port::KeyAlgorithm::kEcP256;
  spec.label = label;
  Result<port::KeyInfo> key = keys_->generate_key(spec);
  if (!key.ok()) return failed(key.status(), "new key", keys_->last_error());
  new_key_uri_ = std::string(key->uri.view());
  std::array<std::uint8_t, 1024> spki{};
  Result<std::size_t> spki_len = keys_->public_key_der(new_key_uri_, spki);
  if (!spki_len.ok()) {
    const Status s = failed(spki_len.status(), "new key", keys_->last_error());
    rollback();
    return s;
  }
  new_public_key_.assign(spki.begin(), spki.begin() + static_cast<std::ptrdiff_t>(*spki_len));
  std::array<char, openssl::kCsrPemMaxSize> csr{};
  ErrorText why;
  openssl::CsrSubject subject;
  subject.common_name = thing;
  Result<std::size_t> csr_len = openssl::build_csr(*keys_, new_key_uri_, subject, csr, &why);
  if (!csr_len.ok()) {
    const Status s = failed(csr_len.status(), "CSR", why.c_str());
    rollback();
    return s;
  }
  csr_.assign(csr.data(), *csr_len);
  keys_.reset();

  // 2. Fleet provisioning over the agent's connection.
  parameter_texts_.clear();
  parameters_.clear();
  parameter_texts_.reserve(2 * (settings_.parameters.size() + 1));
  parameter_texts_.push_back("ThingName");
  parameter_texts_.push_back(thing);
  for (const auto& p : settings_.parameters) {
    if (p.first == "ThingName") continue;
    parameter_texts_.push_back(p.first);
    parameter_texts_.push_back(p.second);
  }
  for (std::size_t i = 0; i + 1 < parameter_texts_.size(); i += 2) {
    parameters_.push_back(provisioning::Entry{parameter_texts_[i], parameter_texts_[i + 1]});
  }
  provisioning::ProvisioningRequest request;
  request.template_name = settings_.template_name;
  request.csr_pem = csr_;
  request.parameters = Span<const provisioning::Entry>(parameters_.data(), parameters_.size());
  request.answer_timeout = settings_.answer_timeout;
  const Status started = provisioner_->start(request);
  if (!started.ok() || provisioner_->done()) {
    const Status s = started.ok() ? provisioner_->result() : started;
    failed(s, "provisioning", provisioner_->last_error()).ignore();
    rollback();
    return s;
  }
  step_ = Step::kProvisioning;
  result_ = rotation_status(StatusCode::kFailedPrecondition);
  TETHER_LOG_INFO(log_, Origin::kProvisioning, "certificate rotation: new key %s, asking for its certificate",
                  new_key_uri_.c_str());
  return ok_status();
}

void CertificateRotation::on_agent_tick(Milliseconds) {
  if (step_ == Step::kProvisioning && provisioner_->done()) finish_provisioned();
}

Milliseconds CertificateRotation::next_tick_due() const {
  // The provisioner's own deadline wakes the agent; this only needs the tick after it is done.
  return step_ == Step::kProvisioning && provisioner_->done() ? Milliseconds(0) : Milliseconds::max();
}

void CertificateRotation::finish_provisioned() {
  if (!provisioner_->result().ok()) {
    failed(provisioner_->result(), "provisioning", provisioner_->last_error()).ignore();
    rollback();
    end(provisioner_->result());
    return;
  }
  std::string pem;
  Status s = check_certificate(&pem);
  if (s.ok()) s = write_certificate(pem);
  if (s.ok()) s = test_connection();
  if (s.ok()) s = switch_identity();
  if (!s.ok()) {
    rollback();
    end(s);
    return;
  }
  outcome_.key_uri = new_key_uri_;
  outcome_.cert_file = new_cert_file_;
  outcome_.key_file = new_key_file_;
  outcome_.certificate_id = std::string(provisioner_->certificate().certificate_id.view());
  provisioner_->clear();
  TETHER_LOG_INFO(log_, Origin::kProvisioning,
                  "certificate rotation: switched to certificate %s (%s) and key %s; reconnecting with them",
                  outcome_.certificate_id.c_str(), outcome_.cert_file.c_str(), outcome_.key_uri.c_str());
  end(ok_status());
}

Status CertificateRotation::check_certificate(std::string* cert_pem) {
  const std::string thing(agent_.config().thing_name.view());
  if (provisioner_->thing().thing_name != thing) {
    return failed(rotation_status(StatusCode::kInvalidArgument), "certificate",
                  "RegisterThing named thing '" + std::string(provisioner_->thing().thing_name.view()) +
                      "', not this device's '" + thing + "' (check the template)");
  }
  *cert_pem = std::string(provisioner_->certificate().certificate_pem.view());
  ErrorText why;
  const Status s = check_certificate_key(
      *cert_pem, Span<const std::uint8_t>(new_public_key_.data(), new_public_key_.size()), &why);
  if (!s.ok()) return failed(s, "certificate", std::string("the issued certificate: ") + why.c_str());
  return ok_status();
}

Status CertificateRotation::write_certificate(const std::string& pem) {
  const std::string thing(agent_.config().thing_name.view());
  const std::string id(provisioner_->certificate().certificate_id.view().substr(0, 16));
  new_cert_file_ = settings_.certificate_dir + "/" + thing + "-" + id + ".crt";
  ErrorText why;
  Status s = port::write_file_atomically(new_cert_file_, pem, 0644, &why);
  if (!s.ok()) {
    new_cert_file_.clear();
    return failed(s, "certificate file", why.c_str());
  }
  // The key file TLS reads (the URI), checked against the certificate through OpenSSL.
  new_key_file_ = settings_.runtime_dir + "/" + thing + "-" + id + "-tls-key.pem";
  port::Pkcs11TlsKeySettings tls;
  tls.token = settings_.token;
  tls.key_uri = new_key_uri_;
  tls.cert_file = new_cert_file_;
  tls.key_pem_path = new_key_file_;
  tls.provider_module = settings_.provider_module;
  s = port::enable_pkcs11_tls_key(tls, nullptr, &why);
  if (!s.ok()) return failed(s, "key file", why.c_str());
  return ok_status();
}

Status CertificateRotation::test_connection() {
  port::PahoSettings settings = port::PahoSettings::from_config(agent_.config().broker);
  settings.cert_file = new_cert_file_;
  settings.key_file = new_key_file_;
  settings.log_level = LogLevel::kWarn;
  port::PahoMqttClient probe(settings, sink_);
  ProbeListener listener;
  probe.set_listener(&listener);
  ConnectOptions options;
  options.client_id = agent_.config().client_id.view();
  options.version = agent_.config().mqtt.version;
  options.keep_alive_s = 30;
  options.clean_start = true;
  options.connect_timeout = settings_.probe_timeout;
  TETHER_LOG_INFO(log_, Origin::kProvisioning,
                  "certificate rotation: test connection with the new certificate (the current connection "
                  "ends for the moment)");
  Status s = probe.connect(options);
  if (s.ok()) {
    const Milliseconds deadline = agent_.clock().now() + settings_.probe_timeout + Milliseconds(1000);
    while (!listener.decided && agent_.clock().now() < deadline) {
      const Status polled = probe.poll(kProbePoll);
      if (!polled.ok()) break;
    }
    s = listener.outcome;
  }
  if (probe.connected()) probe.disconnect().ignore();
  probe.set_listener(nullptr);
  if (!s.ok()) {
    char code[64];
    return failed(s, "test connection",
                  std::string("the broker did not accept the new certificate and key (") +
                      format_status(s, code, sizeof code) + "); keeping the current identity");
  }
  return ok_status();
}

Status CertificateRotation::switch_identity() {
  // The configuration: tls.cert_file and tls.key replaced, everything else as it is.
  std::string old_text;
  {
    std::FILE* f = std::fopen(settings_.config_path.c_str(), "rb");
    if (f == nullptr) {
      return failed(rotation_status(StatusCode::kNotFound), "configuration",
                    "cannot read " + settings_.config_path + ": " + std::strerror(errno));
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && old_text.size() <= kMaxConfigText) old_text.append(buf, n);
    std::fclose(f);
  }
  std::string new_text;
  ErrorText why;
  Status s = identity_config(old_text, settings_.config_path, {}, new_cert_file_, new_key_uri_, &new_text, &why);
  if (!s.ok()) return failed(s, "configuration", why.c_str());
  s = port::write_file_atomically(settings_.config_path, new_text, 0600, &why);
  if (!s.ok()) return failed(s, "configuration", why.c_str());
  s = mqtt_.set_tls_identity(new_cert_file_, new_key_file_);
  if (!s.ok()) {
    port::write_file_atomically(settings_.config_path, old_text, 0600, nullptr).ignore();
    return failed(s, "switch", "the MQTT client refused the new files; the configuration was restored");
  }
  return ok_status();
}

void CertificateRotation::rollback() {
  if (!new_cert_file_.empty()) ::unlink(new_cert_file_.c_str());
  if (!new_key_file_.empty()) ::unlink(new_key_file_.c_str());
  if (!new_key_uri_.empty()) {
    keys_ = std::make_unique<port::Pkcs11KeyStore>(settings_.token);
    const Status deleted = keys_->delete_object(new_key_uri_);
    if (!deleted.ok()) {
      TETHER_LOG_WARN(log_, Origin::kProvisioning, deleted, "certificate rotation: the new key %s stays in the token: %s",
                      new_key_uri_.c_str(), keys_->last_error());
    }
    keys_.reset();
  }
  new_cert_file_.clear();
  new_key_file_.clear();
  new_key_uri_.clear();
  provisioner_->clear();
}

void CertificateRotation::end(Status status) {
  result_ = status;
  step_ = Step::kDone;
  new_key_uri_.clear();
  new_cert_file_.clear();
  new_key_file_.clear();
  if (done_handler_) done_handler_(status);
}

}  // namespace tether::identity
