// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// On-device rules: allow-lists and ceilings checked against every snapshot, raised and cleared
// as changes.

#include "tether/metrics/rules.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tether/json.hpp"
#include "tether/metrics/report.hpp"

namespace tether::metrics {
namespace {

Status invalid() { return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0); }

bool contains_port(const FixedVector<std::uint16_t, kMaxRuleItems>& list, std::uint16_t port) {
  for (std::uint16_t p : list) {
    if (p == port) return true;
  }
  return false;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

Status check_ports(const FixedVector<std::uint16_t, kMaxRuleItems>& ports, const char* what, ErrorText* why) {
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (ports[i] == 0) {
      set_error_text(why, "%s[%lu]: port 0 is not a port (1..65535)", what, static_cast<unsigned long>(i));
      return invalid();
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (ports[j] == ports[i]) {
        set_error_text(why, "%s[%lu]: port %u is listed twice", what, static_cast<unsigned long>(i), ports[i]);
        return invalid();
      }
    }
  }
  return Status();
}

}  // namespace

const char* to_string(RuleKind kind) {
  switch (kind) {
    case RuleKind::kTcpPort: return "tcp_port";
    case RuleKind::kUdpPort: return "udp_port";
    case RuleKind::kRemoteNetwork: return "remote_network";
    case RuleKind::kHardware: return "hardware";
    case RuleKind::kBytesInRate: return "bytes_in_rate";
    case RuleKind::kBytesOutRate: return "bytes_out_rate";
  }
  return "?";
}

bool Cidr::contains(const IpAddress& address) const {
  const IpAddress a = address.unmapped();
  if (a.family != network.family || network.family == IpAddress::Family::kNone) return false;
  std::size_t bits = prefix;
  for (std::size_t i = 0; bits > 0; ++i) {
    const std::size_t take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xFF00u >> take);
    if ((a.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

Result<Cidr> parse_cidr(std::string_view text, ErrorText* why) {
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const Result<IpAddress> address = parse_address(address_text);
  if (!address.ok()) {
    set_error_text(why, "\"%.*s\": \"%.*s\" is not an IPv4 or IPv6 address", static_cast<int>(text.size()),
                     text.data(), static_cast<int>(address_text.size()), address_text.data());
    return invalid();
  }
  Cidr cidr;
  cidr.network = address.value().unmapped();
  const unsigned max_prefix = cidr.network.family == IpAddress::Family::kV4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    prefix = 0;
    bool ok = !digits.empty() && digits.size() <= 3 && !(digits.size() > 1 && digits[0] == '0');
    for (char c : digits) {
      if (c < '0' || c > '9') ok = false;
      if (ok) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || prefix > max_prefix) {
      set_error_text(why, "\"%.*s\": the prefix length must be 0..%u", static_cast<int>(text.size()), text.data(),
                       max_prefix);
      return invalid();
    }
  }
  cidr.prefix = static_cast<std::uint8_t>(prefix);
  // Host bits below the prefix must be zero.
  Cidr exact = cidr;
  for (std::size_t bit = prefix; bit < max_prefix; ++bit) {
    exact.network.bytes[bit / 8] = static_cast<std::uint8_t>(exact.network.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  if (!(exact.network == cidr.network)) {
    char canonical[kMaxAddressText];
    const Result<std::string_view> t = format_address(exact.network, Span<char>(canonical, sizeof canonical));
    const std::string_view shown = t.ok() ? t.value() : std::string_view("?");
    set_error_text(why, "\"%.*s\": bits are set below the /%u prefix (did you mean %.*s/%u?)",
                     static_cast<int>(text.size()), text.data(), prefix, static_cast<int>(shown.size()),
                     shown.data(), prefix);
    return invalid();
  }
  return cidr;
}

bool Violation::same_subject(const Violation& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case RuleKind::kTcpPort:
    case RuleKind::kUdpPort:
    case RuleKind::kRemoteNetwork:
      return port == other.port && address == other.address;
    case RuleKind::kHardware:
      return hardware == other.hardware && name.view() == other.name.view();
    case RuleKind::kBytesInRate:
    case RuleKind::kBytesOutRate:
      return true;
  }
  return false;
}

Status RuleEngine::set_rules(const RuleSet& rules, ErrorText* why) {
  Status s = check_ports(rules.allowed_tcp_ports, "allowed_tcp_ports", why);
  if (!s.ok()) return s;
  s = check_ports(rules.allowed_udp_ports, "allowed_udp_ports", why);
  if (!s.ok()) return s;
  for (std::size_t i = 0; i < rules.allowed_remote_networks.size(); ++i) {
    const Cidr& c = rules.allowed_remote_networks[i];
    const unsigned max_prefix = c.network.family == IpAddress::Family::kV4 ? 32 : 128;
    if (!c.network.valid() || c.prefix > max_prefix) {
      set_error_text(why, "allowed_remote_networks[%lu]: not a network (an address and a prefix of 0..%u)",
                     static_cast<unsigned long>(i), max_prefix);
      return invalid();
    }
  }
  rules_ = rules;
  active_.clear();
  return Status();
}

void RuleEngine::add_current(const Violation& v) {
  for (const Violation& known : current_) {
    if (known.same_subject(v)) return;  // one violation per subject (a port on tcp and tcp6)
  }
  if (!current_.push_back(v)) ++current_untracked_;
}

void RuleEngine::collect(const Snapshot& now, const NetworkBaseline* previous) {
  current_.clear();
  current_untracked_ = 0;
  const auto ports = [this](const SampledList<ListeningPort, kMaxPorts>& list, bool check,
                            const FixedVector<std::uint16_t, kMaxRuleItems>& allowed, RuleKind kind) {
    if (!check) return;
    for (const ListeningPort& p : list.view()) {
      if (contains_port(allowed, p.port)) continue;
      Violation v;
      v.kind = kind;
      v.port = p.port;
      v.address = p.address;
      v.name.assign(p.interface.view()).ignore();
      add_current(v);
    }
  };
  ports(now.tcp_listen, rules_.check_tcp_ports, rules_.allowed_tcp_ports, RuleKind::kTcpPort);
  ports(now.udp_listen, rules_.check_udp_ports, rules_.allowed_udp_ports, RuleKind::kUdpPort);
  if (rules_.check_remote_networks) {
    for (const Connection& c : now.connections.view()) {
      bool allowed = false;
      for (const Cidr& network : rules_.allowed_remote_networks) allowed = allowed || network.contains(c.remote);
      if (allowed) continue;
      Violation v;
      v.kind = RuleKind::kRemoteNetwork;
      v.port = c.remote_port;
      v.address = c.remote.unmapped();
      v.name.assign(c.local_interface.view()).ignore();
      add_current(v);
    }
  }
  for (const HardwareInterface& h : now.hardware.view()) {
    for (const HardwareRule& rule : rules_.inactive_hardware) {
      if (rule.kind != h.kind || !starts_with(h.name.view(), rule.name_prefix.view())) continue;
      Violation v;
      v.kind = RuleKind::kHardware;
      v.hardware = h.kind;
      v.name = h.name;
      add_current(v);
      break;
    }
  }
  // Rates: without a previous snapshot (or no time between the two) they keep their last state.
  const bool rates_checked = rules_.max_bytes_in_per_s != 0 || rules_.max_bytes_out_per_s != 0;
  if (!rates_checked) return;
  const bool measurable = previous != nullptr && now.taken_at > previous->taken_at;
  for (RuleKind kind : {RuleKind::kBytesInRate, RuleKind::kBytesOutRate}) {
    const std::uint64_t ceiling = kind == RuleKind::kBytesInRate ? rules_.max_bytes_in_per_s : rules_.max_bytes_out_per_s;
    if (ceiling == 0) continue;
    if (!measurable) {
      for (const Violation& v : active_) {
        if (v.kind == kind) add_current(v);  // unknown now: keep what was
      }
      continue;
    }
    const NetworkTotals delta = network_delta(previous->interfaces, now.interfaces);
    const std::uint64_t bytes = kind == RuleKind::kBytesInRate ? delta.bytes_in : delta.bytes_out;
    const auto elapsed_ms = static_cast<std::uint64_t>((now.taken_at - previous->taken_at).count());
    // bytes * 1000 / elapsed without overflow for any realistic count (2^64 / 1000 bytes).
    const std::uint64_t rate = bytes > UINT64_MAX / 1000 ? bytes / elapsed_ms * 1000 : bytes * 1000 / elapsed_ms;
    if (rate <= ceiling) continue;
    Violation v;
    v.kind = kind;
    v.rate = rate;
    v.ceiling = ceiling;
    add_current(v);
  }
}

Evaluation RuleEngine::evaluate(const Snapshot& now, const Snapshot* previous, Span<RuleEvent> events) {
  if (previous == nullptr) return evaluate(now, static_cast<const NetworkBaseline*>(nullptr), events);
  const NetworkBaseline baseline = NetworkBaseline::of(*previous);
  return evaluate(now, &baseline, events);
}

Evaluation RuleEngine::evaluate(const Snapshot& now, const NetworkBaseline* previous, Span<RuleEvent> events) {
  Evaluation result;
  ++stats_.evaluations;
  result.incomplete = now.tcp_listen.truncated() || now.udp_listen.truncated() || now.connections.truncated() ||
                      now.hardware.truncated();
  if (result.incomplete) ++stats_.incomplete;
  collect(now, previous);
  stats_.untracked += current_untracked_;

  // Cleared: active before, not now. A clear that does not fit in `events` is still applied (the
  // violation is gone either way) and counted as dropped.
  for (std::size_t i = 0; i < active_.size();) {
    bool still = false;
    for (const Violation& v : current_) still = still || v.same_subject(active_[i]);
    if (still) {
      ++i;
      continue;
    }
    if (result.events < events.size()) {
      events[result.events++] = RuleEvent{false, active_[i]};
    } else {
      ++result.dropped;
    }
    ++stats_.cleared;
    active_.erase(i);
  }
  // Raised: now, not active before. One that does not fit in `events` is not made active, so the
  // next evaluation raises it.
  for (const Violation& v : current_) {
    bool known = false;
    for (Violation& a : active_) {
      if (!a.same_subject(v)) continue;
      known = true;
      a = v;  // the latest measurement (rates)
    }
    if (known) continue;
    if (result.events >= events.size()) {
      ++result.dropped;
      continue;
    }
    if (!active_.push_back(v)) {
      ++stats_.untracked;
      continue;
    }
    events[result.events++] = RuleEvent{true, v};
    ++stats_.raised;
  }
  return result;
}

Result<std::string_view> encode_alert(std::string_view thing, const RuleEvent& event, std::int64_t timestamp_ms,
                                      Span<char> out) {
  const Violation& v = event.violation;
  json::Writer w(out);
  w.begin_object();
  w.key("thing").string(thing);
  w.key("rule").string(to_string(v.kind));
  w.key("state").string(event.raised ? "raised" : "cleared");
  char address[kMaxAddressText];
  const auto address_text = [&]() -> std::string_view {
    const Result<std::string_view> t = format_address(v.address, Span<char>(address, sizeof address));
    return t.ok() ? t.value() : std::string_view();
  };
  switch (v.kind) {
    case RuleKind::kTcpPort:
    case RuleKind::kUdpPort:
      w.key("port").number(static_cast<std::int64_t>(v.port));
      if (v.address.valid()) w.key("address").string(address_text());
      if (!v.name.empty()) w.key("interface").string(v.name.view());
      break;
    case RuleKind::kRemoteNetwork: {
      char peer[kMaxAddressText + 8];
      const std::string_view a = address_text();
      const bool v6 = v.address.family == IpAddress::Family::kV6;
      const int n = std::snprintf(peer, sizeof peer, v6 ? "[%.*s]:%u" : "%.*s:%u", static_cast<int>(a.size()), a.data(),
                                  static_cast<unsigned>(v.port));
      w.key("remote_addr").string(std::string_view(peer, n > 0 ? static_cast<std::size_t>(n) : 0));
      if (!v.name.empty()) w.key("interface").string(v.name.view());
      break;
    }
    case RuleKind::kHardware:
      w.key("kind").string(to_string(v.hardware));
      w.key("name").string(v.name.view());
      break;
    case RuleKind::kBytesInRate:
    case RuleKind::kBytesOutRate:
      w.key("rate").number(static_cast<std::int64_t>(v.rate > INT64_MAX ? INT64_MAX : v.rate));
      w.key("ceiling").number(static_cast<std::int64_t>(v.ceiling > INT64_MAX ? INT64_MAX : v.ceiling));
      break;
  }
  w.key("timestamp_ms").number(timestamp_ms);
  w.end_object();
  return w.finish();
}

}  // namespace tether::metrics
