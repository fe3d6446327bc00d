// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// GpioLines where libgpiod 1.x cannot be loaded: ports/linux/src/gpio_lines.cpp built into this
// program with a soname no machine has (CMakeLists.txt), as on a device without the package.
#include <catch2/catch.hpp>

#include <string>

#include "gpio_test_support.hpp"
#include "tether/port/linux/gpio_lines.hpp"

using tether::port::GpioLines;

TEST_CASE("gpio lines: without libgpiod, open() names the package and nothing else fails", "[gpio]") {
  const std::string version = GpioLines::library_version();
  INFO(version);
  CHECK(version.rfind("no libgpiod (gpio: cannot load libgpiod-tether-absent.so.9 (", 0) == 0);

  tether::GpioConfig config;
  REQUIRE(gpio_test::one_line_gpio(config, "gpiochip0", "button", tether::GpioDirection::kInput, 3));
  GpioLines lines;
  tether::ErrorText error;
  const tether::Status status = lines.open(config, "tether-test", &error);
  CHECK(status.code() == tether::StatusCode::kUnavailable);
  const std::string text = error.c_str();
  INFO(text);
  CHECK(text.rfind("gpio: cannot load libgpiod-tether-absent.so.9 (", 0) == 0);
  CHECK(text.find("): GPIO lines need the package libgpiod-tether-absent9") != std::string::npos);
  CHECK_FALSE(lines.is_open());
  CHECK(lines.read(0).status().code() == tether::StatusCode::kFailedPrecondition);
  // A second open() meets the same answer (the load is tried once per process, not per call).
  CHECK(lines.open(config, "tether-test", &error).code() == tether::StatusCode::kUnavailable);
}
