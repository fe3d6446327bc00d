// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The GpioLines tests' configurations: one line on one chip.
#pragma once

#include <cstdint>

#include "tether/config.hpp"

namespace gpio_test {

/// A gpio section with the single line `name` at `offset` of `chip`; false when a name is too long.
inline bool one_line_gpio(tether::GpioConfig& config, const char* chip, const char* name, tether::GpioDirection direction,
                          std::uint32_t offset) {
  config = tether::GpioConfig{};
  config.enabled = true;
  if (!config.chip.assign(chip).ok() || !config.lines[0].name.assign(name).ok()) return false;
  config.lines[0].direction = direction;
  config.lines[0].offset = offset;
  config.line_count = 1;
  return true;
}

}  // namespace gpio_test
