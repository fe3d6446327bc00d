// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "cloudsim_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "process_util.hpp"
#include "tether/json.hpp"

namespace tether::test {
namespace {

using std::chrono::milliseconds;

constexpr const char* kPython = "/usr/bin/python3";
// cloudsim itself gives up after 30 s without a subscription; this leaves it time to say so.
constexpr milliseconds kStartTimeout{45000};
constexpr milliseconds kStopTimeout{10000};
constexpr int kHttpTimeoutS = 10;

// Closes a socket on every way out of request() (FAIL throws).
class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Percent-encodes everything but RFC 3986 unreserved characters (thing names may hold ':').
std::string url_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string shadow_path(std::string_view thing, std::string_view suffix, std::string_view name) {
  std::string path = "/shadows/" + url_encode(thing) + std::string(suffix);
  if (!name.empty()) path += "?name=" + url_encode(name);
  return path;
}

std::string lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

}  // namespace

Cloudsim::Cloudsim(const TestBroker& broker, std::vector<std::string> extra_args)
    : broker_(broker), extra_args_(std::move(extra_args)) {
  if (!std::filesystem::exists(kPython)) {
    FAIL(kPython << " is not installed: the cloud emulator needs it with python3-paho-mqtt "
                    "(run scripts/install-deps.sh host). Not skipping.");
  }
  const std::string cli = tether_source_dir() + "/tools/cloudsim/cloudsim/cli.py";
  if (!std::filesystem::exists(cli)) {
    FAIL(cli << " not found: set TETHER_SOURCE_DIR to the source tree. Not skipping.");
  }
  dir_ = std::make_unique<TempDir>("tether-cloudsim");
  // cloudsim is our child, but a test process that dies (abort, ctest timeout) leaves it running,
  // reconnecting forever: kill it then, after checking that the pid is still cloudsim's.
  const std::string& d = dir_->path();
  start_watchdog("pid=$(cat '" + d + "/cloudsim.pid' 2>/dev/null) && tr '\\0' ' ' </proc/$pid/cmdline 2>/dev/null | "
                 "grep -qF '" + d + "/' && kill -9 $pid; rm -rf '" + d + "'",
                 d);
  start();
}

Cloudsim::~Cloudsim() {
  if (running()) end_process(false);  // quiet: a destructor reports nothing
}

void Cloudsim::start() {
  const std::string ready = *dir_ / "cloudsim.ready";
  std::error_code ignored;
  std::filesystem::remove(ready, ignored);  // a stale one would pass for this run's
  std::vector<std::string> argv = {"/usr/bin/env", "PYTHONPATH=" + tether_source_dir() + "/tools/cloudsim",
                                   kPython, "-m", "cloudsim", "serve",
                                   "--host", broker_.host(), "--port", std::to_string(broker_.port()),
                                   "--ca", broker_.path("ca.crt"), "--cert", broker_.path("cloudsim.crt"),
                                   "--key", broker_.path("cloudsim.key"), "--db", *dir_ / "cloudsim.db",
                                   "--http-port", "0", "--ready-file", ready,
                                   // Fleet Provisioning signs with the broker's CA (mosquitto trusts it).
                                   "--signing-ca-key", broker_.path("ca.key")};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_.reset();  // the previous run (already ended) goes first
  process_ = std::make_unique<ChildProcess>(std::move(argv));  // env execs python3: same pid
  std::ofstream(*dir_ / "cloudsim.pid") << process_->pid() << "\n";
  wait_ready();
}

void Cloudsim::wait_ready() {
  const std::string ready = *dir_ / "cloudsim.ready";
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!std::filesystem::exists(ready)) {
    if (process_->exited()) {
      FAIL("cloudsim exited before it was ready (" << process_->describe_exit() << "). Its log:\n" << log_tail());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      FAIL("cloudsim was not ready within " << kStartTimeout.count() / 1000 << " s. Its log:\n" << log_tail());
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  // {"ready": true, "http_port": N, "pid": P}, written atomically (rename).
  const std::string text = read_file(ready);
  std::int64_t port = 0;
  std::int64_t pid = 0;
  const Status parsed = json::parse(text, 4096, [&](const json::Value& root) {
    port = root["http_port"].as_int().value_or(0);
    pid = root["pid"].as_int().value_or(0);
    return Status();
  });
  INFO("ready file: " << text);
  REQUIRE(parsed.ok());
  REQUIRE(pid == process_->pid());
  REQUIRE(port > 0);
  REQUIRE(port <= 65535);
  http_port_ = static_cast<std::uint16_t>(port);
}

std::string Cloudsim::end_process(bool kill) {
  process_->signal(kill ? SIGKILL : SIGTERM);
  http_port_ = 0;
  if (process_->wait_exit(kStopTimeout)) return process_->describe_exit();
  process_->signal(SIGKILL);
  static_cast<void>(process_->wait_exit(kStopTimeout));
  return "no exit " + std::to_string(kStopTimeout.count() / 1000) + " s after SIGTERM: sent SIGKILL";
}

void Cloudsim::stop() {
  if (!running()) return;
  const std::string how = end_process(false);
  if (how != "exit 0") FAIL_CHECK("cloudsim did not stop cleanly on SIGTERM (" << how << "). Its log:\n" << log_tail());
}

void Cloudsim::kill9() {
  if (running()) end_process(true);
}

void Cloudsim::restart() {
  stop();
  start();
}

bool Cloudsim::running() const { return process_ != nullptr && !process_->exited(); }

const std::string& Cloudsim::dir() const { return dir_->path(); }

std::string Cloudsim::log_tail() const {
  if (process_ == nullptr) return "";
  const std::string log = process_->stderr_text();
  return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

HttpResponse Cloudsim::request(std::string_view method, std::string_view path, std::string_view body) {
  const std::string what = std::string(method) + " " + std::string(path) + " (cloudsim's HTTP API, port " +
                           std::to_string(http_port_) + ")";
  if (http_port_ == 0) FAIL(what << ": cloudsim is not running. Its log:\n" << log_tail());
  Socket socket;
  if (socket.fd() < 0) FAIL(what << ": socket: " << std::strerror(errno));
  const timeval timeout{kHttpTimeoutS, 0};
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(http_port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    FAIL(what << ": cannot connect: " << std::strerror(errno) << ". cloudsim's log:\n" << log_tail());
  }

  const std::string out = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                          std::to_string(http_port_) +
                          "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(socket.fd(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FAIL(what << ": send: " << std::strerror(errno) << ". cloudsim's log:\n" << log_tail());
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FAIL(what << ": recv: " << std::strerror(errno) << ". cloudsim's log:\n" << log_tail());
    if (n == 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
  }

  // "HTTP/1.x NNN reason", headers, a blank line, the body; the server closes after it.
  const auto header_end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.", 0) != 0 || in.size() < 12 || header_end == std::string::npos) {
    FAIL(what << ": not an HTTP response:\n" << in.substr(0, 500));
  }
  HttpResponse response;
  response.status = std::atoi(in.c_str() + 9);
  response.body = in.substr(header_end + 4);
  const std::string headers = lower(in.substr(0, header_end + 2));
  const auto length_at = headers.find("\r\ncontent-length:");
  if (length_at != std::string::npos) {
    const auto length = std::strtoull(headers.c_str() + length_at + 17, nullptr, 10);
    INFO(what << ": body cut short (Content-Length " << length << ")");
    REQUIRE(response.body.size() == length);
  }
  return response;
}

HttpResponse Cloudsim::get_shadow(std::string_view thing, std::string_view name) {
  return request("GET", shadow_path(thing, "", name));
}

HttpResponse Cloudsim::set_desired(std::string_view thing, std::string_view desired_json, std::string_view name) {
  return request("POST", shadow_path(thing, "/desired", name), desired_json);
}

HttpResponse Cloudsim::delete_shadow(std::string_view thing, std::string_view name) {
  return request("DELETE", shadow_path(thing, "", name));
}

HttpResponse Cloudsim::create_job(std::string_view thing, std::string_view job_json) {
  return request("POST", "/jobs/" + url_encode(thing), job_json);
}

HttpResponse Cloudsim::send_command(std::string_view thing, std::string_view command_json) {
  return request("POST", "/commands/" + url_encode(thing), command_json);
}

}  // namespace tether::test
