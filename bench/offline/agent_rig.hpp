// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// An Agent over PahoMqttClient as an application builds it, for the parts of bench-offline that
/// need one: parts 1 and 3 never start it (the device is offline the whole time), part 2 connects
/// it to the test broker.

#include <memory>
#include <string>

#include "bench_offline.hpp"
#include "tether/agent.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace tether::bench_offline {

struct AgentRig {
  AgentConfig config;
  port::PosixClock clock;
  port::StderrLogSink log;
  std::unique_ptr<port::PahoMqttClient> mqtt;
  std::unique_ptr<Agent> agent;  // refers to config, clock, log and mqtt: destroyed first
  ~AgentRig() {
    agent.reset();
    mqtt.reset();
  }
};

/// Builds the rig (client id "<thing>-<client_suffix>"). With `for_broker` the endpoint and TLS
/// files come from `options` and the configuration is validated; without it they are placeholders
/// and the agent must never be started. Returns nullptr and sets `error` on failure.
std::unique_ptr<AgentRig> make_rig(const Options& options, bool for_broker, const char* client_suffix,
                                   std::string& error);

/// "kUnavailable/kSocket/111"-style text of a status.
std::string status_text(Status status);

}  // namespace tether::bench_offline
