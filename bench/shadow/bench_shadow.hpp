// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// The parts of bench-shadow: raw Paho peers (the operator, the echo device, the hand-written
/// shadow device), the Tether shadow device, and the stamp a device leaves when a request reaches
/// it. main.cpp times round trips through them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/shadow/shadow.hpp"

namespace tether::bench {

using Clock = std::chrono::steady_clock;

/// When a device saw a request: the sequence number and the time, the last one only.
class DeviceStamp {
 public:
  void record(std::int64_t seq);
  /// The time `seq` was seen, if it is the last one recorded.
  std::optional<Clock::time_point> when(std::int64_t seq) const;

 private:
  mutable std::mutex mutex_;
  std::int64_t seq_ = -1;
  Clock::time_point at_{};
};

/// A raw Paho MQTT C++ client, set up as PahoMqttClient sets itself up (bench_common.hpp). Every
/// message goes to the handler on Paho's thread (with the peer, so that it can answer);
/// publish() is QoS 1 and does not wait.
class PahoPeer {
 public:
  using Handler = std::function<void(PahoPeer& self, const std::string& topic, const std::string& payload)>;

  PahoPeer(Endpoint endpoint, std::string client_id, Handler handler);
  ~PahoPeer();
  PahoPeer(const PahoPeer&) = delete;
  PahoPeer& operator=(const PahoPeer&) = delete;

  /// Connects and subscribes `filters` at QoS 1, waiting for the CONNACK and every SUBACK. False
  /// with `error` set on failure (a refused filter included).
  bool connect(const std::vector<std::string>& filters, std::string& error);
  /// QoS 1, not retained. False if Paho refused it at once (not connected, buffer full).
  bool publish(const std::string& topic, const std::string& payload);
  /// True once the connection was lost (nothing reconnects it).
  bool lost() const { return lost_; }
  void disconnect();
  const std::string& client_id() const { return client_id_; }

 private:
  Endpoint endpoint_;
  std::string client_id_;
  Handler handler_;
  std::atomic<bool> lost_{false};
  std::unique_ptr<mqtt::async_client> client_;
};

/// The Tether side: an Agent and a Shadow (AWS profile, classic shadow of `thing`) whose handler
/// for `seq` accepts every value, so that the shadow reports it back. After start() the agent runs
/// on its own thread, as a device's main loop does.
class TetherShadowDevice {
 public:
  /// `state_dir` empty: the replica lives in RAM only; else a PosixKvStore there.
  TetherShadowDevice(Endpoint endpoint, std::string thing, std::string state_dir, bool verbose, DeviceStamp& stamp);
  ~TetherShadowDevice();
  TetherShadowDevice(const TetherShadowDevice&) = delete;
  TetherShadowDevice& operator=(const TetherShadowDevice&) = delete;

  /// Opens the store, connects, waits until the shadow is synced (at most 15 s), then starts the
  /// thread. False with `error` set on failure.
  bool start(std::string& error);
  /// Stops the thread, disconnects, writes the replica. Idempotent.
  void stop();
  /// The shadow's counters (read them after stop()).
  const shadow::ShadowStats& stats() const { return shadow_->stats(); }
  const std::string& client_id() const { return client_id_; }

 private:
  Endpoint endpoint_;
  std::string thing_;
  std::string client_id_;
  std::string state_dir_;
  bool verbose_;
  DeviceStamp& stamp_;
  AgentRig rig_;
  std::unique_ptr<port::PosixKvStore> store_;
  std::unique_ptr<shadow::Shadow> shadow_;  // refers to rig_ and store_: destroyed first
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tether::bench
