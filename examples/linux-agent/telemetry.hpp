// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// tether-agent's telemetry record: what tether::port::LinuxMetricsSource::read_extras() found, as
// one JSON object. A reading the machine does not have (no thermal zone, no /proc/loadavg) is left
// out of the object, never sent as 0:
//   {"cpu_temp_c":45.5,"load_1m":0.52,"load_5m":0.58,"load_15m":0.59,
//    "mem_total_kb":8056380,"mem_available_kb":6021120,"processes":212,"gpio":{"door":true}}
// ("gpio": the lines of the gpio section, gpio_service.hpp).

#include <cinttypes>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "tether/metrics/snapshot.hpp"

namespace tether::agent_app {

namespace detail {
// Appends printf output to buf[0..size); `used` grows, past `size` when it did not fit.
inline void append(char* buf, std::size_t size, std::size_t& used, const char* format, ...)
    __attribute__((format(printf, 4, 5)));
inline void append(char* buf, std::size_t size, std::size_t& used, const char* format, ...) {
  if (used >= size) return;
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf + used, size - used, format, args);
  va_end(args);
  used = n < 0 ? size : used + static_cast<std::size_t>(n);
}
}  // namespace detail

/// Writes the record into `buf`; returns its text, or an empty view when `size` is too small.
/// `extra` is more members, already JSON (`"gpio":{"door":true}`), put last.
inline std::string_view encode_telemetry(const metrics::PlatformExtras& x, char* buf, std::size_t size,
                                         std::string_view extra = {}) {
  std::size_t used = 0;
  const auto comma = [&used]() { return used > 1 ? "," : ""; };
  detail::append(buf, size, used, "{");
  if (x.has_cpu_temperature) {
    const std::int32_t t = x.cpu_temperature_milli_c;
    const std::int32_t whole = t / 1000;
    const std::int32_t frac = (t < 0 ? -t : t) % 1000;
    detail::append(buf, size, used, "%s\"cpu_temp_c\":%s%" PRId32 ".%03" PRId32, comma(),
                   t < 0 && whole == 0 ? "-" : "", whole, frac);
  }
  if (x.has_load_average) {
    static constexpr const char* kNames[] = {"load_1m", "load_5m", "load_15m"};
    for (int i = 0; i < 3; ++i) {
      detail::append(buf, size, used, "%s\"%s\":%" PRIu32 ".%03" PRIu32, comma(), kNames[i],
                     x.load_average_milli[i] / 1000, x.load_average_milli[i] % 1000);
    }
  }
  if (x.memory_total_bytes != 0) {
    detail::append(buf, size, used, "%s\"mem_total_kb\":%" PRIu64 ",\"mem_available_kb\":%" PRIu64, comma(),
                   x.memory_total_bytes / 1024, x.memory_available_bytes / 1024);
  }
  if (x.process_count != 0) detail::append(buf, size, used, "%s\"processes\":%" PRIu32, comma(), x.process_count);
  if (!extra.empty()) {
    detail::append(buf, size, used, "%s%.*s", comma(), static_cast<int>(extra.size()), extra.data());
  }
  detail::append(buf, size, used, "}");
  if (used >= size) return {};
  return std::string_view(buf, used);
}

}  // namespace tether::agent_app
