// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// The devices and the operator's client: raw Paho peers and the Tether shadow device.

#include <utility>

#include "bench_shadow.hpp"

namespace tether::bench {

void DeviceStamp::record(std::int64_t seq) {
  const Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  seq_ = seq;
  at_ = now;
}

std::optional<Clock::time_point> DeviceStamp::when(std::int64_t seq) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (seq != seq_) return std::nullopt;
  return at_;
}

// ---- PahoPeer ------------------------------------------------------------------------------------

PahoPeer::PahoPeer(Endpoint endpoint, std::string client_id, Handler handler)
    : endpoint_(std::move(endpoint)), client_id_(std::move(client_id)), handler_(std::move(handler)) {}

PahoPeer::~PahoPeer() { disconnect(); }

bool PahoPeer::connect(const std::vector<std::string>& filters, std::string& error) {
  constexpr int kWindow = 100;  // PahoMqttClient's default max_inflight
  try {
    client_ = make_paho_client(endpoint_, client_id_, kWindow + kPahoBufferedSlack);
    client_->set_message_callback([this](mqtt::const_message_ptr message) {
      handler_(*this, message->get_topic(), message->get_payload_str());
    });
    client_->set_connection_lost_handler([this](const std::string&) { lost_ = true; });
    if (!client_->connect(make_paho_connect_options(endpoint_, kWindow))->wait_for(std::chrono::seconds(15))) {
      error = "no CONNACK within 15 s";
      return false;
    }
    for (const std::string& filter : filters) {
      // A refusal (reason code 0x80 or above) fails the token: wait_for() throws.
      if (!client_->subscribe(filter, 1)->wait_for(std::chrono::seconds(10))) {
        error = "no SUBACK for '" + filter + "' within 10 s";
        return false;
      }
    }
    return true;
  } catch (const mqtt::exception& e) {
    error = e.what();  // names the reason code
    return false;
  }
}

bool PahoPeer::publish(const std::string& topic, const std::string& payload) {
  try {
    client_->publish(topic, payload.data(), payload.size(), 1, false);
    return true;
  } catch (const mqtt::exception&) {
    return false;
  }
}

void PahoPeer::disconnect() { close_paho_client(client_); }

// ---- TetherShadowDevice --------------------------------------------------------------------------

TetherShadowDevice::TetherShadowDevice(Endpoint endpoint, std::string thing, std::string state_dir, bool verbose,
                                       DeviceStamp& stamp)
    : endpoint_(std::move(endpoint)),
      thing_(std::move(thing)),
      client_id_(thing_ + "-bench-shadow"),
      state_dir_(std::move(state_dir)),
      verbose_(verbose),
      stamp_(stamp) {}

TetherShadowDevice::~TetherShadowDevice() { stop(); }

bool TetherShadowDevice::start(std::string& error) {
  if (!rig_.init(endpoint_, thing_, client_id_, TopicProfile::kAws, verbose_, 0, error)) return false;
  if (!state_dir_.empty()) {
    port::PosixKvStoreSettings settings;
    settings.directory = state_dir_;
    store_ = std::make_unique<port::PosixKvStore>(settings);
    const Status opened = store_->open();
    if (!opened.ok()) {
      error = "cannot open the replica store " + state_dir_ + ": " + status_text(opened) + " (" +
              store_->last_error() + ")";
      return false;
    }
  }
  shadow_ = std::make_unique<shadow::Shadow>(rig_.agent(), store_.get(), shadow::ShadowSettings{}, port::random_seed());
  ErrorText why;
  Status s = shadow_->on_desired(
      "seq",
      [stamp = &stamp_](const shadow::DesiredChange& change) {
        stamp->record(change.value.as_int().value_or(-1));
        return shadow::DesiredResult::accept();
      },
      &why);
  if (s.ok()) s = shadow_->start(&why);
  if (!s.ok()) {
    error = "shadow: " + status_text(s) + ": " + why.c_str();
    return false;
  }
  if (!rig_.connect(error)) return false;
  Agent& agent = rig_.agent();
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!shadow_->synced() && Clock::now() < deadline) {
    if (!agent.run_once(Milliseconds(100)).ok()) break;
  }
  if (!shadow_->synced()) {
    error = "the shadow did not sync within 15 s (no answer to its get: is tools/cloudsim serving this broker?)";
    return false;
  }
  thread_ = std::thread([this, &agent] {
    while (!stopping_) agent.run_once(Milliseconds(200)).ignore();
  });
  return true;
}

void TetherShadowDevice::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) {
    rig_.agent().wake();
    thread_.join();
  }
  if (shadow_) {
    rig_.disconnect();
    shadow_->flush().ignore();  // a benchmark: a replica that cannot be written changes no number
  }
}

}  // namespace tether::bench
