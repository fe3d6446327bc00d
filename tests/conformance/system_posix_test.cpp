// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The System conformance suite against PosixSystem with real programs (/bin/echo, /bin/false,
// /bin/sleep, /bin/sh), and what only the POSIX implementation has: the environment, stdin, the
// descriptors a program inherits, its process group, the configuration file on disk and the reboot
// actions. No test reboots anything: every restart goes through an injected function or a child
// process.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "posix_test_files.hpp"
#include "system_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/posix/posix_system.hpp"

using namespace tether;
using port::PosixSystem;
using port::PosixSystemSettings;
using port::ProcessId;
using port::ProcessState;
using port::ProcessStatus;

namespace {

using conformance::exists;
using conformance::stat_of;
using conformance::TempDir;

void pause_briefly() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PosixTarget final : public conformance::SystemTarget {
 public:
  port::System& create(std::size_t max_processes, std::size_t output_capacity,
                       const std::string& config_text) override {
    const std::string path = dir_.path() + "/agent.json";
    write_text(path, config_text);
    PosixSystemSettings settings;
    settings.config_path = path;
    settings.max_processes = max_processes;
    settings.output_capacity = output_capacity;
    settings.reboot = [] { return Status(StatusCode::kUnimplemented, Origin::kOs); };  // never the machine
    system_.reset();
    system_ = std::make_unique<PosixSystem>(settings);
    return *system_;
  }
  conformance::ProgramSpec echo() override { return {"/bin/echo", {}}; }
  conformance::ProgramSpec fail() override { return {"/bin/false", {}}; }
  conformance::ProgramSpec sleeper() override { return {"/bin/sleep", {"60"}}; }
  conformance::ProgramSpec stubborn() override {
    return {"/bin/sh", {"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}};
  }
  std::string missing() override { return dir_.path() + "/no-such-program"; }
  void pause() override { pause_briefly(); }

 private:
  TempDir dir_{"tether-system"};
  std::unique_ptr<PosixSystem> system_;
};

// Starts `path` with `args` on `system` and waits (at most about 10 s) for it to end.
struct Ran {
  ProcessId id = 0;
  ProcessStatus status;
  std::string output;
};

Ran run(PosixSystem& system, const std::string& path, const std::vector<std::string>& args = {}) {
  std::vector<std::string_view> views(args.begin(), args.end());
  const Result<ProcessId> id = system.start_process(path, Span<const std::string_view>(views.data(), views.size()));
  REQUIRE(id.status() == Status());
  Ran r;
  r.id = *id;
  for (int i = 0; i < 5000; ++i) {
    const Result<ProcessStatus> s = system.poll_process(*id);
    REQUIRE(s.status() == Status());
    r.status = *s;
    if (s->state != ProcessState::kRunning) break;
    pause_briefly();
  }
  REQUIRE(r.status.state != ProcessState::kRunning);
  std::string out(system.output_capacity(), '\0');
  out.resize(system.read_output(*id, Span<char>(&out[0], out.size())).value_or(0));
  r.output = out;
  REQUIRE(system.release_process(*id) == Status());
  return r;
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie waiting for a parent that does not reap (a container's init) is gone too.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

TETHER_SYSTEM_CONFORMANCE_TESTS("system conformance (posix)", PosixTarget)

// --- what only PosixSystem has -------------------------------------------------------------------------

TEST_CASE("posix system: a program gets exactly the configured environment and no shell") {
  PosixSystemSettings settings;
  settings.environment = {"PATH=/usr/bin:/bin", "LC_ALL=C", "TETHER_TEST=1"};
  PosixSystem system(settings);
  CHECK(run(system, "/usr/bin/env").output == "PATH=/usr/bin:/bin\nLC_ALL=C\nTETHER_TEST=1\n");
  // Arguments reach the program as they are: nothing expands them.
  CHECK(run(system, "/bin/echo", {"$HOME;", "*", "`id`", "a b"}).output == "$HOME; * `id` a b\n");
}

TEST_CASE("posix system: stdin is /dev/null and stderr is captured with stdout") {
  PosixSystem system;
  const Ran cat = run(system, "/bin/cat");  // would wait forever on a terminal or a pipe
  CHECK(cat.status.state == ProcessState::kExited);
  CHECK(cat.status.exit_code == 0);
  CHECK(cat.output.empty());
  const Ran ls = run(system, "/bin/ls", {"/no/such/dir"});
  CHECK(ls.status.exit_code != 0);
  CHECK(ls.output.find("/no/such/dir") != std::string::npos);
}

TEST_CASE("posix system: programs start in the working directory and inherit no other descriptor") {
  const int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(fd >= 0);
  const int high = ::dup2(fd, 57);
  REQUIRE(high == 57);
  PosixSystem system;
  const Ran ls = run(system, "/bin/ls", {"/proc/self/fd"});
  ::close(fd);
  ::close(high);
  // 0, 1, 2 and the directory ls itself opened to list.
  CHECK(ls.output == "0\n1\n2\n3\n");
  CHECK(run(system, "/bin/pwd").output == "/\n");
}

TEST_CASE("posix system: signals reach the program's whole process group") {
  PosixSystem system;
  const std::string_view args[] = {"-c", "sleep 60 & echo $!; wait"};
  const Result<ProcessId> id = system.start_process("/bin/sh", Span<const std::string_view>(args, 2));
  REQUIRE(id.ok());
  std::string out(64, '\0');
  for (int i = 0; i < 5000 && system.poll_process(*id)->output_total == 0; ++i) pause_briefly();
  out.resize(system.read_output(*id, Span<char>(&out[0], out.size())).value_or(0));
  const pid_t grandchild = static_cast<pid_t>(std::stol(out));
  REQUIRE(grandchild > 0);
  CHECK_FALSE(process_gone(grandchild));
  REQUIRE(system.signal_process(*id, port::ProcessSignal::kTerminate) == Status());
  bool gone = false;
  for (int i = 0; i < 5000 && !gone; ++i) {
    system.poll_process(*id).status().ignore();
    gone = process_gone(grandchild);
    if (!gone) pause_briefly();
  }
  CHECK(gone);
}

TEST_CASE("posix system: output far beyond the buffer is collected over several polls, the most recent kept") {
  PosixSystemSettings settings;
  settings.output_capacity = 4096;
  PosixSystem system(settings);
  const Ran seq = run(system, "/usr/bin/seq", {"1", "200000"});  // 1288895 bytes
  CHECK(seq.status.exit_code == 0);
  CHECK(seq.status.output_total == 1288895);
  CHECK(seq.status.output_cut == 1288895 - 4096);
  CHECK(seq.output.size() == 4096);
  CHECK(seq.output.substr(seq.output.size() - 14) == "199999\n200000\n");
}

TEST_CASE("posix system: a program's stdout is a pipe the program can block on while the agent polls") {
  PosixSystemSettings settings;
  settings.output_capacity = 64;
  PosixSystem system(settings);
  // 1 MiB: more than a pipe holds, so the writer waits for the reader (blocking write end).
  const Ran head = run(system, "/usr/bin/head", {"-c", "1048576", "/dev/zero"});
  CHECK(head.status.exit_code == 0);
  CHECK(head.status.output_total == 1048576);
}

TEST_CASE("posix system: the destructor kills and reaps what is still running") {
  pid_t pid = 0;
  {
    PosixSystem system;
    const std::string_view args[] = {"-c", "echo $$; exec sleep 60"};
    const Result<ProcessId> id = system.start_process("/bin/sh", Span<const std::string_view>(args, 2));
    REQUIRE(id.ok());
    for (int i = 0; i < 5000 && system.poll_process(*id)->output_total == 0; ++i) pause_briefly();
    std::string out(32, '\0');
    out.resize(system.read_output(*id, Span<char>(&out[0], out.size())).value_or(0));
    pid = static_cast<pid_t>(std::stol(out));
    CHECK_FALSE(process_gone(pid));
  }
  CHECK(process_gone(pid));
  CHECK(::kill(pid, 0) != 0);  // reaped: not even a zombie
}

TEST_CASE(
    "posix system: replacing the configuration keeps the file's mode, leaves no temporary file and follows a link") {
  TempDir dir("tether-system");
  const std::string real = dir.path() + "/real.json";
  const std::string link = dir.path() + "/agent.json";
  write_text(real, "{}");
  REQUIRE(::chmod(real.c_str(), 0640) == 0);
  REQUIRE(::symlink("real.json", link.c_str()) == 0);
  PosixSystemSettings settings;
  settings.config_path = link;
  PosixSystem system(settings);
  REQUIRE(system.replace_config("{\"a\": 1}\n") == Status());
  CHECK(read_text(real) == "{\"a\": 1}\n");
  CHECK(S_ISLNK(stat_of(link).st_mode));
  CHECK((stat_of(real).st_mode & 07777) == 0640);
  CHECK_FALSE(exists(real + ".tmp"));
}

TEST_CASE("posix system: a new configuration file is created 0600; a missing directory is not found") {
  TempDir dir("tether-system");
  PosixSystemSettings settings;
  settings.config_path = dir.path() + "/new.json";
  PosixSystem system(settings);
  char buf[16];
  CHECK(system.read_config(Span<char>(buf, sizeof buf)).status() == Status(StatusCode::kNotFound, Origin::kOs, ENOENT));
  REQUIRE(system.replace_config("{}") == Status());
  CHECK((stat_of(settings.config_path).st_mode & 07777) == 0600);

  PosixSystemSettings nowhere;
  nowhere.config_path = dir.path() + "/missing/agent.json";
  PosixSystem lost(nowhere);
  CHECK(lost.replace_config("{}") == Status(StatusCode::kNotFound, Origin::kOs, ENOENT));
  CHECK(std::string(lost.last_error()).find("missing/agent.json.tmp") != std::string::npos);
}

TEST_CASE("posix system: without a configuration path both configuration calls are unimplemented") {
  PosixSystem system;
  char buf[16];
  CHECK(system.read_config(Span<char>(buf, sizeof buf)).status().code() == StatusCode::kUnimplemented);
  CHECK(system.replace_config("{}").code() == StatusCode::kUnimplemented);
}

TEST_CASE("posix system: request_reboot calls the injected action") {
  int calls = 0;
  PosixSystemSettings settings;
  settings.reboot = [&calls] {
    ++calls;
    return Status(StatusCode::kUnavailable, Origin::kOs, 7);
  };
  PosixSystem system(settings);
  CHECK(system.request_reboot() == Status(StatusCode::kUnavailable, Origin::kOs, 7));
  CHECK(calls == 1);
}

TEST_CASE("posix system: the reboot-command action runs a program and reports how it ended") {
  CHECK(PosixSystem::run_reboot_command("/bin/true", {})() == Status());
  CHECK(PosixSystem::run_reboot_command("/bin/sh", {"-c", "exit 3"})() ==
        Status(StatusCode::kUnavailable, Origin::kOs, 3));
  CHECK(PosixSystem::run_reboot_command("/no/such/reboot", {})().code() == StatusCode::kNotFound);
}

TEST_CASE("posix system: the default restart ends the process with the documented exit code") {
  // In a forked child: the action does not return.
  const int code = conformance::exit_code_in_child([] {
    PosixSystem system;
    system.request_reboot().ignore();
    return 0;
  });
  CHECK(code == PosixSystem::kRestartExitCode);
}

TEST_CASE("posix system: a process released while running is killed and reaped later") {
  PosixSystemSettings settings;
  settings.max_processes = 1;
  PosixSystem system(settings);
  const std::string_view args[] = {"60"};
  const Result<ProcessId> id = system.start_process("/bin/sleep", Span<const std::string_view>(args, 1));
  REQUIRE(id.ok());
  REQUIRE(system.release_process(*id) == Status());
  // The slot is free at once, whether or not the kernel had reaped the sleeper yet.
  const Ran echo = run(system, "/bin/echo", {"next"});
  CHECK(echo.output == "next\n");
}
