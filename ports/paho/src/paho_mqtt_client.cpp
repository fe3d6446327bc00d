// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/paho/paho_mqtt_client.hpp"

#include <MQTTAsync.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reason_codes.hpp"
#include "tether/limits.hpp"
#include "tether/log.hpp"
#include "tls_probe.hpp"

namespace tether::port {
namespace {

using paho_detail::Packet;

constexpr std::size_t kMaxInboundUserProperties = kMaxUserProperties;
constexpr const char* kAlpnAwsIot = "x-amzn-mqtt-ca";
// Subscriptions and other requests Paho may buffer besides our publishes.
constexpr int kBufferedSlack = 64;
// Listener context of the destructor's DISCONNECT (connection epochs start at 1).
constexpr std::uint32_t kClosingContext = 0;

// Status for conditions this port detects itself (no Paho return code involved).
Status port_status(StatusCode code) { return Status(code, Origin::kPaho, 0); }

std::uint16_t errno_detail(int err) { return static_cast<std::uint16_t>(err > 0 && err <= 0xFFFF ? err : 0); }

int to_paho_qos(Qos qos) { return qos == Qos::k0 ? 0 : 1; }

const char* version_name(MqttVersion version) { return version == MqttVersion::k5 ? "MQTT 5" : "MQTT 3.1.1"; }

// "no MQTT 5 reason code" in a completion of an MQTT 3.1.1 session (reason_codes.hpp).
constexpr int kNoReasonCode = 255;

// Paho's text for a return code of one of its calls, for log lines.
const char* paho_text(int rc) {
  const char* text = MQTTAsync_strerror(rc);
  return text != nullptr ? text : "unknown Paho error";
}

// A Paho C call refused at once (it then calls none of its callbacks): its Status.
Status refused_status(int rc) {
  const Status status = paho_detail::status_from_paho_rc(rc);
  return status.ok() ? port_status(StatusCode::kUnavailable) : status;
}

// An MQTT 5 property with a string or binary value (Paho copies it in MQTTProperties_add).
int add_property(MQTTProperties& properties, MQTTPropertyCodes code, std::string_view value,
                 std::string_view pair_value = {}) {
  MQTTProperty property{};
  property.identifier = code;
  property.value.data.len = static_cast<int>(value.size());
  property.value.data.data = const_cast<char*>(value.data());  // NOLINT: Paho copies, never writes
  property.value.value.len = static_cast<int>(pair_value.size());
  property.value.value.data = const_cast<char*>(pair_value.data());  // NOLINT: as above
  return MQTTProperties_add(&properties, &property);
}

int add_property(MQTTProperties& properties, MQTTPropertyCodes code, std::uint32_t value) {
  MQTTProperty property{};
  property.identifier = code;
  property.value.integer4 = value;
  return MQTTProperties_add(&properties, &property);
}

// Frees the properties a call has copied (MQTTProperties_add allocated them).
struct PropertiesGuard {
  MQTTProperties& properties;
  ~PropertiesGuard() { MQTTProperties_free(&properties); }
};

}  // namespace

// ------------------------------------------------------------------------------------------------

PahoSettings PahoSettings::from_config(const BrokerSettings& broker) {
  PahoSettings settings;
  settings.host = std::string(broker.endpoint.view());
  settings.port = broker.port;
  settings.ca_file = std::string(broker.ca_file.view());
  settings.cert_file = std::string(broker.cert_file.view());
  settings.key_file = std::string(broker.key.view());
  settings.alpn = broker.alpn;
  return settings;
}

// ------------------------------------------------------------------------------------------------

class PahoMqttClient::Impl {
 public:
  Impl(PahoSettings settings, LogSink* log) : settings_(std::move(settings)), log_(log, settings_.log_level) {}
  ~Impl();

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void set_listener(MqttListener* listener) { listener_ = listener; }
  Status connect(const ConnectOptions& options);
  Status disconnect();
  Result<PacketToken> publish(const OutgoingMessage& message);
  Result<PacketToken> subscribe(std::string_view filter, Qos qos);
  Result<PacketToken> unsubscribe(std::string_view filter);
  Status poll(Milliseconds max_wait);
  void wake();
  bool connected() const { return connected_; }
  std::size_t dropped_messages() const { return dropped_.load(std::memory_order_relaxed); }
  const PahoSettings& settings() const { return settings_; }
  Status set_tls_identity(std::string cert_file, std::string key_file);

 private:
  // ---- events handed from Paho's threads to poll() ----
  // A received message, copied out of Paho's message on Paho's thread: Paho's objects are never
  // shared between threads (their reference counts live in uninstrumented code, which TSan and
  // reviewers cannot follow).
  struct OwnedMessage {
    std::string topic;
    std::string payload;
    Qos qos = Qos::k0;
    bool retain = false;
    bool duplicate = false;
    std::string content_type;
    std::optional<std::uint32_t> message_expiry_s;
    std::string response_topic;
    std::string correlation_data;
    std::vector<std::pair<std::string, std::string>> user_properties;
    std::size_t skipped_user_properties = 0;
  };

  enum class EventKind : std::uint8_t {
    kConnected,         // connect token succeeded (epoch)
    kConnectFailed,     // connect token failed (epoch, rc, reason, text)
    kConnectDiagnosed,  // the TLS probe explained (or not) a "TCP/TLS connect failure" (epoch, status, text)
    kConnectionLost,    // Paho lost an established connection (epoch)
    kServerDisconnect,  // MQTT 5 DISCONNECT from the server (epoch, reason)
    kDisconnectDone,    // our disconnect completed, or an attempt was aborted (epoch)
    kPublishDone,       // token, status
    kSubscribeDone,     // token, status, granted
    kUnsubscribeDone,   // token, status
    kMessage,           // message
  };
  struct Event {
    EventKind kind = EventKind::kMessage;
    std::uint32_t epoch = 0;
    PacketToken token = 0;
    Status status;
    Qos granted = Qos::k0;
    bool session_present = false;
    std::uint32_t receive_maximum = 0;  // kConnected: the broker's Receive Maximum (0 = not sent)
    int return_code = 0;
    int reason_code = 0;
    std::string text;
    OwnedMessage message;  // kMessage only
  };

  enum class ActionKind : std::uint8_t { kConnect, kDisconnect, kPublish, kSubscribe, kUnsubscribe };

  // What a Paho completion callback reported, in the terms of both protocol versions.
  struct Completion {
    bool success = false;
    int return_code = 0;             // MQTTASYNC_* (0 on success; a CONNACK code 1..5 under 3.1.1)
    int reason_code = 0;             // MQTT 5 reason code, kNoReasonCode under 3.1.1
    int ack_code = -1;               // SUBACK/UNSUBACK code of our one filter, when Paho gave it
    bool session_present = false;    // connect
    std::uint32_t receive_maximum = 0;  // connect, MQTT 5: the broker's Receive Maximum (0 = not sent)
    const char* text = nullptr;      // Paho's failure text ("TCP/TLS connect failure", ...)
  };

  // The context of one Paho call with completion callbacks: which Impl, what kind of request and
  // its packet token or connection epoch. Owned by `requests_` (guarded by mutex_) from the call
  // until its callback, or until the client is destroyed (which ends every callback).
  struct Request {
    Impl* impl = nullptr;
    ActionKind kind = ActionKind::kConnect;
    std::uint32_t value = 0;
    std::list<Request>::iterator self;
  };

  // Paho C callbacks (Paho's threads; MQTT 3.1.1 and MQTT 5 have their own signatures).
  static void on_success3(void* context, MQTTAsync_successData* data);
  static void on_failure3(void* context, MQTTAsync_failureData* data);
  static void on_success5(void* context, MQTTAsync_successData5* data);
  static void on_failure5(void* context, MQTTAsync_failureData5* data);
  static int on_message_arrived(void* context, char* topic, int topic_length, MQTTAsync_message* message);
  static void on_connection_lost_cb(void* context, char* cause);
  static void on_disconnected_cb(void* context, MQTTProperties* properties, MQTTReasonCodes reason);

  // Owner-thread view of the session.
  enum class State : std::uint8_t { kIdle, kConnecting, kConnected, kDisconnecting };
  enum class Op : std::uint8_t { kPublishQos0, kPublishQos1, kSubscribe, kUnsubscribe };

  // Paho threads.
  void complete(void* context, const Completion& completion) noexcept;
  void on_action(ActionKind kind, std::uint32_t value, const Completion& completion) noexcept;
  void on_message(const char* topic, int topic_length, const MQTTAsync_message& message) noexcept;
  void on_connection_lost() noexcept;
  void on_server_disconnect(int reason) noexcept;
  void push(Event&& event) noexcept;

  // Owner thread.
  Status check_settings();
  Status check_tls_file(const char* role, const std::string& path);
  Status ensure_client(std::string_view client_id, MqttVersion version);
  Request* new_request(ActionKind kind, std::uint32_t value) noexcept;
  void drop_request(Request* request) noexcept;
  MQTTAsync_responseOptions response_options(Request* request) const;
  MQTTAsync_disconnectOptions disconnect_options(Request* request) const;
  Result<PacketToken> request_filter(ActionKind kind, PacketToken token, std::string_view filter, int qos);
  void destroy_client() noexcept;
  void deliver(Event& event);
  void deliver_message(const OwnedMessage& message);
  bool start_probe(std::uint32_t epoch, Status fallback);
  void stop_probe() noexcept;
  void fail_attempt(Status reason, const std::string& detail);
  void end_session(Status reason);
  void report_drops();
  PacketToken next_token();
  Result<PacketToken> track(Op op, PacketToken token);

  // Fixed at construction except cert_file and key_file (set_tls_identity(), owner thread only).
  // Paho's threads read only inbox_capacity.
  PahoSettings settings_;
  Logger log_;
  MqttListener* listener_ = nullptr;

  // Owner thread only.
  MQTTAsync client_ = nullptr;
  std::string client_id_;                         // of client_
  MqttVersion client_version_ = MqttVersion::k5;  // of client_
  MqttVersion version_ = MqttVersion::k5;         // of the current attempt / connection
  Milliseconds connect_timeout_{10000};           // of the current attempt
  std::string attempt_cert_file_;                 // of the current attempt (for the TLS probe)
  std::string attempt_key_file_;                  // of the current attempt (for the TLS probe)
  State state_ = State::kIdle;
  bool connected_ = false;
  bool in_poll_ = false;
  std::uint32_t epoch_ = 0;  // connection attempts so far; stale events carry an older one
  PacketToken last_token_ = 0;
  std::map<PacketToken, Op> pending_;
  std::size_t inflight_publishes_ = 0;  // QoS 0 and 1 awaiting completion (<= max_inflight)
  std::size_t inflight_qos1_ = 0;       // QoS 1 awaiting PUBACK (<= qos1_window_)
  std::size_t qos1_window_ = 0;         // min(max_inflight, the broker's Receive Maximum)
  std::size_t reported_drops_ = 0;
  std::deque<Event> delivering_;
  std::thread probe_;
  std::atomic<bool> probe_cancel_{false};
  std::vector<UserProperty> user_properties_;  // views for the message being delivered

  // Shared with Paho's threads.
  std::atomic<std::uint32_t> link_epoch_{0};  // epoch of the connection Paho is working on
  std::atomic<bool> link_v5_{true};           // MQTT version of that connection
  std::atomic<std::size_t> dropped_{0};
  std::atomic<bool> broken_{false};  // a callback could not record an event
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Event> inbox_;         // guarded by mutex_
  std::size_t inbox_messages_ = 0;  // guarded by mutex_
  bool woken_ = false;              // guarded by mutex_
  bool closing_ = false;            // guarded by mutex_
  bool closed_ = false;             // guarded by mutex_: the destructor's DISCONNECT completed
  // SUBSCRIBE/UNSUBSCRIBE requests Paho has not completed yet (guarded by mutex_). The destructor
  // lets them finish before its DISCONNECT: Paho 1.3.11/1.3.12 leaks the MQTT 5 properties of an
  // UNSUBACK that arrives while its client is being destroyed.
  std::size_t open_requests_ = 0;
  std::list<Request> requests_;  // guarded by mutex_: calls whose callback has not run yet

  void add_open_request(int delta) noexcept;
};

// ---- Paho threads --------------------------------------------------------------------------------

void PahoMqttClient::Impl::add_open_request(int delta) noexcept {
  try {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (delta > 0) {
        ++open_requests_;
      } else if (open_requests_ > 0) {
        --open_requests_;
      }
    }
    cv_.notify_all();
  } catch (...) {
    // Locking a healthy mutex does not fail; if it did, the destructor waits its bounded time.
  }
}

void PahoMqttClient::Impl::push(Event&& event) noexcept {
  try {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closing_) return;
      if (event.kind == EventKind::kMessage) {
        if (inbox_messages_ >= settings_.inbox_capacity) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        ++inbox_messages_;
      }
      inbox_.push_back(std::move(event));
    }
    cv_.notify_one();
  } catch (...) {
    // Out of memory while queueing. A lost message is counted; a lost acknowledgement or
    // connection event breaks the session, which poll() reports (kInternal + kDisconnected).
    if (event.kind == EventKind::kMessage) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    } else {
      broken_.store(true);
    }
    cv_.notify_one();
  }
}

// Paho C's callbacks: turn what each version reports into one Completion.
void PahoMqttClient::Impl::on_success3(void* context, MQTTAsync_successData* data) {
  Completion completion;
  completion.success = true;
  completion.reason_code = kNoReasonCode;
  if (data != nullptr) {
    const Request* request = static_cast<const Request*>(context);
    if (request->kind == ActionKind::kConnect) completion.session_present = data->alt.connect.sessionPresent != 0;
    if (request->kind == ActionKind::kSubscribe) completion.ack_code = data->alt.qos;  // granted QoS or 0x80
  }
  static_cast<Request*>(context)->impl->complete(context, completion);
}

void PahoMqttClient::Impl::on_failure3(void* context, MQTTAsync_failureData* data) {
  Completion completion;
  completion.reason_code = kNoReasonCode;
  if (data != nullptr) {
    completion.return_code = data->code;
    completion.text = data->message;
  }
  static_cast<Request*>(context)->impl->complete(context, completion);
}

void PahoMqttClient::Impl::on_success5(void* context, MQTTAsync_successData5* data) {
  Completion completion;
  completion.success = true;
  if (data != nullptr) {
    const Request* request = static_cast<const Request*>(context);
    completion.reason_code = static_cast<int>(data->reasonCode);
    switch (request->kind) {
      case ActionKind::kConnect:
        completion.session_present = data->alt.connect.sessionPresent != 0;
        if (MQTTProperties_hasProperty(&data->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM) != 0) {
          const int maximum = MQTTProperties_getNumericValue(&data->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
          if (maximum > 0) completion.receive_maximum = static_cast<std::uint32_t>(maximum);
        }
        break;
      case ActionKind::kSubscribe:
        // One filter: Paho puts its SUBACK reason code in reasonCode (the list is for several).
        completion.ack_code = data->alt.sub.reasonCodeCount > 1 && data->alt.sub.reasonCodes != nullptr
                                  ? static_cast<int>(data->alt.sub.reasonCodes[0])
                                  : static_cast<int>(data->reasonCode);
        break;
      case ActionKind::kUnsubscribe:
        completion.ack_code = data->alt.unsub.reasonCodeCount > 1 && data->alt.unsub.reasonCodes != nullptr
                                  ? static_cast<int>(data->alt.unsub.reasonCodes[0])
                                  : static_cast<int>(data->reasonCode);
        break;
      default:
        break;
    }
  }
  static_cast<Request*>(context)->impl->complete(context, completion);
}

void PahoMqttClient::Impl::on_failure5(void* context, MQTTAsync_failureData5* data) {
  Completion completion;
  if (data != nullptr) {
    completion.return_code = data->code;
    completion.reason_code = static_cast<int>(data->reasonCode);
    completion.text = data->message;
  }
  static_cast<Request*>(context)->impl->complete(context, completion);
}

int PahoMqttClient::Impl::on_message_arrived(void* context, char* topic, int topic_length,
                                             MQTTAsync_message* message) {
  if (message != nullptr) static_cast<Impl*>(context)->on_message(topic, topic_length, *message);
  MQTTAsync_freeMessage(&message);
  MQTTAsync_free(topic);
  return 1;  // taken: Paho must not deliver it again
}

void PahoMqttClient::Impl::on_connection_lost_cb(void* context, char* /*cause: a static text, often null*/) {
  static_cast<Impl*>(context)->on_connection_lost();
}

void PahoMqttClient::Impl::on_disconnected_cb(void* context, MQTTProperties* /*properties*/, MQTTReasonCodes reason) {
  static_cast<Impl*>(context)->on_server_disconnect(static_cast<int>(reason));
}

// Ends the request's life (its callback ran) and hands the completion on.
void PahoMqttClient::Impl::complete(void* context, const Completion& completion) noexcept {
  Request* request = static_cast<Request*>(context);
  ActionKind kind = ActionKind::kConnect;
  std::uint32_t value = 0;
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    kind = request->kind;
    value = request->value;
    requests_.erase(request->self);
  } catch (...) {
    broken_.store(true);
    wake();
    return;
  }
  on_action(kind, value, completion);
}

void PahoMqttClient::Impl::on_action(ActionKind kind, std::uint32_t value, const Completion& completion) noexcept {
  try {
    Event event;
    event.return_code = completion.return_code;
    event.reason_code = completion.reason_code;
    const bool success = completion.success;
    switch (kind) {
      case ActionKind::kConnect:
        event.epoch = value;
        if (success) {
          event.kind = EventKind::kConnected;
          event.session_present = completion.session_present;
          event.receive_maximum = completion.receive_maximum;
        } else {
          event.kind = EventKind::kConnectFailed;
          if (completion.text != nullptr) event.text = completion.text;
        }
        break;
      case ActionKind::kDisconnect:
        if (value == kClosingContext) {  // the destructor's DISCONNECT
          {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
          }
          cv_.notify_all();
          return;
        }
        event.kind = EventKind::kDisconnectDone;
        event.epoch = value;
        break;
      case ActionKind::kPublish:
        event.kind = EventKind::kPublishDone;
        event.token = value;
        event.status = paho_detail::completion_status(Packet::kPuback, success, event.return_code, event.reason_code);
        break;
      case ActionKind::kSubscribe:
      case ActionKind::kUnsubscribe: {
        add_open_request(-1);
        const bool subscribe = kind == ActionKind::kSubscribe;
        event.kind = subscribe ? EventKind::kSubscribeDone : EventKind::kUnsubscribeDone;
        event.token = value;
        // The SUBACK/UNSUBACK code for our single filter (MQTT 5 reason code, or the 3.1.1
        // granted QoS / 0x80).
        const int code = success && completion.ack_code >= 0 ? completion.ack_code : event.reason_code;
        event.status = paho_detail::completion_status(subscribe ? Packet::kSuback : Packet::kUnsuback, success,
                                                      event.return_code, code);
        // MQTT 3.1.1 has one failure code, 0x80, which Paho may deliver as a "successful" SUBACK.
        if (subscribe && success && code == 0x80 && !link_v5_.load())
          event.status = paho_detail::status_from_suback_v3(code);
        if (subscribe && event.status.ok()) event.granted = code >= 1 && code <= 2 ? Qos::k1 : Qos::k0;
        break;
      }
    }
    push(std::move(event));
  } catch (...) {
    broken_.store(true);
    wake();
  }
}

void PahoMqttClient::Impl::on_message(const char* topic, int topic_length, const MQTTAsync_message& message) noexcept {
  try {
    {
      // Do not copy what would be dropped.
      std::lock_guard<std::mutex> lock(mutex_);
      if (closing_) return;
      if (inbox_messages_ >= settings_.inbox_capacity) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    Event event;
    event.kind = EventKind::kMessage;
    OwnedMessage& owned = event.message;
    if (topic != nullptr) {
      // Paho gives the length only when the topic may hold a NUL; otherwise it is a C string.
      owned.topic = topic_length > 0 ? std::string(topic, static_cast<std::size_t>(topic_length)) : std::string(topic);
    }
    if (message.payload != nullptr && message.payloadlen > 0) {
      owned.payload.assign(static_cast<const char*>(message.payload), static_cast<std::size_t>(message.payloadlen));
    }
    owned.qos = message.qos >= 1 ? Qos::k1 : Qos::k0;
    owned.retain = message.retained != 0;
    owned.duplicate = message.dup != 0;
    const MQTTProperties& properties = message.properties;
    const auto text = [](const MQTTLenString& s) {
      return s.data != nullptr && s.len > 0 ? std::string(s.data, static_cast<std::size_t>(s.len)) : std::string();
    };
    for (int i = 0; i < properties.count; ++i) {
      const MQTTProperty& property = properties.array[i];
      switch (property.identifier) {
        case MQTTPROPERTY_CODE_CONTENT_TYPE:
          owned.content_type = text(property.value.data);
          break;
        case MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL:
          owned.message_expiry_s = property.value.integer4;
          break;
        case MQTTPROPERTY_CODE_RESPONSE_TOPIC:
          owned.response_topic = text(property.value.data);
          break;
        case MQTTPROPERTY_CODE_CORRELATION_DATA:
          owned.correlation_data = text(property.value.data);
          break;
        case MQTTPROPERTY_CODE_USER_PROPERTY:
          if (owned.user_properties.size() < kMaxInboundUserProperties) {
            owned.user_properties.emplace_back(text(property.value.data), text(property.value.value));
          } else {
            ++owned.skipped_user_properties;
          }
          break;
        default:
          break;
      }
    }
    push(std::move(event));  // counts a drop itself if the inbox filled up meanwhile
  } catch (...) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void PahoMqttClient::Impl::on_connection_lost() noexcept {
  try {
    Event event;
    event.kind = EventKind::kConnectionLost;
    event.epoch = link_epoch_.load();
    push(std::move(event));
  } catch (...) {
    broken_.store(true);
    wake();
  }
}

void PahoMqttClient::Impl::on_server_disconnect(int reason) noexcept {
  try {
    Event event;
    event.kind = EventKind::kServerDisconnect;
    event.epoch = link_epoch_.load();
    event.reason_code = reason;
    push(std::move(event));
  } catch (...) {
    broken_.store(true);
    wake();
  }
}

// ---- owner thread --------------------------------------------------------------------------------

PahoMqttClient::Impl::~Impl() {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;  // from now on Paho's callbacks record nothing
  } catch (...) {
  }
  stop_probe();
  if (client_ && (state_ == State::kConnected || state_ == State::kDisconnecting)) {
    // Let SUBSCRIBE/UNSUBSCRIBE requests in flight complete (bounded), then send DISCONNECT and
    // wait (bounded) for it on our own condition variable; Paho's token is neither kept nor waited on.
    try {
      if (state_ == State::kConnected) {
        std::unique_lock<std::mutex> lock(mutex_);
        const bool answered =
            cv_.wait_for(lock, settings_.disconnect_timeout, [this] { return open_requests_ == 0; });
        static_cast<void>(answered);  // unanswered after the timeout: disconnect anyway
      }
      Request* request = new_request(ActionKind::kDisconnect, kClosingContext);
      int rc = MQTTASYNC_FAILURE;
      if (request != nullptr) {
        MQTTAsync_disconnectOptions options = disconnect_options(request);
        rc = MQTTAsync_disconnect(client_, &options);
        if (rc != MQTTASYNC_SUCCESS) drop_request(request);
      }
      if (rc == MQTTASYNC_SUCCESS) {
        std::unique_lock<std::mutex> lock(mutex_);
        const bool done = cv_.wait_for(lock, settings_.disconnect_timeout + std::chrono::milliseconds(500),
                                       [this] { return closed_; });
        static_cast<void>(done);  // on a timeout, destroying the client closes the socket anyway
      }
    } catch (...) {
      // Already gone, or the DISCONNECT could not be sent: destroying the client is all that is left.
    }
  }
  destroy_client();
}

void PahoMqttClient::Impl::destroy_client() noexcept {
  // Closes the socket and ends Paho's pending requests (their failure callbacks may run here).
  if (client_ != nullptr) MQTTAsync_destroy(&client_);
  client_ = nullptr;
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    open_requests_ = 0;  // a destroyed client completes nothing more
    requests_.clear();   // nor calls back with any of these contexts
  } catch (...) {
  }
  client_id_.clear();
}

// nullptr when out of memory.
PahoMqttClient::Impl::Request* PahoMqttClient::Impl::new_request(ActionKind kind, std::uint32_t value) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.emplace_back();
    Request& request = requests_.back();
    request.impl = this;
    request.kind = kind;
    request.value = value;
    request.self = std::prev(requests_.end());
    return &request;
  } catch (...) {
    return nullptr;
  }
}

void PahoMqttClient::Impl::drop_request(Request* request) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.erase(request->self);
  } catch (...) {
  }
}

// Paho C wants the callbacks of the session's MQTT version: the *5 ones under MQTT 5 only.
MQTTAsync_responseOptions PahoMqttClient::Impl::response_options(Request* request) const {
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  options.context = request;
  if (link_v5_.load()) {
    options.onSuccess5 = &Impl::on_success5;
    options.onFailure5 = &Impl::on_failure5;
  } else {
    options.onSuccess = &Impl::on_success3;
    options.onFailure = &Impl::on_failure3;
  }
  return options;
}

MQTTAsync_disconnectOptions PahoMqttClient::Impl::disconnect_options(Request* request) const {
  MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;
  options.timeout = static_cast<int>(settings_.disconnect_timeout.count());
  options.context = request;
  if (link_v5_.load()) {
    MQTTAsync_disconnectOptions v5 = MQTTAsync_disconnectOptions_initializer5;
    v5.timeout = options.timeout;
    v5.context = request;
    v5.onSuccess5 = &Impl::on_success5;
    v5.onFailure5 = &Impl::on_failure5;
    return v5;
  }
  options.onSuccess = &Impl::on_success3;
  options.onFailure = &Impl::on_failure3;
  return options;
}

void PahoMqttClient::Impl::wake() {
  try {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      woken_ = true;
    }
    cv_.notify_one();
  } catch (...) {
    // Locking a healthy mutex does not fail; if it did, the next poll() times out instead.
  }
}

Status PahoMqttClient::Impl::check_settings() {
  if (settings_.host.empty() || settings_.host.find_first_of(" /\t") != std::string::npos) {
    const Status status(StatusCode::kInvalidArgument, Origin::kConfig, 0);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "invalid broker host '%s'", settings_.host.c_str());
    return status;
  }
  if (settings_.port == 0 || settings_.inbox_capacity == 0 || settings_.max_inflight == 0 ||
      settings_.max_inflight > 65535) {
    const Status status(StatusCode::kInvalidArgument, Origin::kConfig, 0);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status,
                     "invalid settings (port %u, inbox_capacity %zu, max_inflight %zu: need port > 0, "
                     "inbox_capacity > 0, 0 < max_inflight <= 65535)",
                     static_cast<unsigned>(settings_.port), settings_.inbox_capacity, settings_.max_inflight);
    return status;
  }
  TETHER_RETURN_IF_ERROR(check_tls_file("CA", settings_.ca_file));
  TETHER_RETURN_IF_ERROR(check_tls_file("certificate", settings_.cert_file));
  return check_tls_file("key", settings_.key_file);
}

Status PahoMqttClient::Impl::check_tls_file(const char* role, const std::string& path) {
  int err = 0;
  const char* problem = nullptr;
  if (path.empty()) {
    err = EINVAL;
    problem = "no file configured";
  } else if (path.rfind("pkcs11:", 0) == 0) {
    err = EINVAL;
    problem =
        "a PKCS#11 URI, not a file: Paho takes only files (tether::port::enable_pkcs11_tls_key of "
        "tether::port_pkcs11 writes a key file naming the URI; the example agents call it)";
  } else {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
    } else {
      struct stat info {};
      if (::fstat(fd, &info) != 0) {
        err = errno;
      } else if (S_ISDIR(info.st_mode)) {
        err = EISDIR;
      }
      ::close(fd);
    }
    if (err != 0) problem = std::strerror(err);
  }
  if (err == 0) return ok_status();
  const Status status(StatusCode::kInvalidArgument, Origin::kTls, errno_detail(err));
  // The path is logged, never the file's content.
  // A PKCS#11 URI may carry a PIN (pin-value=...): name the scheme only, never the URI.
  const bool is_uri = path.rfind("pkcs11:", 0) == 0;
  TETHER_LOG_ERROR(log_, Origin::kTls, status, "TLS %s file '%s' unusable: %s", role,
                   is_uri ? "pkcs11:<URI not shown>" : path.c_str(), problem);
  return status;
}

Status PahoMqttClient::Impl::set_tls_identity(std::string cert_file, std::string key_file) {
  TETHER_RETURN_IF_ERROR(check_tls_file("certificate", cert_file));
  TETHER_RETURN_IF_ERROR(check_tls_file("key", key_file));
  settings_.cert_file = std::move(cert_file);
  settings_.key_file = std::move(key_file);
  TETHER_LOG_INFO(log_, Origin::kPaho, "TLS identity from the next connect: certificate '%s', key '%s'",
                  settings_.cert_file.c_str(), settings_.key_file.c_str());
  return ok_status();
}

Status PahoMqttClient::Impl::ensure_client(std::string_view client_id, MqttVersion version) {
  // Reuse Paho's client for a reconnect with the same identity; a different client id or MQTT
  // version needs a new one (Paho fixes both at creation).
  if (client_ != nullptr && client_id_ == client_id && client_version_ == version &&
      MQTTAsync_isConnected(client_) == 0) {
    return ok_status();
  }
  destroy_client();
  // Paho C records every function entry and exit of its own at TRACE_MINIMUM in a 400-entry
  // ring (125 kB, resident once it has wrapped) that nothing here reads. Keep only errors there,
  // set once before Paho's first client so that Paho's own debugging variables
  // (MQTT_C_CLIENT_TRACE, MQTT_C_CLIENT_TRACE_LEVEL), read when that client is made, still win.
  static const bool quiet_trace = [] {
    if (std::getenv("MQTT_C_CLIENT_TRACE") == nullptr && std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") == nullptr) {
      MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    }
    return true;
  }();
  static_cast<void>(quiet_trace);
  MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
  create.MQTTVersion = version == MqttVersion::k5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
  create.maxBufferedMessages = static_cast<int>(settings_.max_inflight) + kBufferedSlack;
  create.sendWhileDisconnected = 0;  // the core's offline queue buffers, not Paho
  create.deleteOldestMessages = 0;
  const std::string uri = paho_detail::server_uri(settings_.host, settings_.port);
  const std::string id(client_id);
  MQTTAsync client = nullptr;
  // No Paho persistence: nothing is written to the working directory.
  int rc = MQTTAsync_createWithOptions(&client, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr, &create);
  if (rc == MQTTASYNC_SUCCESS) rc = MQTTAsync_setCallbacks(client, this, &Impl::on_connection_lost_cb,
                                                          &Impl::on_message_arrived, nullptr);
  if (rc == MQTTASYNC_SUCCESS) rc = MQTTAsync_setDisconnected(client, this, &Impl::on_disconnected_cb);
  if (rc != MQTTASYNC_SUCCESS) {
    if (client != nullptr) MQTTAsync_destroy(&client);
    const Status status = refused_status(rc);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "cannot create client: %s (Paho rc %d)", paho_text(rc), rc);
    return status;
  }
  client_ = client;
  client_id_ = id;
  client_version_ = version;
  return ok_status();
}

Status PahoMqttClient::Impl::connect(const ConnectOptions& options) {
  if (state_ != State::kIdle) {
    return port_status(StatusCode::kFailedPrecondition);
  }
  if (options.client_id.empty() || options.client_id.size() > kMaxClientId ||
      options.client_id.find('\0') != std::string_view::npos) {
    const Status status(StatusCode::kInvalidArgument, Origin::kPaho, 0);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "client id must be 1..%zu bytes (got %zu)", kMaxClientId,
                     options.client_id.size());
    return status;
  }
  if (options.will && !paho_detail::valid_topic_name(options.will->topic)) {
    const Status status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "invalid will topic");
    return status;
  }
  TETHER_RETURN_IF_ERROR(check_settings());
  TETHER_RETURN_IF_ERROR(ensure_client(options.client_id, options.version));

  const bool v5 = options.version == MqttVersion::k5;
  // ALPN protocol list in its wire format: one length-prefixed name.
  static const unsigned char kAlpn[] = {14, 'x', '-', 'a', 'm', 'z', 'n', '-', 'm', 'q', 't', 't', '-', 'c', 'a'};
  static_assert(sizeof kAlpn == 1 + 14, "ALPN name length");
  MQTTAsync_SSLOptions tls = MQTTAsync_SSLOptions_initializer;
  tls.trustStore = settings_.ca_file.c_str();  // only this CA: Paho then skips the system store
  tls.keyStore = settings_.cert_file.c_str();
  tls.privateKey = settings_.key_file.c_str();
  tls.enableServerCertAuth = 1;
  tls.verify = 1;                                  // host name (or IP) must match the certificate
  tls.sslVersion = MQTT_SSL_VERSION_TLS_1_2;       // see README: OpenSSL 3 enforces >= 1.2 anyway
  if (settings_.alpn) {
    tls.protos = kAlpn;
    tls.protos_len = sizeof kAlpn;
  }

  MQTTAsync_connectOptions connect_options = MQTTAsync_connectOptions_initializer;
  if (v5) connect_options = MQTTAsync_connectOptions_initializer5;
  // Exactly this version: Paho's default would retry a refused 3.1.1 connect as MQTT 3.1.
  connect_options.MQTTVersion = v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
  MQTTProperties properties = MQTTProperties_initializer;
  const PropertiesGuard free_properties{properties};
  if (v5) {
    connect_options.cleansession = 0;  // Paho C rejects cleansession with MQTT 5
    connect_options.cleanstart = options.clean_start ? 1 : 0;
    if (options.session_expiry_s > 0) {
      add_property(properties, MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL, options.session_expiry_s);
      connect_options.connectProperties = &properties;  // Paho copies them
    }
  } else {
    connect_options.cleanstart = 0;
    connect_options.cleansession = options.clean_start ? 1 : 0;
  }
  connect_options.keepAliveInterval = static_cast<int>(options.keep_alive_s);
  const auto timeout_ms = options.connect_timeout.count() > 0 ? options.connect_timeout.count() : 1;
  connect_options.connectTimeout = static_cast<int>((timeout_ms + 999) / 1000);  // Paho: seconds
  connect_options.automaticReconnect = 0;  // the agent reconnects, with its backoff
  connect_options.maxInflight = static_cast<int>(settings_.max_inflight);
  const std::string username(options.username);
  if (!username.empty()) connect_options.username = username.c_str();
  MQTTAsync_willOptions will_options = MQTTAsync_willOptions_initializer;
  std::string will_topic;
  if (options.will) {
    const WillMessage& will = *options.will;
    will_topic = std::string(will.topic);
    static const char kEmpty = '\0';
    will_options.topicName = will_topic.c_str();
    will_options.message = nullptr;  // binary payload below
    will_options.payload.data = will.payload.empty() ? static_cast<const void*>(&kEmpty) : will.payload.data();
    will_options.payload.len = static_cast<int>(will.payload.size());
    will_options.qos = to_paho_qos(will.qos);
    will_options.retained = will.retain ? 1 : 0;
    connect_options.will = &will_options;
  }
  connect_options.ssl = &tls;

  std::uint32_t epoch = epoch_ + 1;
  if (epoch == 0) ++epoch;
  link_v5_.store(v5);
  Request* request = new_request(ActionKind::kConnect, epoch);
  if (request == nullptr) {
    const Status status = port_status(StatusCode::kResourceExhausted);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "connect not started: out of memory");
    return status;
  }
  connect_options.context = request;
  if (v5) {
    connect_options.onSuccess5 = &Impl::on_success5;
    connect_options.onFailure5 = &Impl::on_failure5;
  } else {
    connect_options.onSuccess = &Impl::on_success3;
    connect_options.onFailure = &Impl::on_failure3;
  }
  epoch_ = epoch;
  link_epoch_.store(epoch_);
  version_ = options.version;
  connect_timeout_ = options.connect_timeout;
  attempt_cert_file_ = settings_.cert_file;
  attempt_key_file_ = settings_.key_file;
  const int rc = MQTTAsync_connect(client_, &connect_options);
  if (rc != MQTTASYNC_SUCCESS) {
    drop_request(request);
    const Status status = refused_status(rc);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "connect to %s:%u not started: %s (Paho rc %d)",
                     settings_.host.c_str(), static_cast<unsigned>(settings_.port), paho_text(rc), rc);
    return status;
  }
  state_ = State::kConnecting;
  TETHER_LOG_INFO(log_, Origin::kPaho, "connecting to %s:%u as '%.*s' (%s, %s)", settings_.host.c_str(),
                  static_cast<unsigned>(settings_.port), static_cast<int>(options.client_id.size()),
                  options.client_id.data(), version_name(options.version),
                  options.clean_start ? "clean start" : "resume session");
  return ok_status();
}

Status PahoMqttClient::Impl::disconnect() {
  switch (state_) {
    case State::kIdle:
    case State::kDisconnecting:
      return ok_status();
    case State::kConnecting: {
      // Abort the attempt: destroying Paho's client closes the socket mid-handshake. Its
      // completion (now stale) is ignored; the listener gets the promised kDisconnected.
      stop_probe();
      destroy_client();
      state_ = State::kDisconnecting;
      Event event;
      event.kind = EventKind::kDisconnectDone;
      event.epoch = epoch_;
      push(std::move(event));
      return ok_status();
    }
    case State::kConnected:
      break;
  }
  state_ = State::kDisconnecting;
  int rc = MQTTASYNC_FAILURE;
  Request* request = new_request(ActionKind::kDisconnect, epoch_);
  if (request != nullptr) {
    MQTTAsync_disconnectOptions options = disconnect_options(request);
    rc = MQTTAsync_disconnect(client_, &options);
  }
  if (rc != MQTTASYNC_SUCCESS) {
    // Paho says it is not connected (the loss is on its way to the inbox) or cannot send the
    // DISCONNECT: the session is over either way.
    if (request != nullptr) drop_request(request);
    TETHER_LOG_DEBUG(log_, Origin::kPaho, "disconnect: %s (Paho rc %d)", paho_text(rc), rc);
    Event event;
    event.kind = EventKind::kDisconnectDone;
    event.epoch = epoch_;
    push(std::move(event));
  }
  return ok_status();
}

PacketToken PahoMqttClient::Impl::next_token() {
  do {
    ++last_token_;
  } while (last_token_ == 0 || pending_.count(last_token_) != 0);
  return last_token_;
}

Result<PacketToken> PahoMqttClient::Impl::track(Op op, PacketToken token) {
  pending_.emplace(token, op);
  if (op == Op::kPublishQos0 || op == Op::kPublishQos1) ++inflight_publishes_;
  if (op == Op::kPublishQos1) ++inflight_qos1_;
  return token;
}

Result<PacketToken> PahoMqttClient::Impl::publish(const OutgoingMessage& message) {
  if (state_ != State::kConnected) return port_status(StatusCode::kFailedPrecondition);
  if (!paho_detail::valid_topic_name(message.topic)) return Status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
  const PublishProperties& properties = message.properties;
  if (version_ != MqttVersion::k5 && !properties.empty()) {
    const Status status = port_status(StatusCode::kInvalidArgument);
    TETHER_LOG_WARN(log_, Origin::kPaho, status, "MQTT 5 properties on a publish under MQTT 3.1.1 (refused)");
    return status;
  }
  if (inflight_publishes_ >= settings_.max_inflight) return port_status(StatusCode::kResourceExhausted);
  // QoS 1 beyond the broker's Receive Maximum would wait inside Paho, which sends such a backlog
  // only on its once-a-second housekeeping tick (Paho C 1.3.12): refuse instead, the caller
  // retries after the next completion and the publish goes out at once.
  if (message.qos == Qos::k1 && inflight_qos1_ >= qos1_window_) return port_status(StatusCode::kResourceExhausted);

  const PacketToken token = next_token();
  static const char kEmpty = '\0';
  MQTTAsync_message paho_message = MQTTAsync_message_initializer;
  paho_message.payload = const_cast<void*>(  // NOLINT(cppcoreguidelines-pro-type-const-cast): Paho copies it
      message.payload.empty() ? static_cast<const void*>(&kEmpty) : static_cast<const void*>(message.payload.data()));
  paho_message.payloadlen = static_cast<int>(message.payload.size());
  paho_message.qos = to_paho_qos(message.qos);
  paho_message.retained = message.retain ? 1 : 0;
  const PropertiesGuard free_properties{paho_message.properties};
  if (!properties.empty()) {
    MQTTProperties& out = paho_message.properties;
    int rc = 0;
    if (!properties.content_type.empty())
      rc |= add_property(out, MQTTPROPERTY_CODE_CONTENT_TYPE, properties.content_type);
    if (properties.message_expiry_s)
      rc |= add_property(out, MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL, *properties.message_expiry_s);
    if (!properties.response_topic.empty())
      rc |= add_property(out, MQTTPROPERTY_CODE_RESPONSE_TOPIC, properties.response_topic);
    if (!properties.correlation_data.empty())
      rc |= add_property(out, MQTTPROPERTY_CODE_CORRELATION_DATA, as_text(properties.correlation_data));
    for (const UserProperty& user : properties.user_properties)
      rc |= add_property(out, MQTTPROPERTY_CODE_USER_PROPERTY, user.key, user.value);
    if (rc != 0) {
      TETHER_LOG_DEBUG(log_, Origin::kPaho, "publish refused: Paho could not take its MQTT 5 properties");
      return port_status(StatusCode::kResourceExhausted);
    }
  }
  const std::string topic(message.topic);
  Request* request = new_request(ActionKind::kPublish, token);
  if (request == nullptr) return port_status(StatusCode::kResourceExhausted);
  MQTTAsync_responseOptions response = response_options(request);
  const int rc = MQTTAsync_sendMessage(client_, topic.c_str(), &paho_message, &response);
  if (rc != MQTTASYNC_SUCCESS) {
    drop_request(request);
    TETHER_LOG_DEBUG(log_, Origin::kPaho, "publish refused: %s (Paho rc %d)", paho_text(rc), rc);
    return refused_status(rc);
  }
  return track(message.qos == Qos::k1 ? Op::kPublishQos1 : Op::kPublishQos0, token);
}

Result<PacketToken> PahoMqttClient::Impl::subscribe(std::string_view filter, Qos qos) {
  if (state_ != State::kConnected) return port_status(StatusCode::kFailedPrecondition);
  if (!paho_detail::valid_topic_filter(filter)) return Status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
  const PacketToken token = next_token();
  return request_filter(ActionKind::kSubscribe, token, filter, to_paho_qos(qos));
}

// SUBSCRIBE (qos >= 0) or UNSUBSCRIBE of one filter.
Result<PacketToken> PahoMqttClient::Impl::request_filter(ActionKind kind, PacketToken token, std::string_view filter,
                                                         int qos) {
  const std::string text(filter);
  Request* request = new_request(kind, token);
  if (request == nullptr) return port_status(StatusCode::kResourceExhausted);
  add_open_request(+1);  // before the call: Paho may complete it on its thread at once
  MQTTAsync_responseOptions response = response_options(request);
  const int rc = kind == ActionKind::kSubscribe ? MQTTAsync_subscribe(client_, text.c_str(), qos, &response)
                                                : MQTTAsync_unsubscribe(client_, text.c_str(), &response);
  if (rc != MQTTASYNC_SUCCESS) {
    drop_request(request);
    add_open_request(-1);
    return refused_status(rc);
  }
  return track(kind == ActionKind::kSubscribe ? Op::kSubscribe : Op::kUnsubscribe, token);
}

Result<PacketToken> PahoMqttClient::Impl::unsubscribe(std::string_view filter) {
  if (state_ != State::kConnected) return port_status(StatusCode::kFailedPrecondition);
  if (!paho_detail::valid_topic_filter(filter)) return Status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
  const PacketToken token = next_token();
  return request_filter(ActionKind::kUnsubscribe, token, filter, -1);
}

Status PahoMqttClient::Impl::poll(Milliseconds max_wait) {
  if (in_poll_) return port_status(StatusCode::kFailedPrecondition);  // poll() from a listener callback
  in_poll_ = true;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto ready = [this] { return !inbox_.empty() || woken_ || broken_.load(); };
    if (max_wait.count() > 0 && !ready()) cv_.wait_for(lock, max_wait, ready);
    woken_ = false;
    delivering_.swap(inbox_);
    inbox_messages_ = 0;
  }
  report_drops();
  Status result;
  try {
    for (Event& event : delivering_) {
      deliver(event);
    }
  } catch (const std::exception& e) {
    // Only allocation can throw here (the listener is exception-free core code).
    broken_.store(true);
    TETHER_LOG_ERROR(log_, Origin::kPaho, Status(StatusCode::kInternal, Origin::kPaho, 0),
                     "delivering events failed: %s", e.what());
  }
  delivering_.clear();
  if (broken_.exchange(false)) {
    result = Status(StatusCode::kInternal, Origin::kPaho, 0);
    TETHER_LOG_ERROR(log_, Origin::kPaho, result, "events were lost (out of memory); ending the session");
    if (state_ != State::kIdle) {
      destroy_client();
      end_session(result);
    }
  }
  in_poll_ = false;
  return result;
}

void PahoMqttClient::Impl::report_drops() {
  const std::size_t dropped = dropped_.load(std::memory_order_relaxed);
  if (dropped == reported_drops_) return;
  const Status status(StatusCode::kResourceExhausted, Origin::kPaho, 0);
  TETHER_LOG_WARN(log_, Origin::kPaho, status,
                  "inbox full (capacity %zu): dropped %zu inbound message(s), %zu in total",
                  settings_.inbox_capacity, dropped - reported_drops_, dropped);
  reported_drops_ = dropped;
}

void PahoMqttClient::Impl::end_session(Status reason) {
  state_ = State::kIdle;
  connected_ = false;
  // Requests still waiting for their acknowledgement will not get it on this connection.
  std::map<PacketToken, Op> failed;
  failed.swap(pending_);
  inflight_publishes_ = 0;
  inflight_qos1_ = 0;
  const Status lost(StatusCode::kUnavailable, Origin::kPaho, 3);  // MQTTASYNC_DISCONNECTED
  for (const auto& [token, op] : failed) {
    if (listener_ == nullptr) continue;
    if (op == Op::kPublishQos0 || op == Op::kPublishQos1) {
      listener_->on_publish_complete(token, lost);
    } else {
      listener_->on_subscribe_complete(token, lost, Qos::k0);
    }
  }
  if (listener_ != nullptr) {
    ConnectionEvent event;
    event.state = ConnectionState::kDisconnected;
    event.reason = reason;
    listener_->on_connection(event);
  }
}

void PahoMqttClient::Impl::deliver(Event& event) {
  char status_text[64];
  switch (event.kind) {
    case EventKind::kConnected: {
      if (event.epoch != epoch_ || state_ != State::kConnecting) return;  // stale
      state_ = State::kConnected;
      connected_ = true;
      qos1_window_ = settings_.max_inflight;
      if (event.receive_maximum > 0 && event.receive_maximum < qos1_window_) qos1_window_ = event.receive_maximum;
      TETHER_LOG_INFO(log_, Origin::kPaho,
                      "connected to %s:%u (%s, session present: %s, %zu QoS 1 publishes in flight at most)",
                      settings_.host.c_str(), static_cast<unsigned>(settings_.port), version_name(version_),
                      event.session_present ? "yes" : "no", qos1_window_);
      if (listener_ != nullptr) {
        ConnectionEvent connection;
        connection.state = ConnectionState::kConnected;
        connection.session_present = event.session_present;
        listener_->on_connection(connection);
      }
      return;
    }
    case EventKind::kConnectFailed: {
      if (event.epoch != epoch_ || state_ != State::kConnecting) return;
      paho_detail::ConnectFailure failure;
      failure.return_code = event.return_code;
      failure.reason_code = event.reason_code;
      failure.mqtt5 = version_ == MqttVersion::k5;
      failure.message = event.text;
      const Status reason = paho_detail::classify_connect_failure(failure);
      TETHER_LOG_DEBUG(log_, Origin::kPaho, "connect attempt failed: %s [paho rc %d, reason %d]",
                       event.text.empty() ? "no detail" : event.text.c_str(), event.return_code, event.reason_code);
      // "TCP/TLS connect failure" hides the cause: find it before telling the listener.
      const bool ambiguous = reason == Status(StatusCode::kUnavailable, Origin::kSocket, 0);
      if (ambiguous && settings_.diagnose_tls_failures && start_probe(event.epoch, reason)) return;
      fail_attempt(reason, event.text.empty() ? std::string("no detail from Paho") : event.text);
      return;
    }
    case EventKind::kConnectDiagnosed: {
      if (event.epoch != epoch_ || state_ != State::kConnecting) return;
      fail_attempt(event.status, event.text);
      return;
    }
    case EventKind::kServerDisconnect: {
      if (event.epoch != epoch_ || state_ != State::kConnected) return;
      const std::uint8_t code = static_cast<std::uint8_t>(event.reason_code & 0xFF);
      Status reason = paho_detail::status_from_reason_code(paho_detail::Packet::kDisconnect, code);
      if (reason.ok()) reason = Status(StatusCode::kUnavailable, Origin::kMqtt, code);  // "normal" from the server
      TETHER_LOG_WARN(log_, Origin::kPaho, reason, "the broker disconnected us (reason 0x%02x, %s)",
                      static_cast<unsigned>(code), format_status(reason, status_text, sizeof status_text));
      end_session(reason);
      return;
    }
    case EventKind::kConnectionLost: {
      if (event.epoch != epoch_) return;
      if (state_ == State::kConnected) {
        const Status reason(StatusCode::kUnavailable, Origin::kSocket, 0);
        TETHER_LOG_WARN(log_, Origin::kPaho, reason, "connection to %s:%u lost", settings_.host.c_str(),
                        static_cast<unsigned>(settings_.port));
        end_session(reason);
      } else if (state_ == State::kDisconnecting) {
        end_session(ok_status());
      }
      return;
    }
    case EventKind::kDisconnectDone: {
      if (event.epoch != epoch_ || state_ != State::kDisconnecting) return;
      TETHER_LOG_INFO(log_, Origin::kPaho, "disconnected from %s:%u", settings_.host.c_str(),
                      static_cast<unsigned>(settings_.port));
      end_session(ok_status());
      return;
    }
    case EventKind::kPublishDone:
    case EventKind::kSubscribeDone:
    case EventKind::kUnsubscribeDone: {
      const auto found = pending_.find(event.token);
      if (found == pending_.end()) return;  // failed already when its connection ended
      const Op op = found->second;
      pending_.erase(found);
      const bool is_publish = op == Op::kPublishQos0 || op == Op::kPublishQos1;
      if (is_publish && inflight_publishes_ > 0) --inflight_publishes_;
      if (op == Op::kPublishQos1 && inflight_qos1_ > 0) --inflight_qos1_;
      if (!event.status.ok()) {
        TETHER_LOG_DEBUG(log_, Origin::kPaho, "request %u refused: %s", static_cast<unsigned>(event.token),
                         format_status(event.status, status_text, sizeof status_text));
      }
      if (listener_ == nullptr) return;
      if (is_publish) {
        listener_->on_publish_complete(event.token, event.status);
      } else {
        listener_->on_subscribe_complete(event.token, event.status, event.granted);
      }
      return;
    }
    case EventKind::kMessage:
      deliver_message(event.message);
      return;
  }
}

void PahoMqttClient::Impl::fail_attempt(Status reason, const std::string& detail) {
  char status_text[64];
  state_ = State::kIdle;
  TETHER_LOG_WARN(log_, Origin::kPaho, reason, "connect to %s:%u failed (%s): %s", settings_.host.c_str(),
                  static_cast<unsigned>(settings_.port), format_status(reason, status_text, sizeof status_text),
                  detail.c_str());
  if (listener_ != nullptr) {
    ConnectionEvent connection;
    connection.state = ConnectionState::kConnectFailed;
    connection.reason = reason;
    listener_->on_connection(connection);
  }
}

bool PahoMqttClient::Impl::start_probe(std::uint32_t epoch, Status fallback) {
  stop_probe();  // a finished probe joins at once; an abandoned one is cancelled within 50 ms
  paho_detail::TlsProbeSettings probe;
  probe.host = settings_.host;
  probe.port = settings_.port;
  probe.ca_file = settings_.ca_file;
  probe.cert_file = attempt_cert_file_;
  probe.key_file = attempt_key_file_;
  probe.alpn = settings_.alpn;
  probe.budget = std::min(std::max(connect_timeout_, Milliseconds(1000)), Milliseconds(5000));
  try {
    probe_ = std::thread([this, probe, epoch, fallback] {
      Event event;
      event.kind = EventKind::kConnectDiagnosed;
      event.epoch = epoch;
      event.status = fallback;
      try {
        const paho_detail::TlsProbeResult result = paho_detail::probe_tls(probe, probe_cancel_);
        if (result.explained) event.status = result.status;
        event.text = "TCP/TLS connect failure; " + result.explanation;
      } catch (...) {
        event.text = "TCP/TLS connect failure (diagnosis failed)";
      }
      push(std::move(event));  // the attempt must end even when the diagnosis did not work
    });
  } catch (const std::exception&) {
    return false;  // no thread: report the failure undiagnosed
  }
  TETHER_LOG_DEBUG(log_, Origin::kPaho, "diagnosing the failed connection to %s:%u", settings_.host.c_str(),
                   static_cast<unsigned>(settings_.port));
  return true;
}

void PahoMqttClient::Impl::stop_probe() noexcept {
  if (!probe_.joinable()) return;
  probe_cancel_.store(true);
  try {
    probe_.join();
  } catch (...) {
  }
  probe_cancel_.store(false);
}

void PahoMqttClient::Impl::deliver_message(const OwnedMessage& message) {
  if (message.skipped_user_properties > 0) {
    const Status status(StatusCode::kOutOfRange, Origin::kPaho, 0);
    TETHER_LOG_WARN(log_, Origin::kPaho, status, "message on '%s': %zu user properties beyond %zu not delivered",
                    message.topic.c_str(), message.skipped_user_properties, kMaxInboundUserProperties);
  }
  if (listener_ == nullptr) return;
  InboundMessage inbound;
  inbound.topic = message.topic;
  inbound.payload = as_bytes(message.payload);
  inbound.qos = message.qos;
  inbound.retain = message.retain;
  inbound.duplicate = message.duplicate;
  inbound.properties.content_type = message.content_type;
  inbound.properties.message_expiry_s = message.message_expiry_s;
  inbound.properties.response_topic = message.response_topic;
  inbound.properties.correlation_data = as_bytes(message.correlation_data);
  user_properties_.clear();
  for (const auto& [key, value] : message.user_properties) user_properties_.push_back(UserProperty{key, value});
  inbound.properties.user_properties = Span<const UserProperty>(user_properties_.data(), user_properties_.size());
  listener_->on_message(inbound);
}

// ---- PahoMqttClient ------------------------------------------------------------------------------

PahoMqttClient::PahoMqttClient(PahoSettings settings, LogSink* log)
    : impl_(std::make_unique<Impl>(std::move(settings), log)) {}

PahoMqttClient::~PahoMqttClient() = default;

std::size_t PahoMqttClient::dropped_messages() const { return impl_->dropped_messages(); }
const PahoSettings& PahoMqttClient::settings() const { return impl_->settings(); }
Status PahoMqttClient::set_tls_identity(std::string cert_file, std::string key_file) {
  return impl_->set_tls_identity(std::move(cert_file), std::move(key_file));
}
void PahoMqttClient::do_set_listener(MqttListener* listener) { impl_->set_listener(listener); }
Status PahoMqttClient::do_connect(const ConnectOptions& options) { return impl_->connect(options); }
Status PahoMqttClient::do_disconnect() { return impl_->disconnect(); }
Result<PacketToken> PahoMqttClient::do_publish(const OutgoingMessage& message) { return impl_->publish(message); }
Result<PacketToken> PahoMqttClient::do_subscribe(std::string_view filter, Qos qos) {
  return impl_->subscribe(filter, qos);
}
Result<PacketToken> PahoMqttClient::do_unsubscribe(std::string_view filter) { return impl_->unsubscribe(filter); }
Status PahoMqttClient::do_poll(Milliseconds max_wait) { return impl_->poll(max_wait); }
void PahoMqttClient::do_wake() { impl_->wake(); }
bool PahoMqttClient::do_connected() const { return impl_->connected(); }

}  // namespace tether::port
