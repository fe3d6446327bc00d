// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/posix/posix_system.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "store_files.hpp"

namespace tether::port {

namespace {

using posix_detail::code_for_errno;
using posix_detail::fsync_retry;
using posix_detail::pwrite_full;

constexpr std::size_t kMaxReadPerPoll = 256 * 1024;

Status os_status(StatusCode code, int err) { return Status(code, Origin::kOs, static_cast<std::uint16_t>(err)); }

// The System port's errno mapping: ENOENT is kNotFound, the rest as the store ports map it.
StatusCode code_for(int err) { return err == ENOENT ? StatusCode::kNotFound : code_for_errno(err); }

// The directory that holds `path`.
std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// posix_spawn's argv/envp: NUL-terminated copies and a null-terminated pointer array.
class CStrings {
 public:
  void add(std::string_view s) { strings_.emplace_back(s.data(), s.size()); }
  char* const* get() {
    pointers_.clear();
    for (std::string& s : strings_) pointers_.push_back(&s[0]);
    pointers_.push_back(nullptr);
    return pointers_.data();
  }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

// Spawns `path` with `argv`/`envp` as documented in posix_system.hpp, its stdout and stderr into
// `out_fd` (or /dev/null when -1). Returns 0 or an errno value.
int spawn(const char* path, char* const* argv, char* const* envp, int out_fd, const std::string& cwd, pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int err = posix_spawn_file_actions_init(&actions);
  if (err != 0) return err;
  err = posix_spawnattr_init(&attr);
  if (err != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return err;
  }
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (err == 0) err = posix_spawnattr_setflags(&attr, flags);
  if (err == 0) err = posix_spawnattr_setpgroup(&attr, 0);  // a new group, led by the child
  if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
  if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);
  if (err == 0) err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  } else {
    if (err == 0) err = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
  if (err == 0 && !cwd.empty()) err = posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
#else
  (void)cwd;
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  if (err == 0) err = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  if (err == 0) err = posix_spawn(pid, path, &actions, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return err;
}

// waitpid, retried on EINTR. Returns its result (the pid, 0 while running, -1 with errno).
pid_t wait_retry(pid_t pid, int* status, int options) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, options);
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace

// ---- reboot actions ------------------------------------------------------------------------------

std::function<Status()> PosixSystem::exit_for_restart(int exit_code) {
  return [exit_code]() -> Status {
    char line[160];
    const int n = std::snprintf(line, sizeof line,
                                "tether: restart requested: exiting with status %d so that the service manager "
                                "restarts the agent\n",
                                exit_code);
    std::fflush(nullptr);
    if (n > 0) {
      const ssize_t written =
          ::write(2, line, static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1);
      (void)written;
    }
    std::_Exit(exit_code);
  };
}

std::function<Status()> PosixSystem::run_reboot_command(std::string path, std::vector<std::string> args) {
  return [path = std::move(path), args = std::move(args)]() -> Status {
    CStrings argv;
    argv.add(path);
    for (const std::string& a : args) argv.add(a);
    CStrings envp;
    envp.add("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    envp.add("LC_ALL=C");
    pid_t pid = -1;
    const int err = spawn(path.c_str(), argv.get(), envp.get(), -1, "/", &pid);
    if (err != 0) return os_status(code_for(err), err);
    int status = 0;
    if (wait_retry(pid, &status, 0) < 0) return os_status(StatusCode::kUnavailable, errno);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status();
    return os_status(StatusCode::kUnavailable, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  };
}

// ---- construction --------------------------------------------------------------------------------

PosixSystem::PosixSystem(PosixSystemSettings settings)
    : settings_(std::move(settings)), slots_(settings_.max_processes) {
  for (Slot& s : slots_) s.storage.assign(settings_.output_capacity, '\0');
}

PosixSystem::~PosixSystem() {
  for (Slot& s : slots_) {
    if (s.id == 0) continue;
    if (!s.reaped) {
      if (::kill(-s.pid, SIGKILL) != 0) ::kill(s.pid, SIGKILL);
      reap(s, 0);
    }
    if (s.pipe_fd >= 0) ::close(s.pipe_fd);
  }
  for (pid_t pid : orphans_) {
    int status = 0;
    wait_retry(pid, &status, 0);
  }
}

Status PosixSystem::fail(int err, const char* what, const std::string& name) {
  set_error_text(&last_error_, "%s: %s: %s", name.c_str(), what, std::strerror(err));
  return os_status(code_for(err), err);
}

// ---- restart and configuration -------------------------------------------------------------------

Status PosixSystem::do_request_reboot() {
  if (settings_.reboot) return settings_.reboot();
  return exit_for_restart()();
}

Result<std::size_t> PosixSystem::do_read_config(Span<char> out) {
  const std::string& path = settings_.config_path;
  if (path.empty()) return os_status(StatusCode::kUnimplemented, 0);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno, "cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    set_error_text(&last_error_, "%s: not a regular file", path.c_str());
    return os_status(StatusCode::kUnavailable, 0);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > out.size()) {
    ::close(fd);
    set_error_text(&last_error_, "%s: %zu bytes, the buffer holds %zu", path.c_str(), size, out.size());
    return os_status(StatusCode::kResourceExhausted, static_cast<int>(size > 0xFFFF ? 0xFFFF : size));
  }
  std::size_t used = 0;
  for (;;) {
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(err, "cannot read", path);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
    if (used == out.size()) {  // grew since fstat: does it go on?
      char probe;
      const ssize_t more = ::read(fd, &probe, 1);
      if (more > 0) {
        ::close(fd);
        set_error_text(&last_error_, "%s: larger than the buffer (%zu bytes)", path.c_str(), out.size());
        return os_status(StatusCode::kResourceExhausted, 0xFFFF);
      }
      break;
    }
  }
  ::close(fd);
  return used;
}

Status PosixSystem::do_replace_config(std::string_view text) {
  if (settings_.config_path.empty()) return os_status(StatusCode::kUnimplemented, 0);
  // The real file: a symbolic link to it stays a link.
  std::string path = settings_.config_path;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) path = resolved;
  const std::string temporary = path + ".tmp";
  mode_t mode = 0600;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;

  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errno, "cannot create the temporary file", temporary);
  const char* what = nullptr;
  int err = 0;
  bool sync_failed = false;
  if (::fchmod(fd, mode) != 0) {
    err = errno;
    what = "cannot set the file's mode";
  } else if ((err = pwrite_full(fd, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), 0)) != 0) {
    what = "cannot write";
  } else if ((err = fsync_retry(fd, false)) != 0) {
    what = "fsync failed";
    sync_failed = true;
  }
  ::close(fd);
  if (what != nullptr) {
    Status s = fail(err, what, temporary);
    ::unlink(temporary.c_str());
    return sync_failed ? os_status(StatusCode::kDataLoss, err) : s;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const Status s = fail(errno, "cannot rename the temporary file over the configuration", temporary);
    ::unlink(temporary.c_str());
    return s;
  }
  const std::string dir = parent_of(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  err = dir_fd < 0 ? errno : fsync_retry(dir_fd, false);
  if (dir_fd >= 0) ::close(dir_fd);
  if (err != 0) {
    fail(err, "cannot sync the directory after the rename (the new file is in place)", dir).ignore();
    return os_status(StatusCode::kDataLoss, err);
  }
  return Status();
}

// ---- processes -----------------------------------------------------------------------------------

PosixSystem::Slot* PosixSystem::find(ProcessId id) {
  if (id == 0) return nullptr;
  for (Slot& s : slots_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

void PosixSystem::reap_orphans() {
  for (std::size_t i = 0; i < orphans_.size();) {
    int status = 0;
    const pid_t r = wait_retry(orphans_[i], &status, WNOHANG);
    if (r == 0) {
      ++i;
    } else {  // reaped, or gone (ECHILD)
      orphans_.erase(orphans_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

Result<ProcessId> PosixSystem::do_start_process(std::string_view path, Span<const std::string_view> args) {
  TETHER_RETURN_IF_ERROR(validate_process_request(path, args));
  reap_orphans();
  Slot* slot = nullptr;
  for (Slot& s : slots_) {
    if (s.id == 0) {
      slot = &s;
      break;
    }
  }
  if (slot == nullptr) {
    set_error_text(&last_error_, "%.*s: every one of the %zu process slots is in use", static_cast<int>(path.size()),
                   path.data(), slots_.size());
    return os_status(StatusCode::kResourceExhausted, 0);
  }
  const std::string program(path);
  CStrings argv;
  argv.add(path);
  for (std::string_view a : args) argv.add(a);
  CStrings envp;
  for (const std::string& e : settings_.environment) envp.add(e);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail(errno, "cannot create a pipe", program);
  // Only the agent's end is non-blocking: a program writing to a full pipe waits, as it expects.
  const int write_flags = ::fcntl(fds[1], F_GETFL);
  if (write_flags >= 0) ::fcntl(fds[1], F_SETFL, write_flags & ~O_NONBLOCK);
  pid_t pid = -1;
  const int err = spawn(program.c_str(), argv.get(), envp.get(), fds[1], settings_.working_directory, &pid);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    return fail(err, "cannot start", program);
  }
  slot->id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  slot->pid = pid;
  slot->pipe_fd = fds[0];
  slot->reaped = false;
  slot->lost = false;
  slot->status = ProcessStatus();
  slot->output = OutputTail(Span<char>(slot->storage.data(), slot->storage.size()));
  return slot->id;
}

void PosixSystem::drain(Slot& slot) {
  char buf[4096];
  std::size_t total = 0;
  while (slot.pipe_fd >= 0 && total < kMaxReadPerPoll) {
    const ssize_t n = ::read(slot.pipe_fd, buf, sizeof buf);
    if (n > 0) {
      slot.output.append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    ::close(slot.pipe_fd);  // end of file (every writer is gone), or a read error
    slot.pipe_fd = -1;
  }
}

void PosixSystem::reap(Slot& slot, int options) {
  int status = 0;
  const pid_t r = wait_retry(slot.pid, &status, options);
  if (r == 0) return;  // still running
  slot.reaped = true;
  if (r < 0) {  // ECHILD: someone else reaped it (SIGCHLD ignored); the outcome is unknown
    slot.lost = true;
    return;
  }
  if (WIFEXITED(status)) {
    slot.status.state = ProcessState::kExited;
    slot.status.exit_code = WEXITSTATUS(status);
  } else {
    slot.status.state = ProcessState::kKilled;
    slot.status.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
}

Result<ProcessStatus> PosixSystem::do_poll_process(ProcessId id) {
  reap_orphans();
  Slot* slot = find(id);
  if (slot == nullptr) return os_status(StatusCode::kNotFound, 0);
  drain(*slot);
  if (!slot->reaped) {
    reap(*slot, WNOHANG);
    if (slot->reaped) {
      if (slot->lost) {
        set_error_text(&last_error_, "process %d: reaped by someone else (is SIGCHLD ignored?)",
                       static_cast<int>(slot->pid));
        return os_status(StatusCode::kUnavailable, ECHILD);
      }
      drain(*slot);  // what it wrote just before it ended
    }
  }
  slot->status.output_total = slot->output.total();
  slot->status.output_cut = slot->output.cut();
  return slot->status;
}

Result<std::size_t> PosixSystem::do_read_output(ProcessId id, Span<char> out) {
  const Slot* slot = find(id);
  if (slot == nullptr) return os_status(StatusCode::kNotFound, 0);
  return slot->output.copy_tail(out);
}

Status PosixSystem::do_signal_process(ProcessId id, ProcessSignal signal) {
  Slot* slot = find(id);
  if (slot == nullptr) return os_status(StatusCode::kNotFound, 0);
  if (slot->reaped) return Status();  // its pid may belong to someone else now
  const int number = signal == ProcessSignal::kKill ? SIGKILL : SIGTERM;
  if (::kill(-slot->pid, number) == 0) return Status();
  if (::kill(slot->pid, number) == 0 || errno == ESRCH) return Status();  // it left the group / is ending
  return fail(errno, "cannot signal the process", std::to_string(slot->pid));
}

Status PosixSystem::do_release_process(ProcessId id) {
  Slot* slot = find(id);
  if (slot == nullptr) return os_status(StatusCode::kNotFound, 0);
  if (!slot->reaped) {
    if (::kill(-slot->pid, SIGKILL) != 0) ::kill(slot->pid, SIGKILL);
    reap(*slot, WNOHANG);
    if (!slot->reaped) orphans_.push_back(slot->pid);
  }
  if (slot->pipe_fd >= 0) ::close(slot->pipe_fd);
  slot->id = 0;
  slot->pid = -1;
  slot->pipe_fd = -1;
  slot->reaped = false;
  slot->output.clear();
  return Status();
}

}  // namespace tether::port
