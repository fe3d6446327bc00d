// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Custom metric data rules (validate_custom_metric) and the network deltas of a report.
//
// Sources of the rules:
// - Name: the CreateCustomMetric API reference gives metricName "Length Constraints: Minimum
//   length of 1. Maximum length of 128. Pattern: [a-zA-Z0-9:_-]+" and says "The name can't begin
//   with aws:" (AWS IoT API reference, API_CreateCustomMetric; the same in the CloudFormation
//   AWS::IoT::CustomMetric page).
// - Values: the AWS IoT Device SDK C++ v2 Device Defender sample README
//   (samples/others/device_defender/mqtt5_basic_report/README.md, "Device Defender Data
//   Requirements"): number and number-list "precision up to 15 digits", positive and negative;
//   string-list "letters A through Z (uppercase and lowercase) and the characters : _ - / .";
//   ip-list "only valid IPV4 and IPV6 addresses"; data that breaks them is sent but not retained.
//   That README does not list digits, but the developer guide's own report example
//   (detect-device-side-metrics, "Device metrics document specification") sends
//   "string_list": ["value_1", "value_2"], so digits are accepted here. No length limit for list
//   items or lists is documented in either.

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tether/metrics/report.hpp"

namespace tether::metrics {
namespace {

constexpr std::size_t kExcerpt = 40;  // characters of a bad value quoted in an explanation

// `text` quoted for an explanation: at most kExcerpt characters, anything not printable ASCII as
// '?', "..." when cut. Always terminated.
struct Quoted {
  char text[kExcerpt + 4] = {};
};

Quoted quote(std::string_view text) {
  Quoted q;
  std::size_t n = 0;
  for (; n < text.size() && n < kExcerpt; ++n) {
    const unsigned char c = static_cast<unsigned char>(text[n]);
    q.text[n] = c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
  }
  if (text.size() > kExcerpt) {
    q.text[n++] = '.', q.text[n++] = '.', q.text[n++] = '.';
  }
  q.text[n] = '\0';
  return q;
}

// Sizes in explanations as %u: newlib as Debian builds it has no C99 size_t format (tether/decimal.hpp).
unsigned u(std::size_t n) { return n > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<unsigned>(n); }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
         c == '-';
}

bool is_string_list_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
         c == '-' || c == '/' || c == '.';
}

// At most kCustomMetricDigits significant digits: the %.15g text reads back to the same double.
bool fits_digits(double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", kCustomMetricDigits, value);
  return std::strtod(buf, nullptr) == value;
}

Status bad(std::size_t item) {
  return Status(StatusCode::kInvalidArgument, Origin::kMetrics,
                static_cast<std::uint16_t>(item + 1 > 0xFFFF ? 0xFFFF : item + 1));
}

Status check_number(const CustomMetric& m, const char* what, std::size_t item, double v, ErrorText* why) {
  const Quoted name = quote(m.name);
  if (!std::isfinite(v)) {
    set_error_text(why, "custom metric \"%s\": %s = %g is not a finite number", name.text, what, v);
    return bad(item);
  }
  if (!fits_digits(v)) {
    set_error_text(why,
                   "custom metric \"%s\": %s = %.17g has more than %d significant digits (the service "
                   "keeps numbers of at most %d digits)",
                   name.text, what, v, kCustomMetricDigits, kCustomMetricDigits);
    return bad(item);
  }
  return ok_status();
}

void add_saturating(std::uint64_t& sum, std::uint64_t v) {
  sum = v > UINT64_MAX - sum ? UINT64_MAX : sum + v;
}

const InterfaceCounters* find_interface(const InterfaceList& list, std::string_view name, std::size_t before) {
  for (std::size_t i = 0; i < list.size() && i < before; ++i) {
    if (list[i].name == name) return &list[i];
  }
  return nullptr;
}

}  // namespace

const char* to_string(CustomMetric::Type type) {
  switch (type) {
    case CustomMetric::Type::kNumber:
      return "number";
    case CustomMetric::Type::kNumberList:
      return "number_list";
    case CustomMetric::Type::kStringList:
      return "string_list";
    case CustomMetric::Type::kIpList:
      return "ip_list";
  }
  return "?";
}

Status validate_custom_metric(const CustomMetric& m, ErrorText* why) {
  const Quoted name = quote(m.name);
  if (m.name.empty()) {
    set_error_text(why, "custom metric name is empty (1..%u characters of a-z A-Z 0-9 : _ -)",
                   static_cast<unsigned>(kMaxCustomMetricName));
    return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0);
  }
  if (m.name.size() > kMaxCustomMetricName) {
    set_error_text(why, "custom metric name \"%s\" is %u characters long (at most %u)", name.text, u(m.name.size()),
                   static_cast<unsigned>(kMaxCustomMetricName));
    return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0);
  }
  for (std::size_t i = 0; i < m.name.size(); ++i) {
    if (!is_name_char(m.name[i])) {
      set_error_text(why, "custom metric name \"%s\" has character 0x%02x at offset %u (allowed: a-z A-Z 0-9 : _ -)",
                     name.text, static_cast<unsigned>(static_cast<unsigned char>(m.name[i])), u(i));
      return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0);
    }
  }
  if (m.name.substr(0, 4) == "aws:") {
    set_error_text(why, "custom metric name \"%s\" starts with \"aws:\", which is reserved for AWS metrics",
                   name.text);
    return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0);
  }

  char what[32];
  switch (m.type) {
    case CustomMetric::Type::kNumber:
      return check_number(m, "number", 0, m.value, why);
    case CustomMetric::Type::kNumberList:
      for (std::size_t i = 0; i < m.numbers.size(); ++i) {
        std::snprintf(what, sizeof what, "number_list[%u]", u(i));
        TETHER_RETURN_IF_ERROR(check_number(m, what, i, m.numbers[i], why));
      }
      return ok_status();
    case CustomMetric::Type::kStringList:
      for (std::size_t i = 0; i < m.texts.size(); ++i) {
        const std::string_view s = m.texts[i];
        if (s.empty()) {
          set_error_text(why, "custom metric \"%s\": string_list[%u] is empty (at least one character)", name.text,
                         u(i));
          return bad(i);
        }
        for (std::size_t k = 0; k < s.size(); ++k) {
          if (!is_string_list_char(s[k])) {
            set_error_text(why,
                           "custom metric \"%s\": string_list[%u] \"%s\" has character 0x%02x at offset %u "
                           "(allowed: A-Z a-z 0-9 : _ - / .)",
                           name.text, u(i), quote(s).text, static_cast<unsigned>(static_cast<unsigned char>(s[k])), u(k));
            return bad(i);
          }
        }
      }
      return ok_status();
    case CustomMetric::Type::kIpList:
      for (std::size_t i = 0; i < m.texts.size(); ++i) {
        if (!parse_address(m.texts[i]).ok()) {
          set_error_text(why, "custom metric \"%s\": ip_list[%u] \"%s\" is not an IPv4 or IPv6 address", name.text,
                         u(i), quote(m.texts[i]).text);
          return bad(i);
        }
      }
      return ok_status();
  }
  set_error_text(why, "custom metric \"%s\": unknown type %u", name.text, static_cast<unsigned>(m.type));
  return Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0);
}

NetworkTotals network_delta(const Snapshot& previous, const Snapshot& current) {
  return network_delta(previous.interfaces, current.interfaces);
}

NetworkTotals network_delta(const InterfaceList& previous, const InterfaceList& current) {
  NetworkTotals sum;
  for (std::size_t i = 0; i < current.size(); ++i) {
    const InterfaceCounters& now = current[i];
    if (now.loopback || find_interface(current, now.name.view(), i) != nullptr) continue;
    const InterfaceCounters* before = find_interface(previous, now.name.view(), previous.size());
    if (before == nullptr && previous.truncated()) continue;  // baseline unknown
    const bool reset = before != nullptr &&
                       (now.bytes_in < before->bytes_in || now.bytes_out < before->bytes_out ||
                        now.packets_in < before->packets_in || now.packets_out < before->packets_out);
    const bool whole = before == nullptr || reset;
    add_saturating(sum.bytes_in, whole ? now.bytes_in : now.bytes_in - before->bytes_in);
    add_saturating(sum.bytes_out, whole ? now.bytes_out : now.bytes_out - before->bytes_out);
    add_saturating(sum.packets_in, whole ? now.packets_in : now.packets_in - before->packets_in);
    add_saturating(sum.packets_out, whole ? now.packets_out : now.packets_out - before->packets_out);
  }
  return sum;
}

}  // namespace tether::metrics
