// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bench-publish: publish throughput of Tether (Agent over PahoMqttClient) next to raw Paho MQTT C++,
// 100-byte payloads over mutual TLS to a local mosquitto, QoS 0 and QoS 1, in alternating rounds
// of one run. See README.md for what is measured and how to read it; scripts/bench.sh runs it
// against a throw-away test broker.
//
// Usage: bench-publish [--messages N] [--rounds R] [--warmup N] [--window W] [--payload-bytes B]
//                      [--qos 0|1|both] [--only tether|paho] [--host H] [--port P] [--certs DIR]
//                      [--verbose] [--paho-full-window] [--paho-trace-errors-only]
// The broker comes from TETHER_BROKER_HOST / TETHER_BROKER_PORT / TETHER_BROKER_DIR (written by
// scripts/test-broker.sh into broker.env) unless given by flags.
// Exit codes: 0 done, 1 bad usage, 2 a client could not connect, 3 a round failed.

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <MQTTAsync.h>

#include "bench.hpp"

namespace tether::bench {
namespace {

struct Sample {
  double rate = 0;            // msg/s
  double cpu_us_per_msg = 0;  // this process, all threads
  double broker_us_per_msg = -1;
  long peak_rss_kib = -1;
};

struct Series {
  std::vector<Sample> samples;
  long baseline_rss_kib = -1;
};

struct RunPlan {
  bool qos0 = true;
  bool qos1 = true;
  bool tether = true;
  bool paho = true;
  bool paho_trace_errors_only = false;  // process-wide, so it applies to both sides
};

constexpr char kUsage[] =
    "[--messages N] [--rounds R] [--warmup N] [--window W] [--payload-bytes B]\n"
    "          [--qos 0|1|both] [--only tether|paho] [--host H] [--port P] [--certs DIR] [--verbose]\n"
    "          [--paho-full-window] [--paho-trace-errors-only]\n"
    "The broker defaults to TETHER_BROKER_HOST/PORT/DIR (scripts/test-broker.sh); certificates:\n"
    "DIR/ca.crt, DIR/devices/device-1.crt, DIR/devices/device-1.key. scripts/bench.sh does it all.\n";

void parse_args(int argc, char** argv, Options& options, RunPlan& plan, Broker& broker) {
  const Args args("bench-publish", argv[0], kUsage);
  const auto on_flag = [&](const std::string& flag, const char* value) {
    if (flag == "--verbose") {
      options.verbose = true;
    } else if (flag == "--paho-full-window") {
      options.paho_full_window = true;
    } else if (flag == "--paho-trace-errors-only") {
      plan.paho_trace_errors_only = true;
    } else if (flag == "--messages") {
      options.messages = args.count("--messages", value, 1, 100000000);
    } else if (flag == "--rounds") {
      options.rounds = args.count("--rounds", value, 1, 1000);
    } else if (flag == "--warmup") {
      options.warmup = args.count("--warmup", value, 0, 100000000);
    } else if (flag == "--window") {
      options.window = args.count("--window", value, 1, 65535);
    } else if (flag == "--payload-bytes") {
      options.payload_bytes = args.count("--payload-bytes", value, 0, 256 * 1024);
    } else if (flag == "--qos") {
      const std::string qos = value;
      if (qos != "0" && qos != "1" && qos != "both") args.fail("--qos takes 0, 1 or both");
      plan.qos0 = qos != "1";
      plan.qos1 = qos != "0";
    } else if (flag == "--only") {
      const std::string side = value;
      if (side != "tether" && side != "paho") args.fail("--only takes tether or paho");
      plan.tether = side == "tether";
      plan.paho = side == "paho";
    } else {
      return false;
    }
    return true;
  };
  args.parse(argc, argv, {"--verbose", "--paho-full-window", "--paho-trace-errors-only"}, broker, on_flag);
  options.endpoint = broker.device(options.thing_name);
}

template <typename Field>
std::vector<double> collect(const Series& series, Field field) {
  std::vector<double> values;
  for (const Sample& s : series.samples) values.push_back(field(s));
  return values;
}

double median_rate(const Series& series) {
  return median(collect(series, [](const Sample& s) { return s.rate; }));
}

// One untimed or timed round of one side; prints a line for timed rounds.
bool run_round(Publisher& publisher, int qos, std::size_t messages, long broker, const char* label,
               Series* series) {
  const bool timed = series != nullptr;
  const bool rss_reset = reset_peak_rss();
  const long baseline = peak_rss_kib();
  const double broker_before = other_process_cpu_seconds(broker);
  const RoundResult result = publisher.run(qos, messages);
  const double broker_after = other_process_cpu_seconds(broker);
  if (!result.ok) {
    std::fprintf(stderr, "bench-publish: %s QoS %d %s failed: %s\n", publisher.name(), qos, label,
                 result.error.c_str());
    return false;
  }
  if (!timed) return true;
  Sample sample;
  sample.rate = static_cast<double>(result.messages) / result.seconds;
  sample.cpu_us_per_msg = result.cpu_seconds * 1e6 / static_cast<double>(result.messages);
  if (broker_before >= 0 && broker_after >= 0) {
    sample.broker_us_per_msg = (broker_after - broker_before) * 1e6 / static_cast<double>(result.messages);
  }
  sample.peak_rss_kib = peak_rss_kib();
  if (rss_reset && (series->baseline_rss_kib < 0 || baseline < series->baseline_rss_kib)) {
    series->baseline_rss_kib = baseline;
  }
  series->samples.push_back(sample);
  char broker_text[16] = "  n/a";
  if (sample.broker_us_per_msg >= 0) {
    std::snprintf(broker_text, sizeof broker_text, "%5.1f", sample.broker_us_per_msg);
  }
  std::printf("  qos%d %-6s %-9s %9.0f msg/s  %6.3f s  cpu %5.1f us/msg  broker %s us/msg  "
              "%4.2f context switches/msg  window %zu\n",
              qos, publisher.name(), label, sample.rate, result.seconds, sample.cpu_us_per_msg, broker_text,
              static_cast<double>(result.context_switches) / static_cast<double>(result.messages),
              result.window_used);
  std::fflush(stdout);
  return true;
}

void print_summary_row(int qos, const char* side, const Series& series) {
  if (series.samples.empty()) return;
  const std::vector<double> rates = collect(series, [](const Sample& s) { return s.rate; });
  const double cpu = median(collect(series, [](const Sample& s) { return s.cpu_us_per_msg; }));
  const double broker = median(collect(series, [](const Sample& s) { return s.broker_us_per_msg; }));
  long peak = -1;
  for (const Sample& s : series.samples) peak = std::max(peak, s.peak_rss_kib);
  std::printf("qos%d  %-6s  %12.0f  %9.0f  %9.0f  %12.1f  %15.1f  %13.1f  %17.1f\n", qos, side, median(rates),
              *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()), cpu,
              broker, static_cast<double>(peak) / 1024.0, static_cast<double>(series.baseline_rss_kib) / 1024.0);
}

int run(int argc, char** argv) {
  Options options;
  RunPlan plan;
  Broker broker;
  parse_args(argc, argv, options, plan, broker);

  std::vector<std::uint8_t> payload(options.payload_bytes);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>('a' + i % 26);

  // Paho C formats a record of every packet into an in-memory trace ring unless told otherwise.
  if (plan.paho_trace_errors_only) MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);

  std::vector<std::unique_ptr<Publisher>> publishers;
  if (plan.tether) publishers.push_back(make_tether_publisher(options, payload));
  if (plan.paho) publishers.push_back(make_paho_publisher(options, payload));
  for (auto& publisher : publishers) {
    std::string error;
    if (!publisher->connect(error)) {
      std::fprintf(stderr, "bench-publish: %s could not connect to %s:%u: %s\n", publisher->name(),
                   options.endpoint.host.c_str(), static_cast<unsigned>(options.endpoint.port), error.c_str());
      return 2;
    }
  }
  const long broker_pid = broker.broker_pid();

  std::printf("bench-publish: %zu-byte payloads to '%s' over TLS 1.2 (MQTT 5) at %s:%u as %s\n",
              options.payload_bytes, options.topic.c_str(), options.endpoint.host.c_str(),
              static_cast<unsigned>(options.endpoint.port), options.thing_name.c_str());
  std::printf("  %zu messages per round, %zu rounds per side and QoS (alternating), %zu warm-up messages each\n",
              options.messages, options.rounds, options.warmup);
  for (auto& publisher : publishers) {
    std::printf("  %-6s window: QoS 0 %zu, QoS 1 %zu\n", publisher->name(), options.window, publisher->qos1_window());
  }
  std::printf("  (QoS 1 window = min(--window %zu, the broker's Receive Maximum)%s)\n", options.window,
              options.paho_full_window ? "; paho ignores the Receive Maximum (--paho-full-window)" : "");
  if (plan.paho_trace_errors_only) std::printf("  Paho C trace level: errors only (both sides)\n");
  if (publishers.size() == 2 && publishers[0]->qos1_window() != publishers[1]->qos1_window()) {
    std::printf("  WARNING: the QoS 1 windows differ; the comparison is not like for like\n");
  }
  std::printf("\n");

  Series series[2][2];  // [qos][publisher]
  for (int qos = 0; qos <= 1; ++qos) {
    if ((qos == 0 && !plan.qos0) || (qos == 1 && !plan.qos1)) continue;
    for (auto& publisher : publishers) {
      if (options.warmup > 0 && !run_round(*publisher, qos, options.warmup, broker_pid, "warm-up", nullptr)) return 3;
    }
    for (std::size_t round = 1; round <= options.rounds; ++round) {
      const std::string label = "round " + std::to_string(round);
      for (std::size_t p = 0; p < publishers.size(); ++p) {
        if (!run_round(*publishers[p], qos, options.messages, broker_pid, label.c_str(), &series[qos][p])) return 3;
      }
    }
    std::printf("\n");
  }
  for (auto& publisher : publishers) publisher->disconnect();

  std::printf("QoS   side    median msg/s  min msg/s  max msg/s  CPU us/msg *  broker us/msg *  peak RSS MiB  RSS at start MiB\n");
  for (int qos = 0; qos <= 1; ++qos) {
    for (std::size_t p = 0; p < publishers.size(); ++p) print_summary_row(qos, publishers[p]->name(), series[qos][p]);
  }
  std::printf("* medians over the rounds; CPU = this process, all threads (user + system) / messages;\n"
              "  broker = mosquitto's CPU time / messages. RSS: both clients stay connected throughout,\n"
              "  the peak is the process's during that side's rounds.\n");
  if (publishers.size() == 2) {
    // Each Tether round against the Paho round right after it: robust to load that drifts
    // during the run (other jobs on the machine), unlike the ratio of the two medians.
    for (int qos = 0; qos <= 1; ++qos) {
      const Series& tether = series[qos][0];
      const Series& paho = series[qos][1];
      if (tether.samples.empty() || tether.samples.size() != paho.samples.size()) continue;
      std::vector<double> ratios;
      std::vector<double> cpu_ratios;
      for (std::size_t i = 0; i < tether.samples.size(); ++i) {
        ratios.push_back(tether.samples[i].rate / paho.samples[i].rate);
        cpu_ratios.push_back(tether.samples[i].cpu_us_per_msg / paho.samples[i].cpu_us_per_msg);
      }
      std::printf("qos%d  tether/paho per round pair: throughput median %.3f (min %.3f, max %.3f), "
                  "CPU per message median %.3f\n",
                  qos, median(ratios), *std::min_element(ratios.begin(), ratios.end()),
                  *std::max_element(ratios.begin(), ratios.end()), median(cpu_ratios));
    }
  }
  std::printf("\n");

  if (!(plan.tether && plan.paho && plan.qos0 && plan.qos1)) {
    std::printf("(partial run: no BENCH lines)\n");
    return 0;
  }
  const double q0_tether = median_rate(series[0][0]);
  const double q0_paho = median_rate(series[0][1]);
  const double q1_tether = median_rate(series[1][0]);
  const double q1_paho = median_rate(series[1][1]);
  std::printf("BENCH publish qos0_tether=%.0f qos0_paho=%.0f ratio_qos0=%.3f\n", q0_tether, q0_paho,
              q0_tether / q0_paho);
  std::printf("BENCH publish qos1_tether=%.0f qos1_paho=%.0f ratio=%.3f\n", q1_tether, q1_paho, q1_tether / q1_paho);
  return 0;
}

}  // namespace
}  // namespace tether::bench

int main(int argc, char** argv) { return tether::bench::run(argc, argv); }
