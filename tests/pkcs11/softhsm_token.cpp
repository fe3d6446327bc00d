// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "softhsm_token.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>

extern char** environ;

namespace tether::test {

// Runs a program without a shell; stdout and stderr are captured.
ProcessResult run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  ProcessResult result;
  if (rc != 0) {
    ::close(pipe_fds[0]);
    FAIL("cannot start " << args[0] << ": " << std::strerror(rc));
  }
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string softhsm_module_path() {
  std::string module = TETHER_SOFTHSM2_MODULE;
  if (module.empty() || ::access(module.c_str(), R_OK) != 0) {
    FAIL(
        "SoftHSM2's PKCS#11 module (libsofthsm2.so) was not found at "
        "configure time: apt-get install softhsm2 "
        "and configure again");
  }
  return module;
}

SoftHsmToken::SoftHsmToken() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tether-pkcs11-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  REQUIRE(::mkdtemp(buf.data()) != nullptr);
  dir_ = buf.data();
  std::filesystem::create_directory(dir_ / "tokens");
  conf_ = dir_ / "softhsm2.conf";
  std::ofstream(conf_) << "directories.tokendir = " << (dir_ / "tokens").string()
                       << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  // Read by the module at C_Initialize: set before any store loads it.
  REQUIRE(::setenv("SOFTHSM2_CONF", conf_.c_str(), 1) == 0);
  std::string util = TETHER_SOFTHSM2_UTIL;
  if (util.empty())
    FAIL(
        "softhsm2-util was not found at configure time: apt-get install "
        "softhsm2");
  ProcessResult init =
      run_program({util, "--init-token", "--free", "--label", kTokenLabel, "--so-pin", kSoPin, "--pin", kUserPin});
  INFO(init.output);
  REQUIRE(init.exit_code == 0);
  pin_file_ = (dir_ / "pin").string();
  write_pin_file(pin_file_, kUserPin, 0600);
}
SoftHsmToken::~SoftHsmToken() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}
void SoftHsmToken::write_pin_file(const std::string& path, const std::string& pin, mode_t mode) {
  std::ofstream(path) << pin << "\n";
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

port::Pkcs11KeyStoreSettings SoftHsmToken::settings() const {
  port::Pkcs11KeyStoreSettings s;
  s.module_path = softhsm_module_path();
  s.pin_file = pin_file_;
  s.token_uri = std::string("pkcs11:token=") + kTokenLabel;
  return s;
}
port::Pkcs11KeyStoreSettings SoftHsmToken::settings_with_pin_file(const std::string& name, const std::string& pin,
                                                                  mode_t mode) const {
  port::Pkcs11KeyStoreSettings s = settings();
  s.pin_file = (dir_ / name).string();
  write_pin_file(s.pin_file, pin, mode);
  return s;
}

std::vector<std::string> SoftHsmToken::private_key_access(const std::string& label) const {
  std::string tool = TETHER_PKCS11_TOOL;
  if (tool.empty()) FAIL("pkcs11-tool was not found at configure time: apt-get install opensc");
  ProcessResult list = run_program({tool, "--module", softhsm_module_path(), "--token-label", kTokenLabel, "--login",
                                    "--pin", kUserPin, "--list-objects", "--type", "privkey", "--label", label});
  INFO(list.output);
  REQUIRE(list.exit_code == 0);
  std::size_t at = list.output.find("Access:");
  REQUIRE(at != std::string::npos);
  std::size_t end = list.output.find('\n', at);
  std::string line = list.output.substr(at + 7, end - at - 7);
  std::vector<std::string> flags;
  std::size_t start = 0;
  while (start < line.size()) {
    std::size_t comma = line.find(',', start);
    if (comma == std::string::npos) comma = line.size();
    std::string flag = line.substr(start, comma - start);
    flag.erase(0, flag.find_first_not_of(' '));
    flag.erase(flag.find_last_not_of(' ') + 1);
    if (!flag.empty()) flags.push_back(flag);
    start = comma + 1;
  }
  return flags;
}

}  // namespace tether::test
