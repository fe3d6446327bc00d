// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Number formatting that must not depend on the C library's printf: tether::Decimal (64-bit
// integers without %lld) and the core's double formatting with its guards (lib/core/text_util.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "core/text_util.hpp"
#include "tether/decimal.hpp"

using tether::Decimal;
using tether::detail::format_double;
using tether::detail::printed_length;

namespace {

std::string formatted(double value, tether::detail::DoubleFormatter formatter = &tether::detail::snprintf_double) {
  char buf[32];
  const std::size_t len = format_double(value, buf, formatter);
  REQUIRE(len < sizeof buf);
  CHECK(buf[len] == '\0');
  return std::string(buf, len);
}

}  // namespace

TEST_CASE("Decimal prints integers of every width and sign as %lld and %llu would") {
  CHECK(std::string(Decimal(0).c_str()) == "0");
  CHECK(std::string(Decimal(-1).c_str()) == "-1");
  CHECK(std::string(Decimal(static_cast<std::int8_t>(-128)).c_str()) == "-128");
  CHECK(std::string(Decimal(static_cast<std::uint16_t>(65535)).c_str()) == "65535");
  CHECK(std::string(Decimal(std::uint32_t{4294967295u}).c_str()) == "4294967295");
  CHECK(std::string(Decimal(std::numeric_limits<std::int64_t>::max()).c_str()) == "9223372036854775807");
  CHECK(std::string(Decimal(std::numeric_limits<std::int64_t>::min()).c_str()) == "-9223372036854775808");
  CHECK(std::string(Decimal(std::numeric_limits<std::uint64_t>::max()).c_str()) == "18446744073709551615");
  const Decimal d(std::int64_t{-42});
  CHECK(d.view() == "-42");
  CHECK(d.size() == 3);
}

TEST_CASE("format_double writes the shortest of 15 or 17 digits that reads back to the same double") {
  CHECK(formatted(0.0) == "0");
  CHECK(formatted(0.1) == "0.1");
  CHECK(formatted(-2.5) == "-2.5");
  CHECK(formatted(1e300) == "1e+300");
  CHECK(formatted(1.0 / 3.0) == "0.33333333333333331");
  CHECK(formatted(0.1 + 0.2) == "0.30000000000000004");
  CHECK(formatted(-std::numeric_limits<double>::denorm_min()) == "-4.94065645841247e-324");
}

TEST_CASE("format_double fails with 0 when printf prints no floating point, whatever it returns") {
  // newlib-nano without -u _printf_float: "%g" prints nothing and the count it returns is garbage.
  const auto nano_without_float = [](char* buf, std::size_t size, int, double) {
    if (size > 0) buf[0] = '\0';
  };
  char buf[32];
  std::memset(buf, 'x', sizeof buf);
  CHECK(format_double(0.5, buf, nano_without_float) == 0);
  CHECK(buf[0] == '\0');
}

TEST_CASE("format_double never reads past its buffer when the formatter leaves no NUL") {
  const auto no_nul = [](char* buf, std::size_t size, int, double) { std::memset(buf, '1', size); };
  char buf[32];
  CHECK(format_double(0.5, buf, no_nul) == 0);
  CHECK(buf[sizeof buf - 1] == '\0');
}

TEST_CASE("format_double refuses what a printf without %g support prints instead of a number") {
  const auto echoes_conversion = [](char* buf, std::size_t size, int, double) { std::snprintf(buf, size, "g"); };
  const auto question_mark = [](char* buf, std::size_t size, int, double) { std::snprintf(buf, size, "?"); };
  const auto trailing_junk = [](char* buf, std::size_t size, int, double) { std::snprintf(buf, size, "0.5x"); };
  const auto bare_exponent = [](char* buf, std::size_t size, int, double) { std::snprintf(buf, size, "1e+"); };
  char buf[32];
  CHECK(format_double(0.5, buf, echoes_conversion) == 0);
  CHECK(format_double(0.5, buf, question_mark) == 0);
  CHECK(format_double(0.5, buf, trailing_junk) == 0);
  CHECK(format_double(0.5, buf, bare_exponent) == 0);
}

TEST_CASE("format_double writes a decimal point where the C locale prints a comma") {
  const auto comma_locale = [](char* buf, std::size_t size, int, double) { std::snprintf(buf, size, "0,5"); };
  CHECK(formatted(0.5, comma_locale) == "0.5");
}

TEST_CASE("printed_length stops at the first NUL and never passes the buffer") {
  const char text[4] = {'a', 'b', '\0', 'c'};
  CHECK(printed_length(text, sizeof text) == 2);
  const char full[3] = {'a', 'b', 'c'};
  CHECK(printed_length(full, sizeof full) == 3);
  CHECK(printed_length(full, 0) == 0);
}
