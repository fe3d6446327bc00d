// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: tether::metrics::encode_report, validate_custom_metric and network_delta over
// snapshots and custom metrics built from the input bytes.
//
// Invariants checked:
// - encode_report returns ok or a documented code with origin kMetrics (kInvalidArgument,
//   kResourceExhausted, kUnimplemented only for CBOR without libcbor), with an explanation;
// - it never writes past the buffer it is given (a guard region after it stays untouched);
// - a custom metric validate_custom_metric refuses makes the report fail with kInvalidArgument;
// - a report that fits in the large buffer fits in exactly its size, yields the same bytes there,
//   and is refused with kResourceExhausted one byte shorter;
// - JSON output parses, with the report id in the header; CBOR output decodes with libcbor
//   (when built with it) and uses every byte;
// - network_delta never exceeds the sum of the current non-loopback counters.

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tether/json.hpp"
#include "tether/metrics/report.hpp"

#if defined(TETHER_HAVE_LIBCBOR)
#include <cbor.h>
#endif

namespace {

using namespace tether;
using namespace tether::metrics;

// Reads the input front to back; zeros once it runs out.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return v;
  }
  double f64() {
    const std::uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // Up to `max` bytes (length from one byte); a view into the input.
  std::string_view text(std::size_t max) {
    std::size_t n = u8() % (max + 1);
    if (n > size_ - pos_) n = size_ - pos_;
    const std::string_view s(reinterpret_cast<const char*>(data_) + pos_, n);
    pos_ += n;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

IpAddress address(Bytes& in) {
  IpAddress ip;
  const std::uint8_t kind = in.u8() % 4;
  if (kind == 0) return ip;  // no family: refused by encode_report
  ip.family = kind == 1 ? IpAddress::Family::kV4 : IpAddress::Family::kV6;
  for (auto& b : ip.bytes) b = in.u8();
  if (kind == 3) {  // IPv4-mapped
    std::memset(ip.bytes.data(), 0, 10);
    ip.bytes[10] = ip.bytes[11] = 0xff;
  }
  return ip;
}

void fill(Bytes& in, Snapshot& s) {
  for (std::size_t n = in.u8() % 6; n > 0; --n) {
    ListeningPort p;
    p.port = in.u16();
    p.interface.assign(in.text(kMaxInterfaceName)).ignore();
    auto& list = (in.u8() & 1) ? s.tcp_listen : s.udp_listen;
    list.items[list.count++] = p;
    list.total += 1 + in.u8() % 3;
  }
  for (std::size_t n = in.u8() % 5; n > 0; --n) {
    Connection c;
    c.remote = address(in);
    c.remote_port = in.u16();
    c.local_port = in.u16();
    c.local_interface.assign(in.text(kMaxInterfaceName)).ignore();
    s.connections.items[s.connections.count++] = c;
    s.connections.total += 1 + in.u8() % 3;
  }
  for (std::size_t n = in.u8() % 5; n > 0; --n) {
    InterfaceCounters c;
    c.name.assign(in.text(3)).ignore();  // short names: collisions between snapshots are likely
    c.bytes_in = in.u64(), c.bytes_out = in.u64(), c.packets_in = in.u64(), c.packets_out = in.u64();
    c.loopback = (in.u8() & 3) == 0;
    s.interfaces.items[s.interfaces.count++] = c;
    s.interfaces.total += 1 + (in.u8() & 1);
  }
}

bool documented(Status s, bool cbor) {
  if (s.origin() != Origin::kMetrics) return false;
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kResourceExhausted ||
         (cbor && s.code() == StatusCode::kUnimplemented && !cbor_reports_available());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const std::uint8_t flags = in.u8();
  const ReportFormat format = static_cast<ReportFormat>(flags % 3);
  const bool cbor = format == ReportFormat::kCbor;

  ReportInput report;
  report.report_id = static_cast<std::int64_t>(in.u64() >> (flags & 0x80 ? 0 : 8));
  Snapshot current, previous;
  if (flags & 0x04) {
    fill(in, current);
    report.snapshot = &current;
  }
  if (flags & 0x08) {
    fill(in, previous);
    report.previous = &previous;
  }

  // Custom metrics: names and values from the input (strings as views into it).
  CustomMetric custom[4];
  double numbers[4][4];
  std::string_view texts[4][4];
  std::size_t n_custom = in.u8() % 5;
  bool any_invalid = false;
  for (std::size_t i = 0; i < n_custom; ++i) {
    const std::string_view name = in.text(20);
    const std::uint8_t type = in.u8();
    const std::size_t items = type >> 6;
    for (std::size_t k = 0; k < 4; ++k) {
      // Mostly small integers and simple fractions, sometimes any bit pattern.
      numbers[i][k] = (type & 0x10) ? in.f64() : static_cast<double>(static_cast<std::int8_t>(in.u8())) / ((type & 0x20) ? 4 : 1);
      texts[i][k] = in.text(24);
    }
    switch (type & 3) {
      case 0:
        custom[i] = CustomMetric::number(name, numbers[i][0]);
        break;
      case 1:
        custom[i] = CustomMetric::number_list(name, Span<const double>(numbers[i], items));
        break;
      case 2:
        custom[i] = CustomMetric::string_list(name, Span<const std::string_view>(texts[i], items));
        break;
      default:
        custom[i] = CustomMetric::ip_list(name, Span<const std::string_view>(texts[i], items));
        break;
    }
    ErrorText why;
    const Status v = validate_custom_metric(custom[i], &why);
    TETHER_FUZZ_CHECK(v.ok() || (v.code() == StatusCode::kInvalidArgument && v.origin() == Origin::kMetrics &&
                                 !why.empty() && v.detail() <= 4));
    any_invalid = any_invalid || !v.ok();
  }
  report.custom = Span<const CustomMetric>(custom, n_custom);

  if (report.snapshot != nullptr && report.previous != nullptr) {
    const NetworkTotals d = network_delta(previous, current);
    std::uint64_t max_in = 0;
    bool saturated = false;
    for (const InterfaceCounters& c : current.interfaces.view()) {
      if (c.loopback) continue;
      saturated = saturated || c.bytes_in > UINT64_MAX - max_in;
      max_in = saturated ? UINT64_MAX : max_in + c.bytes_in;
    }
    TETHER_FUZZ_CHECK(d.bytes_in <= max_in);
  }

  // The large buffer, then a small one of a size from the input, each with a guard region.
  constexpr std::size_t kLarge = 16384;
  constexpr std::size_t kGuard = 32;
  constexpr std::uint8_t kPattern = 0x5A;
  std::vector<std::uint8_t> large(kLarge + kGuard, kPattern);
  ErrorText why;
  const Result<Span<std::uint8_t>> r = encode_report(report, format, Span<std::uint8_t>(large.data(), kLarge), &why);
  for (std::size_t i = kLarge; i < large.size(); ++i) TETHER_FUZZ_CHECK(large[i] == kPattern);
  if (!r.ok()) {
    TETHER_FUZZ_CHECK(documented(r.status(), cbor));
    TETHER_FUZZ_CHECK(!why.empty());
    TETHER_FUZZ_CHECK(r.status().code() != StatusCode::kResourceExhausted);  // 16 KB holds any of these
    return 0;
  }
  TETHER_FUZZ_CHECK(!any_invalid);
  TETHER_FUZZ_CHECK(report.report_id > 0);
  const std::size_t n = r.value().size();
  TETHER_FUZZ_CHECK(n > 0 && n <= kLarge && r.value().data() == large.data());
  const std::string written(reinterpret_cast<const char*>(large.data()), n);

  if (!cbor) {
    std::int64_t rid = -1;
    const Status parsed = json::parse(written, written.size(), [&](const json::Value& root) {
      const json::Value header = root[format == ReportFormat::kJsonLong ? "header" : "hed"];
      rid = header[format == ReportFormat::kJsonLong ? "report_id" : "rid"].as_int().value_or(-1);
      return ok_status();
    });
    // Report ids from 2^53 on are written exactly, but json::Value::as_int refuses them.
    TETHER_FUZZ_CHECK(parsed.ok());
    TETHER_FUZZ_CHECK(rid == report.report_id || report.report_id >= (std::int64_t{1} << 53));
  } else {
#if defined(TETHER_HAVE_LIBCBOR)
    cbor_load_result loaded;
    cbor_item_t* item = cbor_load(large.data(), n, &loaded);
    TETHER_FUZZ_CHECK(item != nullptr);
    TETHER_FUZZ_CHECK(loaded.read == n);
    TETHER_FUZZ_CHECK(cbor_isa_map(item));
    cbor_decref(&item);
#endif
  }

  // Exactly n bytes: the same report; n - 1 and a size from the input below n: refused, no overrun.
  const std::size_t sizes[] = {n, n - 1, static_cast<std::size_t>(in.u16()) % n};
  for (std::size_t small_size : sizes) {
    std::vector<std::uint8_t> small(small_size + kGuard, kPattern);
    const Result<Span<std::uint8_t>> s =
        encode_report(report, format, Span<std::uint8_t>(small.data(), small_size), &why);
    for (std::size_t i = small_size; i < small.size(); ++i) TETHER_FUZZ_CHECK(small[i] == kPattern);
    if (small_size == n) {
      TETHER_FUZZ_CHECK(s.ok());
      TETHER_FUZZ_CHECK(std::string(reinterpret_cast<const char*>(small.data()), n) == written);
    } else {
      TETHER_FUZZ_CHECK(s.status() == Status(StatusCode::kResourceExhausted, Origin::kMetrics));
    }
  }
  return 0;
}
