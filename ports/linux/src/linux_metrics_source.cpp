// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// LinuxMetricsSource: a metrics::Snapshot from /proc and /sys (see the header for what and how).

#include "tether/port/linux/linux_metrics_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>

#include "line_reader.hpp"
#include "tether/port/linux/proc_parse.hpp"

namespace tether::port {
namespace {

constexpr std::size_t kPathSize = 512;
constexpr std::uint32_t kIffUp = 0x1;
constexpr std::uint32_t kIffLoopback = 0x8;
constexpr std::uint32_t kIffRunning = 0x40;

using metrics::IpAddress;

std::uint16_t clamp16(std::uint64_t value) {
  return value > 0xFFFF ? std::uint16_t{0xFFFF} : static_cast<std::uint16_t>(value);
}

Status os_status(int err) {
  const StatusCode code = (err == EACCES || err == EPERM) ? StatusCode::kPermissionDenied : StatusCode::kUnavailable;
  return Status(code, Origin::kOs, clamp16(static_cast<std::uint64_t>(err)));
}

std::uint64_t initial_seed(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::uint64_t value = 0;
  if (getrandom(&value, sizeof value, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof value) && value != 0) return value;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (static_cast<std::uint64_t>(ts.tv_sec) << 30) ^ static_cast<std::uint64_t>(ts.tv_nsec) ^
         (static_cast<std::uint64_t>(getpid()) << 48) ^ 1;
}

// Reads a small sysfs/procfs file whole into `buf` (terminated, trailing blanks and newlines cut).
// 0 or errno; a file longer than the buffer is cut.
int read_small_file(const char* path, char* buf, std::size_t size, std::string_view& text) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  std::size_t used = 0;
  int err = 0;
  while (used + 1 < size) {
    const ssize_t n = ::read(fd, buf + used, size - 1 - used);
    if (n > 0) {
      used += static_cast<std::size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      err = errno;
      break;
    }
  }
  ::close(fd);
  if (err != 0) return err;
  while (used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == ' ' || buf[used - 1] == '\t')) --used;
  buf[used] = '\0';
  text = std::string_view(buf, used);
  return 0;
}

bool exists(const char* path) {
  struct stat st {};
  return ::lstat(path, &st) == 0;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hex4(std::string_view text) {
  return text.size() == 4 &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

Status read_interface_addresses(std::vector<InterfaceAddress>& out) {
  out.clear();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return os_status(errno);
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_name == nullptr) continue;
    InterfaceAddress entry;
    if (ifa->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, ifa->ifa_addr, sizeof sin);
      entry.address.family = IpAddress::Family::kV4;
      std::memcpy(entry.address.bytes.data(), &sin.sin_addr, 4);
    } else if (ifa->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, ifa->ifa_addr, sizeof sin6);
      entry.address.family = IpAddress::Family::kV6;
      std::memcpy(entry.address.bytes.data(), &sin6.sin6_addr, 16);
      entry.address = entry.address.unmapped();
    } else {
      continue;
    }
    if (!entry.interface.assign(ifa->ifa_name).ok()) continue;  // longer than IFNAMSIZ: not Linux
    out.push_back(entry);
  }
  freeifaddrs(list);
  return ok_status();
}

LinuxMetricsSource::LinuxMetricsSource(LinuxMetricsSourceSettings settings)
    : settings_(std::move(settings)), rng_state_(initial_seed(settings_.seed)) {}

std::uint64_t LinuxMetricsSource::random_below(std::uint64_t bound) {
  // splitmix64, with rejection so that every value below `bound` is equally likely.
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    rng_state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = rng_state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    if (z >= threshold) return z % bound;
  }
}

template <typename T, std::size_t N>
T* LinuxMetricsSource::reservoir_slot(metrics::SampledList<T, N>& list) {
  if (list.total == std::numeric_limits<std::uint32_t>::max()) return nullptr;
  const std::uint64_t seen = list.total++;
  if (list.count < N) {
    list.items[list.count] = T{};
    return &list.items[list.count++];
  }
  // Algorithm R: the (seen+1)-th entry replaces a random kept one with probability N/(seen+1).
  const std::uint64_t j = random_below(seen + 1);
  if (j >= N) return nullptr;
  list.items[j] = T{};
  return &list.items[j];
}

bool LinuxMetricsSource::make_path(char* buf, std::size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf, size, format, args);
  va_end(args);
  if (n >= 0 && static_cast<std::size_t>(n) < size) return true;
  os_failure(ENAMETOOLONG, buf);
  return false;
}

void LinuxMetricsSource::os_failure(int err, const char* path) {
  if (!failure_.ok()) return;
  failure_ = os_status(err);
  set_error_text(&last_error_, "%s: %s", path, std::strerror(err));
}

void LinuxMetricsSource::skip_line(const char* path, std::size_t line, const char* problem) {
  ++skipped_lines_;
  if (!failure_.ok()) return;
  failure_ = Status(StatusCode::kDataLoss, Origin::kMetrics, 1);
  set_error_text(&last_error_, "%s:%zu: %s", path, line, problem);
}

const char* LinuxMetricsSource::owner_of(const IpAddress& address) const {
  if (active_table_ == nullptr || !address.valid() || address.is_unspecified()) return "";
  for (const InterfaceAddress& entry : *active_table_) {
    if (entry.address == address) return entry.interface.c_str();
  }
  // 127.0.0.0/8 is local to the loopback interface (the kernel's local table), not only 127.0.0.1.
  if (address.family == IpAddress::Family::kV4 && address.bytes[0] == 127) {
    for (const InterfaceAddress& entry : *active_table_) {
      if (entry.address.family == IpAddress::Family::kV4 && entry.address.bytes[0] == 127) {
        return entry.interface.c_str();
      }
    }
  }
  return "";
}

void LinuxMetricsSource::begin_reading() {
  failure_ = ok_status();
  last_error_.clear();
  skipped_lines_ = 0;
}

Status LinuxMetricsSource::finish_reading() {
  if (failure_.code() == StatusCode::kDataLoss && failure_.origin() == Origin::kMetrics) {
    failure_ = Status(StatusCode::kDataLoss, Origin::kMetrics, clamp16(skipped_lines_));
    if (skipped_lines_ > 1) {
      char count[40];
      std::snprintf(count, sizeof count, " (%u lines skipped)", static_cast<unsigned>(skipped_lines_));
      last_error_.append(count).ignore();  // an explanation: left out if it does not fit
    }
  }
  return failure_;
}

void LinuxMetricsSource::read_all_extras(metrics::PlatformExtras& out) {
  read_process_count(out);
  read_meminfo(out);
  read_loadavg(out);
  read_cpu_temperature(out);
}

Status LinuxMetricsSource::read_extras(metrics::PlatformExtras& out) {
  out = metrics::PlatformExtras{};
  begin_reading();
  read_all_extras(out);
  return finish_reading();
}

Status LinuxMetricsSource::do_snapshot(metrics::Snapshot& out) {
  out.clear();
  begin_reading();
  if (settings_.clock != nullptr) {
    out.taken_at = settings_.clock->now();
  } else {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    out.taken_at = Milliseconds(static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000);
  }

  load_interface_table();
  tcp_found_.clear();
  udp_found_.clear();
  read_sockets("net/tcp", Protocol::kTcp, out);
  read_sockets("net/tcp6", Protocol::kTcp, out);
  read_sockets("net/udp", Protocol::kUdp, out);
  read_sockets("net/udp6", Protocol::kUdp, out);
  add_listeners(tcp_found_, out.tcp_listen);
  add_listeners(udp_found_, out.udp_listen);
  read_net_dev(out);
  read_hardware(out);
  read_all_extras(out.extras);
  return finish_reading();
}

void LinuxMetricsSource::load_interface_table() {
  if (settings_.interface_addresses.has_value()) {
    active_table_ = &*settings_.interface_addresses;
    return;
  }
  active_table_ = &table_;
  const Status status = read_interface_addresses(table_);
  if (!status.ok() && failure_.ok()) {
    failure_ = status;
    set_error_text(&last_error_, "getifaddrs: %s", std::strerror(status.detail()));
  }
}

bool LinuxMetricsSource::open_proc_file(detail::LineReader& reader, char* path, const char* name) {
  if (!make_path(path, kPathSize, "%s/%s", settings_.proc_root.c_str(), name)) return false;
  const int err = reader.open(path);
  if (err == 0) return true;
  if (err != ENOENT) os_failure(err, path);  // a missing file is a missing source
  return false;
}

void LinuxMetricsSource::read_sockets(const char* file, Protocol protocol, metrics::Snapshot& out) {
  char path[kPathSize];
  detail::LineReader reader(Span<char>(buffer_, sizeof buffer_));
  if (!open_proc_file(reader, path, file)) return;  // no tcp6/udp6: IPv6 is off
  std::vector<Listener>& found = protocol == Protocol::kTcp ? tcp_found_ : udp_found_;
  std::string_view line;
  while (reader.next(line)) {
    if (reader.line_number() == 1 && !reader.overlong()) continue;  // the header
    ProcNetSocket socket;
    if (reader.overlong()) {
      skip_line(path, reader.line_number(), "line too long");
      continue;
    }
    if (!parse_proc_net_socket(line, settings_.byte_order, socket)) {
      skip_line(path, reader.line_number(), "not a socket line");
      continue;
    }
    const IpAddress local = socket.local.unmapped();
    const IpAddress remote = socket.remote.unmapped();
    if (protocol == Protocol::kTcp && socket.state == kSocketListen) {
      found.push_back(Listener{local, socket.local_port});
    } else if (protocol == Protocol::kTcp && socket.state == kSocketEstablished) {
      if (metrics::Connection* c = reservoir_slot(out.connections)) {
        c->remote = remote;
        c->remote_port = socket.remote_port;
        c->local_port = socket.local_port;
        c->local_interface.assign(owner_of(local)).ignore();  // at most kMaxInterfaceName: fits
      }
    } else if (protocol == Protocol::kUdp && socket.state == kSocketClose && remote.is_unspecified() &&
               socket.remote_port == 0) {
      found.push_back(Listener{local, socket.local_port});
    }
  }
  if (reader.error() != 0) os_failure(reader.error(), path);
}

void LinuxMetricsSource::add_listeners(std::vector<Listener>& found,
                                       metrics::SampledList<metrics::ListeningPort, metrics::kMaxPorts>& list) {
  std::sort(found.begin(), found.end(), [](const Listener& a, const Listener& b) {
    if (a.port != b.port) return a.port < b.port;
    if (a.address.family != b.address.family) return a.address.family < b.address.family;
    return std::memcmp(a.address.bytes.data(), b.address.bytes.data(), a.address.bytes.size()) < 0;
  });
  const auto last = std::unique(found.begin(), found.end(), [](const Listener& a, const Listener& b) {
    return a.port == b.port && a.address == b.address;
  });
  for (auto it = found.begin(); it != last; ++it) {
    if (metrics::ListeningPort* p = reservoir_slot(list)) {
      p->port = it->port;
      p->address = it->address;
      p->interface.assign(owner_of(it->address)).ignore();  // at most kMaxInterfaceName: fits
    }
  }
}

void LinuxMetricsSource::read_net_dev(metrics::Snapshot& out) {
  char path[kPathSize];
  detail::LineReader reader(Span<char>(buffer_, sizeof buffer_));
  if (!open_proc_file(reader, path, "net/dev")) return;
  std::string_view line;
  while (reader.next(line)) {
    if (reader.line_number() <= 2 && !reader.overlong()) continue;  // the two header lines
    ProcNetDevLine dev;
    if (reader.overlong() || !parse_proc_net_dev(line, dev)) {
      skip_line(path, reader.line_number(), reader.overlong() ? "line too long" : "not an interface line");
      continue;
    }
    metrics::InterfaceCounters* counters = reservoir_slot(out.interfaces);
    if (counters == nullptr) continue;
    counters->name.assign(dev.name).ignore();  // parse_proc_net_dev checked the length
    counters->bytes_in = dev.rx_bytes;
    counters->bytes_out = dev.tx_bytes;
    counters->packets_in = dev.rx_packets;
    counters->packets_out = dev.tx_packets;
    std::uint32_t flags = 0;
    if (read_interface_flags(dev.name, flags)) {
      counters->up = (flags & kIffUp) != 0 && ((flags & kIffRunning) != 0 || operstate_running(dev.name));
      counters->loopback = (flags & kIffLoopback) != 0;
    }
  }
  if (reader.error() != 0) os_failure(reader.error(), path);
}

bool LinuxMetricsSource::read_net_attribute(std::string_view name, const char* attribute, char* path,
                                            Span<char> buf, std::string_view& text) {
  if (!make_path(path, kPathSize, "%s/class/net/%.*s/%s", settings_.sys_root.c_str(), static_cast<int>(name.size()),
                 name.data(), attribute)) {
    return false;
  }
  if (const int err = read_small_file(path, buf.data(), buf.size(), text); err != 0) {
    if (err != ENOENT) os_failure(err, path);  // no sysfs entry: down, not an error
    return false;
  }
  return true;
}

bool LinuxMetricsSource::read_interface_flags(std::string_view name, std::uint32_t& flags) {
  char path[kPathSize];
  char text_buf[32];
  std::string_view text;
  if (!read_net_attribute(name, "flags", path, Span<char>(text_buf), text)) return false;
  if (!parse_sysfs_flags(text, flags)) {
    skip_line(path, 1, "not interface flags");
    return false;
  }
  return true;
}

// sysfs `flags` is the device's administrative flags: the kernel adds IFF_RUNNING only in
// dev_get_flags() (SIOCGIFFLAGS, netlink), from the operational state: netif_oper_up() is
// operstate "up" or "unknown" (lo, most tunnels). So a flags file without 0x40 asks operstate.
bool LinuxMetricsSource::operstate_running(std::string_view name) {
  char path[kPathSize];
  char text_buf[32];
  std::string_view text;
  if (!read_net_attribute(name, "operstate", path, Span<char>(text_buf), text)) return false;
  return text == "up" || text == "unknown";
}

void LinuxMetricsSource::read_hardware(metrics::Snapshot& out) {
  scan_bus("spi", metrics::HardwareKind::kSpi, out);
  scan_bus("i2c", metrics::HardwareKind::kI2c, out);
  scan_usb(out);
  scan_serial(out);
}

namespace {

// Calls `visit(name)` for each entry of `dir` but "." and ".."; 0 or the errno of opendir/readdir.
template <typename Visit>
int for_each_entry(const char* dir, Visit&& visit) {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return errno;
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      err = errno;
      break;
    }
    const std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    visit(name);
  }
  ::closedir(d);
  return err;
}

}  // namespace

void LinuxMetricsSource::add_hardware(metrics::Snapshot& out, metrics::HardwareKind kind, std::string_view name) {
  if (metrics::HardwareInterface* hw = reservoir_slot(out.hardware)) {
    hw->kind = kind;
    hw->name.assign(name.substr(0, metrics::kMaxHardwareName)).ignore();  // cut to the capacity: it fits
  }
}

void LinuxMetricsSource::scan_bus(const char* bus, metrics::HardwareKind kind, metrics::Snapshot& out) {
  char dir[kPathSize];
  if (!make_path(dir, sizeof dir, "%s/bus/%s/devices", settings_.sys_root.c_str(), bus)) return;
  const int err = for_each_entry(dir, [&](std::string_view name) {
    char path[kPathSize];
    if (!make_path(path, sizeof path, "%s/%.*s/driver", dir, static_cast<int>(name.size()), name.data())) return;
    if (!exists(path)) return;  // not bound to a driver
    add_hardware(out, kind, name);
  });
  if (err != 0 && err != ENOENT) os_failure(err, dir);  // no such bus: nothing to report
}

void LinuxMetricsSource::scan_usb(metrics::Snapshot& out) {
  char dir[kPathSize];
  if (!make_path(dir, sizeof dir, "%s/bus/usb/devices", settings_.sys_root.c_str())) return;
  const int err = for_each_entry(dir, [&](std::string_view name) {
    char path[kPathSize];
    char vendor_buf[16];
    char product_buf[16];
    std::string_view vendor;
    std::string_view product;
    if (!make_path(path, sizeof path, "%s/%.*s/idVendor", dir, static_cast<int>(name.size()), name.data())) return;
    int file_err = read_small_file(path, vendor_buf, sizeof vendor_buf, vendor);
    if (file_err == ENOENT) return;  // an interface or a hub port, not a device
    if (file_err == 0) {
      if (!make_path(path, sizeof path, "%s/%.*s/idProduct", dir, static_cast<int>(name.size()), name.data())) return;
      file_err = read_small_file(path, product_buf, sizeof product_buf, product);
    }
    if (file_err != 0) {
      os_failure(file_err, path);
      return;
    }
    if (!is_hex4(vendor) || !is_hex4(product)) {
      skip_line(path, 1, "not a USB vendor/product id");
      return;
    }
    char text[metrics::kMaxHardwareName + 1];
    const int n = std::snprintf(text, sizeof text, "usb %.*s %.4s:%.4s", static_cast<int>(name.size()), name.data(),
                                vendor.data(), product.data());
    const std::size_t length = n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof text - 1);
    add_hardware(out, metrics::HardwareKind::kUsb, std::string_view(text, length));
  });
  if (err != 0 && err != ENOENT) os_failure(err, dir);
}

void LinuxMetricsSource::scan_serial(metrics::Snapshot& out) {
  char dir[kPathSize];
  if (!make_path(dir, sizeof dir, "%s/class/tty", settings_.sys_root.c_str())) return;
  const int err = for_each_entry(dir, [&](std::string_view name) {
    char path[kPathSize];
    if (!make_path(path, sizeof path, "%s/%.*s/device/driver", dir, static_cast<int>(name.size()), name.data())) {
      return;
    }
    if (!exists(path)) return;  // a virtual terminal or a pty: no hardware behind it
    if (name.size() > 4 && name.substr(0, 4) == "ttyS" && all_digits(name.substr(4))) {
      // The 8250 driver registers placeholder ports (nr_uarts) with type 0 (PORT_UNKNOWN).
      if (!make_path(path, sizeof path, "%s/%.*s/type", dir, static_cast<int>(name.size()), name.data())) return;
      char type_buf[16];
      std::string_view type;
      const int type_err = read_small_file(path, type_buf, sizeof type_buf, type);
      if (type_err == 0 && type == "0") return;
      if (type_err != 0 && type_err != ENOENT) {
        os_failure(type_err, path);
        return;
      }
    }
    add_hardware(out, metrics::HardwareKind::kSerial, name);
  });
  if (err != 0 && err != ENOENT) os_failure(err, dir);
}

void LinuxMetricsSource::read_process_count(metrics::PlatformExtras& out) {
  std::uint32_t count = 0;
  const int err = for_each_entry(settings_.proc_root.c_str(), [&](std::string_view name) {
    if (all_digits(name)) ++count;
  });
  if (err != 0) {
    os_failure(err, settings_.proc_root.c_str());  // without <proc> nothing here is right
    return;
  }
  out.process_count = count;
}

void LinuxMetricsSource::read_meminfo(metrics::PlatformExtras& out) {
  char path[kPathSize];
  detail::LineReader reader(Span<char>(buffer_, sizeof buffer_));
  if (!open_proc_file(reader, path, "meminfo")) return;
  std::string_view line;
  while (reader.next(line)) {
    const bool total = line.substr(0, 9) == "MemTotal:";
    const bool available = line.substr(0, 13) == "MemAvailable:";
    if (!total && !available) continue;  // the other lines are not used
    std::string_view name;
    std::uint64_t bytes = 0;
    if (reader.overlong() || !parse_meminfo(line, name, bytes)) {
      skip_line(path, reader.line_number(), "not a meminfo line");
      continue;
    }
    (total ? out.memory_total_bytes : out.memory_available_bytes) = bytes;
  }
  if (reader.error() != 0) os_failure(reader.error(), path);
}

void LinuxMetricsSource::read_loadavg(metrics::PlatformExtras& out) {
  char path[kPathSize];
  if (!make_path(path, sizeof path, "%s/loadavg", settings_.proc_root.c_str())) return;
  char buf[128];
  std::string_view text;
  const int err = read_small_file(path, buf, sizeof buf, text);
  if (err == ENOENT) return;  // not there: not reported
  if (err != 0) {
    os_failure(err, path);
    return;
  }
  if (!parse_loadavg(text, out.load_average_milli)) {
    skip_line(path, 1, "not a loadavg line");
    return;
  }
  out.has_load_average = true;
}

void LinuxMetricsSource::read_cpu_temperature(metrics::PlatformExtras& out) {
  char dir[kPathSize];
  if (!make_path(dir, sizeof dir, "%s/class/thermal", settings_.sys_root.c_str())) return;
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t best_cpu = kNone;  // lowest zone number of each kind that gave a temperature
  std::uint64_t best_any = kNone;
  std::int32_t cpu_temp = 0;
  std::int32_t any_temp = 0;
  int first_err = 0;
  char first_err_path[kPathSize] = "";
  const int err = for_each_entry(dir, [&](std::string_view name) {
    constexpr std::string_view kPrefix = "thermal_zone";
    if (name.substr(0, kPrefix.size()) != kPrefix) return;
    const std::string_view number = name.substr(kPrefix.size());
    if (!all_digits(number) || number.size() > 9) return;
    std::uint64_t zone = 0;
    for (const char c : number) zone = zone * 10 + static_cast<std::uint64_t>(c - '0');
    char path[kPathSize];
    char temp_buf[32];
    char type_buf[64];
    std::string_view temp;
    std::string_view type;
    if (!make_path(path, sizeof path, "%s/%.*s/temp", dir, static_cast<int>(name.size()), name.data())) return;
    if (const int temp_err = read_small_file(path, temp_buf, sizeof temp_buf, temp); temp_err != 0) {
      if (first_err == 0 && temp_err != ENOENT) {
        first_err = temp_err;
        std::snprintf(first_err_path, sizeof first_err_path, "%s", path);
      }
      return;
    }
    std::int32_t value = 0;
    if (!parse_sysfs_int(temp, value)) {
      skip_line(path, 1, "not a temperature");
      return;
    }
    if (!make_path(path, sizeof path, "%s/%.*s/type", dir, static_cast<int>(name.size()), name.data())) return;
    const bool cpu = read_small_file(path, type_buf, sizeof type_buf, type) == 0 &&
                     (type.find("cpu") != std::string_view::npos || type == "x86_pkg_temp");
    if (cpu && zone < best_cpu) {
      best_cpu = zone;
      cpu_temp = value;
    }
    if (zone < best_any) {
      best_any = zone;
      any_temp = value;
    }
  });
  if (err != 0 && err != ENOENT) os_failure(err, dir);
  if (best_cpu != kNone || best_any != kNone) {
    out.has_cpu_temperature = true;
    out.cpu_temperature_milli_c = best_cpu != kNone ? cpu_temp : any_temp;
  } else if (first_err != 0) {
    os_failure(first_err, first_err_path);
  }
}

}  // namespace tether::port
