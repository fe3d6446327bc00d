// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::commands::JobsAdapter`: the AWS IoT Jobs protocol (PROTOCOLS.md §2) as an Adapter of
/// the command Inbox. Jobs *pulls* work: the service keeps the queue and hands out one execution
/// at a time through StartNextPendingJobExecution, so the device never gets more than it can run.
///
/// ## Life cycle
/// ```
///  start(): subscribes notify-next, start-next/{accepted,rejected}, +/update/{accepted,rejected},
///           $next/get/{accepted,rejected} (through inbox.agent())
///  connected, every SUBACK in ----> pull
///  pull: a start-next {clientToken, stepTimeoutInMinutes?} when the inbox has a free slot and no
///        job of ours runs; with no free slot, a `$next/get` instead (it starts nothing): a job the
///        journal knows (interrupted by a restart, resumable) is handed back to the inbox
///  start-next/accepted with an execution --> inbox.deliver(id = jobId, operation =
///        jobDocument[operation_key], document = jobDocument, deadline = now + deadline)
///  start-next/accepted without one -------> idle until notify-next announces an execution
///  a status of the inbox ---------------> <jobId>/update {status, statusDetails, clientToken,
///        stepTimeoutInMinutes on IN_PROGRESS}; its answer goes back through status_answered()
///  a terminal status accepted (or refused for good) --> pull again; on_slot_free() --> pull again
/// ```
/// One request (start-next or `$next/get`) is outstanding at a time; an answer that does not come
/// within `request_timeout`, a refused publish and a rejection are retried with backoff. Answers
/// whose clientToken is not the outstanding request's (duplicates, answers from before a restart,
/// other clients of the thing) are ignored and counted. Topics of other things never match the
/// subscriptions; an execution naming another thing is dropped with a log line.
///
/// ## Statuses
/// | inbox            | sent as                                                              |
/// |------------------|----------------------------------------------------------------------|
/// | IN_PROGRESS      | IN_PROGRESS (+ stepTimeoutInMinutes: heartbeats refresh the step timer) |
/// | SUCCEEDED, FAILED, REJECTED | the same                                                  |
/// | TIMED_OUT        | FAILED with reasonCode TIMEOUT or EXPIRED (a device may not set TIMED_OUT) |
/// | QUEUED           | never (kInvalidArgument)                                             |
///
/// statusDetails (always sent: it replaces the service's map) holds `reasonCode` and `reason`
/// when the report has them, then every member of the report's details object, strings as they
/// are and other values as their compact JSON text. Members whose key the service would refuse
/// (not `[a-zA-Z0-9:_-]{1,128}`, or `reasonCode`/`reason` again) or whose value holds characters
/// it refuses (controls, format characters, ...) or is empty are left out with a warning; values
/// longer than 1024 characters are cut.
///
/// Answers to updates: accepted -> kAccepted; RequestThrottled, InternalError and no answer within
/// `request_timeout` -> kRetry (the inbox sends it again after its status_retry); every other
/// code (TerminalStateReached, VersionMismatch, InvalidStateTransition, InvalidRequest,
/// ResourceNotFound, InvalidJson, InvalidTopic, unknown codes) -> kFinal: never sent in a loop.
/// No `expectedVersion` is sent (docs/commands.md, "Jobs", says why).
///
/// ## Documents the device cannot run
/// An execution whose jobDocument is not an object, is larger than the codec's 32 KB limit, or
/// has no string `operation_key` member is delivered with an empty operation: the inbox answers
/// REJECTED (UNKNOWN_OPERATION), journals it and the queue moves on. A message that is not a Jobs
/// answer at all (not JSON, no valid jobId, wrong types) names no job to reject: it is dropped
/// with a warning and counted (`malformed`); a broken answer to the outstanding request is
/// retried with backoff.
///
/// Single-threaded like the Agent; heap-free (about 4 KB of buffers inline).

#include <cstdint>
#include <string_view>

#include "tether/backoff.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/commands/jobs_codec.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"

namespace tether::commands {

struct JobsAdapterSettings {
  /// The member of the job document that names the operation (the inbox handler). Viewed, not
  /// copied: must outlive the adapter. 1..64 bytes.
  std::string_view operation_key = "operation";
  /// Sent with start-next and every IN_PROGRESS update (1..10080; 0 = not sent): the service
  /// times the execution out when no update arrives for this long. Keep InboxSettings::heartbeat
  /// well below it: heartbeats refresh the timer while the command runs.
  std::uint32_t step_timeout_minutes = 0;
  /// How long a handler gets from its delivery before the inbox reports it TIMED_OUT (sent as
  /// FAILED, reasonCode TIMEOUT). 0 = `step_timeout_minutes` when set, else no deadline.
  Milliseconds deadline{0};
  /// An answer to a request (start-next, `$next/get`, an update) not received after this long
  /// counts as lost.
  Milliseconds request_timeout{10000};
  /// Retries of start-next / `$next/get` after a timeout, a refused publish or a rejection
  /// (transient: throttled, internal error, timeout; fatal: any other rejection).
  BackoffSettings retry{Milliseconds(1000), Milliseconds(60000), Milliseconds(60000), Milliseconds(600000)};
};

/// Counters since construction.
struct JobsAdapterStats {
  std::uint32_t start_next_sent = 0;
  std::uint32_t describe_sent = 0;        ///< `$next/get` requests
  std::uint32_t executions = 0;           ///< executions handed to the inbox
  std::uint32_t nothing_pending = 0;      ///< start-next answers without an execution
  std::uint32_t deferred = 0;             ///< executions not delivered: no free slot (fetched again later)
  std::uint32_t notifications = 0;        ///< notify-next messages
  std::uint32_t request_rejections = 0;   ///< start-next / `$next/get` rejected
  std::uint32_t request_timeouts = 0;     ///< start-next / `$next/get` unanswered
  std::uint32_t updates_sent = 0;
  std::uint32_t updates_accepted = 0;
  std::uint32_t updates_retry = 0;        ///< throttled, internal error, or unanswered
  std::uint32_t updates_final = 0;        ///< refused for good
  std::uint32_t foreign_answers = 0;      ///< clientToken not awaited (duplicates, stale, others')
  std::uint32_t malformed = 0;            ///< messages that are not valid Jobs answers
  std::uint32_t invalid_documents = 0;    ///< executions delivered without an operation
  std::uint32_t details_dropped = 0;      ///< statusDetails members left out
};

class JobsAdapter final : public Adapter {
 public:
  /// Longest update published (statusDetails from a report of at most kMaxDetails bytes).
  static constexpr std::size_t kMaxRequest = 2048;
  /// Updates whose answer is awaited at once; beyond, the oldest counts as unanswered.
  static constexpr std::size_t kMaxPendingUpdates = 8;

  /// `token_seed` makes clientTokens differ across reboots (pass a random value).
  explicit JobsAdapter(const JobsAdapterSettings& settings = {}, std::uint64_t token_seed = 0);
  /// Unsubscribes. Destroy the Inbox first (it calls the adapter); the agent must outlive both.
  ~JobsAdapter() override;
  JobsAdapter(const JobsAdapter&) = delete;
  JobsAdapter& operator=(const JobsAdapter&) = delete;

  // Adapter
  Source source() const override { return Source::kJobs; }
  /// Called by Inbox::start(): validates the settings and subscribes. ok, kFailedPrecondition
  /// (started), kInvalidArgument/kOutOfRange (settings, `why` says which), the JobsTopics::init
  /// error (thing name too long for the jobs topics), the Agent's subscribe errors (everything
  /// subscribed so far is unsubscribed again).
  Status start(Inbox& inbox, ErrorText* why) override;
  /// Publishes `<id>/update`. ok, or: kFailedPrecondition (not started), kInvalidArgument (QUEUED),
  /// kInvalidArgument/kOutOfRange (an id that is not a job ID, jobs::validate_job_id), the encode
  /// error of a status without details, the Agent's publish error (kUnavailable when offline). The
  /// inbox retries what was not sent.
  Status send_status(std::string_view id, const StatusReport& report) override;
  void on_agent_event(const AgentEvent& event) override;
  void on_agent_subscribed(std::string_view filter, Status result) override;
  void on_slot_free() override;
  void on_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;
  bool pulls_work() const override { return true; }

  /// Connected and every answer topic subscribed on this connection.
  bool ready() const { return phase_ == Phase::kReady; }
  /// The job handed to the inbox that has not ended yet (empty when none).
  std::string_view running_job() const { return running_.view(); }
  const JobsAdapterStats& stats() const { return stats_; }
  const jobs::JobsTopics& topics() const { return topics_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kOffline, kSubscribing, kReady };
  enum class RequestKind : std::uint8_t { kNone, kStartNext, kDescribe };
  struct PendingUpdate {
    FixedString<24> token;
    FixedString<jobs::kMaxJobId> job_id;
    Milliseconds sent{0};
    bool terminal = false;
  };

  void on_message(const InboundMessage& message);
  Status on_execution_answer(jobs::Topic topic, std::string_view payload, ErrorText* why);
  Status on_request_rejected(std::string_view payload, ErrorText* why);
  Status on_update_answer(jobs::Topic topic, std::string_view job_id, std::string_view payload, ErrorText* why);
  Status on_notify_next(std::string_view payload, ErrorText* why);
  Status deliver_unreadable(std::string_view payload, std::string_view why_text);
  void deliver(std::string_view job_id, std::string_view thing, const json::Value& document, bool known_only);
  void answered(const PendingUpdate& update, StatusAnswer answer);
  void pump();
  bool terminal_awaited() const;
  void send_request(RequestKind kind);
  void schedule_retry(bool fatal);
  bool next_token(FixedString<24>& token);
  Status publish_update(std::string_view id, jobs::JobStatus status, Span<const jobs::StatusDetail> details,
                        bool terminal);
  void unsubscribe_all(std::size_t count);

  JobsAdapterSettings settings_;
  Inbox* inbox_ = nullptr;
  Agent* agent_ = nullptr;
  jobs::JobsTopics topics_;
  Backoff backoff_;
  Phase phase_ = Phase::kIdle;
  std::uint8_t subscribed_ = 0;  // bit per answer topic acknowledged on this connection
  RequestKind request_ = RequestKind::kNone;
  FixedString<24> request_token_;
  Milliseconds request_sent_{0};
  bool want_next_ = false;       // a start-next is due (connect, slot free, notify-next, job ended)
  bool want_describe_ = false;   // look for a job the journal knows (after a connect, no free slot)
  bool notified_ = false;        // notify-next announced an execution while a request was out
  Milliseconds retry_at_{0};
  std::uint32_t token_prefix_;
  std::uint32_t token_counter_ = 0;
  FixedString<jobs::kMaxJobId> running_;
  FixedVector<PendingUpdate, kMaxPendingUpdates> updates_;
  JobsAdapterStats stats_;
  char request_buffer_[kMaxRequest];
  // statusDetails values made here: non-string members as JSON text, values with characters
  // replaced (reasonCode, reason and the details' values, each at most once)
  char value_buffer_[kMaxDetails + kMaxReasonCode + kMaxReason + 64];
};

}  // namespace tether::commands
