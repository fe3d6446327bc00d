// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// The Tether side: tether::Agent over tether::port::PahoMqttClient, used the way an application
// uses it. Publish until the client says kResourceExhausted (the in-flight window is full), then
// run_once() to collect completions (the publish-complete handler counts them), repeat.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench.hpp"
#include "tether/agent.hpp"

namespace tether::bench {
namespace {

using Clock = std::chrono::steady_clock;

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
    if (!rig_.init(options_.endpoint, options_.thing_name, options_.thing_name + "-bench-tether",
                   TopicProfile::kNeutral, options_.verbose, options_.window, error)) {
      return false;
    }
    agent_ = &rig_.agent();
    agent_->set_publish_complete_handler([c = &completions_](PacketToken, Status result) {
      ++c->done;
      if (!result.ok()) {
        if (c->failed == 0) c->first_failure = result;
        ++c->failed;
      }
    });
    if (!rig_.connect(error)) return false;
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
          result.error = "publish failed: " + status_text(token.status());
          return result;
        }
        ++sent;
      }
      const std::size_t in_flight = sent - completions_.done;
      if (in_flight > max_in_flight) max_in_flight = in_flight;
      const Status status = agent_->run_once(Milliseconds(100));
      if (!status.ok()) {
        result.error = "run_once failed: " + status_text(status);
        return result;
      }
      if (!agent_->connected()) {
        result.error = "connection lost (" + status_text(rig_.last_problem()) + ")";
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
                     status_text(completions_.first_failure);
      return result;
    }
    result.ok = true;
    return result;
  }

  void disconnect() override { rig_.disconnect(); }

 private:
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
  AgentRig rig_;
  Agent* agent_ = nullptr;  // rig_'s, once connect() built it
  Completions completions_;
  std::size_t qos1_window_ = 0;
};

}  // namespace

std::unique_ptr<Publisher> make_tether_publisher(const Options& options, const std::vector<std::uint8_t>& payload) {
  return std::make_unique<TetherPublisher>(options, payload);
}

}  // namespace tether::bench
