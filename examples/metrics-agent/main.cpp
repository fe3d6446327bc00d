// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// metrics-agent: a device that reports Device Defender-style metrics and watches itself.
//   - reads a configuration file (docs/configuration.md) with a "metrics" section and connects
//     like minimal-agent,
//   - reads this machine's metrics from /proc and /sys (tether::port::LinuxMetricsSource: listening
//     ports, connections, IPv4 and IPv6, interface counters, active SPI/I2C/USB/serial interfaces),
//   - publishes a report every metrics.interval_s (tether::metrics::Reporter) in the configured
//     format, with two custom metrics (process_count, memory_available_mb),
//   - checks the on-device rules of metrics.rules every metrics.rules_interval_s and publishes each
//     violation raised or cleared on metrics.alert_topic,
//   - exits cleanly on SIGINT or SIGTERM, or after --duration seconds.
//
// Usage: metrics-agent CONFIG.json [--duration S] [--report-now]
//   --report-now   send a first report at once instead of one interval after the start
//
// stdout, one line per event, flushed at once:
//   REPORT id=<report id> bytes=<n>             a report was published
//   ACCEPTED | REJECTED <code>: <message>       the service's answer
//   RULE raised|cleared <alert JSON>            an on-device rule changed
// stderr: the agent's log. Exit codes: 0 clean stop, 1 bad usage or configuration, 2 the agent or
// the reporter could not start.

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "example_support.hpp"
#include "metrics_service.hpp"
#include "tether/metrics/reporter.hpp"

namespace {

struct Options {
  const char* config = nullptr;
  long duration_s = -1;
  bool report_now = false;
};

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--duration") == 0 && i + 1 < argc) {
      char* end = nullptr;
      errno = 0;
      o->duration_s = std::strtol(argv[++i], &end, 10);
      if (errno != 0 || *end != '\0' || o->duration_s < 0) return false;
    } else if (std::strcmp(arg, "--report-now") == 0) {
      o->report_now = true;
    } else if (arg[0] == '-' || o->config != nullptr) {
      return false;
    } else {
      o->config = arg;
    }
  }
  return o->config != nullptr;
}

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    tether::examples::tell(LOG_ERR, "usage: %s CONFIG.json [--duration S] [--report-now]\n", argv[0]);
    return 1;
  }
  tether::AgentConfig config;
  if (!tether::examples::load_config("metrics-agent", options.config, config)) return 1;
  tether::examples::LinuxAgent device(config);
  tether::Agent& agent = device.agent;
  tether::examples::MetricsService metrics;
  const int metrics_error = metrics.start("metrics-agent", options.config, config, device,
                                          [&config](const tether::metrics::ReporterEvent& e) {
                                            tether::examples::print_reporter_event(config.thing_name.view(), e);
                                          });
  if (metrics_error != 0) return metrics_error;
  tether::metrics::Reporter* reporter = &metrics.reporter();
  agent.set_event_handler([&agent, &reporter, &options](const tether::AgentEvent& e) {
    tether::examples::log_attention(agent.logger(), e);
    if (e.type == tether::AgentEventType::kConnected && options.report_now) {
      options.report_now = false;
      reporter->report_now().ignore();
    }
  });
  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;
  tether::examples::run_until_stopped(agent, device.clock, options.duration_s);
  metrics.log_stats(agent.logger());
  TETHER_LOG_INFO(agent.logger(), tether::Origin::kApp, "bye");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
