// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/paho/paho_mqtt_client.hpp"

#include <fcntl.h>
#include <mqtt/async_client.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
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

// Paho action listeners carry a 32-bit value (a packet token or a connection epoch) as their
// user context, so no per-request allocation has to outlive the request.
void* to_context(std::uint32_t value) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(value)); }
std::uint32_t from_context(void* context) {
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(context));
}

int to_paho_qos(Qos qos) { return qos == Qos::k0 ? 0 : 1; }

const char* version_name(MqttVersion version) { return version == MqttVersion::k5 ? "MQTT 5" : "MQTT 3.1.1"; }

// The error text Paho attached to a failed token ("TCP/TLS connect failure", ...). Paho C++ 1.2
// exposes it only through the exception that checking a completed token throws.
std::string failure_text(const mqtt::token& token) {
  try {
    // try_wait() never blocks; on a failed, completed token it throws the failure.
    const_cast<mqtt::token&>(token).try_wait();  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  } catch (const mqtt::exception& e) {
    return e.get_message();
  } catch (...) {
  }
  return std::string();
}

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

  class ActionListener final : public mqtt::iaction_listener {
   public:
    ActionListener(Impl& impl, ActionKind kind) : impl_(impl), kind_(kind) {}
    void on_success(const mqtt::token& token) override { impl_.on_action(kind_, token, true); }
    void on_failure(const mqtt::token& token) override { impl_.on_action(kind_, token, false); }

   private:
    Impl& impl_;
    ActionKind kind_;
  };

  // Owner-thread view of the session.
  enum class State : std::uint8_t { kIdle, kConnecting, kConnected, kDisconnecting };
  enum class Op : std::uint8_t { kPublishQos0, kPublishQos1, kSubscribe, kUnsubscribe };

  // Paho threads.
  void on_action(ActionKind kind, const mqtt::token& token, bool success) noexcept;
  void on_message(const mqtt::message& message) noexcept;
  void on_connection_lost() noexcept;
  void on_server_disconnect(int reason) noexcept;
  void push(Event&& event) noexcept;

  // Owner thread.
  Status check_settings();
  Status check_tls_file(const char* role, const std::string& path);
  Status ensure_client(std::string_view client_id, MqttVersion version);
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

  ActionListener connect_listener_{*this, ActionKind::kConnect};
  ActionListener disconnect_listener_{*this, ActionKind::kDisconnect};
  ActionListener publish_listener_{*this, ActionKind::kPublish};
  ActionListener subscribe_listener_{*this, ActionKind::kSubscribe};
  ActionListener unsubscribe_listener_{*this, ActionKind::kUnsubscribe};

  // Owner thread only.
  std::unique_ptr<mqtt::async_client> client_;
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

void PahoMqttClient::Impl::on_action(ActionKind kind, const mqtt::token& token, bool success) noexcept {
  try {
    Event event;
    const std::uint32_t context = from_context(token.get_user_context());
    event.return_code = token.get_return_code();
    event.reason_code = static_cast<int>(token.get_reason_code());
    switch (kind) {
      case ActionKind::kConnect:
        event.epoch = context;
        if (success) {
          event.kind = EventKind::kConnected;
          try {
            const mqtt::connect_response response = token.get_connect_response();
            event.session_present = response.is_session_present();
            const mqtt::properties& properties = response.get_properties();
            if (properties.count(mqtt::property::RECEIVE_MAXIMUM) > 0) {
              event.receive_maximum = mqtt::get<std::uint16_t>(properties, mqtt::property::RECEIVE_MAXIMUM);
            }
          } catch (...) {
          }
        } else {
          event.kind = EventKind::kConnectFailed;
          event.text = failure_text(token);
        }
        break;
      case ActionKind::kDisconnect:
        if (context == kClosingContext) {  // the destructor's DISCONNECT
          {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
          }
          cv_.notify_all();
          return;
        }
        event.kind = EventKind::kDisconnectDone;
        event.epoch = context;
        break;
      case ActionKind::kPublish:
        event.kind = EventKind::kPublishDone;
        event.token = context;
        event.status = paho_detail::completion_status(Packet::kPuback, success, event.return_code, event.reason_code);
        break;
      case ActionKind::kSubscribe:
      case ActionKind::kUnsubscribe: {
        add_open_request(-1);
        const bool subscribe = kind == ActionKind::kSubscribe;
        event.kind = subscribe ? EventKind::kSubscribeDone : EventKind::kUnsubscribeDone;
        event.token = context;
        int code = event.reason_code;
        if (success) {
          // The SUBACK/UNSUBACK code for our single filter (MQTT 5 reason code, or the 3.1.1
          // granted QoS / 0x80).
          try {
            const auto codes = subscribe ? token.get_subscribe_response().get_reason_codes()
                                         : token.get_unsubscribe_response().get_reason_codes();
            if (!codes.empty()) code = static_cast<int>(codes.front());
          } catch (...) {
          }
        }
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

void PahoMqttClient::Impl::on_message(const mqtt::message& message) noexcept {
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
    owned.topic = message.get_topic();
    owned.payload = message.get_payload();
    owned.qos = message.get_qos() >= 1 ? Qos::k1 : Qos::k0;
    owned.retain = message.is_retained();
    owned.duplicate = message.is_duplicate();
    const MQTTProperties& properties = message.get_properties().c_struct();
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
      client_->disconnect(static_cast<int>(settings_.disconnect_timeout.count()), to_context(kClosingContext),
                          disconnect_listener_);
      std::unique_lock<std::mutex> lock(mutex_);
      const bool done =
          cv_.wait_for(lock, settings_.disconnect_timeout + std::chrono::milliseconds(500), [this] { return closed_; });
      static_cast<void>(done);  // on a timeout, destroying the client closes the socket anyway
    } catch (...) {
      // Already gone, or the DISCONNECT could not be sent: destroying the client is all that is left.
    }
  }
  destroy_client();
}

void PahoMqttClient::Impl::destroy_client() noexcept {
  try {
    client_.reset();  // MQTTAsync_destroy: closes the socket, frees Paho's pending requests
  } catch (...) {
  }
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    open_requests_ = 0;  // a destroyed client completes nothing more
  } catch (...) {
  }
  client_id_.clear();
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
  if (client_ && client_id_ == client_id && client_version_ == version) {
    bool still_linked = false;
    try {
      still_linked = client_->is_connected();
    } catch (...) {
    }
    if (!still_linked) return ok_status();
  }
  destroy_client();
  try {
    mqtt::create_options create;
    create.set_mqtt_verison(version == MqttVersion::k5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    create.set_max_buffered_messages(static_cast<int>(settings_.max_inflight) + kBufferedSlack);
    create.set_send_while_disconnected(false);  // the core's offline queue buffers, not Paho
    create.set_delete_oldest_messages(false);
    auto client = std::make_unique<mqtt::async_client>(paho_detail::server_uri(settings_.host, settings_.port),
                                                       std::string(client_id), create);
    client->set_message_callback([this](mqtt::const_message_ptr message) {
      if (message) on_message(*message);
    });
    client->set_connection_lost_handler([this](const std::string&) { on_connection_lost(); });
    client->set_disconnected_handler(
        [this](const mqtt::properties&, mqtt::ReasonCode reason) { on_server_disconnect(static_cast<int>(reason)); });
    client_ = std::move(client);
    client_id_ = std::string(client_id);
    client_version_ = version;
    return ok_status();
  } catch (const mqtt::exception& e) {
    const Status status = paho_detail::status_from_paho_rc(e.get_return_code());
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "cannot create client: %s", e.what());
    return status.ok() ? port_status(StatusCode::kUnavailable) : status;
  } catch (const std::exception& e) {
    const Status status = port_status(StatusCode::kUnavailable);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "cannot create client: %s", e.what());
    return status;
  }
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
  try {
    mqtt::ssl_options tls;
    tls.set_trust_store(settings_.ca_file);  // only this CA: Paho then skips the system store
    tls.set_key_store(settings_.cert_file);
    tls.set_private_key(settings_.key_file);
    tls.set_enable_server_cert_auth(true);
    tls.set_verify(true);                           // host name (or IP) must match the certificate
    tls.set_ssl_version(MQTT_SSL_VERSION_TLS_1_2);  // see README: OpenSSL 3 enforces >= 1.2 anyway
    if (settings_.alpn) tls.set_alpn_protos({kAlpnAwsIot});
    // Not set_error_handler(): Paho C++ 1.2 hands Paho C a pointer to a temporary copy of the
    // ssl_options as the handler's context, which is gone by the time the handshake runs.

    mqtt::connect_options connect_options;
    connect_options.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (v5) {
      connect_options.set_clean_session(false);  // Paho C rejects cleansession with MQTT 5
      connect_options.set_clean_start(options.clean_start);
      if (options.session_expiry_s > 0) {
        mqtt::properties properties;
        properties.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                                      static_cast<std::int32_t>(options.session_expiry_s)));
        connect_options.set_properties(properties);
      }
    } else {
      connect_options.set_clean_start(false);
      connect_options.set_clean_session(options.clean_start);
    }
    connect_options.set_keep_alive_interval(static_cast<int>(options.keep_alive_s));
    const auto timeout_ms = options.connect_timeout.count() > 0 ? options.connect_timeout.count() : 1;
    connect_options.set_connect_timeout(static_cast<int>((timeout_ms + 999) / 1000));  // Paho: seconds
    connect_options.set_automatic_reconnect(false);  // the agent reconnects, with its backoff
    connect_options.set_max_inflight(static_cast<int>(settings_.max_inflight));
    if (!options.username.empty()) connect_options.set_user_name(std::string(options.username));
    if (options.will) {
      const WillMessage& will = *options.will;
      static const char kEmpty = '\0';
      const void* payload = will.payload.empty() ? static_cast<const void*>(&kEmpty) : will.payload.data();
      connect_options.set_will(mqtt::will_options(std::string(will.topic), payload, will.payload.size(),
                                                  to_paho_qos(will.qos), will.retain));
    }
    connect_options.set_ssl(tls);

    ++epoch_;
    if (epoch_ == 0) ++epoch_;
    link_epoch_.store(epoch_);
    link_v5_.store(v5);
    version_ = options.version;
    connect_timeout_ = options.connect_timeout;
    attempt_cert_file_ = settings_.cert_file;
    attempt_key_file_ = settings_.key_file;
    client_->connect(connect_options, to_context(epoch_), connect_listener_);
  } catch (const mqtt::exception& e) {
    Status status = paho_detail::status_from_paho_rc(e.get_return_code());
    if (status.ok()) status = port_status(StatusCode::kUnavailable);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "connect to %s:%u not started: %s", settings_.host.c_str(),
                     static_cast<unsigned>(settings_.port), e.what());
    return status;
  } catch (const std::exception& e) {
    const Status status = port_status(StatusCode::kUnavailable);
    TETHER_LOG_ERROR(log_, Origin::kPaho, status, "connect not started: %s", e.what());
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
  try {
    client_->disconnect(static_cast<int>(settings_.disconnect_timeout.count()), to_context(epoch_),
                        disconnect_listener_);
  } catch (const std::exception& e) {
    // Paho says it is not connected (the loss is on its way to the inbox) or cannot send the
    // DISCONNECT: the session is over either way.
    TETHER_LOG_DEBUG(log_, Origin::kPaho, "disconnect: %s", e.what());
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
  try {
    static const char kEmpty = '\0';
    const void* payload = message.payload.empty() ? static_cast<const void*>(&kEmpty) : message.payload.data();
    mqtt::message_ptr paho_message = mqtt::message::create(std::string(message.topic), payload, message.payload.size(),
                                                           to_paho_qos(message.qos), message.retain);
    if (!properties.empty()) {
      mqtt::properties paho_properties;
      if (!properties.content_type.empty()) {
        paho_properties.add(mqtt::property(mqtt::property::CONTENT_TYPE, std::string(properties.content_type)));
      }
      if (properties.message_expiry_s) {
        paho_properties.add(mqtt::property(mqtt::property::MESSAGE_EXPIRY_INTERVAL,
                                           static_cast<std::int32_t>(*properties.message_expiry_s)));
      }
      if (!properties.response_topic.empty()) {
        paho_properties.add(mqtt::property(mqtt::property::RESPONSE_TOPIC, std::string(properties.response_topic)));
      }
      if (!properties.correlation_data.empty()) {
        paho_properties.add(
            mqtt::property(mqtt::property::CORRELATION_DATA, std::string(as_text(properties.correlation_data))));
      }
      for (const UserProperty& user : properties.user_properties) {
        paho_properties.add(
            mqtt::property(mqtt::property::USER_PROPERTY, std::string(user.key), std::string(user.value)));
      }
      paho_message->set_properties(std::move(paho_properties));  // no second copy of every property
    }
    client_->publish(paho_message, to_context(token), publish_listener_);
  } catch (const mqtt::exception& e) {
    Status status = paho_detail::status_from_paho_rc(e.get_return_code());
    if (status.ok()) status = port_status(StatusCode::kUnavailable);
    TETHER_LOG_DEBUG(log_, Origin::kPaho, "publish refused: %s", e.what());
    return status;
  } catch (const std::exception& e) {
    TETHER_LOG_DEBUG(log_, Origin::kPaho, "publish refused: %s", e.what());
    return port_status(StatusCode::kUnavailable);
  }
  return track(message.qos == Qos::k1 ? Op::kPublishQos1 : Op::kPublishQos0, token);
}

Result<PacketToken> PahoMqttClient::Impl::subscribe(std::string_view filter, Qos qos) {
  if (state_ != State::kConnected) return port_status(StatusCode::kFailedPrecondition);
  if (!paho_detail::valid_topic_filter(filter)) return Status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
  const PacketToken token = next_token();
  add_open_request(+1);  // before the call: Paho may complete it on its thread at once
  try {
    client_->subscribe(std::string(filter), to_paho_qos(qos), to_context(token), subscribe_listener_);
  } catch (const mqtt::exception& e) {
    add_open_request(-1);
    Status status = paho_detail::status_from_paho_rc(e.get_return_code());
    if (status.ok()) status = port_status(StatusCode::kUnavailable);
    return status;
  } catch (const std::exception&) {
    add_open_request(-1);
    return port_status(StatusCode::kUnavailable);
  }
  return track(Op::kSubscribe, token);
}

Result<PacketToken> PahoMqttClient::Impl::unsubscribe(std::string_view filter) {
  if (state_ != State::kConnected) return port_status(StatusCode::kFailedPrecondition);
  if (!paho_detail::valid_topic_filter(filter)) return Status(StatusCode::kInvalidArgument, Origin::kTopic, 0);
  const PacketToken token = next_token();
  add_open_request(+1);  // before the call: Paho may complete it on its thread at once
  try {
    client_->unsubscribe(std::string(filter), to_context(token), unsubscribe_listener_);
  } catch (const mqtt::exception& e) {
    add_open_request(-1);
    Status status = paho_detail::status_from_paho_rc(e.get_return_code());
    if (status.ok()) status = port_status(StatusCode::kUnavailable);
    return status;
  } catch (const std::exception&) {
    add_open_request(-1);
    return port_status(StatusCode::kUnavailable);
  }
  return track(Op::kUnsubscribe, token);
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
