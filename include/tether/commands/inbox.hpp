// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::commands::Inbox`: one command inbox fed by protocol adapters (AWS IoT Jobs, AWS IoT
/// Commands, the cloud-neutral `cmd/<thing>` pattern), with a journal that survives reboots.
///
/// ## Life of a command
/// ```
///  adapter decodes a request --deliver()--> journal lookup
///     known id, terminal .............. its recorded status is sent again (never run twice)
///     known id, running ............... IN_PROGRESS sent again
///     deadline already passed ......... TIMED_OUT, not started
///     no handler for the operation .... REJECTED (reason UNKNOWN_OPERATION)
///     no free slot (max_running) ...... REJECTED (reason BUSY); a pull adapter (Jobs) must not
///                                       deliver without free_slots(): it leaves work queued instead
///     otherwise: journaled as IN_PROGRESS (KvStore put) *before* the handler runs, IN_PROGRESS sent
///  handler(context) returns at once; the application later calls, with context.execution:
///     progress(details)  -> IN_PROGRESS (repeatable; also repeated every `heartbeat`)
///     succeed(result)    -> SUCCEEDED   } journaled, then sent; the slot is free
///     fail(code, text)   -> FAILED      }
///     succeed_after_restart() -> journaled "reboot pending": the next start() reports SUCCEEDED
///  deadline passes while running -> TIMED_OUT sent; later completions return kDeadlineExceeded
///  the device restarts while running -> the operation's handler runs again with `resumed` (if it
///     was registered with resume_after_restart) or FAILED (reason INTERRUPTED) is sent
/// ```
/// Every status is kept until the service acknowledges it (adapters call status_answered()); an
/// unacknowledged status is sent again after a reconnect and every `status_retry`. A refusal that
/// retrying cannot fix (terminal state reached, version mismatch, invalid request) ends the retries
/// with a log line and a counter, never a loop; for a command still running it also ends the
/// command here (FAILED ENDED_BY_SERVICE, slot freed, later completions return kCancelled). A
/// command waiting after a restart to be handed out again (resumable) holds no slot.
///
/// Single-threaded like the Agent. Heap-free; the journal is one KvStore record.

#include <cstdint>
#include <string_view>

#include "tether/agent.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/inplace_function.hpp"
#include "tether/json.hpp"
#include "tether/port/kv_store.hpp"

#ifndef TETHER_COMMANDS_MAX_OPERATIONS
#define TETHER_COMMANDS_MAX_OPERATIONS 8  ///< operations with a handler
#endif
#ifndef TETHER_COMMANDS_MAX_RUNNING
#define TETHER_COMMANDS_MAX_RUNNING 4  ///< upper bound of InboxSettings::max_running
#endif
#ifndef TETHER_COMMANDS_JOURNAL
#define TETHER_COMMANDS_JOURNAL 16  ///< commands remembered (running + most recent finished)
#endif
#ifndef TETHER_COMMANDS_MAX_DETAILS
#define TETHER_COMMANDS_MAX_DETAILS 512  ///< bytes of status details / result JSON kept per command
#endif
#ifndef TETHER_COMMANDS_MAX_ADAPTERS
#define TETHER_COMMANDS_MAX_ADAPTERS 3
#endif

namespace tether::commands {

inline constexpr std::size_t kMaxOperations = TETHER_COMMANDS_MAX_OPERATIONS;
inline constexpr std::size_t kMaxRunning = TETHER_COMMANDS_MAX_RUNNING;
inline constexpr std::size_t kJournalEntries = TETHER_COMMANDS_JOURNAL;
inline constexpr std::size_t kMaxDetails = TETHER_COMMANDS_MAX_DETAILS;
inline constexpr std::size_t kMaxAdapters = TETHER_COMMANDS_MAX_ADAPTERS;
/// Job ids (AWS: 64), command execution ids (64), neutral command ids.
inline constexpr std::size_t kMaxCommandId = 64;
inline constexpr std::size_t kMaxOperationName = 64;
inline constexpr std::size_t kMaxReasonCode = 64;
inline constexpr std::size_t kMaxReason = 160;

enum class Source : std::uint8_t { kJobs, kCommands, kNeutral };
const char* to_string(Source source);

/// Execution status as the protocols name it. QUEUED is never sent by a device.
enum class ExecStatus : std::uint8_t { kQueued, kInProgress, kSucceeded, kFailed, kRejected, kTimedOut };
const char* to_string(ExecStatus status);  ///< "IN_PROGRESS", ...
bool is_terminal(ExecStatus status);       ///< SUCCEEDED, FAILED, REJECTED, TIMED_OUT

/// What an adapter encodes and publishes for an execution. Views valid during the call.
struct StatusReport {
  ExecStatus status = ExecStatus::kInProgress;
  std::string_view reason_code;  ///< short code ("UNKNOWN_OPERATION", "INTERRUPTED"); may be empty
  std::string_view reason;       ///< human-readable text; may be empty
  std::string_view details;      ///< a JSON object (progress details or result) or empty
};

/// How the service answered a status report (adapters translate their protocol's answers).
enum class StatusAnswer : std::uint8_t {
  kAccepted,  ///< recorded by the service
  kRetry,     ///< throttled or an internal error: send again later
  kFinal,     ///< refused for good (terminal state reached, version mismatch, ...): stop sending
};

class Inbox;

/// A protocol adapter (Jobs, Commands, neutral). The Inbox owns the life cycle: it calls these from
/// the agent's thread; the adapter calls Inbox::deliver() and Inbox::status_answered().
class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual Source source() const = 0;
  /// Subscribes the adapter's topics (through `inbox.agent()`). Called once by Inbox::start().
  virtual Status start(Inbox& inbox, ErrorText* why) = 0;
  /// Publishes `report` for execution `id`. ok, or the publish error (the inbox retries later).
  virtual Status send_status(std::string_view id, const StatusReport& report) = 0;
  /// Every agent event (connected: pull adapters ask for work; disconnected: forget requests).
  virtual void on_agent_event(const AgentEvent& event) { (void)event; }
  /// The broker answered a SUBSCRIBE (forwarded AgentComponent::on_agent_subscribed): an adapter
  /// that must not send requests before its answer topics are subscribed waits for these.
  virtual void on_agent_subscribed(std::string_view filter, Status result) {
    (void)filter;
    (void)result;
  }
  /// A slot became free: a pull adapter (Jobs start-next) may ask for the next command.
  virtual void on_slot_free() {}
  virtual void on_tick(Milliseconds now) { (void)now; }
  virtual Milliseconds next_tick_due() const { return Milliseconds::max(); }
  /// Whether this adapter keeps requests queued on the service while the device is busy (Jobs)
  /// rather than getting them pushed (Commands, neutral: refused with BUSY when no slot is free).
  virtual bool pulls_work() const { return false; }
};

/// A command as an adapter delivers it. Views valid during the deliver() call.
struct Incoming {
  std::string_view id;
  std::string_view operation;          ///< the handler's name (from the document); may be empty
  json::Value document;                ///< the parsed JSON document, or invalid (CBOR, opaque)
  Span<const std::uint8_t> payload;    ///< the raw request payload
  std::string_view content_type;
  Milliseconds deadline = Milliseconds::max();  ///< monotonic; max() = none
};

/// What deliver() did with a command.
enum class Delivery : std::uint8_t {
  kStarted,    ///< journaled and handed to its handler
  kDuplicate,  ///< known id: its status was sent again, nothing run
  kRejected,   ///< REJECTED sent (unknown operation, busy, invalid)
  kExpired,    ///< TIMED_OUT sent, not started
  kNotStored,  ///< the journal could not be written: not started, nothing sent (retry later)
};
const char* to_string(Delivery delivery);

/// Handle of a running command, for the completion calls. Copyable; becomes stale when the command
/// ends (completions through a stale handle return kNotFound or kDeadlineExceeded).
class Execution {
 public:
  Execution() = default;
  bool valid() const { return generation_ != 0; }

 private:
  friend class Inbox;
  Execution(std::uint8_t slot, std::uint32_t generation) : slot_(slot), generation_(generation) {}
  std::uint8_t slot_ = 0;
  std::uint32_t generation_ = 0;
};

/// What a handler gets. Views valid during the handler call only (copy what you need).
struct CommandContext {
  Source source = Source::kNeutral;
  std::string_view id;
  std::string_view operation;
  json::Value document;
  Span<const std::uint8_t> payload;
  std::string_view content_type;
  Milliseconds deadline = Milliseconds::max();
  bool resumed = false;  ///< run again after a restart (resume_after_restart)
  Execution execution;
};

using CommandHandler = InplaceFunction<void(const CommandContext&), 4 * sizeof(void*)>;

struct InboxSettings {
  /// Commands running at once (1..kMaxRunning).
  std::uint8_t max_running = 1;
  /// IN_PROGRESS is sent again this often while a command runs (keeps Jobs step timeouts and
  /// operators informed); 0 = never.
  Milliseconds heartbeat{60000};
  /// An unacknowledged status is sent again after this long.
  Milliseconds status_retry{10000};
  /// KvStore key of the journal.
  std::string_view store_key = "commands";
};

struct InboxStats {
  std::uint32_t delivered = 0;
  std::uint32_t started = 0;
  std::uint32_t duplicates = 0;   ///< redelivered ids answered from the journal
  std::uint32_t rejected = 0;     ///< unknown operation, busy, invalid; or reject() by the handler
  std::uint32_t expired = 0;      ///< deadline passed before or while running
  std::uint32_t succeeded = 0;
  std::uint32_t failed = 0;
  std::uint32_t interrupted = 0;  ///< running at a restart and not resumable
  std::uint32_t resumed = 0;
  std::uint32_t statuses_sent = 0;
  std::uint32_t statuses_final = 0;  ///< refused for good by the service
  std::uint32_t journal_writes = 0;
  std::uint32_t journal_failures = 0;
};

class Inbox final : public AgentComponent {
 public:
  /// `agent` and `journal` (null: RAM only, nothing survives a restart) must outlive the inbox.
  Inbox(Agent& agent, port::KvStore* journal, const InboxSettings& settings = {});
  ~Inbox() override;
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  /// Adds a protocol adapter (before start()). kResourceExhausted beyond kMaxAdapters,
  /// kAlreadyExists for a second adapter of the same source, kFailedPrecondition after start().
  Status add_adapter(Adapter& adapter);

  /// Registers the handler of `operation` (1..kMaxOperationName bytes of `[A-Za-z0-9._-]`).
  /// With `resume_after_restart` a command running at a restart is handed to it again (resumed);
  /// without, it is reported FAILED (INTERRUPTED). kInvalidArgument, kAlreadyExists,
  /// kResourceExhausted.
  Status on_command(std::string_view operation, CommandHandler handler, bool resume_after_restart = false);

  /// Loads the journal (a damaged one is discarded with a warning: it cannot be trusted to stop a
  /// second execution, which the log says), resolves commands interrupted by the restart, starts
  /// the adapters and attaches to the agent. kFailedPrecondition (started), kInvalidArgument
  /// (settings), adapter and agent errors.
  Status start(ErrorText* why = nullptr);

  // ---- completion (agent thread) ---------------------------------------------------------------
  /// IN_PROGRESS with `details` (a JSON object, ≤ kMaxDetails; empty = none). Not journaled.
  Status progress(Execution execution, std::string_view details = {});
  /// SUCCEEDED with an optional result (a JSON object, ≤ kMaxDetails).
  Status succeed(Execution execution, std::string_view result = {});
  /// FAILED with a reason code (≤ kMaxReasonCode, `[A-Z0-9_]`) and text.
  Status fail(Execution execution, std::string_view reason_code, std::string_view reason = {});
  /// REJECTED by the handler itself (bad arguments): like fail() with REJECTED.
  Status reject(Execution execution, std::string_view reason_code, std::string_view reason = {});
  /// The command completes by restarting the device (reboot): journaled as "succeeds after the
  /// restart"; the next start() reports SUCCEEDED. Call it right before rebooting.
  Status succeed_after_restart(Execution execution);
  /// Errors of the completion calls: kNotFound (stale handle), kDeadlineExceeded (timed out
  /// meanwhile), kInvalidArgument (details not a JSON object, too long, bad reason code),
  /// kDataLoss/kStore... (journal write failed: the command stays running; call again).

  // ---- for adapters ------------------------------------------------------------------------------
  Delivery deliver(Adapter& adapter, const Incoming& command);
  void status_answered(Adapter& adapter, std::string_view id, StatusAnswer answer);
  /// Slots free for new commands.
  std::size_t free_slots() const;
  Agent& agent() { return agent_; }

  const InboxStats& stats() const { return stats_; }
  /// The journal's record of `id` from `source` (for tests and diagnostics): its status, or
  /// kNotFound.
  Result<ExecStatus> status_of(Source source, std::string_view id) const;

 private:
  struct Operation {
    FixedString<kMaxOperationName> name;
    CommandHandler handler;
    bool resumable = false;
  };
  enum Flags : std::uint8_t {
    kUnacked = 1,         // the current status has not been acknowledged
    kRebootPending = 2,   // succeed_after_restart() was called
    kRunning = 4,         // handed to a handler and not finished
    kAwaitingResume = 8,  // running at a restart, resumable: waits for the adapter to redeliver it
  };
  struct Entry {
    Source source = Source::kNeutral;
    ExecStatus status = ExecStatus::kQueued;
    std::uint8_t flags = 0;
    std::uint32_t order = 0;        // recency: the oldest finished entry is replaced first
    std::uint32_t generation = 0;   // bumped when the command ends (stale handles)
    FixedString<kMaxCommandId> id;
    FixedString<kMaxOperationName> operation;
    FixedString<kMaxReasonCode> reason_code;
    FixedString<kMaxReason> reason;
    FixedString<kMaxDetails> details;
    Milliseconds deadline = Milliseconds::max();  // not stored: monotonic clocks restart
    Milliseconds last_sent{0};                     // not stored
    std::uint8_t answers_due = 0;                  // statuses sent on this connection, not answered
    bool used = false;
  };

  // AgentComponent
  void on_agent_event(const AgentEvent& event) override;
  void on_agent_subscribed(std::string_view filter, Status result) override;
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  Entry* find(Source source, std::string_view id);
  const Entry* find(Source source, std::string_view id) const;
  Entry* allocate();
  Entry* running(Execution execution, Status& error);
  Adapter* adapter_for(Source source) const;
  const Operation* operation(std::string_view name) const;
  std::size_t running_count() const;
  Status finish(Entry& entry, ExecStatus status, std::string_view code, std::string_view reason,
                std::string_view details);
  Delivery refuse(Adapter& adapter, const Incoming& command, ExecStatus status, std::string_view code,
                  std::string_view reason);
  void send(Entry& entry);
  Status persist();
  void load();
  bool decode_journal(std::size_t size);
  void run_handler(Entry& entry, const Operation& op, Adapter& adapter, const Incoming& command, bool resumed);
  void resolve_restart();

  Agent& agent_;
  port::KvStore* journal_;
  InboxSettings settings_;
  bool started_ = false;
  bool journal_dirty_ = false;  // acknowledgements not yet written (written lazily)
  Milliseconds last_write_{0};
  std::uint32_t next_order_ = 1;
  std::uint32_t next_generation_ = 1;
  FixedVector<Adapter*, kMaxAdapters> adapters_;
  FixedVector<Operation, kMaxOperations> operations_;
  Entry entries_[kJournalEntries];
  InboxStats stats_;
  char record_[kJournalEntries * (kMaxCommandId + kMaxOperationName + kMaxReasonCode + kMaxReason + kMaxDetails + 16) + 16];
};

}  // namespace tether::commands
