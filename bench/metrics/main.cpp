// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bench-metrics: what a Device Defender snapshot costs and what its report weighs.
//   1. CPU and wall time of one LinuxMetricsSource snapshot with about 1,000 TCP sockets open in
//      this process: over a tree recorded from /proc while they are open (Tether's own cost: the
//      parsing, the sampling, the /sys and getifaddrs reads) and over the real /proc (plus what the
//      kernel spends producing /proc/net/tcp{,6}), next to what a user would otherwise run: `ss
//      -tanu` spawned and read (a shell-script collector), and a naive std::ifstream/getline/
//      istringstream parser of the same socket files (a quick hand-written collector).
//   2. The size of the report of that snapshot, and of a small typical device's, in long JSON,
//      short JSON and CBOR.
// A benchmark, not a test: it prints numbers and the goals next to them, and never fails on them.
// Needs no broker; see README.md. scripts/bench.sh metrics builds the release preset and runs it.
//
// Exit codes: 0 done, 1 bad usage, 2 the sockets or the recorded tree could not be set up, 3 a
// snapshot or a report failed (the report says why).

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench_common.hpp"
#include "tether/metrics/report.hpp"
#include "tether/metrics/snapshot.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace tether::bench {
namespace {

constexpr char kUsage[] =
    "[--runs N] [--warmup N] [--listeners N] [--connections N]\n"
    "  --runs N         timed runs per side, interleaved (100)\n"
    "  --warmup N       untimed runs per side first (5)\n"
    "  --listeners N    TCP listeners on 127.0.0.1 (20)\n"
    "  --connections N  loopback connections to them, two established sockets each (490)\n"
    "Opens the sockets in this process (raising RLIMIT_NOFILE's soft limit when needed), records\n"
    "/proc/net and /sys/class/net into a temporary directory ($TMPDIR or /tmp, removed on exit).\n"
    "scripts/bench.sh metrics builds the release preset and runs it.\n";

constexpr std::size_t kUdpSockets = 4;  // bound, unconnected: udp_listen entries
constexpr const char* kSocketFiles[] = {"net/tcp", "net/tcp6", "net/udp", "net/udp6"};

struct Options {
  std::size_t runs = 100;
  std::size_t warmup = 5;
  std::size_t listeners = 20;
  std::size_t connections = 490;
};

Options parse_args(int argc, char** argv) {
  const Args args("bench-metrics", argv[0], kUsage);
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") args.fail("");
    std::size_t* target = nullptr;
    std::size_t min = 0;
    std::size_t max = 0;
    if (flag == "--runs") {
      target = &options.runs, min = 1, max = 100000;
    } else if (flag == "--warmup") {
      target = &options.warmup, min = 0, max = 1000;
    } else if (flag == "--listeners") {
      target = &options.listeners, min = 1, max = 1000;
    } else if (flag == "--connections") {
      target = &options.connections, min = 0, max = 100000;
    } else {
      args.fail("unknown flag " + flag);
    }
    if (i + 1 >= argc) args.fail(flag + " needs a value");
    *target = args.count(flag.c_str(), argv[++i], min, max);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Clocks

double clock_us(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

double timeval_us(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec);
}

// User + system time of the children waited for so far.
double children_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return timeval_us(usage.ru_utime) + timeval_us(usage.ru_stime);
}

// The timings of one side: CPU time of this process (CLOCK_PROCESS_CPUTIME_ID: user and system,
// so the kernel's work inside read(2) counts), wall time, and for a spawned command its CPU time.
struct Series {
  std::vector<double> cpu;
  std::vector<double> wall;
  std::vector<double> child_cpu;
};

// Times `work` (which returns false on failure) into `series` when given.
template <typename Work>
bool timed(Series* series, Work work) {
  const double cpu0 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
  const double wall0 = clock_us(CLOCK_MONOTONIC);
  const double child0 = children_cpu_us();
  const bool ok = work();
  const double wall1 = clock_us(CLOCK_MONOTONIC);
  const double cpu1 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
  const double child1 = children_cpu_us();
  if (series != nullptr) {
    series->cpu.push_back(cpu1 - cpu0);
    series->wall.push_back(wall1 - wall0);
    series->child_cpu.push_back(child1 - child0);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
// About 1,000 TCP sockets in this process

class Sockets {
 public:
  Sockets() = default;
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  // Connections are reset (SO_LINGER 0) rather than closed: no TIME_WAIT entries are left in
  // /proc/net/tcp to inflate the next run's.
  ~Sockets() {
    const linger reset{1, 0};
    for (const int fd : fds_) {
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);  // best effort: UDP and listeners ignore it
      close(fd);
    }
  }

  // `listeners` TCP listeners and kUdpSockets UDP sockets on 127.0.0.1 (ephemeral ports), and
  // `connections` connections to the listeners in turn, each accepted: two established entries.
  bool open(std::size_t listeners, std::size_t connections, std::string& error) {
    std::vector<int> listening;
    std::vector<sockaddr_in> addresses;
    for (std::size_t i = 0; i < listeners; ++i) {
      sockaddr_in address{};
      const int fd = bound_socket(SOCK_STREAM, address, error);
      if (fd < 0) return false;
      if (listen(fd, 64) != 0) return fail("listen", error);
      listening.push_back(fd);
      addresses.push_back(address);
    }
    for (std::size_t i = 0; i < kUdpSockets; ++i) {
      sockaddr_in address{};
      if (bound_socket(SOCK_DGRAM, address, error) < 0) return false;
    }
    for (std::size_t i = 0; i < connections; ++i) {
      const std::size_t to = i % listeners;
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return fail("socket", error);
      fds_.push_back(fd);
      if (connect(fd, reinterpret_cast<const sockaddr*>(&addresses[to]), sizeof addresses[to]) != 0) {
        return fail("connect", error);
      }
      const int accepted = accept4(listening[to], nullptr, nullptr, SOCK_CLOEXEC);
      if (accepted < 0) return fail("accept", error);
      fds_.push_back(accepted);
    }
    return true;
  }

 private:
  int bound_socket(int type, sockaddr_in& address, std::string& error) {
    const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      fail("socket", error);
      return -1;
    }
    fds_.push_back(fd);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      fail("bind", error);
      return -1;
    }
    return fd;
  }

  static bool fail(const char* what, std::string& error) {
    error = std::string(what) + ": " + std::strerror(errno);
    return false;
  }

  std::vector<int> fds_;
};

// Raises RLIMIT_NOFILE's soft limit to `needed` when it is lower (up to the hard limit). Returns
// what it did, for the report; empty with `error` set when the hard limit is too low.
std::string ensure_open_files(std::size_t needed, std::string& error) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    error = std::string("getrlimit: ") + std::strerror(errno);
    return "";
  }
  char text[160];
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
      error = "RLIMIT_NOFILE hard limit " + std::to_string(limit.rlim_max) + " is below the " +
              std::to_string(needed) + " descriptors needed (fewer --connections, or ulimit -Hn)";
      return "";
    }
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      error = std::string("setrlimit: ") + std::strerror(errno);
      return "";
    }
    std::snprintf(text, sizeof text, "soft limit raised from %llu to %zu", static_cast<unsigned long long>(before),
                  needed);
  } else {
    std::snprintf(text, sizeof text, "soft limit %llu, enough for the %zu needed (not changed)",
                  static_cast<unsigned long long>(limit.rlim_cur), needed);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// /proc and /sys recorded into a temporary tree

std::optional<std::string> read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[65536];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return text;
}

std::size_t count_lines(std::string_view text) {
  std::size_t lines = 0;
  for (const char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

class RecordedTree {
 public:
  RecordedTree() = default;
  RecordedTree(const RecordedTree&) = delete;
  RecordedTree& operator=(const RecordedTree&) = delete;
  ~RecordedTree() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      if (unlink(it->c_str()) != 0) rmdir(it->c_str());
    }
  }

  // Copies <proc>/net/{tcp,tcp6,udp,udp6,dev}, <proc>/meminfo and, for each interface,
  // <sys>/class/net/<if>/{flags,operstate}. A file the host lacks (tcp6 without IPv6) is left out,
  // as the source treats it.
  bool record(std::string& error) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tether-bench-metrics.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      error = "mkdtemp " + pattern + ": " + std::strerror(errno);
      return false;
    }
    root_ = pattern;
    created_.push_back(root_);
    for (const char* dir : {"/proc", "/proc/net", "/sys", "/sys/class", "/sys/class/net"}) {
      if (!make_dir(root_ + dir, error)) return false;
    }
    for (const char* file : {"net/tcp", "net/tcp6", "net/udp", "net/udp6", "net/dev", "meminfo"}) {
      if (!copy(std::string("/proc/") + file, proc_root() + "/" + file, error)) return false;
    }
    DIR* dir = opendir("/sys/class/net");
    if (dir == nullptr) return true;  // no sysfs: every interface reads as down
    std::vector<std::string> names;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
    }
    closedir(dir);
    for (const std::string& name : names) {
      if (!make_dir(sys_root() + "/class/net/" + name, error)) return false;
      for (const char* attribute : {"flags", "operstate"}) {
        const std::string from = "/sys/class/net/" + name + "/" + attribute;
        if (!copy(from, sys_root() + "/class/net/" + name + "/" + attribute, error)) return false;
      }
    }
    return true;
  }

  std::string proc_root() const { return root_ + "/proc"; }
  std::string sys_root() const { return root_ + "/sys"; }

 private:
  bool make_dir(const std::string& path, std::string& error) {
    if (mkdir(path.c_str(), 0700) != 0) {
      error = "mkdir " + path + ": " + std::strerror(errno);
      return false;
    }
    created_.push_back(path);
    return true;
  }

  bool copy(const std::string& from, const std::string& to, std::string& error) {
    const std::optional<std::string> text = read_whole(from);
    if (!text) return true;  // missing on this host: missing in the tree
    std::ofstream out(to, std::ios::binary);
    out << *text;
    out.close();
    if (!out) {
      error = "cannot write " + to;
      return false;
    }
    created_.push_back(to);
    return true;
  }

  std::string root_;
  std::vector<std::string> created_;  // removed in reverse order
};

// ---------------------------------------------------------------------------------------------
// The alternatives

// What a quick hand-written collector does: std::ifstream, std::getline, std::istringstream,
// std::stoul, and a std::vector of what it found. The four socket files only (no net/dev, no
// meminfo, no interfaces): less than a Tether snapshot reads.
struct NaiveSocket {
  std::string local_address;
  std::string remote_address;
  unsigned long local_port = 0;
  unsigned long remote_port = 0;
  unsigned long state = 0;
};

bool naive_parse(const std::string& proc_root, std::vector<NaiveSocket>& out, std::size_t& listening,
                 std::size_t& established) {
  out.clear();
  listening = 0;
  established = 0;
  for (const char* file : kSocketFiles) {
    std::ifstream in(proc_root + "/" + file);
    if (!in) continue;
    const bool tcp = std::strncmp(file, "net/tcp", 7) == 0;
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      if (!(fields >> slot >> local >> remote >> state)) continue;
      const std::size_t local_colon = local.find(':');
      const std::size_t remote_colon = remote.find(':');
      if (local_colon == std::string::npos || remote_colon == std::string::npos) continue;
      NaiveSocket entry;
      entry.local_address = local.substr(0, local_colon);
      entry.remote_address = remote.substr(0, remote_colon);
      entry.local_port = std::stoul(local.substr(local_colon + 1), nullptr, 16);
      entry.remote_port = std::stoul(remote.substr(remote_colon + 1), nullptr, 16);
      entry.state = std::stoul(state, nullptr, 16);
      if (tcp && entry.state == 0x0A) ++listening;
      if (tcp && entry.state == 0x01) ++established;
      out.push_back(std::move(entry));
    }
  }
  return true;
}

// The kernel's part alone: read(2) of the four socket files, nothing parsed.
bool read_only(std::size_t& bytes) {
  static char buf[65536];
  bytes = 0;
  for (const char* file : kSocketFiles) {
    const int fd = ::open((std::string("/proc/") + file).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) bytes += static_cast<std::size_t>(n);
    close(fd);
  }
  return true;
}

// What a shell-script collector does: run `ss -tanu` and read its output (the parsing a script
// would then do with awk is not counted: this is a lower bound for that approach).
bool run_ss(std::size_t& lines, std::string& error) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    error = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  char arg0[] = "ss";
  char arg1[] = "-tanu";
  char* args[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "ss", &actions, nullptr, args, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    error = std::string("posix_spawnp ss: ") + std::strerror(spawned);
    return false;
  }
  lines = 0;
  char buf[65536];
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) {
    lines += count_lines(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  close(pipe_fds[0]);
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    error = "ss -tanu did not exit with 0";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reports

struct Sizes {
  std::size_t json_long = 0;
  std::size_t json_short = 0;
  std::optional<std::size_t> cbor;  // none: this build has no libcbor
};

bool report_sizes(const metrics::Snapshot& snapshot, const metrics::Snapshot& previous,
                  Span<const metrics::CustomMetric> custom, Sizes& sizes, std::string& error) {
  std::vector<std::uint8_t> buf(256 * 1024);
  metrics::ReportInput in;
  in.report_id = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  in.snapshot = &snapshot;
  in.previous = &previous;
  in.custom = custom;
  for (const metrics::ReportFormat format :
       {metrics::ReportFormat::kJsonLong, metrics::ReportFormat::kJsonShort, metrics::ReportFormat::kCbor}) {
    if (format == metrics::ReportFormat::kCbor && !metrics::cbor_reports_available()) continue;
    ErrorText why;
    const Result<Span<std::uint8_t>> written =
        metrics::encode_report(in, format, Span<std::uint8_t>(buf.data(), buf.size()), &why);
    if (!written.ok()) {
      error = std::string(metrics::to_string(format)) + " report: " + status_text(written.status()) + " " + why.c_str();
      return false;
    }
    const std::size_t bytes = written.value().size();
    if (format == metrics::ReportFormat::kJsonLong) sizes.json_long = bytes;
    if (format == metrics::ReportFormat::kJsonShort) sizes.json_short = bytes;
    if (format == metrics::ReportFormat::kCbor) sizes.cbor = bytes;
  }
  return true;
}

void add_port(metrics::SampledList<metrics::ListeningPort, metrics::kMaxPorts>& list, std::uint16_t port,
              const metrics::IpAddress& address, std::string_view interface) {
  metrics::ListeningPort& entry = list[list.count++];
  entry.port = port;
  entry.address = address;
  entry.interface.assign(interface).ignore();  // names below kMaxInterfaceName
  ++list.total;
}

void add_connection(metrics::Snapshot& s, const metrics::IpAddress& remote, std::uint16_t remote_port,
                    std::uint16_t local_port) {
  metrics::Connection& entry = s.connections[s.connections.count++];
  entry.remote = remote;
  entry.remote_port = remote_port;
  entry.local_port = local_port;
  entry.local_interface.assign("eth0").ignore();  // shorter than kMaxInterfaceName
  ++s.connections.total;
}

void add_interface(metrics::Snapshot& s, std::string_view name, std::uint64_t bytes, std::uint64_t packets,
                   bool loopback) {
  metrics::InterfaceCounters& entry = s.interfaces[s.interfaces.count++];
  entry.name.assign(name).ignore();  // shorter than kMaxInterfaceName
  entry.bytes_in = bytes;
  entry.bytes_out = bytes / 2;
  entry.packets_in = packets;
  entry.packets_out = packets / 2;
  entry.up = true;
  entry.loopback = loopback;
  ++s.interfaces.total;
}

// A small typical device, what most devices send: SSH and a local web UI, a DHCP client and
// NTP, the MQTT connection to the cloud and one SSH session; lo and eth0. `traffic` offsets the
// counters (the previous snapshot has less).
void typical_device(metrics::Snapshot& s, std::uint64_t traffic) {
  s.clear();
  const metrics::IpAddress any = metrics::IpAddress::v4(0, 0, 0, 0);
  add_port(s.tcp_listen, 22, any, "");
  add_port(s.tcp_listen, 80, metrics::IpAddress::v4(192, 168, 1, 20), "eth0");
  add_port(s.udp_listen, 68, any, "");
  add_port(s.udp_listen, 123, any, "");
  add_connection(s, metrics::IpAddress::v4(203, 0, 113, 10), 8883, 50514);
  add_connection(s, metrics::IpAddress::v4(192, 168, 1, 5), 53122, 22);
  add_interface(s, "lo", 1200000 + traffic, 9000 + traffic / 100, true);
  add_interface(s, "eth0", 48000000 + traffic, 61000 + traffic / 100, false);
}

// ---------------------------------------------------------------------------------------------

std::string us(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

void print_row(const char* side, const Series& series, const char* note) {
  std::printf("  %-34s %9s %9s %9s %9s  %s\n", side, us(median(series.cpu)).c_str(),
              us(percentile(series.cpu, 90)).c_str(), us(median(series.wall)).c_str(),
              us(percentile(series.wall, 90)).c_str(), note);
}

std::string cbor_text(const Sizes& sizes) { return sizes.cbor ? std::to_string(*sizes.cbor) : "unavailable"; }

std::string cbor_ratio_text(const Sizes& sizes) {
  char buf[32];
  if (!sizes.cbor) {
    std::snprintf(buf, sizeof buf, "(short %.2f)", static_cast<double>(sizes.json_short) / sizes.json_long);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(*sizes.cbor) / sizes.json_long);
  }
  return buf;
}

void print_sizes(const char* label, const Sizes& sizes) {
  std::printf("  %-44s %9zu %10zu %11s %14s\n", label, sizes.json_long, sizes.json_short, cbor_text(sizes).c_str(),
              cbor_ratio_text(sizes).c_str());
}

int run(int argc, char** argv) {
  const Options options = parse_args(argc, argv);

  // Descriptors: listeners, UDP sockets, two per connection, and room for the files a snapshot
  // opens and the pipe to ss.
  const std::size_t needed = options.listeners + kUdpSockets + 2 * options.connections + 64;
  std::string error;
  const std::string limit_note = ensure_open_files(needed, error);
  if (limit_note.empty()) {
    std::fprintf(stderr, "bench-metrics: %s\n", error.c_str());
    return 2;
  }
  Sockets sockets;
  if (!sockets.open(options.listeners, options.connections, error)) {
    std::fprintf(stderr, "bench-metrics: opening the sockets failed: %s\n", error.c_str());
    return 2;
  }
  RecordedTree tree;
  if (!tree.record(error)) {
    std::fprintf(stderr, "bench-metrics: recording /proc failed: %s\n", error.c_str());
    return 2;
  }
  std::size_t recorded_lines[4] = {};
  std::size_t recorded_bytes = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (const auto text = read_whole(tree.proc_root() + "/" + kSocketFiles[i])) {
      recorded_lines[i] = text->empty() ? 0 : count_lines(*text) - 1;  // less the header
      recorded_bytes += text->size();
    }
  }

  utsname host{};
  uname(&host);
  std::printf("bench-metrics: a LinuxMetricsSource snapshot with %zu TCP sockets open in this process, next to\n"
              "`ss -tanu` and a naive iostream parser; then the Device Defender report sizes\n",
              options.listeners + 2 * options.connections);
  std::printf("  sockets: %zu TCP listeners + %zu loopback connections (%zu established entries) + %zu UDP, on "
              "127.0.0.1\n",
              options.listeners, options.connections, 2 * options.connections, kUdpSockets);
  std::printf("  RLIMIT_NOFILE: %s\n", limit_note.c_str());
  std::printf("  recorded while open (every state, the whole machine's): net/tcp %zu entries, tcp6 %zu, udp %zu,\n"
              "  udp6 %zu (%zu bytes); net/dev, meminfo, /sys/class/net/*/{flags,operstate}\n",
              recorded_lines[0], recorded_lines[1], recorded_lines[2], recorded_lines[3], recorded_bytes);
  std::printf("  Linux %s %s, %ld CPUs online; %zu timed runs per side (interleaved), %zu warm-up\n", host.release,
              host.machine, sysconf(_SC_NPROCESSORS_ONLN), options.runs, options.warmup);
  std::printf("  CBOR reports: %s\n", metrics::cbor_reports_available()
                                          ? "available (libcbor)"
                                          : "UNAVAILABLE in this build (no libcbor): ratio is short JSON / long JSON");
#ifdef NDEBUG
  std::printf("  release build\n");
#else
  std::printf("  WARNING: debug build (no NDEBUG): Tether's own CPU cost is overstated; use the release preset\n");
#endif
  std::printf("\n");
  std::fflush(stdout);

  port::LinuxMetricsSourceSettings tree_settings;
  tree_settings.proc_root = tree.proc_root();
  tree_settings.sys_root = tree.sys_root();
  tree_settings.seed = 1;
  port::LinuxMetricsSource tree_source(tree_settings);
  // The same tree with the address table read once, as a test gives it: what getifaddrs(3) at
  // each snapshot costs is the difference.
  port::LinuxMetricsSourceSettings fixed_settings = tree_settings;
  fixed_settings.interface_addresses.emplace();
  const Status table = port::read_interface_addresses(*fixed_settings.interface_addresses);
  if (!table.ok()) {
    std::fprintf(stderr, "bench-metrics: getifaddrs failed: %s\n", status_text(table).c_str());
    return 3;
  }
  port::LinuxMetricsSource fixed_source(fixed_settings);
  port::LinuxMetricsSourceSettings proc_settings;
  proc_settings.seed = 1;
  port::LinuxMetricsSource proc_source(proc_settings);

  const auto tree_snapshot = std::make_unique<metrics::Snapshot>();
  const auto proc_snapshot = std::make_unique<metrics::Snapshot>();
  const auto first_snapshot = std::make_unique<metrics::Snapshot>();
  std::vector<NaiveSocket> naive;
  std::size_t naive_listening = 0;
  std::size_t naive_established = 0;
  std::size_t raw_bytes = 0;
  std::size_t ss_lines = 0;
  bool ss_ok = true;
  std::string ss_error;

  // The report's previous snapshot (for network_stats): one taken before the runs.
  const Status first = proc_source.snapshot(*first_snapshot);
  if (!first.ok()) {
    std::fprintf(stderr, "bench-metrics: snapshot of /proc failed: %s (%s)\n", status_text(first).c_str(),
                 proc_source.last_error());
    return 3;
  }

  Series tree_series, fixed_series, proc_series, naive_tree_series, naive_proc_series, raw_series, ss_series;
  Status failure;  // the first failed snapshot, and what its source said
  std::string failed_where;
  const auto snapshot = [&failure, &failed_where](port::LinuxMetricsSource& source, metrics::Snapshot& out) {
    const Status status = source.snapshot(out);
    if (!status.ok() && failure.ok()) {
      failure = status;
      failed_where = source.last_error();
    }
    return status.ok();
  };
  for (std::size_t i = 0; i < options.warmup + options.runs; ++i) {
    const bool timed_run = i >= options.warmup;
    timed(timed_run ? &tree_series : nullptr, [&] { return snapshot(tree_source, *tree_snapshot); });
    timed(timed_run ? &fixed_series : nullptr, [&] { return snapshot(fixed_source, *tree_snapshot); });
    timed(timed_run ? &proc_series : nullptr, [&] { return snapshot(proc_source, *proc_snapshot); });
    timed(timed_run ? &naive_tree_series : nullptr,
          [&] { return naive_parse(tree.proc_root(), naive, naive_listening, naive_established); });
    timed(timed_run ? &naive_proc_series : nullptr,
          [&] { return naive_parse("/proc", naive, naive_listening, naive_established); });
    timed(timed_run ? &raw_series : nullptr, [&] { return read_only(raw_bytes); });
    if (ss_ok) ss_ok = timed(timed_run ? &ss_series : nullptr, [&] { return run_ss(ss_lines, ss_error); });
  }
  if (!failure.ok()) {
    std::fprintf(stderr, "bench-metrics: a snapshot failed: %s (%s)\n", status_text(failure).c_str(), failed_where.c_str());
    return 3;
  }

  std::printf("Part 1: one snapshot, microseconds (CPU = this process's user + system time, so the kernel's\n"
              "work inside read(2) counts; ss: its own CPU time separately)\n");
  std::printf("  %-34s %9s %9s %9s %9s\n", "side", "cpu p50", "cpu p90", "wall p50", "wall p90");
  print_row("tether, recorded tree", tree_series, "Tether's own cost (BENCH snapshot_us)");
  print_row("tether, tree, address table fixed", fixed_series, "the same without getifaddrs(3) per snapshot");
  print_row("tether, real /proc", proc_series, "what a device pays (BENCH snapshot_proc_us)");
  print_row("naive iostream, recorded tree", naive_tree_series, "the four socket files only");
  print_row("naive iostream, real /proc", naive_proc_series, "the four socket files only");
  print_row("read(2) only, real /proc", raw_series, "the kernel's part: the four socket files, no parsing");
  if (ss_ok) {
    print_row("ss -tanu (spawn + read output)", ss_series, "this process's part; ss's own below");
    std::printf("  %-34s %9s %9s %9s %9s  ss's user + system time (RUSAGE_CHILDREN), %zu lines of output\n",
                "  ss itself", us(median(ss_series.child_cpu)).c_str(), us(percentile(ss_series.child_cpu, 90)).c_str(),
                "", "", ss_lines);
  } else {
    std::printf("  ss -tanu: NOT MEASURED: %s\n", ss_error.c_str());
  }
  const metrics::Snapshot& big = *proc_snapshot;
  std::printf("  the snapshot: tcp_listen %zu of %u, udp_listen %zu of %u, connections %zu of %u, interfaces %zu,\n"
              "  hardware %zu, %u processes; the naive parser found %zu listening and %zu established TCP sockets\n",
              big.tcp_listen.size(), big.tcp_listen.total, big.udp_listen.size(), big.udp_listen.total,
              big.connections.size(), big.connections.total, big.interfaces.size(), big.hardware.size(),
              big.extras.process_count, naive_listening, naive_established);
  const double tether_us = median(tree_series.cpu);
  const double proc_us = median(proc_series.cpu);
  std::printf("  goal: a snapshot under 1000 us of CPU: Tether's own %s us, with the real /proc %s us\n",
              us(tether_us).c_str(), us(proc_us).c_str());
  if (ss_ok) {
    std::printf("  CPU p50 of one collection: tether (real /proc) %s us vs ss %s us (itself) + %s us (spawning it)\n",
                us(proc_us).c_str(), us(median(ss_series.child_cpu)).c_str(), us(median(ss_series.cpu)).c_str());
  }
  std::printf("  parse only, CPU p50: tether %s us vs naive iostream %s us (naive / tether %.2f)\n\n",
              us(tether_us).c_str(), us(median(naive_tree_series.cpu)).c_str(),
              median(naive_tree_series.cpu) / tether_us);

  // Part 2: reports.
  const std::string_view firmware[] = {"tether-1.4.2", "bootloader-2.0"};
  const std::string_view dns[] = {"192.0.2.53", "2001:db8::53"};
  const double fan_rpm[] = {1200, 1350};
  const metrics::CustomMetric custom[] = {
      metrics::CustomMetric::number("cpu_load_pct", 42.5),
      metrics::CustomMetric::number_list("fan_rpm", fan_rpm),
      metrics::CustomMetric::string_list("firmware", firmware),
      metrics::CustomMetric::ip_list("dns_servers", dns),
  };
  Sizes big_sizes;
  Sizes typical_sizes;
  const auto typical = std::make_unique<metrics::Snapshot>();
  const auto typical_before = std::make_unique<metrics::Snapshot>();
  typical_device(*typical_before, 0);
  typical_device(*typical, 250000);
  if (!report_sizes(big, *first_snapshot, custom, big_sizes, error) ||
      !report_sizes(*typical, *typical_before, custom, typical_sizes, error)) {
    std::fprintf(stderr, "bench-metrics: %s\n", error.c_str());
    return 3;
  }
  std::printf("Part 2: report size, bytes (network_stats and 4 custom metrics in each)\n");
  std::printf("  %-44s %9s %10s %11s %14s\n", "snapshot", "json_long", "json_short", "cbor", "cbor/json_long");
  char label[80];
  std::snprintf(label, sizeof label, "this machine, sockets open (lists <= %zu)", metrics::kMaxConnections);
  print_sizes(label, big_sizes);
  print_sizes("typical device (2+2 listeners, 2 connections)", typical_sizes);
  std::printf("  goal: CBOR <= 0.5 of long JSON\n\n");

  const double ratio = big_sizes.cbor ? static_cast<double>(*big_sizes.cbor) / big_sizes.json_long
                                      : static_cast<double>(big_sizes.json_short) / big_sizes.json_long;
  std::printf("BENCH metrics snapshot_us=%.1f snapshot_proc_us=%.1f ss_us=%s json_long_bytes=%zu json_short_bytes=%zu "
              "cbor_bytes=%s ratio=%.2f\n",
              tether_us, proc_us, ss_ok ? us(median(ss_series.wall)).c_str() : "unavailable", big_sizes.json_long,
              big_sizes.json_short, cbor_text(big_sizes).c_str(), ratio);
  return 0;
}

}  // namespace
}  // namespace tether::bench

int main(int argc, char** argv) { return tether::bench::run(argc, argv); }
