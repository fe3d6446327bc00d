// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// The Tether side: tether::Agent over tether::port::PahoMqttClient, used the way an application
// uses it. Publish until the client says kResourceExhausted (the in-flight window is full), then
// run_once() to collect completions (the publish-complete handler counts them), repeat.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench.hpp"
#include "tether/agent.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace tether::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string status_string(Status status) {
  char buf[64];
  return format_status(status, buf, sizeof buf);
}

// Counts completions; the agent calls it from run_once() on this thread.
struct Completions {
  std::size_t done = 0;
  std::size_t failed = 0;
  Status first_failure;
};

class TetherPublisher final : public Publisher {
 public:
  TetherPublisher(const Options& options, const std::vector<std::uint8_t>& payload)
      : options_(options), payload_(payload) {}

  ~TetherPublisher() override { disconnect(); }

  const char* name() const override { return "tether"; }

  bool connect(std::string& error) override {
    if (!configure(error)) return false;
    port::PahoSettings settings = port::PahoSettings::from_config(config_.broker);
    settings.max_inflight = options_.window;
    settings.log_level = config_.log_level;
    mqtt_ = std::make_unique<port::PahoMqttClient>(std::move(settings), &log_);
    agent_ = std::make_unique<Agent>(*mqtt_, clock_, config_, &log_, port::random_seed());
    agent_->set_event_handler([this](const AgentEvent& event) {
      if (event.type == AgentEventType::kConnectFailed || event.type == AgentEventType::kNeedsAttention ||
          event.type == AgentEventType::kDisconnected) {
        last_problem_ = event.reason;
      }
    });
    agent_->set_publish_complete_handler([c = &completions_](PacketToken, Status result) {
      ++c->done;
      if (!result.ok()) {
        if (c->failed == 0) c->first_failure = result;
        ++c->failed;
      }
    });
    const Status started = agent_->start();
    if (!started.ok()) {
      error = "agent start failed: " + status_string(started);
      return false;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    while (!agent_->connected() && Clock::now() < deadline) {
      const Status status = agent_->run_once(Milliseconds(100));
      if (!status.ok()) {
        error = "run_once failed: " + status_string(status);
        return false;
      }
      // One attempt is enough here: a refused certificate will not be accepted on a retry.
      if (agent_->stats().connect_failures > 0) break;
    }
    if (!agent_->connected()) {
      error = agent_->stats().connect_failures > 0 ? "connect attempt failed: " + status_string(last_problem_)
                                                   : std::string("no CONNACK within 15 s");
      return false;
    }
    // The port learns the broker's Receive Maximum from the CONNACK; it is not exposed, so probe
    // it the way the benchmark uses the window anyway: fill it with QoS 1 publishes.
    qos1_window_ = probe_qos1_window();
    return true;
  }

  std::size_t qos1_window() const override { return qos1_window_; }

  RoundResult run(int qos, std::size_t messages) override {
    RoundResult result;
    if (!agent_ || !agent_->connected()) {
      result.error = "not connected";
      return result;
    }
    const Qos tether_qos = qos == 0 ? Qos::k0 : Qos::k1;
    const std::string_view topic = options_.topic;
    const Span<const std::uint8_t> payload(payload_.data(), payload_.size());
    completions_ = Completions{};
    std::size_t sent = 0;
    std::size_t max_in_flight = 0;
    const double cpu_start = process_cpu_seconds();
    const long switches_start = process_context_switches();
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::seconds(60) + std::chrono::milliseconds(messages);

    while (completions_.done < messages) {
      while (sent < messages) {
        const Result<PacketToken> token = agent_->publish(topic, payload, tether_qos);
        if (!token.ok()) {
          if (token.status().code() == StatusCode::kResourceExhausted) break;  // window full
          result.error = "publish failed: " + status_string(token.status());
          return result;
        }
        ++sent;
      }
      const std::size_t in_flight = sent - completions_.done;
      if (in_flight > max_in_flight) max_in_flight = in_flight;
      const Status status = agent_->run_once(Milliseconds(100));
      if (!status.ok()) {
        result.error = "run_once failed: " + status_string(status);
        return result;
      }
      if (!agent_->connected()) {
        result.error = "connection lost (" + status_string(last_problem_) + ")";
        return result;
      }
      if (Clock::now() > deadline) {
        result.error = "stalled: " + std::to_string(completions_.done) + " of " + std::to_string(messages) +
                       " completed";
        return result;
      }
    }
    const auto end = Clock::now();
    result.cpu_seconds = process_cpu_seconds() - cpu_start;
    result.context_switches = process_context_switches() - switches_start;
    result.seconds = std::chrono::duration<double>(end - start).count();
    result.messages = completions_.done;
    result.window_used = max_in_flight;
    if (completions_.failed > 0) {
      result.error = std::to_string(completions_.failed) + " publishes failed, first: " +
                     status_string(completions_.first_failure);
      return result;
    }
    result.ok = true;
    return result;
  }

  void disconnect() override {
    if (!agent_) return;
    agent_->stop().ignore();
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline) {
      if (agent_->run_once(Milliseconds(50)).code() == StatusCode::kCancelled) break;
    }
    agent_.reset();
    mqtt_.reset();
  }

 private:
  bool configure(std::string& error) {
    const auto assign = [&error](auto& field, const std::string& value, const char* what) {
      if (field.assign(value).ok()) return true;
      error = std::string(what) + " too long: " + value;
      return false;
    };
    config_ = AgentConfig{};
    config_.profile = TopicProfile::kNeutral;
    if (!assign(config_.thing_name, options_.thing_name, "thing name") ||
        !assign(config_.client_id, options_.thing_name + "-bench-tether", "client id") ||
        !assign(config_.broker.endpoint, options_.host, "host") ||
        !assign(config_.broker.ca_file, options_.ca_file, "CA file") ||
        !assign(config_.broker.cert_file, options_.cert_file, "certificate file") ||
        !assign(config_.broker.key, options_.key_file, "key file")) {
      return false;
    }
    config_.broker.port = options_.port;
    config_.mqtt.version = MqttVersion::k5;
    config_.mqtt.keep_alive_s = 60;
    config_.mqtt.clean_session = true;
    config_.heartbeat.enabled = false;
    config_.log_level = options_.verbose ? LogLevel::kInfo : LogLevel::kWarn;
    ErrorText why;
    const Status status = validate_config(config_, "bench", &why);
    if (!status.ok()) {
      error = std::string("invalid configuration: ") + why.c_str();
      return false;
    }
    return true;
  }

  // Publishes QoS 1 until the port refuses, counts how many it took, and waits for them all.
  std::size_t probe_qos1_window() {
    completions_ = Completions{};
    const Span<const std::uint8_t> payload(payload_.data(), payload_.size());
    std::size_t accepted = 0;
    while (accepted <= options_.window) {
      if (!agent_->publish(options_.topic, payload, Qos::k1).ok()) break;
      ++accepted;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (completions_.done < accepted && Clock::now() < deadline) {
      if (!agent_->run_once(Milliseconds(100)).ok()) break;
    }
    return accepted;
  }

  const Options& options_;
  const std::vector<std::uint8_t>& payload_;
  port::StderrLogSink log_;
  port::PosixClock clock_;
  AgentConfig config_;
  std::unique_ptr<port::PahoMqttClient> mqtt_;
  std::unique_ptr<Agent> agent_;
  Completions completions_;
  Status last_problem_;
  std::size_t qos1_window_ = 0;
};

}  // namespace

std::unique_ptr<Publisher> make_tether_publisher(const Options& options, const std::vector<std::uint8_t>& payload) {
  return std::make_unique<TetherPublisher>(options, payload);
}

}  // namespace tether::bench
