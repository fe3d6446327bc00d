// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Shared vocabulary of the publish benchmark: what a run is configured with, what one timed
/// round yields, and the two publishers (Tether's Agent over PahoMqttClient, and raw Paho C++)
/// behind one small interface so that main.cpp drives both the same way.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace tether::bench {

/// Everything a publisher needs to reach the broker and how hard to push.
struct Options {
  Endpoint endpoint;                       ///< the broker, with thing_name's certificate
  std::string thing_name = "device-1";     ///< the certificate's CN; the ACL allows dt/<CN>/#
  std::string topic = "dt/device-1/bench";
  std::size_t payload_bytes = 100;
  std::size_t window = 100;                ///< publishes awaiting completion at most (both sides)
  std::size_t messages = 20000;            ///< per timed round
  std::size_t rounds = 5;                  ///< timed rounds per side and QoS
  std::size_t warmup = 2000;               ///< untimed messages per side and QoS before the rounds
  bool verbose = false;                    ///< info-level logs from Tether (connect lines etc.)
  /// Raw Paho keeps `window` QoS 1 publishes in flight even beyond the broker's Receive Maximum,
  /// as a Paho application that does not read the CONNACK does (not a like-for-like comparison).
  bool paho_full_window = false;
};

/// The outcome of one round of `messages` publishes.
struct RoundResult {
  bool ok = false;             ///< every message completed successfully within the deadline
  std::string error;           ///< why not, when !ok
  std::size_t messages = 0;    ///< completions counted
  double seconds = 0;          ///< wall time from the first publish to the last completion
  double cpu_seconds = 0;      ///< process CPU time (all threads, user + system) over the round
  long context_switches = 0;   ///< voluntary + involuntary, all threads of the process
  std::size_t window_used = 0; ///< the largest number of publishes in flight observed
};

/// One side of the comparison. All calls from the main thread.
class Publisher {
 public:
  virtual ~Publisher() = default;
  /// "tether" or "paho".
  virtual const char* name() const = 0;
  /// Connects and waits for the CONNACK. Returns false (and sets `error`) on failure.
  virtual bool connect(std::string& error) = 0;
  /// The QoS 1 window in force after connect(): min(window, the broker's Receive Maximum).
  virtual std::size_t qos1_window() const = 0;
  /// Publishes `messages` payloads at `qos` (0 or 1) as fast as the window allows and returns
  /// when the last one completed (QoS 1: PUBACK; QoS 0: handed to the socket).
  virtual RoundResult run(int qos, std::size_t messages) = 0;
  /// Sends DISCONNECT and waits (bounded) for the connection to close.
  virtual void disconnect() = 0;
};

std::unique_ptr<Publisher> make_tether_publisher(const Options& options, const std::vector<std::uint8_t>& payload);
std::unique_ptr<Publisher> make_paho_publisher(const Options& options, const std::vector<std::uint8_t>& payload);

/// CPU time of the whole process (all threads), seconds.
double process_cpu_seconds();
/// Context switches (voluntary + involuntary) of the whole process so far.
long process_context_switches();
/// CPU time (user + system) a process has used, seconds, from /proc/<pid>/stat; < 0 if unknown.
double other_process_cpu_seconds(long pid);
/// Resets the process's peak resident set size (Linux: /proc/self/clear_refs, value 5). Returns
/// false when the kernel does not allow it (the peak then covers the whole run so far).
bool reset_peak_rss();
/// Peak resident set size since start or the last successful reset_peak_rss(), KiB (VmHWM).
long peak_rss_kib();

}  // namespace tether::bench
