// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// footprint-*.elf: what a Cortex-M4 firmware links when it uses Tether, for the code-size and RAM
// figures in docs/memory.md (scripts/footprint.sh measures them with arm-none-eabi-size and -nm).
// Not a test: the transport is a do-nothing MqttClient (a real firmware has its modem or RTOS MQTT
// client there), so the agent starts, tries to connect and never gets a connection; the code for
// everything that happens once connected is linked all the same (it is reached through the
// listener and component interfaces), which is what the size measures.
//
// Three images, one source (compile definitions from examples/bare-metal/CMakeLists.txt):
//   footprint-agent.elf   FOOTPRINT_FEATURES=0  Agent (connection manager, publish, subscribe, timers)
//   footprint-core.elf    FOOTPRINT_FEATURES=1  + OfflineQueue over a RamLogStore, Shadow, commands
//                                               Inbox with the Jobs adapter and one operation,
//                                               metrics Reporter through the queue
//   footprint-full.elf    FOOTPRINT_FEATURES=2  + parse_config() of a JSON configuration and the
//                                               built-in operations (commands::Builtins: reboot,
//                                               set-config) over a do-nothing System
// Every Tether object is a static, so the image's .data + .bss is the agent's RAM (apart from the
// stack and cJSON's short-lived heap while a document is parsed); `arm-none-eabi-nm -S -C` shows
// each object's size under its name below (`run()::agent`, `run()::queue`, ...).
//
// Runs on QEMU's mps2-an386 (scripts/run-qemu-m4.sh footprint-core.elf): starts everything, turns
// the agent's loop a few times, exits 0 (non-zero when a part did not start).

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "board.hpp"
#include "tether/agent.hpp"
#include "tether/port/mqtt_client.hpp"

#if FOOTPRINT_FEATURES >= 1
#include "tether/commands/inbox.hpp"
#include "tether/commands/jobs_adapter.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/ram_log_store.hpp"
#include "tether/port/metrics_source.hpp"
#include "tether/shadow/shadow.hpp"
#endif
#if FOOTPRINT_FEATURES >= 2
#include "tether/commands/builtins.hpp"
#include "tether/config.hpp"
#include "tether/port/system.hpp"
#endif

namespace {

/// Where a modem or RTOS MQTT client would sit: accepts every call and never connects.
class NullMqttClient final : public tether::port::MqttClient {
 private:
  static tether::Status offline() { return tether::Status(tether::StatusCode::kUnavailable, tether::Origin::kMqtt); }
  void do_set_listener(tether::port::MqttListener* listener) override { listener_ = listener; }
  tether::Status do_connect(const tether::ConnectOptions&) override { return tether::ok_status(); }
  tether::Status do_disconnect() override { return tether::ok_status(); }
  tether::Result<tether::PacketToken> do_publish(const tether::OutgoingMessage&) override {
    return offline();
  }
  tether::Result<tether::PacketToken> do_subscribe(std::string_view, tether::Qos) override {
    return offline();
  }
  tether::Result<tether::PacketToken> do_unsubscribe(std::string_view) override { return offline(); }
  tether::Status do_poll(tether::Milliseconds) override { return tether::ok_status(); }
  void do_wake() override {}
  bool do_connected() const override { return false; }

  tether::port::MqttListener* listener_ = nullptr;
};

#if FOOTPRINT_FEATURES >= 1
/// A microcontroller has no sockets or interfaces to list: an empty snapshot (custom metrics are
/// what a firmware would report).
class NullMetricsSource final : public tether::port::MetricsSource {
 private:
  tether::Status do_snapshot(tether::metrics::Snapshot& out) override {
    out.clear();
    return tether::ok_status();
  }
};

constexpr std::size_t kQueueBytes = 8 * 1024;  // RamLogStore: 4 segments of 2 KiB
constexpr std::size_t kQueueSegments = 4;
#endif

#if FOOTPRINT_FEATURES >= 2
/// Reboot and the configuration file are the board's business; no processes on a microcontroller.
class NullSystem final : public tether::port::System {
 private:
  static tether::Status none() { return tether::Status(tether::StatusCode::kUnimplemented, tether::Origin::kOs); }
  tether::Status do_request_reboot() override { return none(); }
  tether::Result<std::size_t> do_read_config(tether::Span<char>) override { return none(); }
  tether::Status do_replace_config(std::string_view) override { return none(); }
  tether::Result<tether::port::ProcessId> do_start_process(std::string_view,
                                                           tether::Span<const std::string_view>) override {
    return none();
  }
  tether::Result<tether::port::ProcessStatus> do_poll_process(tether::port::ProcessId) override { return none(); }
  tether::Result<std::size_t> do_read_output(tether::port::ProcessId, tether::Span<char>) override { return none(); }
  tether::Status do_signal_process(tether::port::ProcessId, tether::port::ProcessSignal) override { return none(); }
  tether::Status do_release_process(tether::port::ProcessId) override { return none(); }
  std::size_t do_max_processes() const override { return 0; }
  std::size_t do_output_capacity() const override { return 0; }
};

// What a firmware would keep in flash (or read from a configuration partition).
constexpr std::string_view kConfigJson = R"({
  "thing_name": "mps2-an386",
  "endpoint": "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
  "port": 8883,
  "tls": {"ca_file": "/flash/ca.pem", "cert_file": "/flash/device.crt", "key": "/flash/device.key"},
  "mqtt": {"version": 5, "keep_alive_s": 300},
  "commands": {"reboot": true}
})";
#endif

int run() {
  static mps2::BoardClock clock;
  static NullMqttClient mqtt;
  static tether::AgentConfig config;
#if FOOTPRINT_FEATURES >= 2
  if (!tether::parse_config(kConfigJson, "flash", config, nullptr).ok()) return 1;
#else
  if (!config.thing_name.assign("mps2-an386").ok()) return 1;
#endif
  static tether::Agent agent(mqtt, clock, config, /*log=*/nullptr, /*jitter_seed=*/0x4d505332);

#if FOOTPRINT_FEATURES == 0
  // The agent alone: an application subscription (the features below subscribe to their own topics).
  static char inbox_topic[tether::kMaxTopic];
  const auto topic = agent.topics().build(inbox_topic, tether::TopicFamily::kTelemetry, "inbox");
  if (!topic.ok()) return 2;
  static unsigned received = 0;
  if (!agent.subscribe(*topic, tether::Qos::k1, [](const tether::InboundMessage&) { ++received; }).ok()) return 2;
#endif

#if FOOTPRINT_FEATURES >= 1
  static std::uint8_t queue_storage[kQueueBytes];
  static tether::offline::RamLogStore queue_store(tether::Span<std::uint8_t>(queue_storage, kQueueBytes),
                                                  kQueueSegments);
  tether::QueueSettings queue_settings;
  queue_settings.boot_id = 0x0b007001;  // a firmware counts its boots in flash
  if (queue_settings.max_inflight > tether::kMaxQueueInflight) {  // a small TETHER_MAX_QUEUE_INFLIGHT
    queue_settings.max_inflight = static_cast<std::uint16_t>(tether::kMaxQueueInflight);
  }
  static tether::OfflineQueue queue(agent, queue_settings);
  const auto stream = queue.add_stream(tether::StreamSettings{}, queue_store);
  if (!stream.ok()) return 3;
  static const tether::StreamId telemetry_stream = *stream;

  static tether::shadow::Shadow shadow(agent, /*store=*/nullptr);
  static std::int64_t interval_s = 60;
  if (!shadow
           .on_desired("telemetry_interval_s",
                       [](const tether::shadow::DesiredChange& c) {
                         const auto v = c.value.as_int();
                         if (!v.ok() || *v < 1 || *v > 86400) return tether::shadow::DesiredResult::reject("1..86400");
                         interval_s = *v;
                         return tether::shadow::DesiredResult{};
                       })
           .ok()) {
    return 4;
  }

  // Jobs, the commands service a microcontroller fleet uses. (AWS IoT Commands, CommandAdapter, would
  // add three subscriptions and its codec.)
  static tether::commands::JobsAdapter jobs(tether::commands::JobsAdapterSettings{}, 0x4a4f4253);
  static tether::commands::Inbox inbox(agent, /*journal=*/nullptr);
  if (!inbox.add_adapter(jobs).ok()) return 5;
  if (!inbox
           .on_command("blink",
                       [](const tether::commands::CommandContext& c) { (void)inbox.succeed(c.execution); })
           .ok()) {
    return 5;
  }
#if FOOTPRINT_FEATURES >= 2
  static NullSystem system;
  static tether::commands::Builtins builtins(inbox, system, config.commands);
  if (!builtins.start().ok()) return 5;
#endif
  if (!inbox.start().ok()) return 5;

  static NullMetricsSource metrics_source;
  tether::metrics::ReporterSettings reporter_settings;
  reporter_settings.queue = &queue;
  reporter_settings.stream = telemetry_stream;
  static tether::metrics::Reporter reporter(agent, metrics_source, reporter_settings);
  if (!reporter.start().ok()) return 6;
  tether::ErrorText why;
  if (!shadow.start(&why).ok()) {
    std::printf("footprint: the shadow did not start: %s\n", why.c_str());
    return 4;
  }

  // Telemetry through the queue from an agent timer, as a firmware's main loop would.
  // (A 1 s timer that queues a record every interval_s turns, so the shadow's value takes effect.)
  const auto timer = agent.start_timer(tether::Milliseconds(1000), [] {
    static std::int64_t turns = 0;
    if (++turns < interval_s) return;
    turns = 0;
    static const char kRecord[] = R"({"temp_c":21})";
    char t[tether::kMaxTopic];
    const auto telemetry = agent.topics().build(t, tether::TopicFamily::kTelemetry, "telemetry");
    if (telemetry.ok()) {
      (void)queue.publish(telemetry_stream, *telemetry, tether::as_bytes(std::string_view(kRecord, sizeof kRecord - 1)));
    }
  });
  if (!timer.ok()) return 7;
#endif

  if (!agent.start().ok()) return 8;
  for (int i = 0; i < 20; ++i) {
    if (!agent.run_once(tether::Milliseconds(5)).ok()) return 9;
  }
  (void)agent.stop();  // never connected: stops at once
  for (int i = 0; i < 20 && agent.state() != tether::AgentState::kStopped; ++i) {
    (void)agent.run_once(tether::Milliseconds(5));
  }
  return agent.state() == tether::AgentState::kStopped ? 0 : 10;
}

}  // namespace

int main() { return run(); }
