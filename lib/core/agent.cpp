// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/agent.hpp"

#include <cstring>

#include "tether/decimal.hpp"

namespace tether {
namespace {

// How long a graceful stop waits for the connection to close before giving up on it.
constexpr Milliseconds kStopTimeout{5000};
// Extra time granted to the MqttClient beyond its own connect timeout before the agent gives up.
constexpr Milliseconds kConnectWatchdogSlack{5000};
// MQTT 5 DISCONNECT reason: another connection took over our session (duplicate client id).
constexpr std::uint16_t kReasonSessionTakenOver = 0x8E;
// MQTT 5 reason: not authorized (CONNACK, PUBACK, SUBACK).
constexpr std::uint16_t kReasonNotAuthorized = 0x87;

}  // namespace

const char* to_string(AgentState state) {
  switch (state) {
    case AgentState::kIdle: return "idle";
    case AgentState::kConnecting: return "connecting";
    case AgentState::kConnected: return "connected";
    case AgentState::kWaitingToReconnect: return "waiting_to_reconnect";
    case AgentState::kStopping: return "stopping";
    case AgentState::kStopped: return "stopped";
  }
  return "invalid_state";
}

const char* to_string(AgentEventType type) {
  switch (type) {
    case AgentEventType::kConnected: return "connected";
    case AgentEventType::kDisconnected: return "disconnected";
    case AgentEventType::kConnectFailed: return "connect_failed";
    case AgentEventType::kNeedsAttention: return "needs_attention";
    case AgentEventType::kSubscribeFailed: return "subscribe_failed";
    case AgentEventType::kPublishFailed: return "publish_failed";
  }
  return "invalid_event";
}

Agent::Agent(port::MqttClient& mqtt, const port::Clock& clock, const AgentConfig& config, port::LogSink* log,
             std::uint64_t jitter_seed)
    : mqtt_(mqtt),
      clock_(clock),
      config_(config),
      logger_(log, config.log_level),
      topics_(config.profile, config.thing_name.view()),
      backoff_(config.reconnect, jitter_seed) {}

Agent::~Agent() { mqtt_.set_listener(nullptr); }

Status Agent::start() {
  if (state_ != AgentState::kIdle) return Status(StatusCode::kFailedPrecondition, Origin::kAgent);
  ErrorText why;
  Status status = validate_thing_name(config_.thing_name.view(), config_.profile, &why);
  if (!status.ok()) {
    TETHER_LOG_ERROR(logger_, Origin::kAgent, status, "cannot start: thing_name \"%s\": %s",
                     config_.thing_name.c_str(), why.c_str());
    return status;
  }
  std::string_view client_id = config_.client_id.empty() ? config_.thing_name.view() : config_.client_id.view();
  for (char c : client_id) {
    if (c <= ' ' || c > '~') {
      status = Status(StatusCode::kInvalidArgument, Origin::kConfig);
      TETHER_LOG_ERROR(logger_, Origin::kAgent, status,
                       "cannot start: client_id must be printable ASCII without spaces");
      return status;
    }
  }
  mqtt_.set_listener(this);
  TETHER_LOG_INFO(logger_, Origin::kAgent, "starting: thing \"%s\", client id \"%.*s\", profile %s, MQTT %s",
                  config_.thing_name.c_str(), static_cast<int>(client_id.size()), client_id.data(),
                  to_string(config_.profile), config_.mqtt.version == MqttVersion::k5 ? "5" : "3.1.1");
  attempt_connect();
  return ok_status();
}

void Agent::attempt_connect() {
  ConnectOptions options;
  options.client_id = config_.client_id.empty() ? config_.thing_name.view() : config_.client_id.view();
  options.version = config_.mqtt.version;
  options.keep_alive_s = config_.mqtt.keep_alive_s;
  options.clean_start = config_.mqtt.clean_session;
  options.session_expiry_s = config_.mqtt.session_expiry_s;
  options.connect_timeout = config_.mqtt.connect_timeout;

  ++stats_.connect_attempts;
  state_ = AgentState::kConnecting;
  attempt_started_ = clock_.now();
  TETHER_LOG_DEBUG(logger_, Origin::kAgent, "connect attempt %u", static_cast<unsigned>(stats_.connect_attempts));
  Status status = mqtt_.connect(options);
  if (!status.ok()) {
    // The attempt could not even start: handled like a failed attempt.
    ConnectionEvent event;
    event.state = ConnectionState::kConnectFailed;
    event.reason = status;
    on_connection(event);
  }
}

void Agent::schedule_reconnect(Status reason, bool was_connected) {
  const Milliseconds now = clock_.now();
  FailureClass kind = classify_failure(reason);
  bool flapping = false;
  if (was_connected) {
    if (now - connected_since_ >= kStableConnection) {
      short_connections_ = 0;
      backoff_.reset();
    } else if (++short_connections_ >= kFlapLimit) {
      flapping = true;
      kind = FailureClass::kFatal;
    }
  }
  const Milliseconds delay = backoff_.next_delay(kind);
  next_attempt_ = now + delay;
  state_ = AgentState::kWaitingToReconnect;

  AgentEvent event;
  event.reason = reason;
  event.retry_in = delay;
  event.type = was_connected ? AgentEventType::kDisconnected : AgentEventType::kConnectFailed;
  if (was_connected) {
    TETHER_LOG_WARN(logger_, Origin::kAgent, reason, "disconnected; reconnecting in %s ms",
                    Decimal(delay.count()).c_str());
  } else {
    TETHER_LOG_WARN(logger_, Origin::kAgent, reason, "connect failed; retrying in %s ms",
                    Decimal(delay.count()).c_str());
  }
  emit(event);

  if (kind == FailureClass::kFatal) {
    const char* what = "the broker refused this device";
    if (flapping) {
      what = "the connection keeps dropping right after it is made (another device using this client id?)";
    } else if (reason.origin() == Origin::kMqtt && reason.detail() == kReasonSessionTakenOver) {
      what = "another client connected with this client id";
    } else if (reason.code() == StatusCode::kPermissionDenied ||
               (reason.origin() == Origin::kMqtt && reason.detail() == kReasonNotAuthorized)) {
      what = "not authorized (policy/ACL)";
    } else if (reason.code() == StatusCode::kUnauthenticated) {
      what = "the identity was refused (certificate, key or CA)";
    } else if (reason.code() == StatusCode::kInvalidArgument) {
      what = "the connection settings or TLS material are invalid";
    }
    TETHER_LOG_ERROR(logger_, Origin::kAgent, reason, "needs attention: %s; next attempt in %s s", what,
                     Decimal(delay.count() / 1000).c_str());
    AgentEvent attention = event;
    attention.type = AgentEventType::kNeedsAttention;
    emit(attention);
  }
}

void Agent::on_connection(const ConnectionEvent& event) {
  switch (event.state) {
    case ConnectionState::kConnected: {
      if (state_ == AgentState::kStopping || state_ == AgentState::kStopped) return;
      ++stats_.connects;
      state_ = AgentState::kConnected;
      connected_since_ = clock_.now();
      TETHER_LOG_INFO(logger_, Origin::kAgent, "connected (session %s); restoring %u subscription(s)",
                      event.session_present ? "resumed" : "new", static_cast<unsigned>(subscriptions_.size()));
      // Restore every subscription, even when the broker says it kept the session: a resumed
      // session may predate a subscription made while offline, and SUBSCRIBE is idempotent.
      for (Subscription& s : subscriptions_) {
        if (!s.removed) send_subscription(s);
      }
      AgentEvent out;
      out.type = AgentEventType::kConnected;
      out.session_present = event.session_present;
      emit(out);
      return;
    }
    case ConnectionState::kConnectFailed:
      if (state_ == AgentState::kStopping || state_ == AgentState::kStopped) {
        state_ = AgentState::kStopped;
        return;
      }
      if (state_ == AgentState::kWaitingToReconnect) {
        // The late answer of an attempt the watchdog already abandoned: counted there, not twice.
        TETHER_LOG_DEBUG(logger_, Origin::kAgent, "late outcome of an abandoned connect attempt ignored");
        return;
      }
      ++stats_.connect_failures;
      schedule_reconnect(event.reason, false);
      return;
    case ConnectionState::kDisconnected:
      for (Subscription& s : subscriptions_) s.pending = 0;
      if (state_ == AgentState::kStopping || state_ == AgentState::kStopped) {
        state_ = AgentState::kStopped;
        TETHER_LOG_INFO(logger_, Origin::kAgent, "stopped");
        return;
      }
      if (state_ == AgentState::kWaitingToReconnect) {
        TETHER_LOG_DEBUG(logger_, Origin::kAgent, "late close of an abandoned connect attempt ignored");
        return;
      }
      if (state_ != AgentState::kConnected) {
        // A disconnect while connecting is the failure of that attempt.
        TETHER_LOG_DEBUG(logger_, Origin::kAgent, "connection closed while connecting");
        ++stats_.connect_failures;
        schedule_reconnect(event.reason.ok() ? Status(StatusCode::kUnavailable, Origin::kMqtt) : event.reason, false);
        return;
      }
      ++stats_.disconnects;
      schedule_reconnect(event.reason.ok() ? Status(StatusCode::kUnavailable, Origin::kMqtt) : event.reason, true);
      return;
  }
}

void Agent::send_subscription(Subscription& subscription) {
  Result<PacketToken> token = mqtt_.subscribe(filter_of(subscription), subscription.qos);
  if (token.ok()) {
    subscription.pending = *token;
    return;
  }
  subscription.pending = 0;
  ++stats_.subscribe_failures;
  TETHER_LOG_ERROR(logger_, Origin::kAgent, token.status(), "subscribe \"%s\" failed to send",
                   filter_c_str(subscription));
  AgentEvent event;
  event.type = AgentEventType::kSubscribeFailed;
  event.reason = token.status();
  event.topic = filter_of(subscription);
  emit(event);
}

// Removes the subscription and its filter; the filters after it move down to keep the pool packed.
void Agent::erase_subscription(std::size_t index) {
  const std::size_t at = subscriptions_[index].filter_at;
  const std::size_t bytes = subscriptions_[index].filter_size + std::size_t{1};
  std::memmove(filters_ + at, filters_ + at + bytes, filters_used_ - at - bytes);
  filters_used_ -= bytes;
  for (Subscription& s : subscriptions_) {
    if (s.filter_at > at) s.filter_at = static_cast<std::uint16_t>(s.filter_at - bytes);
  }
  subscriptions_.erase(index);
}

void Agent::on_message(const InboundMessage& message) {
  ++stats_.messages_received;
  bool handled = false;
  // Handlers may subscribe or unsubscribe. Entries removed meanwhile are only marked and erased
  // after the loop (so indices stay put); entries added meanwhile see the next message.
  dispatching_ = true;
  const std::size_t count = subscriptions_.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (subscriptions_[i].removed || !topic_matches(filter_of(subscriptions_[i]), message.topic)) continue;
    handled = true;
    subscriptions_[i].handler(message);
  }
  dispatching_ = false;
  for (std::size_t i = subscriptions_.size(); i > 0; --i) {
    if (subscriptions_[i - 1].removed) erase_subscription(i - 1);
  }
  if (!handled) {
    ++stats_.messages_unhandled;
    TETHER_LOG_DEBUG(logger_, Origin::kAgent, "no handler for message on \"%.*s\" (%u bytes)",
                     static_cast<int>(message.topic.size()), message.topic.data(),
                     static_cast<unsigned>(message.payload.size()));
  }
}

void Agent::on_publish_complete(PacketToken token, Status result) {
  for (AgentComponent* c : components_) {
    if (c->on_agent_publish_complete(token, result)) {
      if (!result.ok()) ++stats_.publish_failures;
      return;
    }
  }
  if (!result.ok()) {
    ++stats_.publish_failures;
    TETHER_LOG_WARN(logger_, Origin::kAgent, result, "publish %u not acknowledged", static_cast<unsigned>(token));
    AgentEvent event;
    event.type = AgentEventType::kPublishFailed;
    event.reason = result;
    emit(event);
  }
  if (publish_handler_) publish_handler_(token, result);
}

void Agent::on_subscribe_complete(PacketToken token, Status result, Qos granted) {
  for (Subscription& s : subscriptions_) {
    if (s.pending != token || token == 0) continue;
    s.pending = 0;
    if (!result.ok()) {
      ++stats_.subscribe_failures;
      TETHER_LOG_ERROR(logger_, Origin::kAgent, result, "broker refused subscription \"%s\"", filter_c_str(s));
      AgentEvent event;
      event.type = AgentEventType::kSubscribeFailed;
      event.reason = result;
      event.topic = filter_of(s);
      emit(event);
    } else if (granted < s.qos) {
      TETHER_LOG_WARN(logger_, Origin::kAgent, Status(), "subscription \"%s\" granted QoS %u only", filter_c_str(s),
                      static_cast<unsigned>(granted));
    } else {
      TETHER_LOG_DEBUG(logger_, Origin::kAgent, "subscribed \"%s\"", filter_c_str(s));
    }
    FixedString<kMaxTopic> filter;  // a copy: a component may (un)subscribe in its call
    filter.assign(filter_of(s)).ignore();  // at most kMaxTopic: validated by subscribe()
    for (AgentComponent* c : components_) c->on_agent_subscribed(filter.view(), result);
    return;
  }
}

Status Agent::run_once(Milliseconds max_wait) {
  if (state_ == AgentState::kIdle) return Status(StatusCode::kFailedPrecondition, Origin::kAgent);
  if (state_ == AgentState::kStopped) return Status(StatusCode::kCancelled, Origin::kAgent);

  Milliseconds now = clock_.now();
  if (state_ == AgentState::kWaitingToReconnect && now >= next_attempt_) {
    attempt_connect();
  } else if (state_ == AgentState::kConnecting &&
             now - attempt_started_ > config_.mqtt.connect_timeout + kConnectWatchdogSlack) {
    // The client never reported an outcome: do not wait forever.
    TETHER_LOG_WARN(logger_, Origin::kAgent, Status(StatusCode::kDeadlineExceeded, Origin::kAgent),
                    "connect attempt gave no answer within %s ms; abandoning it",
                    Decimal((config_.mqtt.connect_timeout + kConnectWatchdogSlack).count()).c_str());
    mqtt_.disconnect().ignore();
    ++stats_.connect_failures;
    schedule_reconnect(Status(StatusCode::kDeadlineExceeded, Origin::kAgent), false);
  } else if (state_ == AgentState::kStopping && now - stop_requested_ > kStopTimeout) {
    TETHER_LOG_WARN(logger_, Origin::kAgent, Status(StatusCode::kDeadlineExceeded, Origin::kAgent),
                    "connection did not close within %s ms of stop(); stopping anyway",
                    Decimal(kStopTimeout.count()).c_str());
    state_ = AgentState::kStopped;
    return Status(StatusCode::kCancelled, Origin::kAgent);
  }

  Status status = mqtt_.poll(next_deadline_wait(max_wait));
  if (!status.ok()) {
    TETHER_LOG_ERROR(logger_, Origin::kAgent, status, "MQTT client poll failed");
  }
  if (state_ != AgentState::kStopping && state_ != AgentState::kStopped) fire_due_timers();
  if (state_ == AgentState::kStopped) return Status(StatusCode::kCancelled, Origin::kAgent);
  const Milliseconds after = clock_.now();
  for (AgentComponent* c : components_) c->on_agent_tick(after);
  return status;
}

Milliseconds Agent::next_deadline_wait(Milliseconds max_wait) const {
  const Milliseconds now = clock_.now();
  Milliseconds wait = max_wait;
  auto consider = [&](Milliseconds deadline) {
    const Milliseconds until = deadline > now ? deadline - now : Milliseconds(0);
    if (until < wait) wait = until;
  };
  if (state_ == AgentState::kWaitingToReconnect) consider(next_attempt_);
  if (state_ != AgentState::kStopping) {
    for (const Timer& t : timers_) consider(t.due);
  }
  for (const AgentComponent* c : components_) {
    const Milliseconds due = c->next_tick_due();
    if (due != Milliseconds::max()) consider(due);
  }
  return wait < Milliseconds(0) ? Milliseconds(0) : wait;
}

void Agent::fire_due_timers() {
  // Bounded: each timer fires at most once per call (a repeating timer is re-armed in the future).
  for (std::size_t round = 0; round < kMaxTimers; ++round) {
    const Milliseconds now = clock_.now();
    std::size_t due_index = timers_.size();
    for (std::size_t i = 0; i < timers_.size(); ++i) {
      if (timers_[i].due <= now && (due_index == timers_.size() || timers_[i].due < timers_[due_index].due)) {
        due_index = i;
      }
    }
    if (due_index == timers_.size()) return;
    Timer& timer = timers_[due_index];
    TimerHandler handler = timer.handler;  // copy: the handler may cancel its own timer
    if (timer.repeat) {
      timer.due += timer.period;
      if (timer.due <= now) timer.due = now + timer.period;  // fell behind: skip, never burst
    } else {
      timers_.erase(due_index);
    }
    handler();
    if (state_ == AgentState::kStopping || state_ == AgentState::kStopped) return;
  }
}

Status Agent::stop() {
  switch (state_) {
    case AgentState::kConnected:
      state_ = AgentState::kStopping;
      stop_requested_ = clock_.now();
      TETHER_LOG_INFO(logger_, Origin::kAgent, "stopping: disconnecting");
      if (!mqtt_.disconnect().ok()) state_ = AgentState::kStopped;
      return ok_status();
    case AgentState::kConnecting:
      mqtt_.disconnect().ignore();
      state_ = AgentState::kStopped;
      break;
    case AgentState::kStopping:
    case AgentState::kStopped:
      return ok_status();
    default:
      state_ = AgentState::kStopped;
      break;
  }
  TETHER_LOG_INFO(logger_, Origin::kAgent, "stopped");
  return ok_status();
}

Result<PacketToken> Agent::publish(std::string_view topic, Span<const std::uint8_t> payload, Qos qos,
                                   const PublishProperties& properties, bool retain) {
  // Hot path: validate without building an explanation; build it only for the log of a refusal.
  Status status = validate_topic_name(topic, config_.profile);
  if (!status.ok()) {
    ErrorText why;
    validate_topic_name(topic, config_.profile, &why).ignore();
    TETHER_LOG_WARN(logger_, Origin::kAgent, status, "publish refused: %s", why.c_str());
    return status;
  }
  if (state_ != AgentState::kConnected) return Status(StatusCode::kUnavailable, Origin::kAgent);
  OutgoingMessage message;
  message.topic = topic;
  message.payload = payload;
  message.qos = qos;
  message.retain = retain;
  message.properties = properties;
  Result<PacketToken> token = mqtt_.publish(message);
  if (token.ok()) {
    ++stats_.publishes;
  } else {
    ++stats_.publish_failures;
  }
  return token;
}

Status Agent::subscribe(std::string_view filter, Qos qos, MessageHandler handler) {
  if (!handler) return Status(StatusCode::kInvalidArgument, Origin::kAgent);
  ErrorText why;
  Status status = validate_topic_filter(filter, config_.profile, &why);
  if (!status.ok()) {
    TETHER_LOG_WARN(logger_, Origin::kAgent, status, "subscribe refused: %s", why.c_str());
    return status;
  }
  for (const Subscription& s : subscriptions_) {
    if (!s.removed && filter_of(s) == filter) return Status(StatusCode::kAlreadyExists, Origin::kAgent);
  }
  if (kSubscriptionFilterBytes - filters_used_ < filter.size() + 1) {
    status = Status(StatusCode::kResourceExhausted, Origin::kAgent, static_cast<std::uint16_t>(kSubscriptionFilterBytes));
    TETHER_LOG_WARN(logger_, Origin::kAgent, status,
                    "subscribe refused: the %u subscriptions' filters fill the %u bytes of "
                    "TETHER_SUBSCRIPTION_FILTER_BYTES (filter \"%.*s\")",
                    static_cast<unsigned>(subscriptions_.size()), static_cast<unsigned>(kSubscriptionFilterBytes),
                    static_cast<int>(filter.size()), filter.data());
    return status;
  }
  Subscription* added = subscriptions_.emplace_back();
  if (added == nullptr) {
    status = Status(StatusCode::kResourceExhausted, Origin::kAgent, static_cast<std::uint16_t>(kMaxSubscriptions));
    TETHER_LOG_WARN(logger_, Origin::kAgent, status,
                    "subscribe refused: all %u subscription slots in use (TETHER_MAX_SUBSCRIPTIONS; filter \"%.*s\")",
                    static_cast<unsigned>(kMaxSubscriptions), static_cast<int>(filter.size()), filter.data());
    return status;
  }
  // Validated above: at most kMaxTopic bytes, no NUL.
  std::memcpy(filters_ + filters_used_, filter.data(), filter.size());
  filters_[filters_used_ + filter.size()] = '\0';
  added->filter_at = static_cast<std::uint16_t>(filters_used_);
  added->filter_size = static_cast<std::uint16_t>(filter.size());
  filters_used_ += filter.size() + 1;
  added->qos = qos;
  added->handler = handler;
  if (state_ == AgentState::kConnected) send_subscription(*added);
  return ok_status();
}

Status Agent::unsubscribe(std::string_view filter) {
  for (std::size_t i = 0; i < subscriptions_.size(); ++i) {
    if (subscriptions_[i].removed || filter_of(subscriptions_[i]) != filter) continue;
    if (state_ == AgentState::kConnected) {
      Result<PacketToken> token = mqtt_.unsubscribe(filter);
      if (!token.ok()) {
        TETHER_LOG_WARN(logger_, Origin::kAgent, token.status(), "unsubscribe \"%s\" not sent",
                        filter_c_str(subscriptions_[i]));
      }
    }
    if (dispatching_) {
      subscriptions_[i].removed = true;  // erased when the dispatch loop ends
    } else {
      erase_subscription(i);
    }
    return ok_status();
  }
  return Status(StatusCode::kNotFound, Origin::kAgent);
}

Result<TimerId> Agent::start_timer(Milliseconds period, TimerHandler handler, bool repeat) {
  if (period < Milliseconds(1) || !handler) return Status(StatusCode::kInvalidArgument, Origin::kAgent);
  Timer* timer = timers_.emplace_back();
  if (timer == nullptr) {
    return Status(StatusCode::kResourceExhausted, Origin::kAgent, static_cast<std::uint16_t>(kMaxTimers));
  }
  timer->id = next_timer_id_++;
  if (next_timer_id_ == 0) next_timer_id_ = 1;
  timer->due = clock_.now() + period;
  timer->period = period;
  timer->repeat = repeat;
  timer->handler = handler;
  return timer->id;
}

Status Agent::cancel_timer(TimerId id) {
  for (std::size_t i = 0; i < timers_.size(); ++i) {
    if (timers_[i].id == id) {
      timers_.erase(i);
      return ok_status();
    }
  }
  return Status(StatusCode::kNotFound, Origin::kAgent);
}

Milliseconds Agent::reconnect_in() const {
  if (state_ != AgentState::kWaitingToReconnect) return Milliseconds(0);
  const Milliseconds now = clock_.now();
  return next_attempt_ > now ? next_attempt_ - now : Milliseconds(0);
}

Status Agent::attach(AgentComponent& component) {
  for (AgentComponent* c : components_) {
    if (c == &component) return Status(StatusCode::kAlreadyExists, Origin::kAgent);
  }
  if (!components_.push_back(&component)) {
    return Status(StatusCode::kResourceExhausted, Origin::kAgent, static_cast<std::uint16_t>(kMaxComponents));
  }
  return ok_status();
}

Status Agent::detach(AgentComponent& component) {
  for (std::size_t i = 0; i < components_.size(); ++i) {
    if (components_[i] == &component) {
      components_.erase(i);
      return ok_status();
    }
  }
  return Status(StatusCode::kNotFound, Origin::kAgent);
}

void Agent::emit(const AgentEvent& event) {
  for (AgentComponent* c : components_) c->on_agent_event(event);
  if (event_handler_) event_handler_(event);
}

}  // namespace tether
