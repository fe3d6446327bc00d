// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "broker_fixture.hpp"

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "process_util.hpp"

namespace tether::test {
namespace {

// The example programs these tests start write run-time files (the PEM naming a token key,
// <thing>-tls-key.pem) to $RUNTIME_DIRECTORY, else to ${TMPDIR:-/tmp}/tether-<uid>, the same for
// every process of this user. ctest -j runs test processes side by side, several with the same thing
// name: each test process gets its own directory (inherited by what it starts), removed at exit.
class PrivateRuntimeDirectory {
 public:
  PrivateRuntimeDirectory() {
    if (std::getenv("RUNTIME_DIRECTORY") != nullptr) return;  // set by the caller: keep it
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/tether-test-run.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return;  // the programs fall back to tether-<uid>
    dir_ = pattern;
    ::setenv("RUNTIME_DIRECTORY", dir_.c_str(), 1);
  }
  ~PrivateRuntimeDirectory() {
    if (dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PrivateRuntimeDirectory(const PrivateRuntimeDirectory&) = delete;
  PrivateRuntimeDirectory& operator=(const PrivateRuntimeDirectory&) = delete;

 private:
  std::string dir_;
};
const PrivateRuntimeDirectory kPrivateRuntimeDirectory;

bool have_tool(const char* name) {
  const std::string command = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace

TestBroker::TestBroker(ServerCert cert) {
  // Missing tools are a failure, not a skip: these tests are the only proof that TLS, client
  // certificates and ACL refusals behave as documented.
  if (!have_tool("mosquitto")) {
    FAIL(
        "mosquitto is not installed: the integration tests need a real broker "
        "(run scripts/install-deps.sh host). Not skipping.");
  }
  if (!have_tool("openssl")) {
    FAIL(
        "openssl is not installed: the test broker needs it to issue certificates "
        "(run scripts/install-deps.sh host). Not skipping.");
  }
  script_ = tether_source_dir() + "/scripts/test-broker.sh";
  if (!std::filesystem::exists(script_)) {
    FAIL("scripts/test-broker.sh not found at '" << script_
                                                 << "': set TETHER_SOURCE_DIR to the source tree. Not skipping.");
  }
  switch (cert) {
    case ServerCert::kGood:
      break;
    case ServerCert::kWrongHost:
      server_cert_ = "wronghost";
      break;
    case ServerCert::kOtherCa:
      server_cert_ = "otherca";
      break;
  }

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tether-broker-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) FAIL("cannot create a temporary directory from " << pattern);
  dir_ = buffer.data();

  run_script("start");
  // mosquitto runs as a daemon: stop it and remove its directory if this test process dies first.
  start_watchdog("'" + script_ + "' stop '" + dir_ + "' >/dev/null 2>&1; rm -rf '" + dir_ + "'", dir_);
  read_env();
}

TestBroker::~TestBroker() { discard(); }

void TestBroker::run_script(std::string_view command) {
  std::string line;
  if (!server_cert_.empty()) line += "TETHER_BROKER_SERVER_CERT=" + server_cert_ + " ";
  line += "'" + script_ + "' " + std::string(command) + " '" + dir_ + "' >'" + dir_ + "/script.out' 2>&1";
  const int rc = std::system(line.c_str());
  if (rc == 0) return;
  const std::string output = read_file(dir_ + "/script.out");
  const std::string log = log_tail();
  discard();  // leave nothing running or lying around behind a failure
  FAIL("scripts/test-broker.sh " << command << " failed (exit " << rc << "):\n"
                                 << output << "\nmosquitto.log:\n"
                                 << log);
}

void TestBroker::discard() {
  if (dir_.empty()) return;
  const std::string command = "'" + script_ + "' stop '" + dir_ + "' >/dev/null 2>&1";
  const int rc = std::system(command.c_str());
  static_cast<void>(rc);  // stop is idempotent; the directory goes either way
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  dir_.clear();
}

void TestBroker::read_env() {
  std::ifstream in(dir_ + "/broker.env");
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "TETHER_BROKER_HOST") host_ = value;
    if (key == "TETHER_BROKER_PORT") port_ = static_cast<std::uint16_t>(std::stoul(value));
  }
  if (host_.empty() || port_ == 0) {
    const std::string where = dir_;
    discard();
    FAIL("broker.env in " << where << " lacks TETHER_BROKER_HOST/PORT");
  }
}

void TestBroker::stop() { run_script("stop"); }

void TestBroker::restart() {
  const std::uint16_t before = port_;
  run_script("restart");
  read_env();
  REQUIRE(port_ == before);  // the script promises the same port
}

std::string TestBroker::path(std::string_view relative) const { return dir_ + "/" + std::string(relative); }

port::PahoSettings TestBroker::client_settings(std::string_view device) const {
  port::PahoSettings settings;
  settings.host = host_;
  settings.port = port_;
  settings.ca_file = path("ca.crt");
  if (device == "cloudsim") {
    settings.cert_file = path("cloudsim.crt");
    settings.key_file = path("cloudsim.key");
  } else {
    settings.cert_file = path("devices/" + std::string(device) + ".crt");
    settings.key_file = path("devices/" + std::string(device) + ".key");
  }
  return settings;
}

std::string TestBroker::log_tail() const {
  const std::string log = read_file(dir_ + "/mosquitto.log");
  const auto cut = log.size() > 3000 ? log.size() - 3000 : 0;
  return log.substr(cut);
}

}  // namespace tether::test
