// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "agent_rig.hpp"

#include <utility>

#include "tether/error_text.hpp"

namespace tether::bench_offline {

std::string status_text(Status status) {
  char buf[96];
  return format_status(status, buf, sizeof buf);
}

std::unique_ptr<AgentRig> make_rig(const Options& options, bool for_broker, const char* client_suffix,
                                   std::string& error) {
  auto rig = std::make_unique<AgentRig>();
  AgentConfig& config = rig->config;
  const auto assign = [&error](auto& field, const std::string& value, const char* what) {
    if (field.assign(value).ok()) return true;
    error = std::string(what) + " too long: " + value;
    return false;
  };
  config.profile = TopicProfile::kNeutral;
  const std::string host = for_broker ? options.host : std::string("127.0.0.1");
  if (!assign(config.thing_name, options.thing_name, "thing name") ||
      !assign(config.client_id, options.thing_name + "-" + client_suffix, "client id") ||
      !assign(config.broker.endpoint, host, "host") ||
      !assign(config.broker.ca_file, for_broker ? options.ca_file : std::string("unused-ca.crt"), "CA file") ||
      !assign(config.broker.cert_file, for_broker ? options.cert_file : std::string("unused.crt"), "certificate") ||
      !assign(config.broker.key, for_broker ? options.key_file : std::string("unused.key"), "key file")) {
    return nullptr;
  }
  config.broker.port = for_broker ? options.port : 8883;
  config.mqtt.version = MqttVersion::k5;
  config.mqtt.keep_alive_s = 60;
  config.mqtt.clean_session = true;
  config.heartbeat.enabled = false;
  config.log_level = options.verbose ? LogLevel::kInfo : LogLevel::kWarn;
  ErrorText why;
  const Status valid = validate_config(config, "bench-offline", &why);
  if (!valid.ok()) {
    error = std::string("invalid configuration: ") + why.c_str();
    return nullptr;
  }

  port::PahoSettings settings = port::PahoSettings::from_config(config.broker);
  settings.max_inflight = options.window;
  settings.log_level = config.log_level;
  rig->mqtt = std::make_unique<port::PahoMqttClient>(std::move(settings), &rig->log);
  rig->agent = std::make_unique<Agent>(*rig->mqtt, rig->clock, rig->config, &rig->log, port::random_seed());
  return rig;
}

}  // namespace tether::bench_offline
