// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/testing/fake_mqtt_client.hpp"

#include <algorithm>

#include "tether/topics.hpp"

namespace tether::testing {

namespace {
template <typename Message>
FakeMessage copy_any(const Message& message) {
  FakeMessage m;
  m.topic = std::string(message.topic);
  m.payload = std::string(as_text(message.payload));
  m.qos = message.qos;
  m.retain = message.retain;
  m.content_type = std::string(message.properties.content_type);
  m.message_expiry_s = message.properties.message_expiry_s;
  m.response_topic = std::string(message.properties.response_topic);
  m.correlation_data = std::string(as_text(message.properties.correlation_data));
  for (const UserProperty& p : message.properties.user_properties) {
    m.user_properties.emplace_back(std::string(p.key), std::string(p.value));
  }
  return m;
}
}  // namespace

FakeMessage copy_message(const OutgoingMessage& message) { return copy_any(message); }
FakeMessage copy_message(const InboundMessage& message) { return copy_any(message); }

void FakeMqttClient::script_connect(Status outcome, bool session_present) {
  connect_script_.push_back(ScriptedConnect{outcome, session_present});
}

PacketToken FakeMqttClient::next_token() {
  ++last_token_;
  if (last_token_ == 0) last_token_ = 1;
  return last_token_;
}

Status FakeMqttClient::do_connect(const ConnectOptions& options) {
  connect_calls_.push_back(options);
  connect_client_ids_.emplace_back(options.client_id);
  connect_calls_.back().client_id = connect_client_ids_.back();  // keep the view valid
  connect_calls_.back().username = {};
  connect_calls_.back().will.reset();
  if (!connect_call_error_.ok()) {
    Status s = connect_call_error_;
    connect_call_error_ = Status();
    return s;
  }
  if (options.client_id.empty()) return Status(StatusCode::kInvalidArgument, Origin::kMqtt);
  if (connecting_ || connected_) return Status(StatusCode::kFailedPrecondition, Origin::kMqtt);
  connecting_ = true;
  version_ = options.version;
  if (hang_next_connect_) {
    hang_next_connect_ = false;
    return Status();
  }
  ScriptedConnect next{Status(), false};
  if (!unreachable_.ok()) {
    next.outcome = unreachable_;  // the script waits until the broker is reachable again
  } else if (!connect_script_.empty()) {
    next = connect_script_.front();
    connect_script_.pop_front();
  }
  Event event{};
  event.kind = Event::Kind::kConnection;
  event.connection.state = next.outcome.ok() ? ConnectionState::kConnected : ConnectionState::kConnectFailed;
  event.connection.reason = next.outcome;
  event.connection.session_present = next.session_present;
  link_up_ = next.outcome.ok();
  events_.push_back(event);
  return Status();
}

Status FakeMqttClient::do_disconnect() {
  ++disconnect_calls_;
  if (!connected_ && !connecting_) return Status();
  end_connection(Status());
  return Status();
}

void FakeMqttClient::drop_connection(Status reason) {
  if (!link_up_) return;
  end_connection(reason);
}

void FakeMqttClient::end_connection(Status reason) {
  link_up_ = false;
  subscriptions_.clear();
  // Publishes still waiting for their PUBACK are lost with the connection.
  for (PacketToken token : pending_acks_) {
    Event e{};
    e.kind = Event::Kind::kPublishComplete;
    e.token = token;
    e.result = Status(StatusCode::kUnavailable, Origin::kMqtt);
    events_.push_back(e);
  }
  pending_acks_.clear();
  // An attempt that has not been answered yet (hung handshake) ends as a failed attempt; anything
  // else (including an answered attempt whose CONNACK event is still queued) ends as a disconnect,
  // delivered after the queued events, as a real network would order them.
  const bool answered = std::any_of(events_.begin(), events_.end(), [](const Event& e) {
    return e.kind == Event::Kind::kConnection;
  });
  Event event{};
  event.kind = Event::Kind::kConnection;
  event.connection.state =
      connecting_ && !answered ? ConnectionState::kConnectFailed : ConnectionState::kDisconnected;
  event.connection.reason = reason;
  events_.push_back(event);
}

void FakeMqttClient::inject_message(const FakeMessage& message) {
  Event event{};
  event.kind = Event::Kind::kMessage;
  event.message = message;
  events_.push_back(event);
}

void FakeMqttClient::inject_message(std::string_view topic, std::string_view payload, Qos qos) {
  FakeMessage m;
  m.topic = std::string(topic);
  m.payload = std::string(payload);
  m.qos = qos;
  inject_message(m);
}

bool FakeMqttClient::ack(PacketToken token, Status result) {
  auto it = std::find(pending_acks_.begin(), pending_acks_.end(), token);
  if (it == pending_acks_.end()) return false;
  pending_acks_.erase(it);
  Event e{};
  e.kind = Event::Kind::kPublishComplete;
  e.token = token;
  e.result = result;
  events_.push_back(e);
  return true;
}

Result<PacketToken> FakeMqttClient::do_publish(const OutgoingMessage& message) {
  if (!publish_call_error_.ok()) {
    Status s = publish_call_error_;
    publish_call_error_ = Status();
    return s;
  }
  if (!link_up_) return Status(StatusCode::kFailedPrecondition, Origin::kMqtt);
  if (message.topic.empty() || message.topic.find_first_of("+#") != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument, Origin::kMqtt);
  }
  // As the contract says: MQTT 3.1.1 has no properties, and they are refused, not dropped.
  if (version_ == MqttVersion::k3_1_1 && !message.properties.empty()) {
    return Status(StatusCode::kInvalidArgument, Origin::kMqtt);
  }
  FakeMessage m = copy_message(message);
  m.token = next_token();
  published_.push_back(m);

  if (message.qos == Qos::k1) {
    pending_acks_.push_back(m.token);
    if (auto_ack_) ack(m.token, Status());
  } else {
    Event e{};
    e.kind = Event::Kind::kPublishComplete;
    e.token = m.token;
    events_.push_back(e);
  }
  if (loopback_) {
    for (const auto& [filter, qos] : subscriptions_) {
      if (topic_matches(filter, m.topic)) {
        FakeMessage copy = m;
        copy.qos = std::min(qos, m.qos);
        inject_message(copy);
        break;
      }
    }
  }
  return m.token;
}

Result<PacketToken> FakeMqttClient::do_subscribe(std::string_view filter, Qos qos) {
  if (!link_up_) return Status(StatusCode::kFailedPrecondition, Origin::kMqtt);
  if (filter.empty()) return Status(StatusCode::kInvalidArgument, Origin::kMqtt);
  const std::string key(filter);
  subscribe_calls_.push_back(key);
  Event e{};
  e.kind = Event::Kind::kSubscribeComplete;
  e.token = next_token();
  auto refused = refused_subscriptions_.find(key);
  if (refused != refused_subscriptions_.end()) {
    e.result = refused->second;
  } else {
    subscriptions_[key] = qos;
    e.granted = qos;
  }
  events_.push_back(e);
  return e.token;
}

Result<PacketToken> FakeMqttClient::do_unsubscribe(std::string_view filter) {
  if (!link_up_) return Status(StatusCode::kFailedPrecondition, Origin::kMqtt);
  subscriptions_.erase(std::string(filter));
  Event e{};
  e.kind = Event::Kind::kSubscribeComplete;
  e.token = next_token();
  events_.push_back(e);
  return e.token;
}

Status FakeMqttClient::do_poll(Milliseconds max_wait) {
  ++poll_calls_;
  if (events_.empty()) {
    if (clock_ != nullptr) clock_->advance(max_wait);
    return Status();
  }
  // Deliver what is pending now; events queued by handlers wait for the next poll, as they would
  // with a real network in between.
  std::deque<Event> batch;
  batch.swap(events_);
  for (const Event& event : batch) deliver(event);
  return Status();
}

void FakeMqttClient::deliver(const Event& event) {
  switch (event.kind) {
    case Event::Kind::kConnection:
      connecting_ = false;
      connected_ = event.connection.state == ConnectionState::kConnected;
      if (listener_ != nullptr) listener_->on_connection(event.connection);
      return;
    case Event::Kind::kMessage: {
      if (listener_ == nullptr) return;
      const FakeMessage& m = event.message;
      std::vector<UserProperty> props;
      for (const auto& [k, v] : m.user_properties) props.push_back(UserProperty{k, v});
      InboundMessage in;
      in.topic = m.topic;
      in.payload = as_bytes(m.payload);
      in.qos = m.qos;
      in.retain = m.retain;
      in.properties.content_type = m.content_type;
      in.properties.message_expiry_s = m.message_expiry_s;
      in.properties.response_topic = m.response_topic;
      in.properties.correlation_data = as_bytes(m.correlation_data);
      in.properties.user_properties = Span<const UserProperty>(props.data(), props.size());
      listener_->on_message(in);
      return;
    }
    case Event::Kind::kPublishComplete:
      if (listener_ != nullptr) listener_->on_publish_complete(event.token, event.result);
      return;
    case Event::Kind::kSubscribeComplete:
      if (listener_ != nullptr) listener_->on_subscribe_complete(event.token, event.result, event.granted);
      return;
  }
}

}  // namespace tether::testing
