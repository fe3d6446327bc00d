// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "bench_common.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "tether/error_text.hpp"

namespace tether::bench {

void Args::fail(const std::string& problem) const {
  if (!problem.empty()) std::fprintf(stderr, "%s: %s\n", tool_, problem.c_str());
  std::fprintf(stderr, "usage: %s %s", program_, usage_);
  std::exit(1);
}

std::size_t Args::count(const char* flag, const char* text, std::size_t min, std::size_t max) const {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min || value > max) {
    fail(std::string(flag) + " needs a number from " + std::to_string(min) + " to " + std::to_string(max) +
         ", got '" + text + "'");
  }
  return static_cast<std::size_t>(value);
}

void Args::parse(int argc, char** argv, const std::vector<std::string>& switches, Broker& broker,
                 const FlagHandler& on_flag) const {
  broker.read_environment(*this);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") fail("");
    bool known = false;
    if (std::find(switches.begin(), switches.end(), flag) != switches.end()) {
      known = on_flag(flag, nullptr);
    } else {
      if (i + 1 >= argc) fail(flag + " needs a value");
      const char* value = argv[++i];
      known = broker.parse_flag(*this, flag, value) || on_flag(flag, value);
    }
    if (!known) fail("unknown argument '" + flag + "'");
  }
  broker.require(*this);
}

void Broker::read_environment(const Args& args) {
  if (const char* env = std::getenv("TETHER_BROKER_HOST")) host = env;
  if (const char* env = std::getenv("TETHER_BROKER_PORT")) {
    port = static_cast<std::uint16_t>(args.count("TETHER_BROKER_PORT", env, 1, 65535));
  }
  if (const char* env = std::getenv("TETHER_BROKER_DIR")) certs_dir = env;
}

bool Broker::parse_flag(const Args& args, const std::string& flag, const char* value) {
  if (flag == "--host") {
    host = value;
  } else if (flag == "--port") {
    port = static_cast<std::uint16_t>(args.count("--port", value, 1, 65535));
  } else if (flag == "--certs") {
    certs_dir = value;
  } else {
    return false;
  }
  return true;
}

void Broker::require(const Args& args) const {
  if (port == 0) args.fail("no broker port (set TETHER_BROKER_PORT or pass --port)");
  if (certs_dir.empty()) args.fail("no certificate directory (set TETHER_BROKER_DIR or pass --certs)");
}

Endpoint Broker::device(const std::string& name) const {
  const std::string base = certs_dir + "/devices/" + name;
  return Endpoint{host, port, certs_dir + "/ca.crt", base + ".crt", base + ".key"};
}

Endpoint Broker::cloud() const {
  return Endpoint{host, port, certs_dir + "/ca.crt", certs_dir + "/cloudsim.crt", certs_dir + "/cloudsim.key"};
}

long Broker::broker_pid() const {
  std::ifstream in(certs_dir + "/mosquitto.pid");
  long pid = -1;
  if (!(in >> pid)) return -1;
  return pid;
}

std::unique_ptr<mqtt::async_client> make_paho_client(const Endpoint& endpoint, const std::string& client_id,
                                                     int max_buffered) {
  mqtt::create_options create(MQTTVERSION_5);
  create.set_max_buffered_messages(max_buffered);
  create.set_send_while_disconnected(false);
  create.set_delete_oldest_messages(false);
  const std::string uri = "ssl://" + endpoint.host + ":" + std::to_string(endpoint.port);
  return std::make_unique<mqtt::async_client>(uri, client_id, create);
}

mqtt::connect_options make_paho_connect_options(const Endpoint& endpoint, int max_inflight) {
  mqtt::ssl_options tls;
  tls.set_trust_store(endpoint.ca_file);
  tls.set_key_store(endpoint.cert_file);
  tls.set_private_key(endpoint.key_file);
  tls.set_enable_server_cert_auth(true);
  tls.set_verify(true);
  tls.set_ssl_version(MQTT_SSL_VERSION_TLS_1_2);

  mqtt::connect_options options;
  options.set_mqtt_version(MQTTVERSION_5);
  options.set_clean_session(false);  // Paho C rejects cleansession with MQTT 5
  options.set_clean_start(true);
  options.set_keep_alive_interval(60);
  options.set_connect_timeout(10);
  options.set_automatic_reconnect(false);
  options.set_max_inflight(max_inflight);
  options.set_ssl(tls);
  return options;
}

AgentRig::~AgentRig() {
  agent_.reset();
  mqtt_.reset();
}

bool AgentRig::init(const Endpoint& endpoint, const std::string& thing, const std::string& client_id,
                    TopicProfile profile, bool verbose, std::size_t max_inflight, std::string& error) {
  const auto assign = [&error](auto& field, const std::string& value, const char* what) {
    if (field.assign(value).ok()) return true;
    error = std::string(what) + " too long: " + value;
    return false;
  };
  config_ = AgentConfig{};
  config_.profile = profile;
  if (!assign(config_.thing_name, thing, "thing name") || !assign(config_.client_id, client_id, "client id") ||
      !assign(config_.broker.endpoint, endpoint.host, "host") ||
      !assign(config_.broker.ca_file, endpoint.ca_file, "CA file") ||
      !assign(config_.broker.cert_file, endpoint.cert_file, "certificate file") ||
      !assign(config_.broker.key, endpoint.key_file, "key file")) {
    return false;
  }
  config_.broker.port = endpoint.port;
  config_.mqtt.version = MqttVersion::k5;
  config_.mqtt.keep_alive_s = 60;
  config_.mqtt.clean_session = true;
  config_.heartbeat.enabled = false;
  config_.log_level = verbose ? LogLevel::kInfo : LogLevel::kWarn;
  ErrorText why;
  const Status valid = validate_config(config_, "bench", &why);
  if (!valid.ok()) {
    error = std::string("invalid configuration: ") + why.c_str();
    return false;
  }
  port::PahoSettings settings = port::PahoSettings::from_config(config_.broker);
  if (max_inflight > 0) settings.max_inflight = max_inflight;
  settings.log_level = config_.log_level;
  mqtt_ = std::make_unique<port::PahoMqttClient>(std::move(settings), &log_);
  agent_ = std::make_unique<Agent>(*mqtt_, clock_, config_, &log_, port::random_seed());
  agent_->set_event_handler([this](const AgentEvent& event) {
    if (event.type == AgentEventType::kConnectFailed || event.type == AgentEventType::kNeedsAttention ||
        event.type == AgentEventType::kDisconnected) {
      last_problem_ = event.reason;
    }
  });
  return true;
}

bool AgentRig::connect(std::string& error) {
  const Status started = agent_->start();
  if (!started.ok()) {
    error = "agent start failed: " + status_text(started);
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!agent_->connected() && std::chrono::steady_clock::now() < deadline) {
    const Status status = agent_->run_once(Milliseconds(100));
    if (!status.ok()) {
      error = "run_once failed: " + status_text(status);
      return false;
    }
    if (agent_->stats().connect_failures > 0) break;
  }
  if (agent_->connected()) return true;
  error = agent_->stats().connect_failures > 0 ? "connect attempt failed: " + status_text(last_problem_)
                                               : std::string("no CONNACK within 15 s");
  return false;
}

void AgentRig::disconnect() {
  if (!agent_) return;
  agent_->stop().ignore();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!agent_->run_once(Milliseconds(50)).ok()) break;  // kCancelled: stopped
  }
}

void close_paho_client(std::unique_ptr<mqtt::async_client>& client) {
  if (!client) return;
  try {
    if (client->is_connected()) {
      const bool done = client->disconnect(1000)->wait_for(std::chrono::seconds(3));
      static_cast<void>(done);  // destroying the client closes the socket anyway
    }
  } catch (const mqtt::exception&) {
    // Already gone: nothing left to close politely.
  }
  client.reset();
}

std::string status_text(Status status) {
  char buf[96];
  return format_status(status, buf, sizeof buf);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size(), std::max<std::size_t>(rank, 1)) - 1];
}

}  // namespace tether::bench
