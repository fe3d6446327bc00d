// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The metrics side of an example agent on Linux, as examples/metrics-agent and
// examples/linux-agent (tether-agent) run it from the `metrics` section: this machine's metrics
// from /proc and /sys (tether::port::LinuxMetricsSource), a report every metrics.interval_s with
// two custom metrics (process_count, memory_available_mb), and the on-device rules. Header-only,
// for the examples (not part of the SDK's API). Destroy it before the agent.

#include <cinttypes>
#include <cstdio>
#include <string_view>
#include <memory>
#include <utility>

#include "example_support.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"

namespace tether::examples {

/// One stdout line per reporter event (flushed at once):
///   REPORT id=<report id> bytes=<n>             a report was published
///   ACCEPTED | REJECTED <code>: <message>       the service's answer
///   RULE raised|cleared <alert JSON>            an on-device rule changed
inline void print_reporter_event(std::string_view thing, const metrics::ReporterEvent& e) {
  using metrics::ReporterEventType;
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
      const Result<std::string_view> text =
          metrics::encode_alert(thing, *e.rule, 0, Span<char>(alert, sizeof alert));
      std::printf("RULE %s %.*s\n", e.rule->raised ? "raised" : "cleared",
                  static_cast<int>(text.ok() ? text.value().size() : 0), text.ok() ? text.value().data() : "");
      break;
    }
    default:
      break;  // skipped and failed reports are in the log
  }
  std::fflush(stdout);
}

class MetricsService {
 public:
  MetricsService() = default;
  MetricsService(const MetricsService&) = delete;
  MetricsService& operator=(const MetricsService&) = delete;

  /// Turns the `metrics` section into reporter settings and rules (1 after printing
  /// "<program>: <config_path>: <why>" when they are refused), builds the reporter with `handler`
  /// for its events and starts it (2 after printing why). 0 on success.
  template <typename Handler>
  int start(const char* program, const char* config_path, const AgentConfig& config, LinuxAgent& device,
            Handler&& handler) {
    metrics::ReporterSettings settings;
    metrics::RuleSet rules;
    ErrorText why;
    if (!metrics::settings_from_config(config, &settings, &rules, &why).ok()) {
      tell(LOG_ERR, "%s: %s: %s\n", program, config_path, why.c_str());
      return 1;
    }
    port::LinuxMetricsSourceSettings source_settings;
    source_settings.clock = &device.clock;
    source_ = std::make_unique<port::LinuxMetricsSource>(source_settings);
    // About 41 KB (a snapshot, baselines, rules, a 16 KB report buffer): on the heap, not the stack.
    reporter_ = std::make_unique<metrics::Reporter>(device.agent, *source_, settings);
    reporter_->set_event_handler(std::forward<Handler>(handler));
    // Custom metrics from the latest snapshot the source took (values are filled just before each
    // report, and the array stays valid while the report is written).
    custom_ = std::make_unique<Custom>();
    custom_->source = source_.get();
    reporter_->set_custom_metrics([c = custom_.get()]() -> Span<const metrics::CustomMetric> {
      c->source->snapshot(c->snapshot).ignore();  // extras are filled even when a list line was skipped
      c->metrics[0] = metrics::CustomMetric::number("process_count", c->snapshot.extras.process_count);
      c->metrics[1] = metrics::CustomMetric::number(
          "memory_available_mb", static_cast<double>(c->snapshot.extras.memory_available_bytes / (1024 * 1024)));
      return Span<const metrics::CustomMetric>(c->metrics, 2);
    });
    if (!reporter_->set_rules(rules, &why).ok() || !reporter_->start(&why).ok()) {
      tell(LOG_ERR, "%s: the reporter did not start: %s\n", program, why.c_str());
      return 2;
    }
    return 0;
  }

  metrics::Reporter& reporter() { return *reporter_; }

  /// The reporter's counters as one log line.
  void log_stats(Logger& logger) const {
    const metrics::ReporterStats& st = reporter_->stats();
    TETHER_LOG_INFO(logger, Origin::kApp, "metrics: %u report(s) sent, %u accepted, %u rejected, %u skipped; %u alert(s)",
                    static_cast<unsigned>(st.reports_sent), static_cast<unsigned>(st.accepted),
                    static_cast<unsigned>(st.rejected), static_cast<unsigned>(st.reports_skipped),
                    static_cast<unsigned>(st.alerts_sent));
  }

 private:
  struct Custom {
    port::LinuxMetricsSource* source;
    metrics::Snapshot snapshot;
    metrics::CustomMetric metrics[2];
  };

  std::unique_ptr<port::LinuxMetricsSource> source_;
  std::unique_ptr<Custom> custom_;
  std::unique_ptr<metrics::Reporter> reporter_;  // destroyed first
};

}  // namespace tether::examples
