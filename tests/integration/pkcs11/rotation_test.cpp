// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Safe certificate rotation end to end: examples/command-agent (--rotation-template) as a real
// process on the TLS test broker, tools/cloudsim as AWS IoT (Jobs and Fleet Provisioning by CSR),
// the new keys inside a SoftHSM2 token. A rotate-certificate job makes a new key in the token, gets
// its certificate over the agent's connection, tests it with a connection of its own and only then
// rewrites the configuration; a certificate the broker refuses (or one for another key) is
// rolled back: the configuration stays byte for byte, the new key leaves the token again, and the
// agent carries on with its old identity.
//
// The device is `rotating-1` (the test broker's ACL lets it use the provisioning topics); its first
// identity is a key file from the test broker, so the first rotation also moves it into the token.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "../broker_fixture.hpp"
#include "../cloudsim_fixture.hpp"
#include "../process_util.hpp"
#include "softhsm_token.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"

namespace {

using namespace tether;
using std::chrono::milliseconds;
using test::ChildProcess;
using test::Cloudsim;
using test::SoftHsmToken;
using test::TestBroker;

constexpr const char* kThing = "rotating-1";
constexpr milliseconds kWait{40000};

std::string command_agent_path() { return test::program_under_test(nullptr, TETHER_COMMAND_AGENT); }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The test broker issues rotating-1's first certificate and key file.
TestBroker& broker_with_rotating_device(std::unique_ptr<TestBroker>& holder) {
  REQUIRE(::setenv("TETHER_TEST_DEVICES", kThing, 1) == 0);
  holder = std::make_unique<TestBroker>();
  return *holder;
}

class Rig {
 public:
  Rig() : broker(broker_with_rotating_device(broker_holder)), sim(broker) {
    REQUIRE_FALSE(command_agent_path().empty());
    config_path = dir.path() + "/agent.json";
    std::ofstream out(config_path);
    out << "{\n"
        << "  \"thing_name\": \"" << kThing << "\",\n"
        << "  \"endpoint\": \"localhost\",\n"
        << "  \"port\": " << broker.port() << ",\n"
        << "  \"tls\": {\"ca_file\": \"" << broker.path("ca.crt") << "\", \"cert_file\": \""
        << broker.path(std::string("devices/") + kThing + ".crt") << "\", \"key\": \""
        << broker.path(std::string("devices/") + kThing + ".key") << "\"},\n"
        << "  \"pkcs11\": {\"module\": \"" << token.settings().module_path << "\", \"pin_file\": \"" << token.pin_file()
        << "\", \"token\": \"pkcs11:token=" << test::kTokenLabel << "\"},\n"
        << "  \"mqtt\": {\"version\": 5, \"connect_timeout_ms\": 10000, \"keep_alive_s\": 30},\n"
        << "  \"reconnect\": {\"initial_ms\": 100, \"max_ms\": 500},\n"
        << "  \"heartbeat\": {\"enabled\": false},\n"
        << "  \"commands\": {\"heartbeat_s\": 1}\n"
        << "}\n";
    out.close();
    REQUIRE(out.good());
    const test::HttpResponse put =
        sim.request("PUT", "/provisioning-templates/Rotation", R"({"thingName": "{ThingName}"})");
    INFO(put.body);
    REQUIRE(put.status / 100 == 2);
  }

  void start_agent() {
    agent = std::make_unique<ChildProcess>(std::vector<std::string>{
        command_agent_path(), config_path, "--state-dir", dir.path() + "/journal", "--rotation-template",
        "Rotation", "--certificate-dir", dir.path()});
    require_eventually("READY", [&] { return agent->count_lines("READY operations=") == 1; });
    INFO(describe());
    REQUIRE(agent->count_lines("READY operations=blink,rotate-certificate ") == 1);
    require_eventually("CONNECTED", [&] { return agent->count_lines("CONNECTED") >= 1; });
  }

  void stop_agent() {
    agent->signal(SIGTERM);
    INFO(describe());
    REQUIRE(agent->wait_exit(kWait));
    CHECK(agent->exit_code() == 0);
  }

  void create_job(const std::string& id, const std::string& document) {
    const std::string body = "{\"jobId\":\"" + id + "\",\"document\":" + document + "}";
    const test::HttpResponse created = sim.create_job(kThing, body);
    INFO(created.body);
    REQUIRE(created.status == 201);
  }

  // The job's status and statusDetails (compact JSON) as cloudsim has them.
  std::pair<std::string, std::string> job(const std::string& id) {
    const test::HttpResponse listed = sim.request("GET", std::string("/jobs/") + kThing);
    REQUIRE(listed.status == 200);
    std::pair<std::string, std::string> out;
    const Status parsed = json::parse(listed.body, kMaxJsonInput, [&](const json::Value& root) {
      for (json::Value e = root["executions"].first_child(); e.valid(); e = e.next()) {
        if (e["jobId"].as_string().value_or("") != id) continue;
        out.first = std::string(e["status"].as_string().value_or("?"));
      }
      return Status();
    });
    REQUIRE(parsed.ok());
    out.second = listed.body;
    return out;
  }

  std::string wait_job_end(const std::string& id) {
    std::string status;
    require_eventually("job " + id + " ended", [&] {
      status = job(id).first;
      return status == "SUCCEEDED" || status == "FAILED" || status == "REJECTED";
    });
    return status;
  }

  // Certificates cloudsim issued for the thing, with their status ("ACTIVE", ...).
  std::string certificates() { return sim.request("GET", std::string("/certificates?thing=") + kThing).body; }

  // The key URI the agent's log names for the rotation that started last.
  std::string last_new_key() const {
    const std::string err = agent->stderr_text();
    const std::string marker = "certificate rotation: new key ";
    const std::size_t at = err.rfind(marker);
    if (at == std::string::npos) return "";
    const std::size_t start = at + marker.size();
    const std::size_t end = err.find(',', start);
    return err.substr(start, end - start);
  }

  void require_eventually(const std::string& what, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) FAIL("timed out waiting for: " << what << "\n" << describe());
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  std::string describe() {
    std::ostringstream out;
    if (agent) {
      out << "command-agent: " << agent->describe_exit() << "\nstdout:\n";
      for (const std::string& line : agent->stdout_lines()) out << "  " << line << "\n";
      out << "stderr:\n" << agent->stderr_text() << "\n";
    }
    out << "cloudsim log:\n" << sim.log_tail() << "\nbroker log:\n" << broker.log_tail();
    return out.str();
  }

  std::unique_ptr<TestBroker> broker_holder;
  TestBroker& broker;
  Cloudsim sim;
  SoftHsmToken token;
  test::TempDir dir{"tether-rotation"};
  std::string config_path;
  std::unique_ptr<ChildProcess> agent;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Whether the token still has the key `uri` (another process made it: a store of our own looks).
bool token_has_key(const SoftHsmToken& token, const std::string& uri) {
  port::Pkcs11KeyStore store(token.settings());
  return store.find_key(uri).ok();
}

}  // namespace

TEST_CASE("rotation: a rotate-certificate job moves the device to a new key in the token, twice, without losing it",
          "[rotation][pkcs11][integration][provider]") {
  Rig rig;
  rig.start_agent();
  const std::string before = read_text(rig.config_path);

  rig.create_job("rotate-1", R"({"operation": "rotate-certificate"})");
  INFO(rig.describe());
  const std::string ended_rotate_1 = rig.wait_job_end("rotate-1");
  {
    INFO(rig.describe());
    REQUIRE(ended_rotate_1 == "SUCCEEDED");
  }
  const std::string after_first = read_text(rig.config_path);
  CHECK(after_first != before);
  CHECK(contains(after_first, "\"key\":\"pkcs11:"));
  CHECK(contains(after_first, rig.dir.path() + "/" + kThing + "-"));
  const std::string first_key = rig.last_new_key();
  REQUIRE_FALSE(first_key.empty());
  CHECK(contains(after_first, first_key));
  CHECK(contains(rig.certificates(), "ACTIVE"));
  rig.require_eventually("reconnected with the new identity", [&] { return rig.agent->count_lines("CONNECTED") >= 2; });

  // Token to token: the main connection now signs inside the token while the next key is made.
  rig.create_job("rotate-2", R"({"operation": "rotate-certificate"})");
  const std::string ended_rotate_2 = rig.wait_job_end("rotate-2");
  {
    INFO(rig.describe());
    REQUIRE(ended_rotate_2 == "SUCCEEDED");
  }
  const std::string second_key = rig.last_new_key();
  CHECK(second_key != first_key);
  CHECK(contains(read_text(rig.config_path), second_key));
  rig.require_eventually("reconnected again", [&] { return rig.agent->count_lines("CONNECTED") >= 3; });

  // Still a working device, and the rewritten configuration works after a restart.
  rig.create_job("blink-after", R"({"operation": "blink", "times": 1, "period_ms": 50})");
  const std::string ended_blink_after = rig.wait_job_end("blink-after");
  {
    INFO(rig.describe());
    CHECK(ended_blink_after == "SUCCEEDED");
  }
  rig.stop_agent();
  rig.start_agent();
  rig.stop_agent();
}

TEST_CASE("rotation: a certificate the broker refuses is rolled back and the old identity carries on",
          "[rotation][pkcs11][integration][provider]") {
  Rig rig;
  rig.start_agent();
  const std::string before = read_text(rig.config_path);

  REQUIRE(rig.sim.request("PUT", "/provisioning/issue-mode", R"({"mode": "untrusted-ca"})").status / 100 == 2);
  rig.create_job("rotate-bad", R"({"operation": "rotate-certificate"})");
  INFO(rig.describe());
  const std::string ended_rotate_bad = rig.wait_job_end("rotate-bad");
  {
    INFO(rig.describe());
    REQUIRE(ended_rotate_bad == "FAILED");
  }
  CHECK(contains(rig.job("rotate-bad").second, "ROTATION_FAILED"));
  CHECK(contains(rig.agent->stderr_text(), "test connection"));
  CHECK(read_text(rig.config_path) == before);
  const std::string refused_key = rig.last_new_key();
  REQUIRE_FALSE(refused_key.empty());
  CHECK_FALSE(token_has_key(rig.token, refused_key));

  // A certificate for another key never gets as far as a test connection.
  REQUIRE(rig.sim.request("PUT", "/provisioning/issue-mode", R"({"mode": "wrong-key"})").status / 100 == 2);
  rig.create_job("rotate-wrong-key", R"({"operation": "rotate-certificate"})");
  const std::string ended_rotate_wrong_key = rig.wait_job_end("rotate-wrong-key");
  {
    INFO(rig.describe());
    REQUIRE(ended_rotate_wrong_key == "FAILED");
  }
  CHECK(contains(rig.agent->stderr_text(), "the issued certificate: the certificate is not for the key"));
  CHECK(read_text(rig.config_path) == before);

  // The old identity is still the device's: work goes on.
  rig.create_job("blink-after", R"({"operation": "blink", "times": 1, "period_ms": 50})");
  const std::string ended_blink_after = rig.wait_job_end("blink-after");
  {
    INFO(rig.describe());
    CHECK(ended_blink_after == "SUCCEEDED");
  }
  rig.stop_agent();
}
