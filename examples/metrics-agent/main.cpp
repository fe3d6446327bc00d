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
#include <memory>
#include <string_view>

#include "example_support.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"

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

void on_event(std::string_view thing, const tether::metrics::ReporterEvent& e) {
  using tether::metrics::ReporterEventType;
  switch (e.type) {
    case ReporterEventType::kReportSent:
      std::printf("REPORT id=%" PRId64 " bytes=%zu\n", e.report_id, e.bytes);
      break;
    case ReporterEventType::kAccepted: std::printf("ACCEPTED\n"); break;
    case ReporterEventType::kRejected:
      std::printf("REJECTED %.*s\n", static_cast<int>(e.message.size()), e.message.data());
      break;
    case ReporterEventType::kRuleRaised:
    case ReporterEventType::kRuleCleared: {
      char alert[512];
      const tether::Result<std::string_view> text =
          tether::metrics::encode_alert(thing, *e.rule, 0, tether::Span<char>(alert, sizeof alert));
      std::printf("RULE %s %.*s\n", e.rule->raised ? "raised" : "cleared",
                  static_cast<int>(text.ok() ? text.value().size() : 0), text.ok() ? text.value().data() : "");
      break;
    }
    default:
      break;  // skipped and failed reports are in the log
  }
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    std::fprintf(stderr, "usage: %s CONFIG.json [--duration S] [--report-now]\n", argv[0]);
    return 1;
  }
  tether::AgentConfig config;
  if (!tether::examples::load_config("metrics-agent", options.config, config)) return 1;
  tether::metrics::ReporterSettings settings;
  tether::metrics::RuleSet rules;
  tether::ErrorText why;
  if (!tether::metrics::settings_from_config(config, &settings, &rules, &why).ok()) {
    std::fprintf(stderr, "metrics-agent: %s: %s\n", options.config, why.c_str());
    return 1;
  }

  tether::examples::LinuxAgent device(config);
  tether::Agent& agent = device.agent;
  tether::port::LinuxMetricsSourceSettings source_settings;
  source_settings.clock = &device.clock;
  tether::port::LinuxMetricsSource source(source_settings);
  // About 41 KB (a snapshot, baselines, rules, a 16 KB report buffer): on the heap, not the stack.
  auto reporter = std::make_unique<tether::metrics::Reporter>(agent, source, settings);
  reporter->set_event_handler([&config](const tether::metrics::ReporterEvent& e) { on_event(config.thing_name.view(), e); });

  // Custom metrics from the latest snapshot the source took (values are filled just before each
  // report, and the array stays valid while the report is written).
  struct Custom {
    tether::port::LinuxMetricsSource* source;
    tether::metrics::Snapshot snapshot;
    tether::metrics::CustomMetric metrics[2];
  };
  auto custom = std::make_unique<Custom>();
  custom->source = &source;
  reporter->set_custom_metrics([c = custom.get()]() -> tether::Span<const tether::metrics::CustomMetric> {
    c->source->snapshot(c->snapshot).ignore();  // extras are filled even when a list line was skipped
    c->metrics[0] = tether::metrics::CustomMetric::number("process_count", c->snapshot.extras.process_count);
    c->metrics[1] = tether::metrics::CustomMetric::number(
        "memory_available_mb", static_cast<double>(c->snapshot.extras.memory_available_bytes / (1024 * 1024)));
    return tether::Span<const tether::metrics::CustomMetric>(c->metrics, 2);
  });

  if (!reporter->set_rules(rules, &why).ok() || !reporter->start(&why).ok()) {
    std::fprintf(stderr, "metrics-agent: the reporter did not start: %s\n", why.c_str());
    return 2;
  }
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
  const tether::metrics::ReporterStats& st = reporter->stats();
  TETHER_LOG_INFO(agent.logger(), tether::Origin::kApp,
                  "bye (%u report(s) sent, %u accepted, %u rejected, %u skipped; %u alert(s))",
                  static_cast<unsigned>(st.reports_sent), static_cast<unsigned>(st.accepted),
                  static_cast<unsigned>(st.rejected), static_cast<unsigned>(st.reports_skipped),
                  static_cast<unsigned>(st.alerts_sent));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
