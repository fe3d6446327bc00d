// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers the integration fixtures share for the processes they run: the source tree, temporary
// directories, a child process whose output is collected, and a watchdog that cleans up after a
// test process that died without doing so itself.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>  // mkdtemp
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef TETHER_SOURCE_DIR
#define TETHER_SOURCE_DIR ""
#endif

extern char** environ;

// Paths of the example programs the integration tests run, compiled in by tests/integration's
// CMakeLists.txt where the program is built (tether_example_under_test); "" elsewhere.
#ifndef TETHER_OFFLINE_AGENT
#define TETHER_OFFLINE_AGENT ""
#endif
#ifndef TETHER_COMMAND_AGENT
#define TETHER_COMMAND_AGENT ""
#endif
#ifndef TETHER_LINUX_AGENT
#define TETHER_LINUX_AGENT ""
#endif

namespace tether::test {

/// The program a test runs: $`env_var` when given, set and not empty (the cross builds point
/// TETHER_LINUX_AGENT at a script running their binary under qemu-user), else `built`, a path
/// compiled in (TETHER_COMMAND_AGENT, ...: "" when that program is not built).
inline std::string program_under_test(const char* env_var, const char* built) {
  const char* from_env = env_var != nullptr ? std::getenv(env_var) : nullptr;
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return built;
}

/// The source tree: $TETHER_SOURCE_DIR (set by ctest), else the directory the tests were built from.
inline std::string tether_source_dir() {
  const char* from_env = std::getenv("TETHER_SOURCE_DIR");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return TETHER_SOURCE_DIR;
}

/// A whole text file ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs `cleanup_command` (with /bin/sh) if this test process dies while `dir` still exists (abort,
/// sanitizer halt, ctest timeout kill): daemons and children would outlive it. A detached grandchild
/// polls once a second until the process is gone or the directory was removed by the fixture's
/// destructor. It keeps none of the test's file descriptors (a client socket held open by it would
/// hide disconnects from the broker).
inline void start_watchdog(const std::string& cleanup_command, const std::string& dir) {
  const pid_t test_process = ::getpid();
  // Everything the grandchild needs is prepared before fork(): after it only async-signal-safe
  // calls are allowed (the test process has threads).
  const char* const argv[] = {"/bin/sh", "-c", cleanup_command.c_str(), nullptr};
  const pid_t child = ::fork();
  if (child < 0) return;  // no watchdog: only a crash would leak
  if (child == 0) {
    if (::fork() != 0) ::_exit(0);  // the grandchild is adopted by init: nobody needs to reap it
    ::setsid();
    for (int fd = 0; fd < 1024; ++fd) ::close(fd);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    while (::kill(test_process, 0) == 0 && ::access(dir.c_str(), F_OK) == 0) ::sleep(1);
    if (::access(dir.c_str(), F_OK) == 0) ::execv("/bin/sh", const_cast<char* const*>(argv));
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
}

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const char* tag = "tether-offline") {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + tag + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) FAIL("cannot create a temporary directory from " << pattern);
    path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// A child process. stdout and stderr are drained by a thread into buffers (the child never blocks
/// on a full pipe). The destructor SIGKILLs and reaps a child that is still running.
class ChildProcess {
 public:
  /// Spawns `argv` (argv[0] is the program; searched in PATH when it has no slash). Fails the test
  /// if the program cannot be started.
  explicit ChildProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) FAIL("pipe2: " << std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (std::string& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
      pid_ = -1;
      FAIL("cannot start " << argv_[0] << ": " << std::strerror(rc));
    }
    reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { drain(out, err); });
  }

  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (reader_.joinable()) reader_.join();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) {
    if (!reaped_) ::kill(pid_, sig);
  }

  /// True once the child has exited (reaps it; does not block).
  bool exited() {
    if (reaped_) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      wait_status_ = status;
    }
    return reaped_;
  }
  /// Waits until the child has exited (its stdout and stderr closed, then reaped), at most
  /// `timeout`. For waits without an MQTT client to poll; with one, poll it on exited().
  bool wait_exit(std::chrono::milliseconds timeout) {
    if (reaped_) return true;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!closed_cv_.wait_for(lock, timeout, [this] { return output_closed_; })) return false;
    }
    int status = 0;
    pid_t r = 0;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    if (r == pid_) {
      reaped_ = true;
      wait_status_ = status;
    }
    return reaped_;
  }
  /// Exit code, or -1 when it did not exit normally (see describe_exit()).
  int exit_code() const { return reaped_ && WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : -1; }
  int term_signal() const { return reaped_ && WIFSIGNALED(wait_status_) ? WTERMSIG(wait_status_) : 0; }
  std::string describe_exit() const {
    if (!reaped_) return "still running";
    if (WIFEXITED(wait_status_)) return "exit " + std::to_string(WEXITSTATUS(wait_status_));
    if (WIFSIGNALED(wait_status_)) return std::string("killed by signal ") + std::to_string(WTERMSIG(wait_status_));
    return "status " + std::to_string(wait_status_);
  }

  /// Complete stdout lines so far (a line cut by a kill is not counted).
  std::vector<std::string> stdout_lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  std::size_t count_lines(const char* prefix) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t count = 0;
    for (const std::string& line : lines_) count += line.rfind(prefix, 0) == 0 ? 1 : 0;
    return count;
  }
  std::string stderr_text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return err_;
  }
  bool stderr_contains(const std::string& text) const { return stderr_text().find(text) != std::string::npos; }
  /// stdout and stderr (the end of each) for failure messages.
  std::string transcript(std::size_t tail = 6000) const {
    std::string out;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::size_t from = lines_.size() > 20 ? lines_.size() - 20 : 0;
      for (std::size_t i = from; i < lines_.size(); ++i) out += "  " + lines_[i] + "\n";
      out = "stdout (" + std::to_string(lines_.size()) + " lines, last 20):\n" + out;
      out += "stderr (end):\n" + (err_.size() > tail ? err_.substr(err_.size() - tail) : err_);
    }
    return out;
  }

 private:
  void drain(int out, int err) {
    pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    std::string partial;
    char buf[8192];
    int open = 2;
    while (open > 0) {
      const int n = ::poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open;
          continue;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (i == 1) {
          err_.append(buf, static_cast<std::size_t>(got));
          continue;
        }
        partial.append(buf, static_cast<std::size_t>(got));
        std::size_t start = 0;
        for (std::size_t nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
          lines_.push_back(partial.substr(start, nl - start));
          start = nl + 1;
        }
        partial.erase(0, start);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    output_closed_ = true;
    closed_cv_.notify_all();
  }

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  std::string err_;
  bool output_closed_ = false;
  std::condition_variable closed_cv_;
};

/// Sends SIGTERM and requires a clean exit (code 0) within `timeout`; `describe()` (the output,
/// the peers' state) goes with a failure.
inline void require_clean_stop(ChildProcess& p, std::chrono::milliseconds timeout,
                               const std::function<std::string()>& describe) {
  p.signal(SIGTERM);
  const bool exited = p.wait_exit(timeout);
  INFO(describe());
  REQUIRE(exited);
  CHECK(p.exit_code() == 0);
}

}  // namespace tether::test
