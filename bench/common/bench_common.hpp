// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// What the benchmarks that talk to the test broker share: command-line handling, the broker and
/// its certificates (scripts/test-broker.sh layout), raw Paho MQTT C++ and Tether Agent clients set
/// up alike (so that a comparison compares the clients, not their settings), and statistics.
/// Benchmark code, not SDK code: it allocates and uses the standard library freely.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

#include "tether/agent.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace tether::bench {

struct Broker;

/// Command-line handling: a bad argument prints the problem and the usage text, and exits 1.
class Args {
 public:
  /// Handles one flag (`value` is null for a switch); false: not a flag of this program.
  using FlagHandler = std::function<bool(const std::string& flag, const char* value)>;

  /// Usage is printed as "usage: <program> <usage>": `usage` is the synopsis after the program's
  /// name (and any further lines).
  Args(const char* tool, const char* program, const char* usage) : tool_(tool), program_(program), usage_(usage) {}

  /// Prints "<tool>: <problem>" (unless empty) and the usage to stderr, exits 1.
  [[noreturn]] void fail(const std::string& problem) const;
  /// A decimal number in min..max, or fail() naming `flag`.
  std::size_t count(const char* flag, const char* text, std::size_t min, std::size_t max) const;
  /// Reads `broker` from the environment, then walks argv: `--help`/`-h` fail(""); a flag listed
  /// in `switches` goes to `on_flag` without a value; any other flag takes the next argument as
  /// its value: `--host`, `--port` and `--certs` go to `broker`, the rest to `on_flag`. An unknown
  /// flag or a missing value fail()s, and so does a broker still incomplete at the end.
  void parse(int argc, char** argv, const std::vector<std::string>& switches, Broker& broker,
             const FlagHandler& on_flag) const;

 private:
  const char* tool_;
  const char* program_;
  const char* usage_;
};

/// Where a client connects and the TLS identity it uses (mutual TLS: CA, certificate, key).
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

/// The test broker: address and certificate directory (what scripts/test-broker.sh writes).
struct Broker {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string certs_dir;

  /// Takes TETHER_BROKER_HOST, TETHER_BROKER_PORT and TETHER_BROKER_DIR where set.
  void read_environment(const Args& args);
  /// Handles `--host H`, `--port P` and `--certs DIR`: true if `flag` is one of them.
  bool parse_flag(const Args& args, const std::string& flag, const char* value);
  /// fail()s when the port or the certificate directory is still unknown.
  void require(const Args& args) const;
  /// A device's identity: `<certs_dir>/devices/<name>.crt` and `.key` (CN = name).
  Endpoint device(const std::string& name) const;
  /// The cloud emulator's identity (`<certs_dir>/cloudsim.crt`, CN tether-cloudsim): the ACL lets
  /// it use every topic.
  Endpoint cloud() const;
  /// mosquitto's pid (`<certs_dir>/mosquitto.pid`), or -1.
  long broker_pid() const;
};

/// Paho C's default is 100 buffered messages; PahoMqttClient adds this much room for subscriptions
/// and other requests beyond its in-flight window.
inline constexpr int kPahoBufferedSlack = 64;

/// An mqtt::async_client created as PahoMqttClient creates its own: MQTT 5, `max_buffered`
/// messages, no buffering while disconnected.
std::unique_ptr<mqtt::async_client> make_paho_client(const Endpoint& endpoint, const std::string& client_id,
                                                     int max_buffered);
/// Connect options as PahoMqttClient's: MQTT 5, clean start, keep-alive 60 s, connect timeout 10 s,
/// no automatic reconnect, `max_inflight`, TLS 1.2 with the endpoint's CA, certificate and key,
/// server certificate and host name verified.
mqtt::connect_options make_paho_connect_options(const Endpoint& endpoint, int max_inflight);

/// tether::Agent over tether::port::PahoMqttClient, built as an application builds it. Not movable:
/// the agent refers to the rig's configuration, clock, log sink and client.
class AgentRig {
 public:
  AgentRig() = default;
  ~AgentRig();
  AgentRig(const AgentRig&) = delete;
  AgentRig& operator=(const AgentRig&) = delete;

  /// Builds the configuration (`thing`, `client_id`, the endpoint, `profile`; MQTT 5, keep-alive
  /// 60 s, clean session, no heartbeat, log level warn, info when `verbose`), validates it, and
  /// creates the client (`max_inflight` publishes; 0 = the port's default) and the agent. False
  /// with `error` set when the configuration is not valid.
  bool init(const Endpoint& endpoint, const std::string& thing, const std::string& client_id, TopicProfile profile,
            bool verbose, std::size_t max_inflight, std::string& error);
  /// Starts the agent and runs it until it is connected (at most 15 s). One failed attempt ends
  /// the wait: a refused certificate is not accepted on a retry.
  bool connect(std::string& error);
  /// Stops the agent (DISCONNECT) and runs it until it has stopped (at most 3 s).
  void disconnect();

  Agent& agent() { return *agent_; }
  const AgentConfig& config() const { return config_; }
  /// The reason of the last kConnectFailed, kNeedsAttention or kDisconnected event.
  Status last_problem() const { return last_problem_; }

 private:
  AgentConfig config_;
  port::PosixClock clock_;
  port::StderrLogSink log_;
  std::unique_ptr<port::PahoMqttClient> mqtt_;
  std::unique_ptr<Agent> agent_;  // refers to all of the above: destroyed first
  Status last_problem_;
};

/// Sends DISCONNECT if connected (waiting at most 3 s) and destroys the client. Idempotent.
void close_paho_client(std::unique_ptr<mqtt::async_client>& client);

/// "unavailable/socket/111"-style text of a status.
std::string status_text(Status status);

/// The median (the mean of the two middle values for an even count); 0 for none.
double median(std::vector<double> values);
/// The nearest-rank percentile `p` (0 < p <= 100): the smallest value with at least p % of the
/// values at or below it; 0 for none.
double percentile(std::vector<double> values, double p);

}  // namespace tether::bench
