// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// What every example program does the same way on Linux: stop on SIGINT/SIGTERM, load the
// configuration file, pick a state directory, run the agent until told to stop, and leave without
// atexit handlers. Header-only, for the examples (not part of the SDK's API).

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tell.hpp"
#include "tether/agent.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"
#if defined(TETHER_EXAMPLE_HAVE_PKCS11)
#include "tether/port/pkcs11/tls_key.hpp"
#endif

namespace tether::examples {

namespace detail {
inline volatile std::sig_atomic_t g_stop = 0;
inline void on_stop_signal(int) { g_stop = 1; }
}  // namespace detail

/// `text` as a number of seconds (decimal, >= 0; "--duration S") into `out`; false for anything else.
inline bool parse_seconds(const char* text, long* out) {
  if (text == nullptr) return false;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || end == text || value < 0) return false;
  *out = value;
  return true;
}

/// The options of an example agent that keeps state and runs until stopped.
struct RunOptions {
  std::string state_dir;  ///< --state-dir DIR
  long duration_s = -1;   ///< --duration S; < 0: until a signal
};

/// Takes argv[i] when it is --state-dir DIR or --duration S, with its value (i is moved past
/// it). 1: taken; 0: neither; -1: its value is missing or bad.
inline int take_run_option(int argc, char** argv, int& i, RunOptions& o) {
  const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
  if (std::strcmp(argv[i], "--state-dir") == 0) {
    if (value == nullptr || *value == '\0') return -1;
    o.state_dir = value;
  } else if (std::strcmp(argv[i], "--duration") == 0) {
    if (!parse_seconds(value, &o.duration_s)) return -1;
  } else {
    return 0;
  }
  ++i;
  return 1;
}

/// One line on stdout, flushed at once (test harnesses and scripts wait for them).
inline void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline void say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

/// SIGINT and SIGTERM ask the program to stop (stop_requested()); nothing else happens in the
/// signal handler.
inline void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = detail::on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

inline bool stop_requested() { return detail::g_stop != 0; }

/// A directory only this user can use, for files the agent writes at run time:
/// $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=) or ${TMPDIR:-/tmp}/tether-<uid> (created 0700; an
/// existing one must be a real directory of this user that nobody else can enter). "" after
/// printing why.
inline std::string private_runtime_dir(const char* program) {
  const char* runtime = std::getenv("RUNTIME_DIRECTORY");
  if (runtime != nullptr && *runtime == '/') return runtime;
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/tether-" +
                          std::to_string(static_cast<unsigned long>(::geteuid()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    tell(LOG_ERR, "%s: %s: cannot create the directory: %s\n", program, dir.c_str(), std::strerror(errno));
    return std::string();
  }
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid() ||
      (info.st_mode & 077) != 0) {
    tell(LOG_ERR,
        "%s: %s is not a private directory of this user (mode 0700, owned by uid %lu): not using it\n",
        program, dir.c_str(), static_cast<unsigned long>(::geteuid()));
    return std::string();
  }
  return dir;
}

/// When `tls.key` is a `pkcs11:` URI, makes the key inside the token usable by Paho
/// (tether::port::enable_pkcs11_tls_key: PIN, key and certificate checked, OpenSSL's provider
/// loaded) and points `config.broker.key` at the key file it writes (in private_runtime_dir()).
/// Returns false after printing why. Nothing to do for a key file.
inline bool prepare_tls_key(const char* program, AgentConfig& config) {
  if (config.broker.key.view().substr(0, 7) != "pkcs11:") return true;
#if defined(TETHER_EXAMPLE_HAVE_PKCS11)
  const std::string dir = private_runtime_dir(program);
  if (dir.empty()) return false;
  const std::string pem = dir + "/" + config.thing_name.c_str() + "-tls-key.pem";
  port::KeyInfo key;
  ErrorText error;
  const Status status = port::enable_pkcs11_tls_key(port::pkcs11_tls_settings(config, pem), &key, &error);
  if (!status.ok()) {
    char code[64];
    tell(LOG_ERR,
        "%s: the device key in the token cannot be used (%s): %s\n", program,
        format_status(status, code, sizeof code), error.c_str());
    return false;
  }
  if (key.extractable) {
    tell(LOG_WARNING,
        "%s: warning: the device key %s is extractable (CKA_EXTRACTABLE): it can be copied out of "
        "the token; generate one that is not\n", program, key.uri.c_str());
  }
  if (!config.broker.key.assign(pem).ok()) {
    tell(LOG_ERR, "%s: %s: path too long\n", program, pem.c_str());
    return false;
  }
  return true;
#else
  tell(LOG_ERR,
      "%s: tls.key is a pkcs11: URI, but this program was built without tether::port_pkcs11 "
      "(libp11-dev, libp11-kit-dev; TETHER_PORT_PKCS11)\n", program);
  return false;
#endif
}

/// Loads `path` (docs/configuration.md) into `config` and prepares a token key (prepare_tls_key);
/// on failure prints "<program>: <the parser's error, naming the file and the key>" (or why the key
/// cannot be used) to stderr and returns false.
inline bool load_config(const char* program, const char* path, AgentConfig& config) {
  ErrorText error;
  if (!port::load_config_file(path, config, &error).ok()) {
    tell(LOG_ERR, "%s: %s\n", program, error.c_str());
    return false;
  }
  return prepare_tls_key(program, config);
}

/// Where a program keeps its state (`what`: "the shadow replica", ...): `dir` when given, else
/// `<offline_queue.directory>/<leaf>` (the queue's directory is created if needed; a stream
/// directory never has a '.', so a leaf with one cannot clash). Returns 0, or the exit code after
/// printing why: 1 (no directory given and none configured), 2 (the directory cannot be created).
inline int resolve_state_dir(const char* program, const char* config_path, const AgentConfig& config,
                             const char* leaf, const char* what, std::string& dir) {
  if (!dir.empty()) return 0;
  if (!config.offline_queue.enabled) {
    tell(LOG_ERR, "%s: %s has no offline_queue directory: pass --state-dir DIR for %s\n", program, config_path, what);
    return 1;
  }
  const std::string root = config.offline_queue.directory.c_str();
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    tell(LOG_ERR, "%s: %s: cannot create the directory: %s\n", program, root.c_str(), std::strerror(errno));
    return 2;
  }
  dir = root + "/" + leaf;
  return 0;
}

/// An agent on Linux: log to stderr, the monotonic clock, Paho with the configuration's broker
/// settings (examples/minimal-agent spells the same out). `config` must outlive it.
struct LinuxAgent {
  explicit LinuxAgent(const AgentConfig& config)
      : mqtt(paho_settings(config), &log), agent(mqtt, clock, config, &log, port::random_seed()) {}

  static port::PahoSettings paho_settings(const AgentConfig& config) {
    port::PahoSettings settings = port::PahoSettings::from_config(config.broker);
    settings.log_level = config.log_level;
    return settings;
  }

  port::StderrLogSink log;
  port::PosixClock clock;
  port::PahoMqttClient mqtt;
  Agent agent;
};

/// Opens the PosixKvStore in `dir` (`what`: "the command journal", ...). Returns 0, or 2 after
/// printing why (the store's own text names the file and the step).
inline int open_kv_store(const char* program, const char* what, port::PosixKvStore& store) {
  const Status opened = store.open();
  if (opened.ok()) return 0;
  char status[64];
  tell(LOG_ERR,
      "%s: cannot open %s %s: %s (%s)\n", program, what, store.settings().directory.c_str(),
      format_status(opened, status, sizeof status), store.last_error());
  return 2;
}

/// Logs what an operator must act on (kNeedsAttention: refused credentials, say). Call it from
/// the agent's event handler.
inline void log_attention(Logger& logger, const AgentEvent& e) {
  if (e.type == AgentEventType::kNeedsAttention) {
    TETHER_LOG_ERROR(logger, Origin::kApp, e.reason, "operator attention needed; the agent keeps retrying every few minutes");
  }
}

/// Runs the started agent until a stop signal or, when `duration_s` >= 0, that many seconds; then
/// stops it (DISCONNECT when connected) and runs it until it has stopped. `each(stopping)` runs
/// after every turn of the loop, and with `stopping` true at once when the stop begins (the last
/// turn returns kCancelled: without that call the application would never see `stopping`).
template <typename Each>
void run_until_stopped(Agent& agent, const port::Clock& clock, long duration_s, Each&& each) {
  const Milliseconds deadline = clock.now() + std::chrono::seconds(duration_s < 0 ? 0 : duration_s);
  bool stopping = false;
  for (;;) {
    const bool timed_out = duration_s >= 0 && clock.now() >= deadline;
    if ((stop_requested() || timed_out) && !stopping) {
      stopping = true;
      TETHER_LOG_INFO(agent.logger(), Origin::kApp, "%s: stopping",
                      stop_requested() ? "signal received" : "--duration reached");
      agent.stop().ignore();
      each(true);
    }
    const Status s = agent.run_once(std::chrono::milliseconds(200));
    if (s.code() == StatusCode::kCancelled) return;
    each(stopping);
  }
}

inline void run_until_stopped(Agent& agent, const port::Clock& clock, long duration_s) {
  run_until_stopped(agent, clock, duration_s, [](bool) {});
}

/// Ends the process with `code` without atexit handlers: Paho C's worker threads can outlive
/// MQTTAsync_destroy for a moment (eclipse-paho/paho.mqtt.c#1669), and OpenSSL's exit-time cleanup
/// would free state under them (seen as a use-after-free by ThreadSanitizer). Call it after every
/// Tether and Paho object is destroyed; nothing of ours needs atexit.
[[noreturn]] inline void exit_now(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace tether::examples
