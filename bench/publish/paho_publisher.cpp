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
      client_ = make_paho_client(options_.endpoint, options_.thing_name + "-bench-paho",
                                 static_cast<int>(options_.window) + kPahoBufferedSlack);
      const mqtt::connect_options connect_options =
          make_paho_connect_options(options_.endpoint, static_cast<int>(options_.window));
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

  void disconnect() override { close_paho_client(client_); }

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
