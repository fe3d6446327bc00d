// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// `tether::metrics::Reporter`: an AgentComponent that reads the device's metrics every
/// `interval`, publishes a Device Defender report (report.hpp) and checks the on-device rules
/// (rules.hpp) every `rules_interval`, publishing each raised or cleared violation as an alert.
///
/// ## Reports
/// - Topic: `$aws/things/<thing>/defender/metrics/json|cbor` on the AWS profile,
///   `things/<thing>/metrics/json|cbor` on the neutral one (`<thing>`: `settings.thing`, or the
///   agent's thing; a gateway reports for another thing by naming it).
/// - The interval is at least 300 s on the AWS profile (the service throttles faster reporting);
///   `allow_short_interval` lifts the floor (tests, the neutral profile's own services).
/// - report_id: the wall clock in milliseconds since the epoch when it is known (the documented
///   recommendation is an epoch time; milliseconds so that a restart within a second does not
///   repeat an id), kept strictly increasing across reports (and across restarts when the wall
///   clock is right; the monotonic clock otherwise).
/// - network_stats are the deltas since the snapshot of the last report that was handed on
///   (published, or queued): a report that could not go keeps its traffic for the next one.
/// - While the agent is offline: with an OfflineQueue stream in the settings, reports go into the
///   queue and are delivered in order after the reconnect; without one, a due report is skipped
///   (counted, logged) and the next report covers the whole time.
/// - Answers on `.../accepted` and `.../rejected` are counted; a rejection's statusDetails
///   (ErrorCode, ErrorMessage) reach the event handler (JSON formats; CBOR answers are counted).
///
/// ## Rules and alerts
/// Violations are evaluated on a snapshot every `rules_interval` (and with every report). Each
/// change goes to the event handler at once and, when `alert_topic` is set, is published there
/// (encode_alert). Alerts made while offline wait (at most kMaxPendingAlerts, the oldest dropped
/// and counted) and go after the reconnect.
///
/// Heap-free: a snapshot, two interface baselines, a rule engine and a report buffer (about 40 KB
/// with the default capacities on x86-64: make it static).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/agent.hpp"
#include "tether/config.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/inplace_function.hpp"
#include "tether/metrics/report.hpp"
#include "tether/metrics/rules.hpp"
#include "tether/metrics/snapshot.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/metrics_source.hpp"

#ifndef TETHER_METRICS_REPORT_BYTES
#define TETHER_METRICS_REPORT_BYTES 16384  ///< largest report the reporter writes
#endif

namespace tether::metrics {

inline constexpr std::size_t kMaxReportBytes = TETHER_METRICS_REPORT_BYTES;
inline constexpr std::size_t kMaxPendingAlerts = 8;
/// The AWS floor between two reports.
inline constexpr Milliseconds kMinReportInterval{300000};

struct ReporterSettings {
  ReportFormat format = ReportFormat::kJsonShort;
  Milliseconds interval{300000};       ///< between reports (>= kMinReportInterval on AWS, see above)
  Milliseconds rules_interval{10000};  ///< between rule checks; 0 = only with reports
  bool allow_short_interval = false;   ///< lift the 300 s floor
  std::string_view thing;              ///< report for this thing; empty = the agent's (viewed: must outlive)
  std::string_view alert_topic;        ///< publish rule changes here; empty = events only (viewed)
  OfflineQueue* queue = nullptr;       ///< reports through this queue's `stream` (else direct, skipped offline)
  StreamId stream{};
};

enum class ReporterEventType : std::uint8_t {
  kReportSent,       ///< published (or queued); `report_id`, `bytes`
  kReportSkipped,    ///< offline without a queue, or the publish failed; `status`
  kReportFailed,     ///< the report could not be built (snapshot or encoding); `status`, `message`
  kAccepted,         ///< the service accepted a report
  kRejected,         ///< the service rejected a report; `message` = "<ErrorCode>: <ErrorMessage>"
  kRuleRaised,       ///< `rule`
  kRuleCleared,      ///< `rule`
};
const char* to_string(ReporterEventType type);

struct ReporterEvent {
  ReporterEventType type = ReporterEventType::kReportSent;
  std::int64_t report_id = 0;
  std::size_t bytes = 0;
  Status status;
  std::string_view message;  ///< valid during the call
  const RuleEvent* rule = nullptr;  ///< kRuleRaised/kRuleCleared; valid during the call
};

struct ReporterStats {
  std::uint32_t snapshots = 0;
  std::uint32_t snapshot_errors = 0;
  std::uint32_t reports_sent = 0;
  std::uint32_t reports_skipped = 0;
  std::uint32_t reports_failed = 0;
  std::uint32_t accepted = 0;
  std::uint32_t rejected = 0;
  std::uint32_t alerts_sent = 0;
  std::uint32_t alerts_dropped = 0;
  std::size_t last_report_bytes = 0;
};

using ReporterEventHandler = InplaceFunction<void(const ReporterEvent&), 4 * sizeof(void*)>;
/// Called before each report: returns the custom metrics to send (views valid until the report is
/// written, within the call of the reporter's tick).
using CustomMetricsProvider = InplaceFunction<Span<const CustomMetric>(), 4 * sizeof(void*)>;

class Reporter final : public AgentComponent {
 public:
  /// `agent` and `source` must outlive the reporter.
  Reporter(Agent& agent, port::MetricsSource& source, const ReporterSettings& settings = {});
  ~Reporter() override;
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  /// Sets the rules (RuleEngine::set_rules). Before or after start().
  Status set_rules(const RuleSet& rules, ErrorText* why = nullptr) { return rules_.set_rules(rules, why); }
  void set_event_handler(ReporterEventHandler handler) { handler_ = handler; }
  void set_custom_metrics(CustomMetricsProvider provider) { custom_ = provider; }

  /// Checks the settings, subscribes to the answers and attaches to the agent; the first report
  /// is due one interval after start() (a rule check at once). Returns ok, kFailedPrecondition
  /// (started), kInvalidArgument/kMetrics (settings: an interval under the floor, kCbor without
  /// libcbor, a bad thing or alert topic; `why` says which), or the agent's errors.
  Status start(ErrorText* why = nullptr);

  /// Takes a snapshot, checks the rules and sends a report now (the interval restarts).
  Status report_now();

  const ReporterStats& stats() const { return stats_; }
  const RuleEngine& rules() const { return rules_; }
  std::int64_t last_report_id() const { return last_report_id_; }
  std::string_view report_topic() const { return std::string_view(topic_, topic_size_); }

 private:
  void on_agent_event(const AgentEvent& event) override;
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  Status take_snapshot(Snapshot& out);
  void check_rules(const Snapshot& now, const NetworkBaseline* previous);
  void publish_alert(const RuleEvent& event);
  bool send_alert(const RuleEvent& event);
  void flush_alerts();
  Status send_report(Milliseconds now);
  void on_answer(bool accepted, Span<const std::uint8_t> payload);
  void emit(const ReporterEvent& event);

  Agent& agent_;
  port::MetricsSource& source_;
  ReporterSettings settings_;
  RuleEngine rules_;
  ReporterEventHandler handler_;
  CustomMetricsProvider custom_;
  bool started_ = false;
  bool attached_ = false;
  bool have_reported_ = false;  // reported_ holds the snapshot of the last report handed on
  bool have_rules_snapshot_ = false;
  Snapshot current_;
  NetworkBaseline reported_;        // of the last report handed on: the base of the next deltas
  NetworkBaseline rules_previous_;  // of the last rule check: the base of the byte rates
  Milliseconds next_report_ = Milliseconds::max();
  Milliseconds next_rules_ = Milliseconds::max();
  std::int64_t last_report_id_ = 0;
  char topic_[kMaxTopic] = {};
  std::size_t topic_size_ = 0;
  char accepted_filter_[kMaxTopic] = {};
  char rejected_filter_[kMaxTopic] = {};
  FixedVector<RuleEvent, kMaxPendingAlerts> pending_alerts_;
  ReporterStats stats_;
  std::uint8_t buffer_[kMaxReportBytes] = {};
};

/// The reporter settings and rules the "metrics" section of the configuration declares
/// (docs/configuration.md): format, intervals, alert topic (viewed: `config` must outlive
/// `settings`), rules (networks parsed with parse_cidr, hardware entries "<kind>[ <prefix>]").
/// `queue`/`stream` and `thing` are left as they are. Returns ok, kFailedPrecondition/kMetrics
/// (the section is absent or turned off), or kInvalidArgument/kMetrics naming the entry (a network
/// with host bits below its prefix, which the configuration parser does not check).
Status settings_from_config(const AgentConfig& config, ReporterSettings* settings, RuleSet* rules,
                            ErrorText* why = nullptr);

}  // namespace tether::metrics
