// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bench-shadow: the desired -> reported round trip through a Device Shadow with Tether (Agent +
// Shadow) on the device, next to a raw MQTT request/response round trip and to a hand-written Paho
// shadow device, timed the same way by one operator client in alternating rounds of one run. See
// README.md for what is measured and how to read it; scripts/bench.sh shadow starts the broker and
// tools/cloudsim and runs it.
//
// Usage: bench-shadow [--rounds R] [--trips N] [--warmup N] [--timeout-ms MS] [--state-dir DIR]
//                     [--host H] [--port P] [--certs DIR] [--verbose]
// The broker comes from TETHER_BROKER_HOST / TETHER_BROKER_PORT / TETHER_BROKER_DIR (written by
// scripts/test-broker.sh into broker.env) unless given by flags; tools/cloudsim must serve it.
// Exit codes: 0 done, 1 bad usage, 2 a client could not connect or sync, 3 a round trip failed.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bench_shadow.hpp"
#include "tether/json.hpp"

namespace tether::bench {
namespace {

constexpr char kUsage[] =
    "[--rounds R] [--trips N] [--warmup N] [--timeout-ms MS] [--state-dir DIR]\n"
    "          [--host H] [--port P] [--certs DIR] [--verbose]\n"
    "The broker defaults to TETHER_BROKER_HOST/PORT/DIR (scripts/test-broker.sh), with tools/cloudsim\n"
    "serving it; certificates: DIR/ca.crt, DIR/cloudsim.*, DIR/devices/device-1.*, DIR/devices/device-2.*.\n"
    "scripts/bench.sh shadow does it all.\n";

struct Options {
  std::size_t rounds = 5;     ///< timed rounds per side (alternating)
  std::size_t trips = 40;     ///< round trips per round, one after the other
  std::size_t warmup = 10;    ///< untimed round trips per side before the rounds
  std::chrono::milliseconds timeout{10000};  ///< one round trip at most
  std::string state_dir;      ///< the Tether device's replica store; empty = RAM only
  bool verbose = false;
};

Options parse_args(int argc, char** argv, Broker& broker) {
  const Args args("bench-shadow", argv[0], kUsage);
  Options options;
  args.parse(argc, argv, {"--verbose"}, broker, [&](const std::string& flag, const char* value) {
    if (flag == "--verbose") {
      options.verbose = true;
    } else if (flag == "--rounds") {
      options.rounds = args.count("--rounds", value, 1, 1000);
    } else if (flag == "--trips") {
      options.trips = args.count("--trips", value, 1, 100000);
    } else if (flag == "--warmup") {
      options.warmup = args.count("--warmup", value, 0, 100000);
    } else if (flag == "--timeout-ms") {
      options.timeout = std::chrono::milliseconds(args.count("--timeout-ms", value, 100, 600000));
    } else if (flag == "--state-dir") {
      options.state_dir = value;
    } else {
      return false;
    }
    return true;
  });
  return options;
}

// One way to get a value to a device and see it come back.
struct Route {
  const char* name;
  std::string request_topic;
  std::string reply_topic;
  bool shadow;          // request {"state":{"desired":{"seq":N}}}, reply reported.seq; else {"seq":N} both ways
  DeviceStamp* device;  // where the device notes that the request reached it

  std::string request(std::int64_t seq) const {
    const std::string n = std::to_string(seq);
    return shadow ? "{\"state\":{\"desired\":{\"seq\":" + n + "}}}" : "{\"seq\":" + n + "}";
  }
};

// The seq values a message carries: state.desired.seq, state.reported.seq, top-level seq.
struct Seqs {
  std::optional<std::int64_t> desired;
  std::optional<std::int64_t> reported;
  std::optional<std::int64_t> plain;
};

std::optional<std::int64_t> int_at(const json::Value& value) {
  const Result<std::int64_t> n = value.as_int();
  return n.ok() ? std::optional<std::int64_t>(n.value()) : std::nullopt;
}

Seqs read_seqs(const std::string& payload) {
  Seqs seqs;
  json::parse(payload, payload.size(), [&seqs](const json::Value& root) {
    seqs.desired = int_at(root["state"]["desired"]["seq"]);
    seqs.reported = int_at(root["state"]["reported"]["seq"]);
    seqs.plain = int_at(root["seq"]);
    return Status();
  }).ignore();  // not JSON: no seq, not the answer awaited
  return seqs;
}

// One timed round trip, milliseconds from the operator's publish.
struct Sample {
  double total = 0;      // until the answer reached the operator
  double at_device = -1; // until the request reached the device (-1: not seen)
  double cloud_ack = -1; // shadow routes: until the operator saw its own update accepted
};

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The operator: publishes a request and waits on a condition variable until its client's
// callback (Paho's thread) sees the answer. Every route is timed by this same code.
class Operator {
 public:
  explicit Operator(const Broker& broker)
      : peer_(broker.cloud(), "bench-shadow-operator",
              [this](PahoPeer&, const std::string& topic, const std::string& payload) { on_message(topic, payload); }) {}

  bool connect(const std::vector<std::string>& filters, std::string& error) { return peer_.connect(filters, error); }

  std::optional<Sample> trip(const Route& route, std::int64_t seq, std::chrono::milliseconds timeout,
                             std::string& error) {
    std::unique_lock<std::mutex> lock(mutex_);
    route_ = &route;
    seq_ = seq;
    ack_.reset();
    done_.reset();
    const Clock::time_point start = Clock::now();
    lock.unlock();
    if (!peer_.publish(route.request_topic, route.request(seq))) {
      error = "the operator could not publish to " + route.request_topic;
      return std::nullopt;
    }
    lock.lock();
    const bool answered = cv_.wait_until(lock, start + timeout, [this] { return done_.has_value(); });
    route_ = nullptr;
    if (!answered) {
      error = std::string(route.name) + ": no answer with seq " + std::to_string(seq) + " on " + route.reply_topic +
              " within " + std::to_string(timeout.count()) + " ms" + (peer_.lost() ? " (operator disconnected)" : "");
      return std::nullopt;
    }
    Sample sample;
    sample.total = ms_between(start, *done_);
    if (ack_) sample.cloud_ack = ms_between(start, *ack_);
    if (const auto seen = route.device->when(seq)) sample.at_device = ms_between(start, *seen);
    return sample;
  }

  void disconnect() { peer_.disconnect(); }

 private:
  void on_message(const std::string& topic, const std::string& payload) {
    const Clock::time_point now = Clock::now();
    const Seqs seqs = read_seqs(payload);
    std::lock_guard<std::mutex> lock(mutex_);
    if (route_ == nullptr || topic != route_->reply_topic) return;
    if (route_->shadow) {
      if (seqs.desired == seq_ && !ack_) ack_ = now;  // the service accepted the operator's own update
      if (seqs.reported == seq_) done_ = now;         // ... and the device's report
    } else if (seqs.plain == seq_) {
      done_ = now;
    }
    if (done_) cv_.notify_one();
  }

  PahoPeer peer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  const Route* route_ = nullptr;
  std::int64_t seq_ = 0;
  std::optional<Clock::time_point> ack_;
  std::optional<Clock::time_point> done_;
};

struct Series {
  std::vector<Sample> samples;
  std::vector<double> round_p50;
};

template <typename Field>
std::vector<double> collect(const std::vector<Sample>& samples, Field field) {
  std::vector<double> values;
  for (const Sample& s : samples) {
    const double v = field(s);
    if (v >= 0) values.push_back(v);
  }
  return values;
}

std::vector<double> totals(const std::vector<Sample>& samples) {
  return collect(samples, [](const Sample& s) { return s.total; });
}

// `count` round trips of one route; timed ones are added to `series` and summarised in a line.
bool run_round(Operator& op, const Route& route, std::size_t count, std::int64_t& seq, const Options& options,
               const char* label, Series* series) {
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < count; ++i) {
    std::string error;
    const std::optional<Sample> sample = op.trip(route, ++seq, options.timeout, error);
    if (!sample) {
      std::fprintf(stderr, "bench-shadow: %s %s failed: %s\n", route.name, label, error.c_str());
      return false;
    }
    samples.push_back(*sample);
  }
  if (series == nullptr) return true;
  const std::vector<double> t = totals(samples);
  series->round_p50.push_back(median(t));
  series->samples.insert(series->samples.end(), samples.begin(), samples.end());
  std::printf("  %-8s %-11s p50 %7.2f ms  p99 %7.2f ms  min %7.2f ms  max %7.2f ms  (%zu round trips)\n", label,
              route.name, median(t), percentile(t, 99), *std::min_element(t.begin(), t.end()),
              *std::max_element(t.begin(), t.end()), t.size());
  std::fflush(stdout);
  return true;
}

std::string ms_or_na(const std::vector<double>& values) {
  if (values.empty()) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", median(values));
  return buf;
}

void print_summary_row(const Route& route, const Series& series) {
  const std::vector<double> t = totals(series.samples);
  const auto at_device = collect(series.samples, [](const Sample& s) { return s.at_device; });
  const auto cloud_ack = collect(series.samples, [](const Sample& s) { return s.cloud_ack; });
  std::vector<double> back;  // from the device's receipt to the operator's
  for (const Sample& s : series.samples) {
    if (s.at_device >= 0) back.push_back(s.total - s.at_device);
  }
  std::printf("%-11s  %5zu  %7.2f  %7.2f  %7.2f  %7.2f  %13s  %15s  %13s\n", route.name, t.size(), median(t),
              percentile(t, 99), *std::min_element(t.begin(), t.end()), *std::max_element(t.begin(), t.end()),
              ms_or_na(at_device).c_str(), ms_or_na(back).c_str(), ms_or_na(cloud_ack).c_str());
}

// Median over the rounds of (this side's round p50 / the other side's p50 in the same round).
double paired_ratio(const Series& a, const Series& b) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < a.round_p50.size() && i < b.round_p50.size(); ++i) {
    ratios.push_back(a.round_p50[i] / b.round_p50[i]);
  }
  return median(ratios);
}

int run(int argc, char** argv) {
  Broker broker;
  const Options options = parse_args(argc, argv, broker);

  // The three sides. device-1's certificate serves the Tether device and the echo device (two
  // client ids); device-2's the hand-written shadow device, so the two shadows never mix.
  const std::string tether_thing = "device-1";
  const std::string paho_thing = "device-2";
  const std::string tether_prefix = "$aws/things/" + tether_thing + "/shadow";
  const std::string paho_prefix = "$aws/things/" + paho_thing + "/shadow";
  DeviceStamp tether_stamp;
  DeviceStamp raw_stamp;
  DeviceStamp paho_stamp;
  const Route routes[] = {
      {"tether", tether_prefix + "/update", tether_prefix + "/update/accepted", true, &tether_stamp},
      {"raw", "things/" + tether_thing + "/bench/request", "things/" + tether_thing + "/bench/response", false,
       &raw_stamp},
      {"paho-shadow", paho_prefix + "/update", paho_prefix + "/update/accepted", true, &paho_stamp},
  };
  const Route& tether_route = routes[0];
  const Route& raw_route = routes[1];
  const Route& paho_route = routes[2];

  // The raw device echoes each request to the response topic.
  PahoPeer echo(broker.device(tether_thing), tether_thing + "-bench-echo",
                [&raw_stamp, &raw_route](PahoPeer& self, const std::string&, const std::string& payload) {
                  if (const auto seq = read_seqs(payload).plain) raw_stamp.record(*seq);
                  self.publish(raw_route.reply_topic, payload);
                });
  // The hand-written shadow device reports each delta's seq back, and does nothing else (no
  // clientToken, no version check, no replica): the least a device can do over raw Paho.
  PahoPeer paho_device(
      broker.device(paho_thing), paho_thing + "-bench-shadow",
      [&paho_stamp, &paho_route](PahoPeer& self, const std::string&, const std::string& payload) {
        std::optional<std::int64_t> seq;
        json::parse(payload, payload.size(), [&seq](const json::Value& root) {
          seq = int_at(root["state"]["seq"]);
          return Status();
        }).ignore();  // not JSON: nothing to report
        if (!seq) return;
        paho_stamp.record(*seq);
        self.publish(paho_route.request_topic, "{\"state\":{\"reported\":{\"seq\":" + std::to_string(*seq) + "}}}");
      });
  TetherShadowDevice tether_device(broker.device(tether_thing), tether_thing, options.state_dir, options.verbose,
                                   tether_stamp);
  Operator op(broker);

  std::string error;
  const auto failed = [&error](const std::string& who) {
    std::fprintf(stderr, "bench-shadow: %s could not connect: %s\n", who.c_str(), error.c_str());
    return 2;
  };
  if (!echo.connect({raw_route.request_topic}, error)) return failed(echo.client_id());
  if (!paho_device.connect({paho_prefix + "/update/delta"}, error)) return failed(paho_device.client_id());
  if (!tether_device.start(error)) return failed(tether_device.client_id());
  if (!op.connect({tether_route.reply_topic, raw_route.reply_topic, paho_route.reply_topic}, error)) {
    return failed("the operator");
  }

  std::printf("bench-shadow: desired -> reported round trips over TLS 1.2 (MQTT 5, QoS 1 every leg) at %s:%u\n",
              broker.host.c_str(), static_cast<unsigned>(broker.port));
  std::printf("  tether       operator -> cloudsim -> Tether Agent + Shadow (%s, handler accepts seq) -> cloudsim -> operator\n",
              options.state_dir.empty() ? "replica in RAM" : "replica in a PosixKvStore");
  std::printf("  raw          operator -> raw Paho device (echo) -> operator\n");
  std::printf("  paho-shadow  operator -> cloudsim -> hand-written raw Paho shadow device -> cloudsim -> operator\n");
  std::printf("  %zu round trips per round, %zu rounds per side (alternating), %zu warm-up round trips each\n\n",
              options.trips, options.rounds, options.warmup);

  // seq values never seen before by either shadow, even one kept from an earlier run.
  std::int64_t seq = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  Series series[3];
  for (const Route& route : routes) {
    if (!run_round(op, route, options.warmup, seq, options, "warm-up", nullptr)) return 3;
  }
  for (std::size_t round = 1; round <= options.rounds; ++round) {
    const std::string label = "round " + std::to_string(round);
    for (std::size_t r = 0; r < 3; ++r) {
      if (!run_round(op, routes[r], options.trips, seq, options, label.c_str(), &series[r])) return 3;
    }
  }
  op.disconnect();
  tether_device.stop();
  echo.disconnect();
  paho_device.disconnect();

  std::printf("\nside         trips  p50 ms   p99 ms   min ms   max ms   to device p50  device->op p50  cloud ack p50\n");
  for (std::size_t r = 0; r < 3; ++r) print_summary_row(routes[r], series[r]);
  std::printf("* to device: operator's publish -> the device's handler (Tether) or message callback (raw Paho);\n"
              "  device->op: from there to the answer at the operator; cloud ack: the operator's own\n"
              "  update/accepted (operator -> cloudsim -> operator, one cloud hop). Medians in ms.\n");
  const shadow::ShadowStats& st = tether_device.stats();
  std::printf("Tether shadow: %u deltas, %u updates (%u accepted), %u foreign answers ignored, %u replica writes\n",
              static_cast<unsigned>(st.deltas), static_cast<unsigned>(st.updates),
              static_cast<unsigned>(st.updates_accepted), static_cast<unsigned>(st.foreign_answers),
              static_cast<unsigned>(st.persists));
  std::printf("tether/raw per round: p50 ratio median %.2f; tether/paho-shadow per round: p50 ratio median %.2f\n\n",
              paired_ratio(series[0], series[1]), paired_ratio(series[0], series[2]));

  const std::vector<double> tether_t = totals(series[0].samples);
  const std::vector<double> raw_t = totals(series[1].samples);
  const std::vector<double> paho_t = totals(series[2].samples);
  std::printf("BENCH shadow p50_ms=%.2f p99_ms=%.2f raw_p50_ms=%.2f raw_p99_ms=%.2f ratio=%.2f\n", median(tether_t),
              percentile(tether_t, 99), median(raw_t), percentile(raw_t, 99), median(tether_t) / median(raw_t));
  std::printf("BENCH shadow paho_shadow_p50_ms=%.2f paho_shadow_p99_ms=%.2f ratio_same_hops=%.2f\n", median(paho_t),
              percentile(paho_t, 99), median(tether_t) / median(paho_t));
  return 0;
}

}  // namespace
}  // namespace tether::bench

int main(int argc, char** argv) {
  const int code = tether::bench::run(argc, argv);  // every Tether and Paho object is destroyed when it returns
  // Leave without atexit handlers: Paho C's worker threads can outlive MQTTAsync_destroy for a
  // moment (eclipse-paho/paho.mqtt.c#1669), and OpenSSL's exit-time cleanup would free state under
  // them. Nothing of ours needs atexit.
  std::fflush(nullptr);
  std::_Exit(code);
}
