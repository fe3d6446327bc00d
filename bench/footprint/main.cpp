// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bench-footprint: resident memory of the real tether-agent (examples/linux-agent) with every
// feature on (telemetry through the offline queue, shadow, commands, metrics), against the test
// broker and tools/cloudsim, next to the alternative a user would write: paho-telemetry, a minimal
// raw Paho MQTT C program that connects with the same TLS certificates and publishes the same
// readings (bench/footprint/paho_telemetry.c). Both run one after the other in this run; each is
// measured after the same number of telemetry publishes (VmRSS and VmHWM from /proc/<pid>/status).
// A benchmark, not a test: it prints numbers and the 8 MB goal next to them and never fails on
// them. See README.md; scripts/bench.sh footprint builds the release preset and runs it.
//
// Exit codes: 0 done, 1 bad usage, 2 a program did not start or did not get through its cycles
// (the report says which and shows its last output), 3 the shadow's desired value could not be set.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>  // mkdtemp
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bench_common.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace tether::bench {
namespace {

constexpr char kUsage[] =
    "[--cycles N] [--metrics N] [--rounds N] [--agent PATH] [--paho PATH] [--keep DIR]\n"
    "  --cycles N   telemetry records each side publishes before it is measured (10, one a second)\n"
    "  --metrics N  metrics reports cloudsim must have accepted from tether-agent too (3, one every 2 s)\n"
    "  --rounds N   runs of each program, taking turns; the tables show the median run (3)\n"
    "  --agent PATH tether-agent to run (default: this build's)\n"
    "  --paho PATH  paho-telemetry to run (default: this build's)\n"
    "  --keep DIR   write the configuration, state, logs and each run's /proc/<pid>/smaps\n"
    "               into DIR and keep them (default: a temporary directory, removed at the end)\n"
    "Broker: --host/--port/--certs or TETHER_BROKER_HOST/PORT/DIR (scripts/test-broker.sh); tools/cloudsim\n"
    "must serve that broker (scripts/bench.sh footprint starts both).";

constexpr const char* kThing = "device-1";
constexpr std::chrono::seconds kStartTimeout{30};

/// The memory lines of /proc/<pid>/status, in kB (0 = not read).
struct Memory {
  long rss_kb = 0;
  long hwm_kb = 0;
  long rss_anon_kb = 0;
  long rss_file_kb = 0;
  long pss_kb = 0;      ///< smaps_rollup: shared pages divided among the processes that map them
  long private_kb = 0;  ///< smaps_rollup: Private_Clean + Private_Dirty (what only this process holds)
  long threads = 0;
  /// smaps: resident kB per mapped file ("[anon]" for anonymous memory, heap and stacks), largest first.
  std::vector<std::pair<std::string, long>> by_mapping;
};

// Calls take(key, value) for each "Key: value ..." line of a /proc file.
template <typename Take>
void read_fields(const std::string& path, Take take) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    long value = 0;
    fields >> key >> value;
    take(key, value);
  }
}

// Sums the Rss of /proc/<pid>/smaps by what is mapped: a file by its base name, anything else
// (heap, stacks, anonymous mappings, [vdso]...) as "[anon]". Largest first.
void read_mappings(const std::string& path, std::vector<std::pair<std::string, long>>& out) {
  std::ifstream in(path);
  std::string name = "[anon]";
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first == "Rss:") {
      long kb = 0;
      fields >> kb;
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == name; });
      if (it == out.end()) {
        out.emplace_back(name, kb);
      } else {
        it->second += kb;
      }
    } else if (first.find('-') != std::string::npos && first.back() != ':') {
      // A mapping's header: "start-end perms offset dev inode [path]".
      std::string perms, offset, dev, inode, file;
      fields >> perms >> offset >> dev >> inode;
      std::getline(fields >> std::ws, file);
      name = file.empty() || file[0] != '/' ? std::string("[anon]") : file.substr(file.rfind('/') + 1);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
}

// `copy_smaps_to`: where to copy /proc/<pid>/smaps (empty: nowhere), for a closer look by hand.
Memory read_memory(pid_t pid, const std::string& copy_smaps_to) {
  Memory m;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (!copy_smaps_to.empty()) {
    std::ifstream from(proc + "/smaps");
    std::ofstream to(copy_smaps_to);
    to << from.rdbuf();
  }
  read_fields(proc + "/status", [&m](const std::string& key, long value) {
    if (key == "VmRSS:") m.rss_kb = value;
    if (key == "VmHWM:") m.hwm_kb = value;
    if (key == "RssAnon:") m.rss_anon_kb = value;
    if (key == "RssFile:") m.rss_file_kb = value;
    if (key == "Threads:") m.threads = value;
  });
  read_fields(proc + "/smaps_rollup", [&m](const std::string& key, long value) {
    if (key == "Pss:") m.pss_kb = value;
    if (key == "Private_Clean:" || key == "Private_Dirty:") m.private_kb += value;
  });
  read_mappings(proc + "/smaps", m.by_mapping);
  return m;
}

/// A program run with its stdout read line by line and its stderr in a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& stderr_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    stderr_path_ = stderr_path;
  }
  ~Child() {
    stop();
    if (out_ >= 0) close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }

  /// Reads what the program printed until `done` holds, the program exits or `timeout` passes.
  template <typename Done>
  bool wait_for(std::chrono::milliseconds timeout, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (exited_ || std::chrono::steady_clock::now() >= deadline) return false;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[4096];
        const ssize_t n = read(out_, buf, sizeof buf);
        if (n > 0) {
          take(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
          reap(0);
        }
      }
      reap(WNOHANG);
    }
    return true;
  }

  std::size_t count(const std::string& prefix) const {
    std::size_t n = 0;
    for (const std::string& l : lines_) n += l.compare(0, prefix.size(), prefix) == 0 ? 1 : 0;
    return n;
  }

  /// SIGTERM, then SIGKILL after 5 s; idempotent.
  void stop() {
    if (pid_ <= 0 || exited_) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 50 && !exited_; ++i) {
      usleep(100 * 1000);
      reap(WNOHANG);
    }
    if (!exited_) {
      kill(pid_, SIGKILL);
      reap(0);
    }
  }

  /// The last lines of stdout and stderr, for a report of what went wrong.
  std::string tail() const {
    std::string out = "  stdout (last lines):\n";
    const std::size_t from = lines_.size() > 10 ? lines_.size() - 10 : 0;
    for (std::size_t i = from; i < lines_.size(); ++i) out += "    " + lines_[i] + "\n";
    std::ifstream err(stderr_path_);
    std::vector<std::string> errs;
    for (std::string l; std::getline(err, l);) errs.push_back(l);
    out += "  stderr (last lines, " + stderr_path_ + "):\n";
    for (std::size_t i = errs.size() > 15 ? errs.size() - 15 : 0; i < errs.size(); ++i) out += "    " + errs[i] + "\n";
    if (exited_) out += "  exited with status " + std::to_string(status_) + "\n";
    return out;
  }

 private:
  void take(const char* data, std::size_t n) {
    partial_.append(data, n);
    std::size_t at;
    while ((at = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, at));
      partial_.erase(0, at + 1);
    }
  }
  void reap(int flags) {
    if (exited_ || pid_ <= 0) return;
    int status = 0;
    if (waitpid(pid_, &status, flags) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string partial_;
  std::vector<std::string> lines_;
  std::string stderr_path_;
};

std::string json_string(const std::string& s) { return "\"" + s + "\""; }  // paths: no quotes or backslashes

// tether-agent's configuration with every section, as tests/integration/linux_agent_test.cpp
// writes it: the queue in <dir>/queue, the shadow, commands (one program), metrics every 2 s.
std::string write_agent_config(const Broker& broker, const std::string& dir) {
  const Endpoint device = broker.device(kThing);
  const std::string path = dir + "/agent.json";
  std::ofstream out(path);
  out << "{\n"
      << "  \"thing_name\": \"" << kThing << "\",\n"
      << "  \"endpoint\": \"localhost\",\n"
      << "  \"port\": " << broker.port << ",\n"
      << "  \"tls\": {\"ca_file\": " << json_string(device.ca_file) << ", \"cert_file\": "
      << json_string(device.cert_file) << ", \"key\": " << json_string(device.key_file) << "},\n"
      << "  \"mqtt\": {\"version\": 5, \"connect_timeout_ms\": 10000},\n"
      << "  \"reconnect\": {\"initial_ms\": 100, \"max_ms\": 500},\n"
      << "  \"heartbeat\": {\"enabled\": false},\n"
      << "  \"offline_queue\": {\"directory\": " << json_string(dir + "/queue") << ",\n"
      << "    \"streams\": [{\"name\": \"telemetry\", \"durability\": \"batch\", \"overflow\": \"drop-oldest\", "
      << "\"segment_bytes\": 262144, \"max_segments\": 16}]},\n"
      << "  \"shadow\": {},\n"
      << "  \"commands\": {\"heartbeat_s\": 1, \"run\": [{\"name\": \"hello\", \"path\": \"/bin/echo\", \"args\": [\"hello\"]}]},\n"
      << "  \"metrics\": {\"interval_s\": 2, \"allow_short_interval\": true, \"rules_interval_s\": 0}\n"
      << "}\n";
  out.close();
  return out ? path : std::string();
}

// The shadow's desired telemetry_interval_s = 1 (tether-agent's default is 60 s), through the
// cloud side's update topic as an operator would set it; cloudsim stores it, and the agent applies
// it from the delta it gets when it syncs.
bool set_desired_interval(const Broker& broker, std::string& error) {
  const Endpoint cloud = broker.cloud();
  auto client = make_paho_client(cloud, "bench-footprint-operator", 100);
  try {
    client->connect(make_paho_connect_options(cloud, 10))->wait();
    const std::string topic = std::string("$aws/things/") + kThing + "/shadow/update";
    client->publish(topic, std::string(R"({"state":{"desired":{"telemetry_interval_s":1}}})"), 1, false)->wait();
  } catch (const std::exception& e) {
    error = e.what();
    close_paho_client(client);
    return false;
  }
  close_paho_client(client);
  return true;
}

struct Side {
  const char* name;
  Memory memory;
  double seconds = 0;
};

void print_row(const Side& s) {
  std::printf("| %s | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %.1f |\n", s.name, s.memory.rss_kb, s.memory.hwm_kb,
              s.memory.rss_anon_kb, s.memory.rss_file_kb, s.memory.pss_kb, s.memory.private_kb, s.memory.threads,
              s.seconds);
}

// What one round needs to start either program.
struct Round {
  const Broker& broker;
  std::string dir;      // configuration, state and logs
  std::string config;   // the agent's configuration file
  std::size_t cycles;
  std::size_t metrics;
  bool keep_smaps;
  std::chrono::seconds timeout;
};

// Runs `argv` (stderr into <dir>/<name>.log) until `ready` says it has done its part, measures it
// (and keeps its smaps as <dir>/<name>.smaps with --keep) and stops it. 0, or 2 with `not_ready`
// and the program's last output on stderr.
int measure(const Round& r, const std::vector<std::string>& argv, const std::string& name,
            const std::function<bool(Child&)>& ready, const std::string& not_ready, Side& out) {
  const auto t0 = std::chrono::steady_clock::now();
  Child child(argv, r.dir + "/" + name + ".log");
  if (!child.started()) {
    std::fprintf(stderr, "bench-footprint: cannot run %s\n", argv.front().c_str());
    return 2;
  }
  if (!child.wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(r.timeout),
                      [&] { return ready(child); })) {
    std::fprintf(stderr, "bench-footprint: %s:\n%s", not_ready.c_str(), child.tail().c_str());
    return 2;
  }
  out.memory = read_memory(child.pid(), r.keep_smaps ? r.dir + "/" + name + ".smaps" : std::string());
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  child.stop();
  return 0;
}

// tether-agent, until it has published `cycles` records at 1 s with `metrics` reports accepted.
int measure_agent(const Round& r, const std::string& agent_path, Side& out) {
  return measure(
      r, {agent_path, r.config, "--state-dir", r.dir + "/state"}, "tether-agent",
      [&r](Child& agent) {
        return agent.count("TELEMETRY ") >= r.cycles && agent.count("ACCEPTED") >= r.metrics &&
               agent.count("INTERVAL 1") >= 1;
      },
      "tether-agent did not publish " + std::to_string(r.cycles) + " records at 1 s with " +
          std::to_string(r.metrics) + " metrics reports accepted (cloudsim running?)",
      out);
}

// paho-telemetry, until it has published `cycles` records.
int measure_paho(const Round& r, const std::string& paho_path, Side& out) {
  const Endpoint device = r.broker.device(kThing);
  return measure(
      r,
      {paho_path, "ssl://localhost:" + std::to_string(r.broker.port), std::string(kThing) + "-paho", device.ca_file,
       device.cert_file, device.key_file, std::string("dt/") + kThing + "/telemetry", "1000"},
      "paho-telemetry", [&r](Child& client) { return client.count("PUBLISHED ") >= r.cycles; },
      "paho-telemetry did not publish " + std::to_string(r.cycles) + " records", out);
}

// The round with the median VmRSS (the lower middle one for an even count); `runs` is not empty.
Side median_run(std::vector<Side> runs) {
  std::sort(runs.begin(), runs.end(), [](const Side& a, const Side& b) { return a.memory.rss_kb < b.memory.rss_kb; });
  return runs[(runs.size() - 1) / 2];
}

int run(int argc, char** argv) {
  const Args args("bench-footprint", argv[0], kUsage);
  Broker broker;
  std::size_t cycles = 10;
  std::size_t metrics = 3;
  std::size_t rounds = 3;
  std::string agent_path = TETHER_BENCH_AGENT;
  std::string paho_path = TETHER_BENCH_PAHO;
  std::string keep;
  args.parse(argc, argv, {}, broker, [&](const std::string& flag, const char* value) {
    if (flag == "--cycles") {
      cycles = args.count("--cycles", value, 1, 1000);
    } else if (flag == "--metrics") {
      metrics = args.count("--metrics", value, 0, 1000);
    } else if (flag == "--rounds") {
      rounds = args.count("--rounds", value, 1, 99);
    } else if (flag == "--agent") {
      agent_path = value;
    } else if (flag == "--paho") {
      paho_path = value;
    } else if (flag == "--keep") {
      keep = value;
    } else {
      return false;
    }
    return true;
  });

  std::string dir = keep;
  if (dir.empty()) {
    char tmpl[] = "/tmp/bench-footprint.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) args.fail(std::string("mkdtemp: ") + std::strerror(errno));
    dir = tmpl;
  } else if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    args.fail("--keep " + dir + ": " + std::strerror(errno));
  }
  struct Cleanup {
    std::string dir;
    bool remove;
    ~Cleanup() {
      std::error_code ignored;
      if (remove) std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir, keep.empty()};

  std::printf("bench-footprint: resident memory after %zu telemetry publishes (QoS 1, TLS 1.2, one a second) at %s:%u, "
              "%zu round(s) of each\n",
              cycles, broker.host.c_str(), static_cast<unsigned>(broker.port), rounds);
  std::fflush(stdout);

  std::string error;
  if (!set_desired_interval(broker, error)) {
    std::fprintf(stderr, "bench-footprint: cannot set the shadow's desired telemetry_interval_s: %s\n", error.c_str());
    return 3;
  }
  // The two programs take turns, so that whatever else the machine does falls on both alike. Each
  // round starts from nothing: its own directory with the configuration, an empty queue and state.
  std::vector<Side> tether_runs, paho_runs;
  for (std::size_t i = 0; i < rounds; ++i) {
    const std::string round_dir = dir + "/round-" + std::to_string(i + 1);
    std::error_code mkdir_error;
    std::filesystem::create_directories(round_dir + "/state", mkdir_error);  // the agent's --state-dir
    const std::string config = write_agent_config(broker, round_dir);
    if (config.empty()) args.fail("cannot write the agent configuration in " + round_dir);
    const Round round{broker, round_dir, config, cycles, metrics, !keep.empty(),
                      kStartTimeout + std::chrono::seconds(2 * (cycles + 2 * metrics))};
    Side t{"tether-agent (telemetry, shadow, commands, metrics)", {}};
    if (const int rc = measure_agent(round, agent_path, t); rc != 0) return rc;
    tether_runs.push_back(t);
    Side p{"paho-telemetry (raw Paho MQTT C, telemetry only)", {}};
    if (const int rc = measure_paho(round, paho_path, p); rc != 0) return rc;
    paho_runs.push_back(p);
  }
  const Side tether = median_run(tether_runs);
  const Side paho = median_run(paho_runs);
  const auto range = [](const std::vector<Side>& runs) {
    long lo = runs.front().memory.rss_kb, hi = lo;
    for (const Side& s : runs) {
      lo = std::min(lo, s.memory.rss_kb);
      hi = std::max(hi, s.memory.rss_kb);
    }
    return std::make_pair(lo, hi);
  };
  const auto [tether_lo, tether_hi] = range(tether_runs);
  const auto [paho_lo, paho_hi] = range(paho_runs);

  std::printf("\nThe round with the median VmRSS of each program (VmRSS over the %zu rounds: tether-agent %ld..%ld kB, "
              "paho-telemetry %ld..%ld kB):\n",
              rounds, tether_lo, tether_hi, paho_lo, paho_hi);
  std::printf("\n| process | VmRSS kB | VmHWM kB | RssAnon kB | RssFile kB | Pss kB | private kB | threads | ran s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  print_row(tether);
  print_row(paho);
  // Who holds the resident pages: each mapping with at least 64 kB in either process.
  std::printf("\n| mapping | %s kB | %s kB |\n|---|---:|---:|\n", "tether-agent", "paho-telemetry");
  auto kb_of = [](const Memory& m, const std::string& name) {
    for (const auto& e : m.by_mapping) {
      if (e.first == name) return e.second;
    }
    return 0L;
  };
  std::vector<std::string> names;
  for (const Memory* m : {&tether.memory, &paho.memory}) {
    for (const auto& e : m->by_mapping) {
      if (e.second >= 64 && std::find(names.begin(), names.end(), e.first) == names.end()) names.push_back(e.first);
    }
  }
  long small_t = tether.memory.rss_kb, small_p = paho.memory.rss_kb;
  for (const std::string& n : names) {
    const long t = kb_of(tether.memory, n), p = kb_of(paho.memory, n);
    small_t -= t;
    small_p -= p;
    std::printf("| %s | %ld | %ld |\n", n.c_str(), t, p);
  }
  std::printf("| (the rest, under 64 kB each) | %ld | %ld |\n", small_t, small_p);

  const double ratio = paho.memory.rss_kb > 0 ? static_cast<double>(tether.memory.rss_kb) / paho.memory.rss_kb : 0;
  std::printf("\ngoal: tether-agent under 8 MB resident (8192 kB): %s (median VmRSS %ld kB, its peak VmHWM %ld kB)\n",
              tether.memory.hwm_kb < 8192 ? "met" : "missed", tether.memory.rss_kb, tether.memory.hwm_kb);
  std::printf("BENCH footprint tether_rss_kb=%ld paho_rss_kb=%ld tether_rss_min_kb=%ld tether_rss_max_kb=%ld "
              "rounds=%zu ratio=%.2f\n",
              tether.memory.rss_kb, paho.memory.rss_kb, tether_lo, tether_hi, rounds, ratio);
  return 0;
}

}  // namespace
}  // namespace tether::bench

int main(int argc, char** argv) { return tether::bench::run(argc, argv); }
