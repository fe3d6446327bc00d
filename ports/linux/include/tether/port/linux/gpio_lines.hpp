// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::port::GpioLines`: the lines of a configuration's "gpio" section, taken from one GPIO
/// chip through the kernel's character device (libgpiod 1.6, as in Debian 12 and Raspberry Pi OS
/// bookworm, or libgpiod 2.x, as in Debian 13). Inputs get their bias, outputs their initial
/// value; `active_low` is applied by the kernel, so read() and write() take logical values.
///
/// Built without libgpiod (no libgpiod-dev when Tether was configured), open() fails with
/// kUnimplemented and says so: the rest of an agent still builds and runs. libgpiod 1.x is loaded
/// by the first open() (dlopen), not linked, so a program that opens no lines does not map it; where
/// the library is missing, open() fails with kUnavailable and names the package to install.
///
/// Not thread-safe: one thread (the agent's) uses it. Allocates (libgpiod does) in open() only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tether/config.hpp"
#include "tether/error_text.hpp"
#include "tether/result.hpp"
#include "tether/status.hpp"

namespace tether::port {

class GpioLines {
 public:
  GpioLines();
  ~GpioLines();  ///< releases the lines (an output keeps its level: the kernel does not reset it)
  GpioLines(const GpioLines&) = delete;
  GpioLines& operator=(const GpioLines&) = delete;

  /// True when this build has libgpiod.
  static bool available();
  /// "libgpiod 1.6.3" (the library's version at run time), or "no libgpiod" (and why). Loads
  /// libgpiod 1.x.
  static std::string library_version();

  /// Opens `config.chip` ("gpiochip0", "/dev/gpiochip0" or a chip label such as "pinctrl-rp1") and
  /// requests every line of `config` for `consumer` (shown by gpioinfo). All or nothing: on error
  /// no line stays requested. Returns ok, or (origin kOs, detail errno where one applies):
  /// - kNotFound: no such chip, no line of that name on it, an offset past the chip's last line
  /// - kPermissionDenied: the device is not accessible (the service user lacks the gpio group)
  /// - kUnavailable: a line is used already (by whom, when the kernel says); libgpiod 1.x cannot be
  ///   loaded (the package is not installed)
  /// - kInvalidArgument: the chip refused a setting (a bias it cannot do)
  /// - kFailedPrecondition: open already; kUnimplemented: built without libgpiod
  /// `error` names the chip, the line (by its name in the configuration and its offset) and why.
  Status open(const GpioConfig& config, const char* consumer, ErrorText* error);
  bool is_open() const;
  void close();

  /// The logical value of line `index` (GpioConfig::lines order), outputs included (what was
  /// set, as the chip reads it back). kOutOfRange for a bad index, kFailedPrecondition if not
  /// open, kOs/errno from the kernel.
  Result<bool> read(std::size_t index);
  /// Sets output `index` to the logical `value`. kInvalidArgument for an input.
  Status write(std::size_t index, bool value);

  /// "gpiochip0 [pinctrl-bcm2711], 54 lines" once open.
  const std::string& chip_description() const;
  /// The offset line `index` resolved to (a name looked up on the chip).
  std::uint32_t offset(std::size_t index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tether::port
