// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::shadow::Shadow`: a device state replica (AWS IoT Device Shadow, classic or named, or
/// the cloud-neutral `state/<thing>` scheme) that stays right through offline periods, reordered
/// and duplicated messages, version conflicts and reboots. docs/shadow.md has the algorithm as a
/// state diagram and its guarantees; in short:
///
/// - **Replica**: the last desired state processed, the device's reported state, the reports not
///   yet acknowledged by the service (coalesced per key: last write wins) and the shadow version,
///   kept in a KvStore record (atomic replace) so a reboot starts from them.
/// - **Sync on every connect**: the five response topics are subscribed and acknowledged before a
///   `get`; the answer is reconciled: desired values that changed while offline go to their
///   handlers, reported values that differ from the service's (changed locally while offline) are
///   sent in one update. A shadow that does not exist (404) is created from the local report.
/// - **Deltas** whose version is not newer than the desired state already processed are ignored
///   (reordering, duplicates). A handler is called only for a desired value it has not decided yet.
/// - **Requests** carry a `clientToken` (answers with other tokens are ignored); at most
///   `max_inflight` are outstanding; one update at a time (reports made meanwhile are coalesced).
///   409 → get and reconcile; 429, 5xx and timeouts → retry with backoff; other rejections are
///   reported (event) and dropped.
///
/// Heap-free: every buffer is inline (about 6.5 × TETHER_SHADOW_STATE_BYTES: 53 KB by default; make
/// it static, never a stack object on an MCU). cJSON allocates while a message is parsed and frees
/// before the call returns (DESIGN.md §2.5).
/// Single-threaded like the Agent: every call from the agent's thread.

#include <cstdint>
#include <string_view>

#include "tether/agent.hpp"
#include "tether/backoff.hpp"
#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/inplace_function.hpp"
#include "tether/json.hpp"
#include "tether/port/kv_store.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/topics.hpp"

#ifndef TETHER_SHADOW_STATE_BYTES
#define TETHER_SHADOW_STATE_BYTES 8192  ///< largest desired / reported document kept (AWS: 8 KB together)
#endif
#ifndef TETHER_SHADOW_MAX_HANDLERS
#define TETHER_SHADOW_MAX_HANDLERS 8  ///< desired key paths with a handler, per shadow
#endif
#ifndef TETHER_SHADOW_MAX_DEFERRED
#define TETHER_SHADOW_MAX_DEFERRED 4  ///< handler decisions deferred at the same time, per shadow
#endif

namespace tether::shadow {

inline constexpr std::size_t kStateBytes = TETHER_SHADOW_STATE_BYTES;
inline constexpr std::size_t kMaxHandlers = TETHER_SHADOW_MAX_HANDLERS;
inline constexpr std::size_t kMaxDeferred = TETHER_SHADOW_MAX_DEFERRED;
/// Longest reason a handler can give for a rejection (longer ones are cut).
inline constexpr std::size_t kMaxReason = 96;

struct ShadowSettings {
  /// Named shadow (at most 64 bytes, `[a-zA-Z0-9:_-]` on the AWS profile); empty = classic shadow.
  /// Viewed, not copied: must outlive the Shadow.
  std::string_view name;
  /// KvStore key of the replica; empty = "shadow" (classic) or "shadow.<name>" (named; a name that
  /// is not a valid key gets "shadow.<crc32c of the name>").
  std::string_view store_key;
  /// An answer not received after this long counts as lost: the request is retried with backoff.
  Milliseconds request_timeout{10000};
  /// Requests (get, update) outstanding at once, 1..10 (AWS IoT allows 10 per connection: keep
  /// the sum over all shadows of one connection at most 10).
  std::uint8_t max_inflight = 2;
  /// Replica writes are spaced at least this far apart (flash wear); 0 = after every change.
  /// flush() writes at once.
  Milliseconds persist_interval{1000};
  /// reported.<status_key>.rejected.<path> = {"reason", "version"} records rejected desired values.
  std::string_view status_key = "tether";
  /// Retries after 429, 5xx, timeouts and lost connections during a request.
  BackoffSettings retry{Milliseconds(500), Milliseconds(60000), Milliseconds(60000), Milliseconds(600000)};
};

enum class Decision : std::uint8_t {
  kAccept,  ///< the value is applied: it is reported back
  kReject,  ///< not applied: the reason is reported in the status field, reported keeps its value
  kDefer,   ///< decided later with Shadow::resolve()
};

/// What a handler returns. `reason` is copied (cut at kMaxReason bytes).
struct DesiredResult {
  Decision decision = Decision::kAccept;
  std::string_view reason;

  static DesiredResult accept() { return {Decision::kAccept, {}}; }
  static DesiredResult reject(std::string_view why) { return {Decision::kReject, why}; }
  static DesiredResult defer() { return {Decision::kDefer, {}}; }
};

/// A desired value to decide on. `value` is valid during the handler call only.
struct DesiredChange {
  std::string_view path;
  json::Value value;
  std::int64_t version = 0;  ///< the shadow version that carried it
};

using DesiredHandler = InplaceFunction<DesiredResult(const DesiredChange&), 4 * sizeof(void*)>;

enum class ShadowEventType : std::uint8_t {
  kSynced,           ///< a get was answered and reconciled (`version`)
  kUpdateAccepted,   ///< the service accepted an update (`version`)
  kUpdateRejected,   ///< the service refused an update for good (`reason`: code as detail, `message`)
  kGetRejected,      ///< the service refused a get other than 404 (`reason`, `message`); retried later
  kRequestTimedOut,  ///< no answer within request_timeout; retried with backoff
  kStoreFailed,      ///< the replica could not be written (`reason`); retried
  kReplicaDiscarded, ///< the stored replica was damaged or belonged to another shadow (`message`)
};

const char* to_string(ShadowEventType type);

/// An event for the application; views valid during the handler call only.
struct ShadowEvent {
  ShadowEventType type = ShadowEventType::kSynced;
  Status reason;
  std::int64_t version = -1;
  std::string_view message;
};

using ShadowEventHandler = InplaceFunction<void(const ShadowEvent&), 4 * sizeof(void*)>;

/// Counters since construction.
struct ShadowStats {
  std::uint32_t gets = 0;               ///< get requests sent
  std::uint32_t syncs = 0;              ///< get answers reconciled
  std::uint32_t updates = 0;            ///< update requests sent
  std::uint32_t updates_accepted = 0;
  std::uint32_t updates_rejected = 0;   ///< refused for good
  std::uint32_t conflicts = 0;          ///< 409 answers
  std::uint32_t throttled = 0;          ///< 429 and 5xx answers
  std::uint32_t timeouts = 0;
  std::uint32_t deltas = 0;             ///< deltas processed
  std::uint32_t stale_deltas = 0;       ///< deltas ignored: not newer than the desired state processed
  std::uint32_t foreign_answers = 0;    ///< answers with a clientToken not ours (or no longer awaited)
  std::uint32_t malformed = 0;          ///< messages that failed to parse or validate
  std::uint32_t handler_calls = 0;
  std::uint32_t rejected_values = 0;    ///< desired values a handler rejected
  std::uint32_t persists = 0;           ///< replica writes
  std::uint32_t persist_failures = 0;
};

class Shadow final : public AgentComponent {
 public:
  /// `agent` and `store` (null: the replica lives in RAM only) must outlive the Shadow.
  /// `token_seed` makes clientTokens differ across reboots (pass a random value).
  Shadow(Agent& agent, port::KvStore* store, const ShadowSettings& settings = {}, std::uint64_t token_seed = 0);
  ~Shadow() override;
  Shadow(const Shadow&) = delete;
  Shadow& operator=(const Shadow&) = delete;

  /// Validates the settings, loads the stored replica, subscribes the response topics and attaches
  /// to the agent (sync starts as soon as the agent is connected). Returns ok, or
  /// kFailedPrecondition (started already), kInvalidArgument/kOutOfRange (bad name, store key or
  /// settings: `why` says which), the Agent's subscribe/attach errors. A damaged stored replica is
  /// not an error: it is discarded (event kReplicaDiscarded) and rebuilt by the next sync.
  Status start(ErrorText* why = nullptr);

  /// Calls `handler` for desired values at `path` (`led`, `telemetry.interval_s`). Before or after
  /// start(). Returns ok, kInvalidArgument/kShadow (bad path or empty handler), kAlreadyExists,
  /// kResourceExhausted (kMaxHandlers).
  Status on_desired(std::string_view path, DesiredHandler handler, ErrorText* why = nullptr);

  /// Reports local state: `patch` is a JSON object merged into reported (`null` deletes a key).
  /// Applied to the replica at once; sent when connected and synced, coalesced with other reports
  /// not sent yet. Returns ok, or without changing anything:
  /// - kInvalidArgument/kJson or kShadow: not a JSON object, or an array holding null (`why`)
  /// - kOutOfRange/kShadow: nested deeper than kMaxStateDepth (detail = depth), or desired +
  ///   reported would exceed kMaxStateBytes (detail = min(bytes, 65535))
  /// - kResourceExhausted/kShadow: the unsent reports do not fit kStateBytes
  /// - kFailedPrecondition/kShadow: not started
  Status report(std::string_view patch, ErrorText* why = nullptr);
  /// report() of one value at a key path.
  Status report_bool(std::string_view path, bool value, ErrorText* why = nullptr);
  Status report_int(std::string_view path, std::int64_t value, ErrorText* why = nullptr);
  Status report_double(std::string_view path, double value, ErrorText* why = nullptr);
  Status report_string(std::string_view path, std::string_view value, ErrorText* why = nullptr);
  /// `json_value` is any JSON value text (`[1,2]`, `{"a":1}`, `null` to delete the key).
  Status report_json(std::string_view path, std::string_view json_value, ErrorText* why = nullptr);

  /// Decides a deferred desired value at `path` (kDefer must not be passed). The value decided is
  /// the latest desired value at `path`. Returns ok, kNotFound (nothing deferred at `path`), or
  /// report()'s errors.
  Status resolve(std::string_view path, DesiredResult result, ErrorText* why = nullptr);

  /// Writes the replica to the KvStore now if it changed. Returns ok or the store's error.
  Status flush();

  /// Asks the service for the full shadow again and reconciles (as after a connect).
  void resync();

  void set_event_handler(ShadowEventHandler handler) { event_handler_ = handler; }

  /// True between a reconciled get and the next disconnect.
  bool synced() const { return phase_ == Phase::kSynced; }
  /// The last shadow version known (-1 before any answer).
  std::int64_t version() const { return version_; }
  /// The replica's documents (JSON objects; views valid until the next call that changes them).
  std::string_view desired() const { return doc(kDesired); }
  std::string_view reported() const { return doc(kReported); }
  /// Reports not yet acknowledged by the service, the one in flight included (`{}` when none).
  /// The view is valid until the next call on the Shadow.
  std::string_view unsent();
  const ShadowStats& stats() const { return stats_; }
  const ShadowTopics& topics() const { return topics_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kOffline, kSubscribing, kSyncing, kSynced };
  /// Documents of the replica: desired processed, reported, reports not sent yet, the report in
  /// flight, and the paths whose decision is deferred (a JSON array).
  enum Slot : std::uint8_t { kDesired, kReported, kPending, kInflight, kDeferred, kSlotCount };
  struct Handler {
    FixedString<kMaxKeyPath> path;
    DesiredHandler handler;
  };
  struct Request {
    FixedString<24> token;
    Milliseconds sent{0};
    PacketToken packet = 0;  // the QoS 1 publish carrying it, until its PUBACK
    bool active = false;
  };
  struct Deferred {
    FixedString<kMaxKeyPath> path;
    std::int64_t version = 0;
  };
  using LeafWriter = InplaceFunction<void(json::Writer&), 4 * sizeof(void*)>;

  // AgentComponent
  void on_agent_event(const AgentEvent& event) override;
  bool on_agent_publish_complete(PacketToken token, Status result) override;
  void on_agent_subscribed(std::string_view filter, Status result) override;
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  // shadow.cpp: requests, answers, decisions
  void on_message(const InboundMessage& message);
  Status on_get_accepted(const json::Value& root, const ResponseFields& fields, ErrorText* why);
  void on_get_rejected(const ResponseFields& fields);
  void on_update_accepted(const ResponseFields& fields);
  void on_update_rejected(const ResponseFields& fields);
  Status on_delta(const json::Value& root, const ResponseFields& fields, ErrorText* why);
  void reconcile(const json::Value& desired, const json::Value& reported, std::int64_t version);
  void decide(const json::Value& desired, std::int64_t version, bool full);
  bool needs_decision(std::string_view path, const json::Value& value);
  void apply_decision(std::string_view path, const json::Value& value, const DesiredResult& result,
                      std::int64_t version);
  bool is_deferred(std::string_view path) const;
  void remove_deferred(std::string_view path);
  bool under_status_key(std::string_view path) const;
  void pump();
  void send_get();
  void send_update();
  void schedule_retry(bool fatal);
  void fail_request(Request& request, const char* what);
  bool next_token(Request& request);
  std::size_t inflight_count() const { return (get_.active ? 1u : 0u) + (update_.active ? 1u : 0u); }
  void emit(ShadowEventType type, Status reason = Status(), std::string_view message = {});

  // shadow_replica.cpp: documents, reports, the stored record
  std::string_view doc(Slot slot) const;
  Status set_doc(Slot slot, std::string_view text);
  Status replace_with_merge(Slot slot, std::string_view patch, MergeMode mode);
  Status apply_report(std::string_view patch, ErrorText* why);
  Status report_path(std::string_view path, const LeafWriter& leaf, ErrorText* why);
  void restore_inflight();
  void send_differences(const json::Value& service_reported);
  bool has_rejection(std::string_view path);
  Status write_status_patch(std::string_view path, std::string_view reason, std::int64_t version, bool clear,
                            ErrorText* why);
  Status record_rejection(std::string_view path, std::string_view reason, std::int64_t version, ErrorText* why);
  Status clear_rejection(std::string_view path, ErrorText* why);
  void init_record();
  void load();
  bool documents_valid();
  void mark_dirty() { dirty_ = true; }

  Agent& agent_;
  port::KvStore* store_;
  ShadowSettings settings_;
  ShadowTopics topics_;
  FixedString<kMaxKvKey> store_key_;
  Backoff backoff_;
  Phase phase_ = Phase::kIdle;
  std::uint8_t subscribed_ = 0;  // bit per response topic acknowledged on this connection
  std::int64_t version_ = -1;
  std::int64_t desired_version_ = -1;
  std::uint32_t token_prefix_;
  std::uint32_t token_counter_ = 0;
  Request get_;
  Request update_;
  bool get_wanted_ = false;
  Milliseconds retry_at_{0};
  bool dirty_ = false;
  bool persisted_once_ = false;
  Milliseconds last_persist_{0};
  FixedVector<Handler, kMaxHandlers> handlers_;
  FixedVector<Deferred, kMaxDeferred> deferred_;
  ShadowEventHandler event_handler_;
  ShadowStats stats_;

  // The replica record: header, thing name, shadow name, then the documents back to back, so
  // persisting is a single KvStore put of the used prefix (layout in shadow_replica.cpp).
  static constexpr std::size_t kHeaderBytes = 48;
  static constexpr std::size_t kDeferredBytes = kMaxDeferred * (kMaxKeyPath + 3) + 2;  // paths need no escaping
  static constexpr std::size_t kRecordBytes =
      kHeaderBytes + kMaxThingName + 64 + (kSlotCount - 1) * kStateBytes + kDeferredBytes;
  std::size_t docs_offset_ = kHeaderBytes;
  std::uint32_t doc_len_[kSlotCount] = {};
  char record_[kRecordBytes];
  char scratch_[kStateBytes + 1024];  // merge results and outgoing requests
  char patch_[kStateBytes + 256];     // one report patch being applied
};

}  // namespace tether::shadow
