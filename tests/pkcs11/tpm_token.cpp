// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tpm_token.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

namespace tether::test {

namespace {

constexpr const char* kInstall =
    "apt-get install swtpm swtpm-tools tpm2-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools "
    "(scripts/install-deps.sh host) and configure again";

// A program found at configure time; fails the test when it is missing.
void require_program(const std::string& path, const char* name) {
  if (path.empty() || ::access(path.c_str(), X_OK) != 0) FAIL(name << " was not found at configure time: " << kInstall);
}

// Can 127.0.0.1:port be bound right now?
bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Gone, or a zombie nobody has reaped yet (a daemon's parent is not us).
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

std::string tpm2_pkcs11_module_path() {
  std::string module = TETHER_TPM2_PKCS11_MODULE;
  if (module.empty() || ::access(module.c_str(), R_OK) != 0) {
    FAIL("tpm2-pkcs11's PKCS#11 module (libtpm2_pkcs11.so) was not found at configure time: " << kInstall);
  }
  return module;
}

TpmToken::Resources::~Resources() {
  if (swtpm_pid > 0 && ::kill(swtpm_pid, SIGTERM) == 0 && !wait_gone(swtpm_pid, std::chrono::seconds(5))) {
    ::kill(swtpm_pid, SIGKILL);
    static_cast<void>(wait_gone(swtpm_pid, std::chrono::seconds(5)));
  }
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

TpmToken::TpmToken() {
  for (const auto& [path, name] : {std::pair{TETHER_SWTPM, "swtpm"}, std::pair{TETHER_TPM2_PTOOL, "tpm2_ptool"},
                                    std::pair{TETHER_TPM2_FLUSHCONTEXT, "tpm2_flushcontext"}}) {
    require_program(path, name);
  }
  static_cast<void>(tpm2_pkcs11_module_path());

  std::string pattern = (std::filesystem::temp_directory_path() / "tether-tpm-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  res_.dir = pattern;
  std::filesystem::create_directory(res_.dir / "state");
  std::filesystem::create_directory(res_.dir / "store");

  // An even port and the next one (server, control), both free; another test may take them
  // between the check and swtpm's bind: swtpm then fails and the next pair is tried.
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(10000, 15999);
  bool started = false;
  for (int attempt = 0; attempt < 50 && !started; ++attempt) {
    int port = 2 * pick(random);  // 20000..31998: below Linux's ephemeral range
    if (port_free(port) && port_free(port + 1)) started = start_swtpm(port);
  }
  INFO("no free pair of local TCP ports for swtpm found in 50 tries");
  REQUIRE(started);

  // Read at C_Initialize by the module; TPM2TOOLS_TCTI by tpm2-tools (and tpm2_ptool's own TSS calls).
  REQUIRE(::setenv("TPM2_PKCS11_STORE", (res_.dir / "store").c_str(), 1) == 0);
  REQUIRE(::setenv("TPM2_PKCS11_TCTI", tcti_.c_str(), 1) == 0);
  REQUIRE(::setenv("TPM2TOOLS_TCTI", tcti_.c_str(), 1) == 0);

  // Up once it answers a command (swtpm binds before it daemonizes: the first try normally does).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  ProcessResult probe;
  while ((probe = run_program({TETHER_TPM2_FLUSHCONTEXT, "-t"})).exit_code != 0 &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO("swtpm at " << tcti_ << " does not answer: " << probe.output);
  REQUIRE(probe.exit_code == 0);

  write_tool_wrappers();
  run_ptool({"init"});
  run_ptool({"addtoken", "--pid=1", std::string("--label=") + kTpmTokenLabel, std::string("--userpin=") + kTpmUserPin,
             std::string("--sopin=") + kTpmSoPin});
  pin_file_ = (res_.dir / "pin").string();
  SoftHsmToken::write_pin_file(pin_file_, kTpmUserPin, 0600);
}

TpmToken::~TpmToken() {
  try {
    if (res_.swtpm_pid > 0) static_cast<void>(run_program({TETHER_TPM2_FLUSHCONTEXT, "-t"}));
  } catch (...) {  // NOLINT(bugprone-empty-catch): swtpm goes next anyway; never throw from here
  }
}

bool TpmToken::start_swtpm(int port) {
  const std::string state = (res_.dir / "state").string();
  const std::string pid_file = (res_.dir / "swtpm.pid").string();
  std::filesystem::remove(pid_file);
  ProcessResult run = run_program({TETHER_SWTPM, "socket", "--tpm2", "--tpmstate", "dir=" + state, "--server",
                                   "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1", "--ctrl",
                                   "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1", "--flags",
                                   "not-need-init,startup-clear", "--daemon", "--pid", "file=" + pid_file});
  if (run.exit_code != 0 && run.output.find("Address already in use") != std::string::npos) return false;
  INFO("swtpm on ports " << port << "/" << port + 1 << ": " << run.output);
  REQUIRE(run.exit_code == 0);
  // The daemon writes its pid file after the parent has returned.
  pid_t pid = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(std::ifstream(pid_file) >> pid) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO("swtpm's pid file " << pid_file);
  REQUIRE(pid > 0);
  res_.swtpm_pid = pid;
  tcti_ = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
  return true;
}

// tpm2_ptool runs tpm2-tools programs one after the other and expects a resource manager to drop
// what each left loaded; without one the 3 slots of swtpm run out during addtoken (0x902). The
// wrappers flush after every program, as a resource manager does when its client goes.
void TpmToken::write_tool_wrappers() const {
  const std::filesystem::path bin = res_.dir / "bin";
  std::filesystem::create_directory(bin);
  const std::string tools = std::filesystem::path(TETHER_TPM2_FLUSHCONTEXT).parent_path().string();
  const std::filesystem::path wrapper = bin / "flush-after";
  std::ofstream(wrapper) << "#!/bin/sh\n\"" << tools << "/${0##*/}\" \"$@\"\nrc=$?\n\"" << TETHER_TPM2_FLUSHCONTEXT
                         << "\" -t >/dev/null 2>&1\nexit $rc\n";
  REQUIRE(::chmod(wrapper.c_str(), 0700) == 0);
  // The programs tpm2_ptool 1.9 runs.
  for (const char* tool : {"changeauth", "create", "createprimary", "encryptdecrypt", "evictcontrol", "getcap",
                           "import", "load", "loadexternal", "readpublic", "sign", "unseal"}) {
    std::filesystem::create_symlink("flush-after", bin / (std::string("tpm2_") + tool));
  }
}

void TpmToken::run_ptool(const std::vector<std::string>& args) const {
  const char* path = std::getenv("PATH");
  const std::string wrappers_first = (res_.dir / "bin").string() + ":" + (path != nullptr ? path : "/usr/bin:/bin");
  std::vector<std::string> argv = {"/usr/bin/env", "PATH=" + wrappers_first, TETHER_TPM2_PTOOL};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult run = run_program(argv);
  INFO("tpm2_ptool " << args.front() << ": " << run.output);
  REQUIRE(run.exit_code == 0);
}

port::Pkcs11KeyStoreSettings TpmToken::settings() const {
  port::Pkcs11KeyStoreSettings s;
  s.module_path = tpm2_pkcs11_module_path();
  s.pin_file = pin_file_;
  s.token_uri = std::string("pkcs11:token=") + kTpmTokenLabel;
  return s;
}

void TpmToken::flush_transient() const {
  ProcessResult run = run_program({TETHER_TPM2_FLUSHCONTEXT, "-t"});
  INFO("tpm2_flushcontext -t at " << tcti_ << ": " << run.output);
  REQUIRE(run.exit_code == 0);
}

}  // namespace tether::test
