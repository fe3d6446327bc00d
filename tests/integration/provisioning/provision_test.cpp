// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// examples/provision (`tether-provision`) run as a real process against mosquitto (the claim
// identity devices/claim.crt), tools/cloudsim (Fleet Provisioning by CSR, certificates signed by the
// broker's CA) and a SoftHSM2 token: a device's first boot, the refusals, and that a failed run
// leaves no key in the token and no file behind.
//
// ctest runs every case in a process of its own (SOFTHSM2_CONF, which the child inherits, is
// per test). The case tagged [provider] loads OpenSSL's pkcs11-provider in this process to connect
// with the new identity, which the sanitizer runtimes cannot run (RTLD_DEEPBIND): the asan-ubsan
// and tsan presets leave it out.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../broker_fixture.hpp"
#include "../cloudsim_fixture.hpp"
#include "../pkcs11/token_tls.hpp"
#include "../process_util.hpp"
#include "softhsm_token.hpp"
#include "tether/config.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/port/pkcs11/tls_key.hpp"
#include "tether/port/posix/config_file.hpp"

#ifndef TETHER_PROVISION_PROGRAM
#error "TETHER_PROVISION_PROGRAM (the path of tether-provision) must be defined by the build"
#endif
#ifndef TETHER_PKCS11_TOOL
#define TETHER_PKCS11_TOOL ""
#endif

namespace {

using namespace std::chrono_literals;
using tether::test::ChildProcess;
using tether::test::Cloudsim;
using tether::test::HttpResponse;
using tether::test::SoftHsmToken;
using tether::test::TempDir;
using tether::test::TestBroker;

constexpr const char* kTemplate = "fleet";
// dev-{SerialNumber}; the hook refuses one serial.
constexpr const char* kTemplateJson =
    R"({"thingName": "dev-{SerialNumber}", "deviceConfiguration": {"fleet": "lab", "serial": "{SerialNumber}"},)"
    R"( "preProvisioningHook": {"parameter": "SerialNumber", "deny": ["SN-666"]}})";
constexpr const char* kLabel = "tether-identity";

// A device on its first boot: the broker, the cloud (optional), a token, a claim configuration.
struct FirstBoot {
  explicit FirstBoot(bool with_cloud = true) {
    if (with_cloud) {
      cloud = std::make_unique<Cloudsim>(broker);
      const HttpResponse put = cloud->request("PUT", std::string("/provisioning-templates/") + kTemplate, kTemplateJson);
      INFO(put.body);
      REQUIRE(put.status / 100 == 2);
    }
    write_claim_config(broker.path("devices/claim.crt"), broker.path("devices/claim.key"));
  }

  // The claim configuration: thing "claim", the claim certificate and key files, the token.
  void write_claim_config(const std::string& cert, const std::string& key) const {
    std::ofstream out(config);
    out << "{\n"
        << "  \"thing_name\": \"claim\",\n"
        << "  \"endpoint\": \"localhost\",\n"
        << "  \"port\": " << broker.port() << ",\n"
        << "  \"tls\": {\"ca_file\": \"" << broker.path("ca.crt") << "\", \"cert_file\": \"" << cert
        << "\", \"key\": \"" << key << "\"},\n"
        << "  \"mqtt\": {\"version\": 5, \"connect_timeout_ms\": 10000},\n"
        << "  \"heartbeat\": {\"enabled\": false},\n"
        << "  \"pkcs11\": {\"module\": \"" << tether::test::softhsm_module_path() << "\", \"pin_file\": \""
        << token.pin_file() << "\", \"token\": \"pkcs11:token=" << tether::test::kTokenLabel << "\"}\n"
        << "}\n";
    REQUIRE(out.good());
  }

  std::string path(const std::string& name) const { return dir / name; }

  TestBroker broker;
  std::unique_ptr<Cloudsim> cloud;
  SoftHsmToken token;
  TempDir dir{"tether-provision"};
  std::string config = dir / "claim.json";
};

struct Run {
  int exit_code = -1;
  std::vector<std::string> out;
  std::string err;
  std::string transcript;
};

Run provision(const std::vector<std::string>& args) {
  std::vector<std::string> argv{TETHER_PROVISION_PROGRAM};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv);
  const bool exited = child.wait_exit(120s);
  INFO(child.transcript());
  REQUIRE(exited);
  Run run;
  run.exit_code = child.exit_code();
  run.out = child.stdout_lines();
  run.err = child.stderr_text();
  run.transcript = child.describe_exit() + "\n" + child.transcript();
  // Under the asan-ubsan preset a report would end the program with exit 1 too: never take it
  // for a usage error.
  INFO(run.transcript);
  CHECK(run.err.find("Sanitizer") == std::string::npos);
  CHECK(run.err.find("runtime error:") == std::string::npos);
  return run;
}

// The labels of the private keys in the test token, as pkcs11-tool lists them.
std::vector<std::string> private_key_labels() {
  const std::string tool = TETHER_PKCS11_TOOL;
  if (tool.empty()) FAIL("pkcs11-tool was not found at configure time: apt-get install opensc");
  const tether::test::ProcessResult list =
      tether::test::run_program({tool, "--module", tether::test::softhsm_module_path(), "--token-label",
                                 tether::test::kTokenLabel, "--login", "--pin", tether::test::kUserPin, "--list-objects",
                                 "--type", "privkey"});
  INFO(list.output);
  REQUIRE(list.exit_code == 0);
  std::vector<std::string> labels;
  for (std::size_t at = list.output.find("label:"); at != std::string::npos; at = list.output.find("label:", at + 1)) {
    std::size_t start = list.output.find_first_not_of(' ', at + 6);
    const std::size_t end = list.output.find('\n', at);
    labels.push_back(list.output.substr(start, end - start));
  }
  return labels;
}

bool has_key(const std::string& label) {
  const std::vector<std::string> labels = private_key_labels();
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

mode_t file_mode(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 0777;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Provisions dev-SN-1 with the defaults for every path and checks what a first boot leaves:
// exit 0, the configuration and certificate next to CONFIG, the certificate ACTIVE at the service.
tether::AgentConfig provision_dev_sn_1(FirstBoot& boot) {
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                             "dev-SN-1", "--timeout-s", "20"});
  INFO(run.transcript);
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.out.size() == 1);
  const std::string& line = run.out[0];
  CHECK(line.rfind("PROVISIONED thing=dev-SN-1 certificate=", 0) == 0);
  const std::string new_config = boot.path("dev-SN-1.json");
  const std::string cert = boot.path("dev-SN-1.crt");
  CHECK(line.find("config=" + new_config) != std::string::npos);
  CHECK(line.find("cert=" + cert) != std::string::npos);
  // Never the PIN.
  CHECK(run.err.find(tether::test::kUserPin) == std::string::npos);
  CHECK(line.find(tether::test::kUserPin) == std::string::npos);

  // The new configuration loads and names the thing, the certificate and the key in the token.
  REQUIRE(exists(new_config));
  CHECK(file_mode(new_config) == 0600);
  tether::AgentConfig config;
  tether::ErrorText error;
  INFO(tether::test::read_file(new_config));
  REQUIRE(tether::port::load_config_file(new_config.c_str(), config, &error).ok());
  CHECK(config.thing_name == "dev-SN-1");
  CHECK(config.client_id == "dev-SN-1");
  CHECK(config.broker.cert_file == cert);
  const std::string key_uri(config.broker.key.view());
  CHECK(key_uri.rfind("pkcs11:", 0) == 0);
  CHECK(key_uri.find(std::string("object=") + kLabel) != std::string::npos);
  CHECK(key_uri.find("type=private") != std::string::npos);
  CHECK(config.pkcs11.enabled);  // kept from the claim configuration
  CHECK(config.broker.port == boot.broker.port());
  // The claim configuration is untouched.
  CHECK(tether::test::read_file(boot.config).find("devices/claim.crt") != std::string::npos);

  REQUIRE(exists(cert));
  CHECK(file_mode(cert) == 0644);
  CHECK(tether::test::read_file(cert).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);

  // The service knows the certificate as ACTIVE for dev-SN-1.
  const std::size_t id_at = line.find("certificate=") + 12;
  const std::string certificate_id = line.substr(id_at, line.find(' ', id_at) - id_at);
  CHECK(certificate_id.size() == 64);
  const HttpResponse listed = boot.cloud->request("GET", "/certificates?thing=dev-SN-1&status=ACTIVE");
  INFO(listed.body);
  CHECK(listed.status == 200);
  CHECK(listed.body.find(certificate_id) != std::string::npos);
  return config;
}

}  // namespace

TEST_CASE("tether-provision gives a device its own identity whose key stays inside the token",
          "[provisioning][integration]") {
  FirstBoot boot;
  provision_dev_sn_1(boot);
  // What another PKCS#11 client sees of the key: generated inside, never extractable.
  const std::vector<std::string> access = boot.token.private_key_access(kLabel);
  CHECK(std::find(access.begin(), access.end(), "never extractable") != access.end());
  CHECK(std::find(access.begin(), access.end(), "extractable") == access.end());
  CHECK(std::find(access.begin(), access.end(), "sensitive") != access.end());
}

TEST_CASE("The identity tether-provision made connects to the broker as the new thing",
          "[provisioning][integration][provider]") {
  FirstBoot boot;
  const tether::AgentConfig config = provision_dev_sn_1(boot);
  // As an agent with the new configuration does it: the key through OpenSSL's pkcs11-provider.
  const std::string key_pem = boot.path("tls-key.pem");
  tether::port::KeyInfo key;
  tether::ErrorText error;
  const tether::Status enabled =
      tether::port::enable_pkcs11_tls_key(tether::port::pkcs11_tls_settings(config, key_pem), &key, &error);
  INFO(error.c_str());
  REQUIRE(enabled.ok());
  CHECK_FALSE(key.extractable);
  // The broker confines a certificate to things/<CN>/#: the round trip proves it is dev-SN-1's.
  tether::test::round_trip_as(boot.broker, "dev-SN-1", std::string(config.broker.cert_file.view()), key_pem);
}

TEST_CASE("A serial the pre-provisioning hook refuses exits 3 with AccessDenied and leaves no key and no file",
          "[provisioning][integration]") {
  FirstBoot boot;
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-666", "--common-name",
                             "dev-SN-666", "--timeout-s", "20"});
  INFO(run.transcript);
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());
  CHECK(run.err.find("AccessDenied") != std::string::npos);
  CHECK(run.err.find("403") != std::string::npos);
  CHECK(run.err.find("deleted the new key") != std::string::npos);
  CHECK(run.err.find(tether::test::kUserPin) == std::string::npos);
  CHECK_FALSE(exists(boot.path("dev-SN-666.json")));
  CHECK_FALSE(exists(boot.path("dev-SN-666.crt")));
  CHECK_FALSE(has_key(kLabel));

  // Nothing left over: a retry with an allowed serial and the same label succeeds.
  const Run retry = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                               "dev-SN-1", "--timeout-s", "20"});
  INFO(retry.transcript);
  CHECK(retry.exit_code == 0);
  CHECK(has_key(kLabel));
}

TEST_CASE("An unknown template exits 3 with the service's 404 ResourceNotFound and deletes the key",
          "[provisioning][integration]") {
  FirstBoot boot;
  const Run run = provision({boot.config, "--template", "no-such-template", "--param", "SerialNumber=SN-1",
                             "--common-name", "dev-SN-1", "--timeout-s", "20"});
  INFO(run.transcript);
  CHECK(run.exit_code == 3);
  CHECK(run.err.find("ResourceNotFound") != std::string::npos);
  CHECK(run.err.find("404") != std::string::npos);
  CHECK(run.err.find("no-such-template") != std::string::npos);
  CHECK_FALSE(exists(boot.path("dev-SN-1.json")));
  CHECK_FALSE(has_key(kLabel));
}

TEST_CASE("Without the provisioning service the run times out, exits 3 and deletes the key",
          "[provisioning][integration]") {
  FirstBoot boot(/*with_cloud=*/false);
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                             "dev-SN-1", "--timeout-s", "2"});
  INFO(run.transcript);
  CHECK(run.exit_code == 3);
  CHECK(run.err.find("no answer within 2000 ms") != std::string::npos);
  CHECK_FALSE(exists(boot.path("dev-SN-1.json")));
  CHECK_FALSE(has_key(kLabel));
}

TEST_CASE("A claim certificate the broker does not authorize for provisioning exits 3 and says so",
          "[provisioning][integration]") {
  FirstBoot boot;
  // device-1 may connect but not use the provisioning topics.
  boot.write_claim_config(boot.broker.path("devices/device-1.crt"), boot.broker.path("devices/device-1.key"));
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                             "dev-SN-1", "--timeout-s", "10"});
  INFO(run.transcript);
  CHECK(run.exit_code == 3);
  CHECK(run.err.find("did not authorize the provisioning topics") != std::string::npos);
  CHECK(run.err.find("devices/device-1.crt") != std::string::npos);
  CHECK_FALSE(exists(boot.path("dev-SN-1.json")));
  CHECK_FALSE(has_key(kLabel));
}

TEST_CASE("A certificate issued for another key is refused: exit 3, nothing written, the key deleted",
          "[provisioning][integration]") {
  FirstBoot boot;
  // cloudsim's test knob: certificates carry a throwaway public key instead of the CSR's.
  const HttpResponse mode = boot.cloud->request("PUT", "/provisioning/issue-mode", R"({"mode": "wrong-key"})");
  INFO(mode.body);
  REQUIRE(mode.status == 200);
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                             "dev-SN-1", "--timeout-s", "20"});
  INFO(run.transcript);
  CHECK(run.exit_code == 3);
  CHECK(run.err.find("the certificate is not for the key") != std::string::npos);
  CHECK(run.err.find("revoke it") != std::string::npos);
  CHECK_FALSE(exists(boot.path("dev-SN-1.json")));
  CHECK_FALSE(exists(boot.path("dev-SN-1.crt")));
  CHECK_FALSE(has_key(kLabel));
}

TEST_CASE("A configuration that cannot be written exits 4, removes the certificate written before and the key",
          "[provisioning][integration]") {
  FirstBoot boot;
  const std::string cert = boot.path("dev-SN-1.crt");
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1", "--common-name",
                             "dev-SN-1", "--out-config", boot.path("missing-dir/dev-SN-1.json"), "--cert-out", cert});
  INFO(run.transcript);
  CHECK(run.exit_code == 4);
  CHECK(run.err.find("writing the configuration") != std::string::npos);
  CHECK(run.err.find("missing-dir") != std::string::npos);
  CHECK(run.err.find("revoke it") != std::string::npos);
  CHECK_FALSE(exists(cert));
  CHECK_FALSE(has_key(kLabel));
}

TEST_CASE("A label already used in the token exits 2 and leaves that key alone", "[provisioning][integration]") {
  FirstBoot boot(/*with_cloud=*/false);
  {
    tether::port::Pkcs11KeyStore store(boot.token.settings());
    tether::port::KeySpec spec;
    spec.label = kLabel;
    auto existing = store.generate_key(spec);
    INFO(store.last_error());
    REQUIRE(existing.ok());
  }
  const Run run = provision({boot.config, "--template", kTemplate, "--param", "SerialNumber=SN-1"});
  INFO(run.transcript);
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("already exists") != std::string::npos);
  CHECK(run.err.find(kLabel) != std::string::npos);
  CHECK(has_key(kLabel));
}

TEST_CASE("tether-provision without --template exits 1 and touches no token", "[provisioning][integration]") {
  FirstBoot boot(/*with_cloud=*/false);
  const Run run = provision({boot.config, "--param", "SerialNumber=SN-1"});
  INFO(run.transcript);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("--template") != std::string::npos);
  CHECK(run.err.find("usage:") != std::string::npos);
  CHECK(private_key_labels().empty());
}
