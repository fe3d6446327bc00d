// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// minimal-agent: the smallest useful Tether device.
//   - reads a configuration file (docs/configuration.md),
//   - connects over mutual TLS and keeps reconnecting with backoff,
//   - publishes a heartbeat to dt/<thing>/heartbeat every heartbeat.interval_s seconds,
//   - logs every message that arrives on things/<thing>/inbox,
//   - exits cleanly on SIGINT or SIGTERM (sends DISCONNECT first).
//
// Usage: minimal-agent CONFIG.json
// Exit codes: 0 clean stop, 1 bad usage or configuration, 2 the agent could not start.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "example_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace {

int run(int argc, char** argv) {
  if (argc != 2 || std::strcmp(argv[1], "--help") == 0) {
    tether::examples::tell(LOG_ERR, "usage: %s CONFIG.json\n", argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  tether::ErrorText error;
  if (!tether::port::load_config_file(argv[1], config, &error).ok()) {
    tether::examples::tell(LOG_ERR, "minimal-agent: %s\n", error.c_str());
    return 1;
  }

  tether::port::StderrLogSink log;
  tether::port::PosixClock clock;
  tether::port::PahoSettings settings = tether::port::PahoSettings::from_config(config.broker);
  settings.log_level = config.log_level;
  tether::port::PahoMqttClient mqtt(settings, &log);
  tether::Agent agent(mqtt, clock, config, &log, tether::port::random_seed());
  tether::Logger& logger = agent.logger();

  // Messages for this device.
  char inbox[tether::kMaxTopic];
  const auto inbox_topic = agent.topics().build(inbox, tether::TopicFamily::kTelemetry, "inbox");
  char heartbeat[tether::kMaxTopic];
  const auto heartbeat_topic = agent.topics().build(heartbeat, tether::TopicFamily::kTelemetry, "heartbeat");
  if (!inbox_topic.ok() || !heartbeat_topic.ok()) {
    tether::examples::tell(LOG_ERR, "minimal-agent: cannot build topics for thing \"%s\"\n", config.thing_name.c_str());
    return 1;
  }
  tether::Status status = agent.subscribe(*inbox_topic, tether::Qos::k1, [&logger](const tether::InboundMessage& m) {
    TETHER_LOG_INFO(logger, tether::Origin::kApp, "inbox: \"%.*s\" (%zu bytes)", static_cast<int>(m.payload.size()),
                    reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
  });
  if (!status.ok()) return 2;

  // Handlers hold at most four pointers' worth of captures (no heap): keep the state in one
  // struct and capture a pointer to it.
  struct Heartbeat {
    tether::Agent* agent;
    const tether::port::Clock* clock;
    std::string_view topic;
    std::uint64_t sequence = 0;

    void beat() {
      if (!agent->connected()) return;  // the offline queue (a later feature) will buffer these
      char buf[128];
      tether::json::Writer w(buf);
      w.begin_object().key("seq").number(static_cast<std::int64_t>(++sequence));
      w.key("uptime_ms").number(static_cast<std::int64_t>(clock->now().count())).end_object();
      const auto doc = w.finish();
      if (!doc.ok()) return;
      tether::PublishProperties props;  // MQTT 5 only: 3.1.1 has no properties
      if (agent->config().mqtt.version == tether::MqttVersion::k5) props.content_type = "application/json";
      if (agent->publish(topic, tether::as_bytes(*doc), tether::Qos::k1, props).ok()) {
        TETHER_LOG_INFO(agent->logger(), tether::Origin::kApp, "heartbeat %llu sent to %.*s",
                        static_cast<unsigned long long>(sequence), static_cast<int>(topic.size()), topic.data());
      }
    }
  } heartbeat_state{&agent, &clock, *heartbeat_topic};
  if (config.heartbeat.enabled) {
    const auto period = std::chrono::seconds(config.heartbeat.interval_s);
    if (!agent.start_timer(period, [hb = &heartbeat_state] { hb->beat(); }).ok()) return 2;
  }

  agent.set_event_handler([&logger](const tether::AgentEvent& e) { tether::examples::log_attention(logger, e); });
  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;
  tether::examples::run_until_stopped(agent, clock, -1);
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "bye (%llu heartbeats)", static_cast<unsigned long long>(heartbeat_state.sequence));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
