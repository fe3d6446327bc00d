// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// tether::port::GpioLines on this machine: libgpiod is loaded (1.x: on first use) and a chip the
// machine does not have is reported as such. Lines on a real GPIO chip: gpio_vm_test.py (arm64 and
// armhf kernels under QEMU); a missing libgpiod: gpio_missing_library.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "gpio_test_support.hpp"
#include "tether/port/linux/gpio_lines.hpp"

using tether::port::GpioLines;

TEST_CASE("gpio lines: libgpiod is loaded and a missing chip is named", "[gpio]") {
  if (!GpioLines::available()) {
    FAIL("this build has no libgpiod (install libgpiod-dev): GpioLines cannot be checked");
  }
  const std::string version = GpioLines::library_version();
  INFO(version);
  CHECK(version.rfind("libgpiod ", 0) == 0);
  CHECK(version.find("no libgpiod") == std::string::npos);

  tether::GpioConfig config;
  REQUIRE(gpio_test::one_line_gpio(config, "gpiochip999", "led", tether::GpioDirection::kOutput, 27));
  GpioLines lines;
  tether::ErrorText error;
  const tether::Status status = lines.open(config, "tether-test", &error);
  CHECK(status.code() == tether::StatusCode::kNotFound);
  CHECK(std::string(error.c_str()) ==
        "gpio.chip: /dev/gpiochip999: No such file or directory (gpiodetect lists the chips)");
  CHECK_FALSE(lines.is_open());
}
