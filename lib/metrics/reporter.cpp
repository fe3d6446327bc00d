// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The metrics reporter: snapshots on a schedule, Device Defender reports, on-device rules and
// their alerts.

#include "tether/metrics/reporter.hpp"

#include <cstdio>
#include <cstring>

#include "tether/decimal.hpp"
#include "tether/json.hpp"
#include "tether/log.hpp"
#include "tether/topics.hpp"
#include "tether/utf8.hpp"

namespace tether::metrics {
namespace {

Status metrics_error(StatusCode code) { return Status(code, Origin::kMetrics, 0); }

// Appends `parts` to `out` (kMaxTopic bytes); false when they do not fit.
bool build_topic(char* out, std::size_t& size, std::initializer_list<std::string_view> parts) {
  size = 0;
  for (std::string_view p : parts) {
    if (p.size() > kMaxTopic - 1 - size) return false;
    std::memcpy(out + size, p.data(), p.size());
    size += p.size();
  }
  out[size] = '\0';
  return true;
}

}  // namespace

const char* to_string(ReporterEventType type) {
  switch (type) {
    case ReporterEventType::kReportSent: return "report sent";
    case ReporterEventType::kReportSkipped: return "report skipped";
    case ReporterEventType::kReportFailed: return "report failed";
    case ReporterEventType::kAccepted: return "report accepted";
    case ReporterEventType::kRejected: return "report rejected";
    case ReporterEventType::kRuleRaised: return "rule raised";
    case ReporterEventType::kRuleCleared: return "rule cleared";
  }
  return "?";
}

Reporter::Reporter(Agent& agent, port::MetricsSource& source, const ReporterSettings& settings)
    : agent_(agent), source_(source), settings_(settings) {}

Reporter::~Reporter() {
  if (!attached_) return;
  agent_.unsubscribe(accepted_filter_).ignore();
  agent_.unsubscribe(rejected_filter_).ignore();
  agent_.detach(*this).ignore();
}

Status Reporter::start(ErrorText* why) {
  if (started_) return metrics_error(StatusCode::kFailedPrecondition);
  const AgentConfig& config = agent_.config();
  const bool aws = config.profile == TopicProfile::kAws;
  if (aws && !settings_.allow_short_interval && settings_.interval < kMinReportInterval) {
    set_error_text(why,
                   "metrics interval %s ms is below the 300 s the AWS service allows (allow_short_interval lifts it)",
                   Decimal(settings_.interval.count()).c_str());
    return metrics_error(StatusCode::kInvalidArgument);
  }
  if (settings_.interval.count() < 1 || settings_.rules_interval.count() < 0) {
    set_error_text(why, "metrics interval must be at least 1 ms and rules_interval 0 or more");
    return metrics_error(StatusCode::kInvalidArgument);
  }
  if (settings_.format == ReportFormat::kCbor && !cbor_reports_available()) {
    set_error_text(why, "CBOR reports need libcbor, and this build has none: use a JSON format");
    return metrics_error(StatusCode::kUnimplemented);
  }
  const std::string_view thing = settings_.thing.empty() ? config.thing_name.view() : settings_.thing;
  ErrorText thing_why;
  if (!validate_thing_name(thing, config.profile, &thing_why).ok()) {
    set_error_text(why, "metrics thing \"%.*s\": %s", static_cast<int>(utf8::prefix_bytes(thing, 64).size()),
                   thing.data(), thing_why.c_str());
    return metrics_error(StatusCode::kInvalidArgument);
  }
  const std::string_view suffix = topic_suffix(settings_.format);
  const std::string_view head = aws ? "$aws/things/" : "things/";
  const std::string_view tail = aws ? "/defender/metrics/" : "/metrics/";
  std::size_t size = 0;
  if (!build_topic(topic_, topic_size_, {head, thing, tail, suffix}) ||
      !build_topic(accepted_filter_, size, {head, thing, tail, suffix, "/accepted"}) ||
      !build_topic(rejected_filter_, size, {head, thing, tail, suffix, "/rejected"})) {
    set_error_text(why, "metrics topics for thing \"%.*s\" are longer than %u bytes",
                   static_cast<int>(utf8::prefix_bytes(thing, 64).size()), thing.data(), static_cast<unsigned>(kMaxTopic));
    return metrics_error(StatusCode::kInvalidArgument);
  }
  if (!settings_.alert_topic.empty()) {
    ErrorText topic_why;
    const Status valid = validate_topic_name(settings_.alert_topic, config.profile, &topic_why);
    if (!valid.ok()) {
      set_error_text(why, "metrics alert_topic \"%.*s\": %s",
                     static_cast<int>(utf8::prefix_bytes(settings_.alert_topic, 64).size()), settings_.alert_topic.data(),
                     topic_why.c_str());
      return valid;
    }
  }
  Status s = agent_.subscribe(accepted_filter_, Qos::k1, [this](const InboundMessage& m) { on_answer(true, m.payload); });
  if (s.ok()) {
    s = agent_.subscribe(rejected_filter_, Qos::k1, [this](const InboundMessage& m) { on_answer(false, m.payload); });
    if (!s.ok()) agent_.unsubscribe(accepted_filter_).ignore();
  }
  if (s.ok()) {
    s = agent_.attach(*this);
    if (!s.ok()) {
      agent_.unsubscribe(accepted_filter_).ignore();
      agent_.unsubscribe(rejected_filter_).ignore();
    }
  }
  if (!s.ok()) {
    set_error_text(why, "metrics: the agent refused the answer subscriptions or the component");
    return s;
  }
  attached_ = true;
  started_ = true;
  const Milliseconds now = agent_.clock().now();
  next_report_ = now + settings_.interval;
  next_rules_ = now;  // a rule check at once: a device that boots with a violation says so
  TETHER_LOG_INFO(agent_.logger(), Origin::kMetrics, "%s reports to %s every %s s%s%s", to_string(settings_.format),
                  topic_, Decimal(settings_.interval.count() / 1000).c_str(),
                  settings_.queue != nullptr ? " (through the offline queue)" : "",
                  rules_.rules().empty() ? "" : "; on-device rules on");
  return Status();
}

Milliseconds Reporter::next_tick_due() const {
  if (!started_) return Milliseconds::max();
  Milliseconds due = next_report_;
  if (settings_.rules_interval.count() > 0 && next_rules_ < due) due = next_rules_;
  return due;
}

void Reporter::on_agent_event(const AgentEvent& event) {
  if (event.type == AgentEventType::kConnected) flush_alerts();
}

void Reporter::on_agent_tick(Milliseconds now) {
  if (!started_) return;
  if (now >= next_report_) {
    next_report_ = now + settings_.interval;
    if (settings_.rules_interval.count() > 0) next_rules_ = now + settings_.rules_interval;
    send_report(now).ignore();
    return;
  }
  if (settings_.rules_interval.count() > 0 && now >= next_rules_) {
    next_rules_ = now + settings_.rules_interval;
    if (take_snapshot(current_).ok()) check_rules(current_, have_rules_snapshot_ ? &rules_previous_ : nullptr);
  }
}

Status Reporter::report_now() {
  if (!started_) return metrics_error(StatusCode::kFailedPrecondition);
  const Milliseconds now = agent_.clock().now();
  next_report_ = now + settings_.interval;
  return send_report(now);
}

Status Reporter::take_snapshot(Snapshot& out) {
  ++stats_.snapshots;
  const Status s = source_.snapshot(out);
  if (!s.ok()) {
    ++stats_.snapshot_errors;
    // A partial snapshot is still used (a malformed line skipped, say); the error is reported.
    TETHER_LOG_WARN(agent_.logger(), Origin::kMetrics, s, "the snapshot is incomplete");
  }
  if (out.taken_at.count() == 0) out.taken_at = agent_.clock().now();
  return s.code() == StatusCode::kDataLoss || s.ok() ? Status() : s;
}

void Reporter::check_rules(const Snapshot& now, const NetworkBaseline* previous) {
  if (rules_.rules().empty()) return;
  RuleEvent events[kMaxPendingAlerts];
  const Evaluation e = rules_.evaluate(now, previous, Span<RuleEvent>(events, kMaxPendingAlerts));
  for (std::size_t i = 0; i < e.events; ++i) {
    ReporterEvent event;
    event.type = events[i].raised ? ReporterEventType::kRuleRaised : ReporterEventType::kRuleCleared;
    event.rule = &events[i];
    TETHER_LOG_WARN(agent_.logger(), Origin::kMetrics, Status(), "rule %s %s",
                    to_string(events[i].violation.kind), events[i].raised ? "violated" : "satisfied again");
    emit(event);
    publish_alert(events[i]);
  }
  rules_previous_ = NetworkBaseline::of(now);
  have_rules_snapshot_ = true;
}

void Reporter::publish_alert(const RuleEvent& event) {
  if (settings_.alert_topic.empty()) return;
  // In order: while older alerts wait, a new one waits behind them.
  if (pending_alerts_.empty() && agent_.connected() && send_alert(event)) return;
  if (pending_alerts_.size() == kMaxPendingAlerts) {
    pending_alerts_.erase(0);  // the oldest goes
    ++stats_.alerts_dropped;
  }
  static_cast<void>(pending_alerts_.push_back(event));  // room made above
  flush_alerts();
}

bool Reporter::send_alert(const RuleEvent& event) {
  char buf[512];
  const std::string_view thing = settings_.thing.empty() ? agent_.config().thing_name.view() : settings_.thing;
  const std::int64_t wall = agent_.clock().wall_time_ms().value_or(0);
  const Result<std::string_view> text = encode_alert(thing, event, wall, Span<char>(buf, sizeof buf));
  if (!text.ok()) {
    // 512 bytes hold every alert (names and addresses are bounded); count it rather than retry.
    ++stats_.alerts_dropped;
    return true;
  }
  if (!agent_.publish(settings_.alert_topic, as_bytes(text.value()), Qos::k1).ok()) return false;
  ++stats_.alerts_sent;
  return true;
}

void Reporter::flush_alerts() {
  while (!pending_alerts_.empty() && agent_.connected()) {
    if (!send_alert(pending_alerts_[0])) return;  // refused now (in-flight window full): next time
    pending_alerts_.erase(0);
  }
}

Status Reporter::send_report(Milliseconds now) {
  Status s = take_snapshot(current_);
  if (!s.ok()) {
    ++stats_.reports_failed;
    ReporterEvent event;
    event.type = ReporterEventType::kReportFailed;
    event.status = s;
    event.message = "the metrics source failed";
    emit(event);
    return s;
  }
  check_rules(current_, have_rules_snapshot_ ? &rules_previous_ : nullptr);

  // report_id: wall milliseconds when known (epoch time, as documented; milliseconds so that a
  // restart within the same second does not repeat an id), strictly increasing either way.
  const Result<std::int64_t> wall = agent_.clock().wall_time_ms();
  std::int64_t id = wall.ok() && wall.value() > 0 ? wall.value() : now.count();
  if (id <= last_report_id_) id = last_report_id_ + 1;

  ReportInput input;
  input.report_id = id;
  input.snapshot = &current_;
  input.previous_interfaces = have_reported_ ? &reported_.interfaces : nullptr;
  if (custom_) input.custom = custom_();
  ErrorText why;
  const Result<Span<std::uint8_t>> body =
      encode_report(input, settings_.format, Span<std::uint8_t>(buffer_, sizeof buffer_), &why);
  if (!body.ok()) {
    ++stats_.reports_failed;
    TETHER_LOG_ERROR(agent_.logger(), Origin::kMetrics, body.status(), "report %s not written: %s", Decimal(id).c_str(),
                     why.c_str());
    ReporterEvent event;
    event.type = ReporterEventType::kReportFailed;
    event.report_id = id;
    event.status = body.status();
    event.message = why.view();
    emit(event);
    return body.status();
  }
  const Span<const std::uint8_t> payload(body.value().data(), body.value().size());
  PublishProperties properties;
  if (agent_.config().mqtt.version == MqttVersion::k5) {
    properties.content_type = settings_.format == ReportFormat::kCbor ? "application/cbor" : "application/json";
  }
  if (settings_.queue != nullptr) {
    const Result<std::uint64_t> queued =
        settings_.queue->publish(settings_.stream, report_topic(), payload, properties, Qos::k1);
    s = queued.status();
  } else if (!agent_.connected()) {
    s = Status(StatusCode::kUnavailable, Origin::kAgent, 0);
  } else {
    s = agent_.publish(report_topic(), payload, Qos::k1, properties).status();
  }
  ReporterEvent event;
  event.report_id = id;
  event.bytes = payload.size();
  event.status = s;
  if (!s.ok()) {
    ++stats_.reports_skipped;
    event.type = ReporterEventType::kReportSkipped;
    TETHER_LOG_WARN(agent_.logger(), Origin::kMetrics, s, "report %s skipped (%s); the next report covers this period",
                    Decimal(id).c_str(), agent_.connected() ? "the publish was refused" : "offline, no queue");
    emit(event);
    return s;
  }
  // Handed on: its snapshot is the base of the next deltas.
  last_report_id_ = id;
  reported_ = NetworkBaseline::of(current_);
  have_reported_ = true;
  ++stats_.reports_sent;
  stats_.last_report_bytes = payload.size();
  event.type = ReporterEventType::kReportSent;
  TETHER_LOG_DEBUG(agent_.logger(), Origin::kMetrics, "report %s (%lu bytes) to %s", Decimal(id).c_str(),
                   static_cast<unsigned long>(payload.size()), topic_);
  emit(event);
  return Status();
}

void Reporter::on_answer(bool accepted, Span<const std::uint8_t> payload) {
  ReporterEvent event;
  event.type = accepted ? ReporterEventType::kAccepted : ReporterEventType::kRejected;
  if (accepted) {
    ++stats_.accepted;
    emit(event);
    return;
  }
  ++stats_.rejected;
  char text[200] = "";
  if (settings_.format != ReportFormat::kCbor) {
    const std::string_view body(reinterpret_cast<const char*>(payload.data()), payload.size());
    json::parse(body, 4096, [&](const json::Value& root) {
      const json::Value details = root["statusDetails"];
      const std::string_view code = details["ErrorCode"].as_string().value_or("?");
      const std::string_view message = details["ErrorMessage"].as_string().value_or("");
      std::snprintf(text, sizeof text, "%.*s: %.*s", static_cast<int>(utf8::prefix_bytes(code, 60).size()), code.data(),
                    static_cast<int>(utf8::prefix_bytes(message, 120).size()), message.data());
      return Status();
    }).ignore();
  }
  TETHER_LOG_WARN(agent_.logger(), Origin::kMetrics, metrics_error(StatusCode::kInvalidArgument),
                  "a report was rejected: %s", text[0] != '\0' ? text : "(no details)");
  event.message = text;
  emit(event);
}

void Reporter::emit(const ReporterEvent& event) {
  if (handler_) handler_(event);
}

Status settings_from_config(const AgentConfig& config, ReporterSettings* settings, RuleSet* rules, ErrorText* why) {
  const MetricsConfig& m = config.metrics;
  if (!m.enabled) {
    set_error_text(why, "the configuration has no \"metrics\" section (or it is turned off)");
    return metrics_error(StatusCode::kFailedPrecondition);
  }
  static constexpr ReportFormat kFormats[] = {ReportFormat::kJsonLong, ReportFormat::kJsonShort, ReportFormat::kCbor};
  settings->format = kFormats[static_cast<std::size_t>(m.format) % 3];
  settings->interval = std::chrono::seconds(m.interval_s);
  settings->allow_short_interval = m.allow_short_interval;
  settings->rules_interval = std::chrono::seconds(m.rules_interval_s);
  settings->alert_topic = m.alert_topic.view();

  RuleSet out;
  out.check_tcp_ports = m.check_tcp_ports;
  for (std::size_t i = 0; i < m.tcp_port_count && i < kMaxRuleItems; ++i) {
    static_cast<void>(out.allowed_tcp_ports.push_back(m.tcp_ports[i]));
  }
  out.check_udp_ports = m.check_udp_ports;
  for (std::size_t i = 0; i < m.udp_port_count && i < kMaxRuleItems; ++i) {
    static_cast<void>(out.allowed_udp_ports.push_back(m.udp_ports[i]));
  }
  out.check_remote_networks = m.check_remote_networks;
  for (std::size_t i = 0; i < m.remote_network_count && i < kMaxRuleItems; ++i) {
    ErrorText cidr_why;
    const Result<Cidr> cidr = parse_cidr(m.remote_networks[i].view(), &cidr_why);
    if (!cidr.ok()) {
      set_error_text(why, "metrics.rules.remote_networks[%lu]: %s", static_cast<unsigned long>(i), cidr_why.c_str());
      return cidr.status();
    }
    static_cast<void>(out.allowed_remote_networks.push_back(cidr.value()));
  }
  for (std::size_t i = 0; i < m.inactive_hardware_count && i < kMaxRuleItems; ++i) {
    const std::string_view text = m.inactive_hardware[i].view();
    const std::size_t space = text.find(' ');
    const std::string_view kind = text.substr(0, space);
    HardwareRule rule;
    bool known = false;
    for (HardwareKind k : {HardwareKind::kSpi, HardwareKind::kI2c, HardwareKind::kUsb, HardwareKind::kSerial}) {
      if (kind == to_string(k)) {
        rule.kind = k;
        known = true;
      }
    }
    if (!known || (space != std::string_view::npos && !rule.name_prefix.assign(text.substr(space + 1)).ok())) {
      set_error_text(why,
                     "metrics.rules.inactive_hardware[%lu]: \"%.*s\" is not \"<spi|i2c|usb|serial>[ <name prefix>]\"",
                     static_cast<unsigned long>(i), static_cast<int>(utf8::prefix_bytes(text, 64).size()), text.data());
      return metrics_error(StatusCode::kInvalidArgument);
    }
    static_cast<void>(out.inactive_hardware.push_back(rule));
  }
  out.max_bytes_in_per_s = m.max_bytes_in_per_s;
  out.max_bytes_out_per_s = m.max_bytes_out_per_s;
  *rules = out;
  return Status();
}

}  // namespace tether::metrics
