// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// tools/cloudsim (the AWS IoT emulator, docs/cloudsim.md) as a child process of the test, attached
// to a running TestBroker with the privileged "cloudsim" certificate, and a small client for its
// HTTP operator API. Its SQLite file lives in its own temporary directory, so restart() keeps the
// shadows, jobs and commands; the destructor stops it and removes the directory. Fleet Provisioning
// is enabled: certificates are signed with the broker's ca.key, templates are set with
// request("PUT", "/provisioning-templates/<name>", ...) and certificates read from /certificates.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker_fixture.hpp"

namespace tether::test {

class ChildProcess;
class TempDir;

/// What the operator API answered: the HTTP status and the body (a JSON document).
struct HttpResponse {
  int status = 0;
  std::string body;
};

class Cloudsim {
 public:
  /// Starts `python3 -m cloudsim serve` against `broker` (which must outlive this object) with
  /// `extra_args` appended (e.g. {"--time-scale", "60"}) and waits until it is connected,
  /// subscribed and serving HTTP. Fails the current test with the end of cloudsim's log when it
  /// does not start (python3 or python3-paho-mqtt missing, broker refused it, timeout); never skips.
  explicit Cloudsim(const TestBroker& broker, std::vector<std::string> extra_args = {});
  /// Stops cloudsim (SIGTERM, then SIGKILL) and removes its directory (database, ready file).
  ~Cloudsim();

  Cloudsim(const Cloudsim&) = delete;
  Cloudsim& operator=(const Cloudsim&) = delete;

  /// SIGTERM and wait; SIGKILL if it has not exited after 10 s. Fails the test (CHECK) when
  /// cloudsim needed the SIGKILL or exited with an error. Nothing happens when it is not running.
  void stop();
  /// SIGKILL and wait (a crash: nothing is flushed or closed).
  void kill9();
  /// Stops it if it runs, then starts it again with the same arguments and database: state
  /// persists. The HTTP port may change (http_port() follows).
  void restart();
  bool running() const;

  /// The operator API's port on 127.0.0.1 (0 while stopped).
  std::uint16_t http_port() const { return http_port_; }
  /// cloudsim's temporary directory (cloudsim.db, cloudsim.ready).
  const std::string& dir() const;
  /// The end of the current run's log (for failure messages).
  std::string log_tail() const;

  /// One HTTP/1.1 request to the operator API (Connection: close, JSON body when not empty).
  /// Fails the test when cloudsim cannot be reached or answers something that is not HTTP.
  HttpResponse request(std::string_view method, std::string_view path, std::string_view body = {});

  /// GET /shadows/<thing>[?name=<name>]: 200 with the get/accepted document, or 404.
  HttpResponse get_shadow(std::string_view thing, std::string_view name = {});
  /// POST /shadows/<thing>/desired[?name=<name>] with `desired_json` (a JSON object): a cloud-side
  /// update that publishes update/accepted, update/documents and update/delta.
  HttpResponse set_desired(std::string_view thing, std::string_view desired_json, std::string_view name = {});
  /// DELETE /shadows/<thing>[?name=<name>]: 200, or 404.
  HttpResponse delete_shadow(std::string_view thing, std::string_view name = {});
  /// POST /jobs/<thing> with `job_json` = {"jobId", "document", "stepTimeoutInMinutes"?}: 201.
  HttpResponse create_job(std::string_view thing, std::string_view job_json);
  /// POST /commands/<thing> with `command_json` = {"executionId"?, "payload" | "payloadBase64",
  /// "timeoutSeconds"?, "format"?, "contentType"?, "profile"?}: 201.
  HttpResponse send_command(std::string_view thing, std::string_view command_json);

 private:
  void start();
  void wait_ready();
  /// Ends the process: SIGTERM (unless `kill`), SIGKILL fallback. Returns how it ended, "" when clean.
  std::string end_process(bool kill);

  const TestBroker& broker_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t http_port_ = 0;
};

}  // namespace tether::test
