// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// The raw Paho side: mqtt::async_client with the options PahoMqttClient uses (MQTT 5, TLS 1.2 with
// the same CA, certificate and key, max_inflight = window, max_buffered_messages = window + 64,
// no offline buffering, no automatic reconnect). An action listener counts completions; the
// publishing thread blocks on a condition variable while the window is full. QoS 1 is limited to
// min(window, the broker's Receive Maximum), as PahoMqttClient limits it: beyond that Paho C
// parks publishes until its once-a-second housekeeping tick (--paho-full-window shows the effect).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

#include "bench.hpp"

namespace tether::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Paho C's default is 100; the port adds this much room for subscriptions and other requests.
constexpr int kBufferedSlack = 64;

// Counts completions on Paho's threads; the publishing thread waits for room in the window.
class CompletionCounter final : public mqtt::iaction_listener {
 public:
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_ = 0;
    done_ = 0;
    failed_ = 0;
    first_failure_rc_ = 0;
    first_failure_reason_ = 0;
  }

  // Waits until fewer than `limit` publishes are in flight, then takes a slot. Returns the number
  // in flight including the new one, or 0 at the deadline.
  std::size_t acquire(std::size_t limit, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_until(lock, deadline, [&] { return in_flight_ < limit; })) return 0;
    return ++in_flight_;
  }

  void release_unused() {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
  }

  // Waits until `count` completions were counted; false at the deadline.
  bool wait_done(std::size_t count, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_until(lock, deadline, [&] { return done_ >= count; });
  }

  std::size_t done() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  std::size_t failed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return "paho rc " + std::to_string(first_failure_rc_) + ", reason " + std::to_string(first_failure_reason_);
  }

 private:
  void on_success(const mqtt::token&) override { complete(nullptr); }
  void on_failure(const mqtt::token& token) override { complete(&token); }

  void complete(const mqtt::token* failure) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --in_flight_;
      ++done_;
      if (failure != nullptr) {
        if (failed_ == 0) {
          first_failure_rc_ = failure->get_return_code();
          first_failure_reason_ = static_cast<int>(failure->get_reason_code());
        }
        ++failed_;
      }
    }
    cv_.notify_one();
  }

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t in_flight_ = 0;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  int first_failure_rc_ = 0;
  int first_failure_reason_ = 0;
};

class PahoPublisher final : public Publisher {
 public:
  PahoPublisher(const Options& options, const std::vector<std::uint8_t>& payload)
      : options_(options), payload_(payload) {}

  ~PahoPublisher() override { disconnect(); }

  const char* name() const override { return "paho"; }

  bool connect(std::string& error) override {
    try {
      mqtt::create_options create(MQTTVERSION_5);
      create.set_max_buffered_messages(static_cast<int>(options_.window) + kBufferedSlack);
      create.set_send_while_disconnected(false);
      create.set_delete_oldest_messages(false);
      const std::string uri = "ssl://" + options_.host + ":" + std::to_string(options_.port);
      client_ = std::make_unique<mqtt::async_client>(uri, options_.thing_name + "-bench-paho", create);

      mqtt::ssl_options tls;
      tls.set_trust_store(options_.ca_file);
      tls.set_key_store(options_.cert_file);
      tls.set_private_key(options_.key_file);
      tls.set_enable_server_cert_auth(true);
      tls.set_verify(true);
      tls.set_ssl_version(MQTT_SSL_VERSION_TLS_1_2);

      mqtt::connect_options connect_options;
      connect_options.set_mqtt_version(MQTTVERSION_5);
      connect_options.set_clean_session(false);  // Paho C rejects cleansession with MQTT 5
      connect_options.set_clean_start(true);
      connect_options.set_keep_alive_interval(60);
      connect_options.set_connect_timeout(10);
      connect_options.set_automatic_reconnect(false);
      connect_options.set_max_inflight(static_cast<int>(options_.window));
      connect_options.set_ssl(tls);

      mqtt::token_ptr token = client_->connect(connect_options);
      if (!token->wait_for(std::chrono::seconds(15))) {
        error = "no CONNACK within 15 s";
        return false;
      }
      qos1_window_ = options_.window;
      if (options_.paho_full_window) return true;
      const mqtt::connect_response response = token->get_connect_response();
      const mqtt::properties& properties = response.get_properties();
      if (properties.count(mqtt::property::RECEIVE_MAXIMUM) > 0) {
        const auto receive_maximum = mqtt::get<std::uint16_t>(properties, mqtt::property::RECEIVE_MAXIMUM);
        if (receive_maximum > 0) qos1_window_ = std::min<std::size_t>(qos1_window_, receive_maximum);
      }
      return true;
    } catch (const mqtt::exception& e) {
      error = std::string("connect failed: ") + e.what();
      return false;
    }
  }

  std::size_t qos1_window() const override { return qos1_window_; }

  RoundResult run(int qos, std::size_t messages) override {
    RoundResult result;
    if (!client_ || !client_->is_connected()) {
      result.error = "not connected";
      return result;
    }
    const std::size_t limit = qos == 0 ? options_.window : qos1_window_;
    counter_.reset();
    std::size_t max_in_flight = 0;
    const double cpu_start = process_cpu_seconds();
    const long switches_start = process_context_switches();
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::seconds(60) + std::chrono::milliseconds(messages);

    for (std::size_t sent = 0; sent < messages; ++sent) {
      const std::size_t in_flight = counter_.acquire(limit, deadline);
      if (in_flight == 0) {
        result.error = "stalled: " + std::to_string(counter_.done()) + " of " + std::to_string(messages) +
                       " completed";
        return result;
      }
      max_in_flight = std::max(max_in_flight, in_flight);
      try {
        // As a Paho application would write it: topic and payload copied into a new message.
        client_->publish(options_.topic, payload_.data(), payload_.size(), qos, false, nullptr, counter_);
      } catch (const mqtt::exception& e) {
        counter_.release_unused();
        result.error = std::string("publish failed: ") + e.what();
        return result;
      }
    }
    if (!counter_.wait_done(messages, deadline)) {
      result.error = "stalled: " + std::to_string(counter_.done()) + " of " + std::to_string(messages) +
                     " completed";
      return result;
    }
    const auto end = Clock::now();
    result.cpu_seconds = process_cpu_seconds() - cpu_start;
    result.context_switches = process_context_switches() - switches_start;
    result.seconds = std::chrono::duration<double>(end - start).count();
    result.messages = counter_.done();
    result.window_used = max_in_flight;
    if (counter_.failed() > 0) {
      result.error = std::to_string(counter_.failed()) + " publishes failed, first: " + counter_.first_failure();
      return result;
    }
    result.ok = true;
    return result;
  }

  void disconnect() override {
    if (!client_) return;
    try {
      if (client_->is_connected()) {
        const bool done = client_->disconnect(1000)->wait_for(std::chrono::seconds(3));
        static_cast<void>(done);  // destroying the client closes the socket anyway
      }
    } catch (const mqtt::exception&) {
      // Already gone: nothing left to close politely.
    }
    client_.reset();
  }

 private:
  const Options& options_;
  const std::vector<std::uint8_t>& payload_;
  CompletionCounter counter_;  // outlives client_, whose callbacks it receives
  std::unique_ptr<mqtt::async_client> client_;
  std::size_t qos1_window_ = 0;
};

}  // namespace

std::unique_ptr<Publisher> make_paho_publisher(const Options& options, const std::vector<std::uint8_t>& payload) {
  return std::make_unique<PahoPublisher>(options, payload);
}

}  // namespace tether::bench
