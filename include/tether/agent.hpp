// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::Agent`: the single-threaded heart of a device: it owns the connection (connect,
/// reconnect with backoff, subscriptions restored after every reconnect), timers, and dispatches
/// inbound messages to handlers. Feature clients (shadow, commands, metrics, offline queue) are
/// built on top of it.
///
/// ## Threading
/// One thread calls start(), run_once() and every other method. Handlers run on that thread, inside
/// run_once(). The only call allowed from another thread is wake().
///
/// ## Connection state machine
/// ```
///            start()                 CONNACK ok
///   kIdle ----------> kConnecting ----------------> kConnected
///                      ^     | attempt failed           | connection lost / server DISCONNECT
///       backoff elapsed|     v                          v
///                   kWaitingToReconnect <---------------+
///   stop(): kConnected -> kStopping -(disconnected)-> kStopped; any other state -> kStopped
/// ```
/// Delays: transient failures use capped exponential backoff with full jitter; failures that a
/// quick retry cannot fix (identity refused, not authorized, bad TLS material, client id taken over,
/// a connection that keeps dropping right after it is made) use the long "fatal" backoff and raise
/// an AgentEventType::kNeedsAttention event.

#include <cstdint>
#include <string_view>

#include "tether/backoff.hpp"
#include "tether/config.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/inplace_function.hpp"
#include "tether/limits.hpp"
#include "tether/log.hpp"
#include "tether/port/clock.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/topics.hpp"

namespace tether {

enum class AgentState : std::uint8_t {
  kIdle,                ///< constructed, start() not called yet
  kConnecting,          ///< a connect attempt is under way
  kConnected,           ///< connected; subscriptions are (being) restored
  kWaitingToReconnect,  ///< waiting for the backoff delay to elapse
  kStopping,            ///< stop() sent DISCONNECT; waiting for the connection to close
  kStopped,             ///< stopped; run_once() returns kCancelled
};

const char* to_string(AgentState state);

enum class AgentEventType : std::uint8_t {
  kConnected,        ///< the session is up (`session_present` tells whether the broker kept it)
  kDisconnected,     ///< an established connection ended (`reason`), a reconnect follows
  kConnectFailed,    ///< an attempt failed (`reason`); the next one is in `retry_in`
  kNeedsAttention,   ///< a failure retrying soon cannot fix (`reason`); backing off `retry_in`
  kSubscribeFailed,  ///< the broker refused the subscription `topic` (`reason`)
  kPublishFailed,    ///< a QoS 1 publish was refused or lost (`reason`)
};

const char* to_string(AgentEventType type);

/// An event for the application. Views are valid only during the handler call.
struct AgentEvent {
  AgentEventType type = AgentEventType::kConnected;
  Status reason;
  Milliseconds retry_in{0};
  bool session_present = false;
  std::string_view topic;
};

/// Counters since construction (monotonic; for diagnostics and tests).
struct AgentStats {
  std::uint32_t connect_attempts = 0;
  std::uint32_t connects = 0;
  std::uint32_t connect_failures = 0;
  std::uint32_t disconnects = 0;
  std::uint32_t messages_received = 0;
  std::uint32_t messages_unhandled = 0;
  std::uint32_t publishes = 0;
  std::uint32_t publish_failures = 0;
  std::uint32_t subscribe_failures = 0;
};

using MessageHandler = InplaceFunction<void(const InboundMessage&), 4 * sizeof(void*)>;
using TimerHandler = InplaceFunction<void(), 4 * sizeof(void*)>;
using EventHandler = InplaceFunction<void(const AgentEvent&), 4 * sizeof(void*)>;
using PublishCompleteHandler = InplaceFunction<void(PacketToken, Status), 4 * sizeof(void*)>;
using TimerId = std::uint32_t;

#ifndef TETHER_MAX_COMPONENTS
#define TETHER_MAX_COMPONENTS 6  ///< feature clients attached to one agent (queue, shadow, commands, ...)
#endif
inline constexpr std::size_t kMaxComponents = TETHER_MAX_COMPONENTS;

/// A feature client that rides on the agent (offline queue, shadow, commands, metrics). It sees
/// every agent event and publish completion before the application's handlers, and gets a turn at
/// the end of every run_once(). All calls come from the agent's thread, inside run_once().
class AgentComponent {
 public:
  virtual ~AgentComponent() = default;
  /// Every event the application's event handler gets, before it gets it.
  virtual void on_agent_event(const AgentEvent& event) { (void)event; }
  /// A publish completed. Return true if `token` was this component's publish: the application's
  /// publish-complete handler is then not called for it.
  virtual bool on_agent_publish_complete(PacketToken token, Status result) {
    (void)token;
    (void)result;
    return false;
  }
  /// The broker answered a SUBSCRIBE for `filter` (sent by subscribe() or restored after a
  /// reconnect): ok (granted, possibly at a lower QoS) or the refusal. A component that must not
  /// publish requests before its response topics are subscribed (shadow get) waits for this.
  virtual void on_agent_subscribed(std::string_view filter, Status result) {
    (void)filter;
    (void)result;
  }
  /// Called once at the end of every run_once(), after events and timers.
  virtual void on_agent_tick(Milliseconds now) { (void)now; }
  /// When the component next needs on_agent_tick() (monotonic); Milliseconds::max() = no need.
  /// run_once() waits no longer than this.
  virtual Milliseconds next_tick_due() const { return Milliseconds::max(); }
};

class Agent final : private port::MqttListener {
 public:
  /// A connection shorter than this counts as "dropped right after it was made".
  static constexpr Milliseconds kStableConnection{30000};
  /// This many consecutive short connections are treated as a fatal-class failure (another client
  /// with the same client id kicks us out, or the broker refuses us after CONNACK).
  static constexpr std::uint32_t kFlapLimit = 3;

  /// `mqtt`, `clock`, `config` and `log` are not owned and must outlive the agent. `jitter_seed`
  /// seeds the backoff jitter: give each device a different one (e.g. from the Crypto port's RNG).
  Agent(port::MqttClient& mqtt, const port::Clock& clock, const AgentConfig& config,
        port::LogSink* log = nullptr, std::uint64_t jitter_seed = 0);
  ~Agent() override;
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Checks the identity (thing name valid for the profile, client id printable ASCII) and starts
  /// the first connect attempt. The rest of the configuration is checked by parse_config /
  /// validate_config and by the MqttClient at connect time. Returns ok, kInvalidArgument/kTopic
  /// (thing name), kInvalidArgument/kConfig (client id), kFailedPrecondition (already started). A
  /// failing first attempt is not an error here: it is retried with backoff.
  Status start();

  /// Runs one iteration: starts a due reconnect, waits up to `max_wait` for network events (less if a
  /// timer or reconnect is due sooner), dispatches events and fires due timers. Returns ok,
  /// kFailedPrecondition (not started), kCancelled (stopped), or the MqttClient's poll error.
  Status run_once(Milliseconds max_wait);

  /// Graceful stop: sends DISCONNECT when connected; the agent reaches kStopped once the connection
  /// has closed (or at once when not connected). Timers stop firing. Returns ok.
  Status stop();

  /// Publishes now. Returns the token (completion: the publish-complete handler), or
  /// kInvalidArgument/kTopic (bad topic for the profile), kUnavailable/kAgent (not connected; use the
  /// offline queue to buffer), or the MqttClient's error.
  Result<PacketToken> publish(std::string_view topic, Span<const std::uint8_t> payload, Qos qos = Qos::k1,
                              const PublishProperties& properties = {}, bool retain = false);

  /// Registers `handler` for `filter`; sent now when connected and again after every reconnect.
  /// Returns ok, kInvalidArgument/kTopic (bad filter), kAlreadyExists (filter registered),
  /// kResourceExhausted/kAgent with detail kMaxSubscriptions (every slot in use) or
  /// kSubscriptionFilterBytes (the filters' pool is full), kInvalidArgument/kAgent (empty handler).
  Status subscribe(std::string_view filter, Qos qos, MessageHandler handler);

  /// Removes the subscription (and sends UNSUBSCRIBE when connected). kNotFound if absent.
  Status unsubscribe(std::string_view filter);

  /// Calls `handler` after `period` (and every `period` if `repeat`), from run_once(). Returns the
  /// timer id, or kResourceExhausted (kMaxTimers reached), kInvalidArgument (period < 1 ms or empty
  /// handler). A repeating timer that falls behind skips the missed ticks rather than bursting.
  Result<TimerId> start_timer(Milliseconds period, TimerHandler handler, bool repeat = true);

  /// Cancels a timer; kNotFound if it is not running. Safe to call from any handler.
  Status cancel_timer(TimerId id);

  /// Attaches a feature client (not owned; detach it before destroying it). Returns ok,
  /// kAlreadyExists, or kResourceExhausted (kMaxComponents attached).
  Status attach(AgentComponent& component);
  /// Detaches a component; kNotFound if it is not attached.
  Status detach(AgentComponent& component);

  void set_event_handler(EventHandler handler) { event_handler_ = handler; }
  void set_publish_complete_handler(PublishCompleteHandler handler) { publish_handler_ = handler; }

  /// Thread-safe: makes a blocked run_once() return promptly.
  void wake() { mqtt_.wake(); }

  AgentState state() const { return state_; }
  bool connected() const { return state_ == AgentState::kConnected; }
  const AgentStats& stats() const { return stats_; }
  const TopicScheme& topics() const { return topics_; }
  const AgentConfig& config() const { return config_; }
  const port::Clock& clock() const { return clock_; }
  Logger& logger() { return logger_; }
  /// Time until the next reconnect attempt (0 when not waiting).
  Milliseconds reconnect_in() const;

 private:
  // The filter lives in filters_ (one pool for all: most filters are far shorter than kMaxTopic).
  struct Subscription {
    std::uint16_t filter_at = 0;    // offset of the filter in filters_
    std::uint16_t filter_size = 0;  // bytes, without the NUL that follows it
    Qos qos = Qos::k1;
    MessageHandler handler;
    PacketToken pending = 0;  // token of an outstanding SUBSCRIBE
    bool removed = false;     // unsubscribed during dispatch; erased after it
  };
  struct Timer {
    TimerId id = 0;
    Milliseconds due{0};
    Milliseconds period{0};
    bool repeat = false;
    TimerHandler handler;
  };

  // port::MqttListener
  void on_connection(const ConnectionEvent& event) override;
  void on_message(const InboundMessage& message) override;
  void on_publish_complete(PacketToken token, Status result) override;
  void on_subscribe_complete(PacketToken token, Status result, Qos granted) override;

  void attempt_connect();
  void schedule_reconnect(Status reason, bool was_connected);
  void send_subscription(Subscription& subscription);
  std::string_view filter_of(const Subscription& s) const { return {filters_ + s.filter_at, s.filter_size}; }
  const char* filter_c_str(const Subscription& s) const { return filters_ + s.filter_at; }
  void erase_subscription(std::size_t index);
  void fire_due_timers();
  Milliseconds next_deadline_wait(Milliseconds max_wait) const;
  void emit(const AgentEvent& event);

  port::MqttClient& mqtt_;
  const port::Clock& clock_;
  const AgentConfig& config_;
  Logger logger_;
  TopicScheme topics_;
  Backoff backoff_;
  AgentState state_ = AgentState::kIdle;
  Milliseconds next_attempt_{0};
  Milliseconds attempt_started_{0};
  Milliseconds connected_since_{0};
  Milliseconds stop_requested_{0};
  std::uint32_t short_connections_ = 0;
  bool dispatching_ = false;
  TimerId next_timer_id_ = 1;
  FixedVector<Subscription, kMaxSubscriptions> subscriptions_;
  char filters_[kSubscriptionFilterBytes];  // the subscriptions' filters, each followed by a NUL
  std::size_t filters_used_ = 0;
  FixedVector<Timer, kMaxTimers> timers_;
  FixedVector<AgentComponent*, kMaxComponents> components_;
  EventHandler event_handler_;
  PublishCompleteHandler publish_handler_;
  AgentStats stats_;
};

}  // namespace tether
