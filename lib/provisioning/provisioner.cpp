// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/provisioning/provisioner.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "tether/decimal.hpp"

namespace tether::provisioning {

namespace {

constexpr Milliseconds kRunPollSlice{50};

// Index of the answer topics in topics_[].
constexpr std::size_t kCertAccepted = 0;
constexpr std::size_t kCertRejected = 1;
constexpr std::size_t kThingAccepted = 2;
constexpr std::size_t kThingRejected = 3;

std::string_view text_of(const InboundMessage& message) {
  return std::string_view(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
}

// Wipes a credential held in a FixedString (the token, the certificate).
template <std::size_t N>
void wipe(FixedString<N>& s) {
  volatile char* p = const_cast<volatile char*>(s.c_str());
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace

const char* to_string(FleetProvisioner::Step step) {
  switch (step) {
    case FleetProvisioner::Step::kIdle: return "idle";
    case FleetProvisioner::Step::kSubscribing: return "subscribing";
    case FleetProvisioner::Step::kCreatingCertificate: return "CreateCertificateFromCsr";
    case FleetProvisioner::Step::kRegisteringThing: return "RegisterThing";
    case FleetProvisioner::Step::kSucceeded: return "succeeded";
    case FleetProvisioner::Step::kFailed: return "failed";
  }
  return "?";
}

FleetProvisioner::FleetProvisioner(port::MqttClient& client, const port::Clock& clock, port::LogSink* log)
    : client_(&client), clock_(clock), log_(log) {
  request_[0] = '\0';
}

FleetProvisioner::FleetProvisioner(Agent& agent, port::LogSink* log)
    : agent_(&agent), clock_(agent.clock()), log_(log) {
  request_[0] = '\0';
}

FleetProvisioner::~FleetProvisioner() {
  if (step_ != Step::kIdle && !done()) release_client();
  clear();
}

void FleetProvisioner::release_client() {
  if (client_ != nullptr) client_->set_listener(nullptr);
}

bool FleetProvisioner::link_connected() const {
  return client_ != nullptr ? client_->connected() : agent_->connected();
}

Result<PacketToken> FleetProvisioner::link_publish(std::string_view topic_name, std::string_view payload) {
  if (agent_ != nullptr) return agent_->publish(topic_name, as_bytes(payload), Qos::k1);
  OutgoingMessage message;
  message.topic = topic_name;
  message.payload = as_bytes(payload);
  message.qos = Qos::k1;
  return client_->publish(message);
}

void FleetProvisioner::clear() {
  wipe(certificate_.ownership_token);
  wipe(certificate_.certificate_pem);
  certificate_.certificate_id.clear();
  std::memset(request_, 0, sizeof request_);
}

const char* FleetProvisioner::step_name() const { return to_string(step_); }

void FleetProvisioner::enter(Step step) {
  step_ = step;
  deadline_ = clock_.now() + timeout_;
}

void FleetProvisioner::fail(Status status, const char* format, ...) {
  char text[ErrorText::kCapacity + 1];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  set_error_text(&last_error_, "fleet provisioning: %s: %s", step_name(), text);
  TETHER_LOG_ERROR(log_, Origin::kProvisioning, status, "%s", last_error_.c_str());
  result_ = status;
  // The ownership token is of no use any more (a new CSR starts again); the certificate stays
  // readable for diagnosis.
  wipe(certificate_.ownership_token);
  unsubscribe_all();
  step_ = Step::kFailed;
  release_client();
}

Status FleetProvisioner::start(const ProvisioningRequest& request) {
  if (step_ != Step::kIdle && !done()) return Status(StatusCode::kFailedPrecondition, Origin::kProvisioning, 0);
  last_error_.clear();
  rejection_ = Rejection();
  thing_ = ThingRegistered();
  clear();
  ErrorText why;
  Status checked = validate_template_name(request.template_name, &why);
  if (checked.ok()) {
    // Checks the CSR and the parameters (with a placeholder token) before anything goes out.
    const Entry* params = request.parameters.data();
    checked = encode_create_from_csr(request.csr_pem, Span<char>(request_, sizeof request_), &why).status();
    if (checked.ok()) {
      checked = encode_register_thing("x", Span<const Entry>(params, request.parameters.size()),
                                      Span<char>(request_, sizeof request_), &why)
                    .status();
    }
  }
  if (!checked.ok()) {
    set_error_text(&last_error_, "fleet provisioning: %s", why.c_str());
    result_ = checked;
    return checked;
  }
  if (!link_connected()) {
    set_error_text(&last_error_, "fleet provisioning: %s",
                   agent_ != nullptr ? "the agent is not connected"
                                     : "the client is not connected (connect with the claim identity)");
    result_ = Status(StatusCode::kFailedPrecondition, Origin::kProvisioning, 0);
    return result_;
  }

  template_name_.assign(request.template_name).ignore();
  parameter_count_ = request.parameters.size();
  for (std::size_t i = 0; i < parameter_count_; ++i) {
    parameter_keys_[i].assign(request.parameters[i].key).ignore();
    parameter_values_[i].assign(request.parameters[i].value).ignore();
  }
  timeout_ = request.answer_timeout;
  result_ = Status(StatusCode::kFailedPrecondition, Origin::kProvisioning, 0);

  // The CSR request is kept ready in request_ (encoded above for the check: encode it again).
  Result<std::string_view> csr_request = encode_create_from_csr(request.csr_pem, Span<char>(request_, sizeof request_));
  TETHER_RETURN_IF_ERROR(csr_request.status());
  request_size_ = csr_request->size();

  const struct {
    Api api;
    Answer answer;
  } answers[kTopics] = {{Api::kCreateCertificateFromCsr, Answer::kAccepted},
                        {Api::kCreateCertificateFromCsr, Answer::kRejected},
                        {Api::kRegisterThing, Answer::kAccepted},
                        {Api::kRegisterThing, Answer::kRejected}};
  char buf[kTopicBuffer];
  for (std::size_t i = 0; i < kTopics; ++i) {
    Result<std::string_view> t = topic(answers[i].api, answers[i].answer, template_name_.view(), Span<char>(buf, sizeof buf));
    TETHER_RETURN_IF_ERROR(t.status());
    topics_[i].assign(*t).ignore();
    subscribed_[i] = false;
  }
  if (client_ != nullptr) client_->set_listener(this);
  enter(Step::kSubscribing);
  for (std::size_t i = 0; i < kTopics; ++i) {
    if (agent_ != nullptr) {
      const Status s =
          agent_->subscribe(topics_[i].view(), Qos::k1, [this](const InboundMessage& m) { on_message(m); });
      if (!s.ok()) {
        fail(s, "cannot subscribe to %s", topics_[i].c_str());
        return ok_status();  // the run has ended: result() says why
      }
      continue;
    }
    Result<PacketToken> token = client_->subscribe(topics_[i].view(), Qos::k1);
    if (!token.ok()) {
      fail(token.status(), "cannot subscribe to %s", topics_[i].c_str());
      return ok_status();
    }
    subscribe_tokens_[i] = *token;
  }
  TETHER_LOG_INFO(log_, Origin::kProvisioning, "fleet provisioning: template %s, waiting for 4 subscriptions",
                  template_name_.c_str());
  return ok_status();
}

FleetProvisioner::Step FleetProvisioner::step() {
  if (!done() && step_ != Step::kIdle && clock_.now() >= deadline_) {
    fail(Status(StatusCode::kDeadlineExceeded, Origin::kProvisioning, 0), "no answer within %s ms",
         Decimal(timeout_.count()).c_str());
  }
  return step_;
}

Status FleetProvisioner::run(const ProvisioningRequest& request) {
  TETHER_RETURN_IF_ERROR(start(request));
  while (!done()) {
    const Status polled = agent_ != nullptr ? agent_->run_once(kRunPollSlice) : client_->poll(kRunPollSlice);
    if (!polled.ok() && !done()) fail(polled, "the MQTT client failed while waiting");
    step();
  }
  return result_;
}

void FleetProvisioner::send_create_certificate() {
  enter(Step::kCreatingCertificate);
  Result<PacketToken> token =
      link_publish("$aws/certificates/create-from-csr/json", std::string_view(request_, request_size_));
  if (!token.ok()) {
    fail(token.status(), "cannot publish the CSR");
    return;
  }
  request_token_ = *token;
  request_token_valid_ = true;
  TETHER_LOG_INFO(log_, Origin::kProvisioning, "fleet provisioning: CSR sent, waiting for the certificate");
}

void FleetProvisioner::send_register_thing() {
  Entry params[kMaxEntries];
  for (std::size_t i = 0; i < parameter_count_; ++i) params[i] = Entry{parameter_keys_[i].view(), parameter_values_[i].view()};
  ErrorText why;
  Result<std::string_view> body = encode_register_thing(certificate_.ownership_token.view(),
                                                        Span<const Entry>(params, parameter_count_),
                                                        Span<char>(request_, sizeof request_), &why);
  if (!body.ok()) {
    fail(body.status(), "cannot encode the request: %s", why.c_str());
    return;
  }
  char buf[kTopicBuffer];
  Result<std::string_view> t =
      topic(Api::kRegisterThing, Answer::kRequest, template_name_.view(), Span<char>(buf, sizeof buf));
  if (!t.ok()) {
    fail(t.status(), "cannot build the topic");
    return;
  }
  enter(Step::kRegisteringThing);
  Result<PacketToken> token = link_publish(*t, *body);
  // The token went into the request buffer: wipe it there once handed to the client.
  std::memset(request_, 0, sizeof request_);
  if (!token.ok()) {
    fail(token.status(), "cannot publish the registration");
    return;
  }
  request_token_ = *token;
  request_token_valid_ = true;
  TETHER_LOG_INFO(log_, Origin::kProvisioning, "fleet provisioning: certificate %s issued, registering the thing",
                  certificate_.certificate_id.c_str());
}

void FleetProvisioner::finish_success() {
  wipe(certificate_.ownership_token);
  unsubscribe_all();
  result_ = ok_status();
  step_ = Step::kSucceeded;
  release_client();
  if (thing_.config_dropped > 0) {
    TETHER_LOG_WARN(log_, Origin::kProvisioning, Status(StatusCode::kOutOfRange, Origin::kProvisioning, 0),
                    "fleet provisioning: %lu deviceConfiguration entries not kept (more than %lu, too long, or "
                    "not strings)",
                    static_cast<unsigned long>(thing_.config_dropped), static_cast<unsigned long>(kMaxEntries));
  }
  TETHER_LOG_INFO(log_, Origin::kProvisioning, "fleet provisioning: thing %s registered with certificate %s",
                  thing_.thing_name.c_str(), certificate_.certificate_id.c_str());
}

void FleetProvisioner::unsubscribe_all() {
  for (std::size_t i = 0; i < kTopics; ++i) {
    if (agent_ != nullptr) {
      // The agent forgets the registration even when disconnected (nothing to restore later).
      if (step_ != Step::kIdle) agent_->unsubscribe(topics_[i].view()).ignore();
    } else if (subscribed_[i] && client_->connected()) {
      client_->unsubscribe(topics_[i].view()).status().ignore();
    }
    subscribed_[i] = false;
  }
}

Status FleetProvisioner::rejection_status() const {
  const int code = rejection_.status_code;
  const std::uint16_t detail = static_cast<std::uint16_t>(code > 0 ? code : 0);
  StatusCode status = StatusCode::kUnavailable;
  if (code == 400) status = StatusCode::kInvalidArgument;
  if (code == 401 || code == 403) status = StatusCode::kPermissionDenied;
  if (code == 404) status = StatusCode::kNotFound;
  if (code == 429) status = StatusCode::kResourceExhausted;
  return Status(status, Origin::kProvisioning, detail);
}

void FleetProvisioner::on_connection(const ConnectionEvent& event) {
  if (done() || step_ == Step::kIdle) return;
  if (event.state != ConnectionState::kConnected) {
    for (bool& s : subscribed_) s = false;
    fail(Status(StatusCode::kUnavailable, Origin::kProvisioning, 0), "the connection ended (%s)",
         event.state == ConnectionState::kDisconnected ? "disconnected" : "connect failed");
  }
}

void FleetProvisioner::subscribed(std::size_t index, Status result) {
  if (step_ != Step::kSubscribing || subscribed_[index]) return;
  if (!result.ok()) {
    const Status refused = result.code() == StatusCode::kPermissionDenied
                               ? Status(StatusCode::kPermissionDenied, Origin::kProvisioning, result.detail())
                               : Status(StatusCode::kUnavailable, Origin::kProvisioning, result.detail());
    fail(refused, "the broker refused the subscription to %s (does the policy allow it?)", topics_[index].c_str());
    return;
  }
  subscribed_[index] = true;
  for (bool s : subscribed_) {
    if (!s) return;
  }
  send_create_certificate();
}

void FleetProvisioner::on_subscribe_complete(PacketToken token, Status result, Qos) {
  for (std::size_t i = 0; i < kTopics; ++i) {
    if (subscribe_tokens_[i] == token) {
      subscribed(i, result);
      return;
    }
  }
}

void FleetProvisioner::publish_done(Status result) {
  request_token_valid_ = false;
  if (!result.ok()) {
    fail(Status(StatusCode::kUnavailable, Origin::kProvisioning, result.detail()), "the request was not delivered");
  }
}

void FleetProvisioner::on_publish_complete(PacketToken token, Status result) {
  if (!request_token_valid_ || token != request_token_ || done()) return;
  publish_done(result);
}

void FleetProvisioner::on_agent_event(const AgentEvent& event) {
  if (agent_ == nullptr || done() || step_ == Step::kIdle) return;
  if (event.type == AgentEventType::kDisconnected) {
    fail(Status(StatusCode::kUnavailable, Origin::kProvisioning, 0), "the connection ended (disconnected)");
  }
}

bool FleetProvisioner::on_agent_publish_complete(PacketToken token, Status result) {
  if (agent_ == nullptr || !request_token_valid_ || token != request_token_) return false;
  if (!done()) publish_done(result);
  request_token_valid_ = false;
  return true;
}

void FleetProvisioner::on_agent_subscribed(std::string_view filter, Status result) {
  if (agent_ == nullptr) return;
  for (std::size_t i = 0; i < kTopics; ++i) {
    if (topics_[i] == filter) {
      subscribed(i, result);
      return;
    }
  }
}

void FleetProvisioner::on_agent_tick(Milliseconds) {
  if (agent_ != nullptr) step();
}

Milliseconds FleetProvisioner::next_tick_due() const {
  return agent_ != nullptr && step_ != Step::kIdle && !done() ? deadline_ : Milliseconds::max();
}

void FleetProvisioner::on_message(const InboundMessage& message) {
  if (done() || step_ == Step::kIdle) return;
  const std::string_view topic_name = message.topic;
  const std::string_view text = text_of(message);
  ErrorText why;
  if (step_ == Step::kCreatingCertificate && topics_[kCertAccepted] == topic_name) {
    const Status decoded = decode_certificate_issued(text, certificate_, &why);
    if (!decoded.ok()) {
      fail(decoded, "the accepted answer does not parse: %s", why.c_str());
      return;
    }
    send_register_thing();
  } else if (step_ == Step::kRegisteringThing && topics_[kThingAccepted] == topic_name) {
    const Status decoded = decode_thing_registered(text, thing_, &why);
    if (!decoded.ok()) {
      fail(decoded, "the accepted answer does not parse: %s", why.c_str());
      return;
    }
    finish_success();
  } else if ((step_ == Step::kCreatingCertificate && topics_[kCertRejected] == topic_name) ||
             (step_ == Step::kRegisteringThing && topics_[kThingRejected] == topic_name)) {
    const Status decoded = decode_rejection(text, rejection_, &why);
    if (!decoded.ok()) {
      fail(decoded, "refused, and the rejection does not parse: %s", why.c_str());
      return;
    }
    // errorCode/errorMessage are the service's text: shown only as far as printable ASCII.
    char code[kMaxErrorCode + 1];
    char msg[kMaxErrorMessage + 1];
    std::size_t n = 0;
    for (char c : rejection_.error_code.view()) code[n++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    code[n] = '\0';
    n = 0;
    for (char c : rejection_.error_message.view()) msg[n++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    msg[n] = '\0';
    fail(rejection_status(), "refused: %d %s: %s", static_cast<int>(rejection_.status_code), code, msg);
  }
  // Anything else (an answer for another step, another device's answer) is not ours.
}

}  // namespace tether::provisioning
