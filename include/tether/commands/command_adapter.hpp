// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::commands::CommandAdapter`: AWS IoT Commands (PROTOCOLS.md §3, Source::kCommands) or
/// the cloud-neutral `cmd/<thing>` pattern (DESIGN.md §6, Source::kNeutral) as an Adapter of the
/// command Inbox. Both *push* work: the service publishes a request per execution, the device
/// answers with status updates. The profile given to the constructor picks the protocol; the wire
/// format is the pure codec's (command_codec.hpp).
///
/// ## Life cycle
/// ```
///  start(): subscribes (through inbox.agent(), QoS 1)
///     kAws      .../executions/+/request/json, .../+/request/cbor, .../+/request,
///               .../+/response/accepted/json, .../+/response/rejected/json
///     kNeutral  cmd/<thing>/+/request, cmd/<thing>/+/response/accepted, .../response/rejected
///  a request --decode_request--> inbox.deliver(id = execution id, operation = the document's
///     "operation" member (empty: the inbox rejects UNKNOWN_OPERATION), document, payload,
///     content type, deadline = receipt + MQTT 5 message expiry (absent: none))
///  a request that does not decode (not JSON, "operation" not a string, too large) and whose id the
///     inbox does not know --> REJECTED, reasonCode INVALID_REQUEST, sent at once (not journaled)
///  a status of the inbox --encode_update--> .../<id>/response[/json]; its answer goes back through
///     status_answered(): accepted -> kAccepted; InternalError, RequestThrottled and no answer
///     within `answer_timeout` -> kRetry; every other refusal (TerminalStateReached,
///     InvalidStateTransition, ResourceNotFound, InvalidRequest, ...) -> kFinal, never a loop
/// ```
/// A CBOR or opaque request (no JSON document) names no operation: the inbox rejects it
/// UNKNOWN_OPERATION. Answers are matched to updates by execution id, oldest first (the protocol
/// has no clientToken); an answer no update awaits (a duplicate, one from before a reconnect) is
/// ignored and counted.
///
/// ## Status updates
/// | report      | update body                                                               |
/// |-------------|---------------------------------------------------------------------------|
/// | status      | IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT (QUEUED: kInvalidArgument) |
/// | reason_code | statusReason.reasonCode: lower case made upper case, other characters outside `[A-Z0-9_-]` made `_`, at most 64 |
/// | reason      | statusReason.reasonDescription (only with a reason code; control characters made spaces) |
/// | details     | result: each member of the JSON object as a typed entry: strings `{"s"}`, booleans `{"b"}`, any other value `{"s": its compact JSON text}` |
///
/// A result entry the service would refuse (an empty string, a key with control characters, a
/// duplicated key, beyond kMaxResultEntries) is left out with a warning and counted; when the
/// update would still not fit, it is sent without its result. The status itself is never lost.
///
/// Single-threaded like the Agent; heap-free: the buffers are inline (sizeof 5664 B on Cortex-M4,
/// 6784 B on x86_64; most of it the update body and its result entries).

#include <cstdint>
#include <string_view>

#include "tether/commands/command_codec.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"

namespace tether::commands {

struct CommandAdapterSettings {
  /// kAws only: address the device by thing name (`things`) or by the agent's MQTT client id
  /// (`clients`). kNeutral has things only.
  DeviceType device_type = DeviceType::kThing;
  /// An update whose answer has not arrived after this long counts as lost: the inbox sends the
  /// status again after its status_retry.
  Milliseconds answer_timeout{10000};
};

/// Counters since construction.
struct CommandAdapterStats {
  std::uint32_t requests = 0;          ///< request messages received
  std::uint32_t delivered = 0;         ///< requests handed to the inbox (incl. duplicates it answers)
  std::uint32_t invalid_requests = 0;  ///< requests that did not decode: REJECTED INVALID_REQUEST sent
  std::uint32_t updates_sent = 0;
  std::uint32_t updates_accepted = 0;
  std::uint32_t updates_retry = 0;     ///< refused for now (throttled, internal error) or unanswered
  std::uint32_t updates_final = 0;     ///< refused for good
  std::uint32_t unmatched_answers = 0; ///< answers no update awaited
  std::uint32_t malformed = 0;         ///< messages that are neither a request nor a readable answer
  std::uint32_t result_dropped = 0;    ///< result entries (or whole results) left out of updates
};

class CommandAdapter final : public Adapter {
 public:
  /// Longest update body encoded (a result from a report of at most kMaxDetails bytes fits).
  static constexpr std::size_t kMaxUpdate = 3072;
  /// Result entries per update; members beyond are left out.
  static constexpr std::size_t kMaxResultEntries = 32;
  /// Updates whose answer is awaited at once; beyond, the oldest counts as unanswered.
  static constexpr std::size_t kMaxPendingUpdates = 8;

  /// `profile` picks the protocol: kAws = AWS IoT Commands (source() kCommands), kNeutral =
  /// `cmd/<thing>` (source() kNeutral). It need not be the agent's profile: one device may run
  /// both adapters on one Inbox.
  explicit CommandAdapter(TopicProfile profile, const CommandAdapterSettings& settings = {});
  /// Unsubscribes. Destroy the Inbox first (it calls the adapter); the agent must outlive both.
  ~CommandAdapter() override;
  CommandAdapter(const CommandAdapter&) = delete;
  CommandAdapter& operator=(const CommandAdapter&) = delete;

  // Adapter
  Source source() const override { return profile_ == TopicProfile::kAws ? Source::kCommands : Source::kNeutral; }
  /// Called by Inbox::start(): checks the settings, builds the topics and subscribes. ok,
  /// kFailedPrecondition (started), kInvalidArgument (device type `clients` under kNeutral,
  /// answer_timeout < 1 ms; `why` says which), the CommandTopics::init / init_client errors (thing
  /// name or client id not valid for the profile, topics too long), the Agent's subscribe errors
  /// (everything subscribed so far is unsubscribed again).
  Status start(Inbox& inbox, ErrorText* why) override;
  /// Encodes and publishes the update of execution `id`. ok, or: kFailedPrecondition (not
  /// started), kInvalidArgument (QUEUED; an id that is not an execution id), the Agent's publish
  /// error (kUnavailable when offline). The inbox retries what was not sent.
  Status send_status(std::string_view id, const StatusReport& report) override;
  void on_agent_event(const AgentEvent& event) override;
  void on_agent_subscribed(std::string_view filter, Status result) override;
  void on_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  TopicProfile profile() const { return profile_; }
  /// Connected and every filter granted on this connection.
  bool ready() const;
  const CommandTopics& topics() const { return topics_; }
  const CommandAdapterStats& stats() const { return stats_; }

 private:
  struct PendingUpdate {
    FixedString<kMaxExecutionId> execution_id;
    Milliseconds sent{0};
  };

  Span<const CommandFilter> filters() const;
  void unsubscribe_first(std::size_t count);
  void on_message(const InboundMessage& message);
  void on_request(const InboundMessage& message, const InboundTopic& topic);
  void on_answer(const InboundTopic& topic, Span<const std::uint8_t> payload);
  void reject_invalid(std::string_view id, std::string_view reason_code, std::string_view reason);
  void answered(std::string_view id, StatusAnswer answer);
  /// Fills entries_ from the members of `details`; returns how many.
  std::size_t collect_result(std::string_view id, const json::Value& details, ExecutionStatus status);

  TopicProfile profile_;
  CommandAdapterSettings settings_;
  Inbox* inbox_ = nullptr;
  Agent* agent_ = nullptr;
  CommandTopics topics_;
  bool started_ = false;
  std::uint8_t granted_ = 0;  // bit per filter, granted on this connection
  FixedVector<PendingUpdate, kMaxPendingUpdates> pending_;
  CommandAdapterStats stats_;
  ResultEntry entries_[kMaxResultEntries];  // the result of the update being encoded (views)
  char update_buffer_[kMaxUpdate];
  char value_buffer_[kMaxDetails + 64];  // non-string result values written as JSON text
};

}  // namespace tether::commands
