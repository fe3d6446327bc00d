// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// metrics::IpAddress text: RFC 5952 output, RFC 4291 input, mapped addresses.

#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"
#include "tether/metrics/snapshot.hpp"

using namespace tether;
using namespace tether::metrics;

namespace {

std::string text_of(const IpAddress& ip) {
  char buf[kMaxAddressText];
  const Result<std::string_view> t = format_address(ip, Span<char>(buf, sizeof buf));
  REQUIRE(t.ok());
  return std::string(t.value());
}

}  // namespace

TEST_CASE("metrics addresses: IPv6 is written in the RFC 5952 canonical form") {
  struct Case {
    const char* in;
    const char* canonical;
  };
  const Case cases[] = {
      {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},       // a single zero group is not "::"
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},                 // the longest run
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},           // the first of equal runs
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"fe80:0:0:0:0:0:0:0", "fe80::"},
      {"2001:DB8::ABCD", "2001:db8::abcd"},                    // lower case
      {"::ffff:192.0.2.1", "::ffff:c000:201"},                 // embedded dotted quad read
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    const Result<IpAddress> ip = parse_address(c.in);
    REQUIRE(ip.ok());
    CHECK(ip.value().family == IpAddress::Family::kV6);
    CHECK(text_of(ip.value()) == c.canonical);
    // The canonical text reads back to the same address.
    const Result<IpAddress> again = parse_address(text_of(ip.value()));
    REQUIRE(again.ok());
    CHECK(again.value() == ip.value());
  }
}

TEST_CASE("metrics addresses: IPv4, and what is refused") {
  const Result<IpAddress> ip = parse_address("192.168.1.20");
  REQUIRE(ip.ok());
  CHECK(ip.value() == IpAddress::v4(192, 168, 1, 20));
  CHECK(text_of(ip.value()) == "192.168.1.20");
  CHECK(text_of(IpAddress::v4(0, 0, 0, 0)) == "0.0.0.0");
  CHECK(IpAddress::v4(0, 0, 0, 0).is_unspecified());
  CHECK(parse_address("::").value().is_unspecified());
  CHECK_FALSE(IpAddress::v4(10, 0, 0, 1).is_unspecified());
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", ":", ":::",
                          "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "::g", "1:", ":1",
                          "::1.2.3", "1.2.3.4::", "1:2:3:4:5:6:7::1.2.3.4"}) {
    INFO("'" << bad << "'");
    const Result<IpAddress> r = parse_address(bad);
    CHECK(r.status() == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  }
  // A buffer too small, and an address without a family.
  char small[6];
  CHECK(format_address(IpAddress::v4(192, 168, 1, 20), Span<char>(small, sizeof small)).status().code() ==
        StatusCode::kResourceExhausted);
  CHECK(format_address(IpAddress(), Span<char>(small, sizeof small)).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("metrics addresses: an IPv4-mapped IPv6 address unmaps to IPv4, others stay") {
  CHECK(parse_address("::ffff:10.1.2.3").value().unmapped() == IpAddress::v4(10, 1, 2, 3));
  const IpAddress plain = parse_address("2001:db8::1").value();
  CHECK(plain.unmapped() == plain);
  CHECK(IpAddress::v4(1, 2, 3, 4).unmapped() == IpAddress::v4(1, 2, 3, 4));
  CHECK(IpAddress::v4(1, 2, 3, 4) != parse_address("::ffff:1.2.3.4").value());
  CHECK(to_string(HardwareKind::kI2c) == std::string("i2c"));
}
