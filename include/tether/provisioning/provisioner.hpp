// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// FleetProvisioner: runs AWS IoT Fleet Provisioning by CSR (fleet_provisioning.hpp) over an MQTT
/// connection made with the *claim* identity (a certificate that may do nothing but provision):
///
///  1. subscribes to the accepted and rejected topics of both APIs and waits for every SUBACK
///     (the service answers only subscribers: publishing first could lose the answer);
///  2. publishes the CSR to CreateCertificateFromCsr and waits for the certificate, its id and the
///     ownership token;
///  3. publishes the token and the template parameters to RegisterThing and waits for the thing name
///     and the deviceConfiguration;
///  4. unsubscribes again.
///
/// The new key never leaves the device (only its CSR goes out); what to do with the certificate —
/// check it against the key, store it, switch the agent's identity — is the caller's (the
/// `tether-provision` example does all of it). The certificate stays PENDING_ACTIVATION at the
/// service until RegisterThing succeeds, and the ownership token expires after an hour: a failure
/// after step 2 means starting again from step 2 (a new CSR is fine).
///
/// Two ways to run it:
/// - **On its own client** (first boot, the claim identity): construct it with the MqttClient,
///   `start()` on the connected client, then call `client.poll()` and `step()` until `done()`; or
///   `run()` does both. start() makes this object the client's listener; when done it sets the
///   client's listener to null again (hand the client to an Agent, or disconnect it, afterwards).
/// - **Over an Agent's connection** (certificate rotation: the device's current identity asks for
///   its next certificate without dropping its connection): construct it with the Agent and
///   `agent.attach()` it; `start()` while the agent is connected; the agent's run_once() drives it
///   (subscriptions, answers and timeouts arrive through the AgentComponent calls); `done()` tells
///   when it has finished. It stays attached and idle afterwards (detach it before destroying it).
///
/// Failures (`result()`, logged with the step): kDeadlineExceeded/kProvisioning when an answer does
/// not come within `answer_timeout`; the service's refusal as kInvalidArgument (400),
/// kPermissionDenied (401, 403), kNotFound (404), kResourceExhausted (429), kUnavailable (5xx, other)
/// with origin kProvisioning and detail = statusCode (the Rejection in `rejection()`); an answer that
/// does not parse as the codec's error; kUnavailable when the connection drops, a SUBACK refuses a
/// topic (kPermissionDenied then: the claim policy does not allow it) or a publish fails.
///
/// Heap-free; the object holds the answers and one request buffer (25.5 KB on x86-64 with the
/// default limits: the certificate PEM, the ownership token and a 12 KB request buffer; see
/// docs/memory.md). Not thread-safe: the
/// thread that polls the client calls everything.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/agent.hpp"
#include "tether/error_text.hpp"
#include "tether/log.hpp"
#include "tether/port/clock.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/provisioning/fleet_provisioning.hpp"

namespace tether::provisioning {

struct ProvisioningRequest {
  std::string_view template_name;  ///< the fleet provisioning template (validated)
  std::string_view csr_pem;        ///< the CSR of the key the device generated (PEM)
  Span<const Entry> parameters;    ///< template parameters (SerialNumber, ...); copied by start()
  Milliseconds answer_timeout{30000};  ///< for each SUBACK set and each answer
};

class FleetProvisioner final : public port::MqttListener, public AgentComponent {
 public:
  enum class Step : std::uint8_t {
    kIdle,                 ///< not started
    kSubscribing,          ///< waiting for the SUBACKs
    kCreatingCertificate,  ///< CSR sent, waiting for the certificate
    kRegisteringThing,     ///< token sent, waiting for the thing
    kSucceeded,
    kFailed,
  };

  /// On its own client. `log` is optional (not owned). Neither `client` nor `clock` is owned; both
  /// must outlive this.
  FleetProvisioner(port::MqttClient& client, const port::Clock& clock, port::LogSink* log = nullptr);
  /// Over an agent's connection (attach it to `agent`). `agent` is not owned and must outlive this.
  explicit FleetProvisioner(Agent& agent, port::LogSink* log = nullptr);
  ~FleetProvisioner() override;
  FleetProvisioner(const FleetProvisioner&) = delete;
  FleetProvisioner& operator=(const FleetProvisioner&) = delete;

  /// Checks `request` (template name, CSR, parameters: kInvalidArgument/kOutOfRange with
  /// last_error()), makes this object the client's listener (own client) and subscribes.
  /// kFailedPrecondition when the client (agent) is not connected or a run is going on; a subscribe
  /// call that fails ends the run (result()).
  Status start(const ProvisioningRequest& request);

  /// Checks the timeout of the current step; call after each `client.poll()`. Returns the step.
  Step step();
  bool done() const { return step_ == Step::kSucceeded || step_ == Step::kFailed; }

  /// start(), then poll the client (or run the agent) at most 50 ms at a time and step() until
  /// done; returns result(). The connection stays up.
  Status run(const ProvisioningRequest& request);

  Step current_step() const { return step_; }
  /// ok after success; why it failed (see the file comment); kFailedPrecondition before the end.
  Status result() const { return result_; }
  /// What failed, in one line naming the step (never the token or the certificate). Empty on success.
  const char* last_error() const { return last_error_.c_str(); }

  /// Valid after step 2 succeeded (the certificate, its id, the ownership token).
  const CertificateIssued& certificate() const { return certificate_; }
  /// Valid after success.
  const ThingRegistered& thing() const { return thing_; }
  /// The service's refusal, when result() came from a rejected answer (status_code 0 otherwise).
  const Rejection& rejection() const { return rejection_; }

  /// Forgets the ownership token and the certificate (wiped). The destructor does it too.
  void clear();

  // MqttListener (the client calls these from poll()).
  void on_connection(const ConnectionEvent& event) override;
  void on_message(const InboundMessage& message) override;
  void on_publish_complete(PacketToken token, Status result) override;
  void on_subscribe_complete(PacketToken token, Status result, Qos granted) override;

  // AgentComponent (the agent calls these from run_once() when this runs over its connection).
  void on_agent_event(const AgentEvent& event) override;
  bool on_agent_publish_complete(PacketToken token, Status result) override;
  void on_agent_subscribed(std::string_view filter, Status result) override;
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

 private:
  static constexpr std::size_t kTopics = 4;  // accepted + rejected of both APIs
  static constexpr std::size_t kTopicBuffer = 96;
  static constexpr std::size_t kRequestBuffer = kMaxOwnershipToken + kMaxCsrPem + 1024 +
                                                kMaxEntries * (kMaxEntryKey + kMaxEntryValue) * 2;

  void fail(Status status, const char* format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
  void send_create_certificate();
  void send_register_thing();
  void finish_success();
  void unsubscribe_all();
  void enter(Step step);
  void subscribed(std::size_t index, Status result);
  void publish_done(Status result);
  bool link_connected() const;
  Result<PacketToken> link_publish(std::string_view topic, std::string_view payload);
  void release_client();
  Status rejection_status() const;
  const char* step_name() const;

  port::MqttClient* client_ = nullptr;  // own client, or
  Agent* agent_ = nullptr;              // over an agent's connection
  const port::Clock& clock_;
  Logger log_;

  Step step_ = Step::kIdle;
  Status result_ = Status(StatusCode::kFailedPrecondition, Origin::kProvisioning, 0);
  ErrorText last_error_;
  Milliseconds deadline_{0};
  Milliseconds timeout_{30000};

  FixedString<kMaxTemplateName> template_name_;
  FixedString<kMaxEntryKey> parameter_keys_[kMaxEntries];
  FixedString<kMaxEntryValue> parameter_values_[kMaxEntries];
  std::size_t parameter_count_ = 0;

  FixedString<kTopicBuffer> topics_[kTopics];
  PacketToken subscribe_tokens_[kTopics] = {};
  bool subscribed_[kTopics] = {};
  PacketToken request_token_ = 0;
  bool request_token_valid_ = false;

  char request_[kRequestBuffer];
  std::size_t request_size_ = 0;
  CertificateIssued certificate_;
  ThingRegistered thing_;
  Rejection rejection_;
};

const char* to_string(FleetProvisioner::Step step);

}  // namespace tether::provisioning
