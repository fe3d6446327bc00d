// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The "gpio" section of the configuration: one chip, its input and output lines.

#include <cstdio>

#include "config_internal.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"

namespace tether {
namespace config_detail {
namespace {

constexpr std::int64_t kMinPollMs = 10;
constexpr std::int64_t kMaxPollMs = 60000;

// "gpio.inputs[<index>]" or "gpio.outputs[<index>]", the section of a line in error texts.
struct LineSection {
  char text[48];
};

LineSection line_section(GpioDirection direction, std::size_t index) {
  LineSection s{};
  std::snprintf(s.text, sizeof s.text, "gpio.%s[%lu]", direction == GpioDirection::kInput ? "inputs" : "outputs",
                static_cast<unsigned long>(index));
  return s;
}

// The line's section from its place in GpioConfig::lines (inputs first, then outputs).
LineSection line_section(const GpioConfig& g, std::size_t i) {
  return line_section(g.lines[i].direction, g.position(i));
}

// A name becomes a JSON key and a shadow path element: no dots, quotes or spaces.
bool is_gpio_name_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }

// A line's name on its chip, as the kernel shows it (gpioinfo): printable ASCII, no quotes.
bool is_line_name_char(char c) { return c > ' ' && c < 0x7F && c != '"' && c != '\\'; }

}  // namespace

Status Reader::read_gpio(const json::Value& gpio) {
  constexpr std::string_view kSection = "gpio";
  if constexpr (kMaxGpioLines == 0) {  // compiled out: about 5 KB of Cortex-M4 text saved
    return fail(ctx_, StatusCode::kUnimplemented, 0, {}, kSection, "this build has no GPIO (TETHER_MAX_GPIO_LINES=0)");
  }
  TETHER_RETURN_IF_ERROR(expect_object(gpio, kSection));
  static constexpr std::string_view kKeys[] = {"chip", "poll_ms", "inputs", "outputs"};
  TETHER_RETURN_IF_ERROR(check_keys(gpio, kSection, kKeys, count_of(kKeys)));
  TETHER_RETURN_IF_ERROR(require(gpio, kSection, "chip"));
  GpioConfig& g = out_.gpio;
  g.enabled = true;
  TETHER_RETURN_IF_ERROR(read_string(gpio, kSection, "chip", g.chip));
  TETHER_RETURN_IF_ERROR(read_int(gpio, kSection, "poll_ms", kMinPollMs, kMaxPollMs, &g.poll_ms));
  TETHER_RETURN_IF_ERROR(read_gpio_lines(gpio, "inputs", GpioDirection::kInput));
  return read_gpio_lines(gpio, "outputs", GpioDirection::kOutput);
}

Status Reader::read_gpio_lines(const json::Value& gpio, std::string_view key, GpioDirection direction) {
  constexpr std::string_view kSection = "gpio";
  const json::Value list = gpio[key];
  if (!list.valid()) return ok_status();
  if (!list.is_array()) {
    return fail(ctx_, StatusCode::kInvalidArgument, 0, kSection, key, "must be an array of objects, got %s",
                describe(list).text);
  }
  GpioConfig& g = out_.gpio;
  if (list.size() > kMaxGpioLines - g.line_count) {
    return fail(ctx_, StatusCode::kOutOfRange, clamp16(list.size()), kSection, key,
                "too many lines: inputs and outputs together hold at most %lu (TETHER_MAX_GPIO_LINES)",
                static_cast<unsigned long>(kMaxGpioLines));
  }
  const bool input = direction == GpioDirection::kInput;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json::Value entry = list.at(i);
    const LineSection section = line_section(direction, i);
    if (!entry.is_object()) {
      return fail(ctx_, StatusCode::kInvalidArgument, 0, section.text, {}, "must be an object, got %s",
                  describe(entry).text);
    }
    static constexpr std::string_view kInputKeys[] = {"name", "line", "active_low", "bias"};
    static constexpr std::string_view kOutputKeys[] = {"name", "line", "active_low", "initial"};
    TETHER_RETURN_IF_ERROR(input ? check_keys(entry, section.text, kInputKeys, count_of(kInputKeys))
                                 : check_keys(entry, section.text, kOutputKeys, count_of(kOutputKeys)));
    TETHER_RETURN_IF_ERROR(require(entry, section.text, "name"));
    TETHER_RETURN_IF_ERROR(require(entry, section.text, "line"));
    GpioLineConfig& line = g.lines[g.line_count];
    line = GpioLineConfig{};
    line.direction = direction;
    TETHER_RETURN_IF_ERROR(read_string(entry, section.text, "name", line.name));
    const json::Value at = entry["line"];
    if (at.is_string()) {
      TETHER_RETURN_IF_ERROR(read_string(entry, section.text, "line", line.line_name));
      if (line.line_name.empty()) {
        return fail(ctx_, StatusCode::kInvalidArgument, 0, section.text, "line",
                    "must be a line offset (0..%lu) or the line's name on the chip (\"GPIO17\"), got \"\"",
                    static_cast<unsigned long>(kMaxGpioOffset));
      }
    } else {
      TETHER_RETURN_IF_ERROR(read_int(entry, section.text, "line", 0, kMaxGpioOffset, &line.offset));
    }
    TETHER_RETURN_IF_ERROR(read_bool(entry, section.text, "active_low", &line.active_low));
    if (input) {
      static constexpr std::string_view kBiasNames[] = {"as-is", "disabled", "pull-up", "pull-down"};
      static constexpr GpioBias kBiasValues[] = {GpioBias::kAsIs, GpioBias::kDisabled, GpioBias::kPullUp,
                                                 GpioBias::kPullDown};
      TETHER_RETURN_IF_ERROR(read_choice(entry, section.text, "bias", kBiasNames, kBiasValues,
                                         "\"as-is\", \"disabled\", \"pull-up\" or \"pull-down\"", &line.bias));
    } else {
      TETHER_RETURN_IF_ERROR(read_bool(entry, section.text, "initial", &line.initial));
    }
    ++g.line_count;
  }
  return ok_status();
}

Status check_gpio(const Ctx& ctx, const GpioConfig& g) {
  constexpr std::string_view kSection = "gpio";
  if constexpr (kMaxGpioLines == 0) {
    return fail(ctx, StatusCode::kUnimplemented, 0, {}, kSection, "this build has no GPIO (TETHER_MAX_GPIO_LINES=0)");
  }
  if (g.chip.empty()) {
    return fail(ctx, StatusCode::kInvalidArgument, 0, kSection, "chip",
                "must name the chip: \"gpiochip0\", \"/dev/gpiochip0\" or its label (gpiodetect lists them)");
  }
  if (g.poll_ms < kMinPollMs || g.poll_ms > kMaxPollMs) {
    return fail(ctx, StatusCode::kOutOfRange, 0, kSection, "poll_ms", "must be between %s and %s",
                Decimal(kMinPollMs).c_str(), Decimal(kMaxPollMs).c_str());
  }
  if (g.line_count > kMaxGpioLines) {
    return fail(ctx, StatusCode::kOutOfRange, clamp16(g.line_count), kSection, {},
                "at most %lu lines (TETHER_MAX_GPIO_LINES)", static_cast<unsigned long>(kMaxGpioLines));
  }
  for (std::size_t i = 0; i < g.line_count; ++i) {
    const GpioLineConfig& line = g.lines[i];
    const LineSection section = line_section(g, i);
    const std::string_view name = line.name.view();
    if (name.empty()) return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "name", "must not be empty");
    for (std::size_t k = 0; k < name.size(); ++k) {
      if (!is_gpio_name_char(name[k])) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(k), section.text, "name",
                    "must be 1 to %lu of A-Z a-z 0-9 _ - (it is a key in telemetry and the shadow), got %s",
                    static_cast<unsigned long>(kMaxGpioName), quote(name).text);
      }
    }
    const std::string_view line_name = line.line_name.view();
    for (std::size_t k = 0; k < line_name.size(); ++k) {
      if (!is_line_name_char(line_name[k])) {
        return fail(ctx, StatusCode::kInvalidArgument, clamp16(k), section.text, "line",
                    "a line name is printable ASCII without spaces or quotes, got %s", quote(line_name).text);
      }
    }
    if (!line.by_name() && line.offset > kMaxGpioOffset) {
      return fail(ctx, StatusCode::kOutOfRange, 0, section.text, "line", "must be a line offset between 0 and %lu",
                  static_cast<unsigned long>(kMaxGpioOffset));
    }
    if (line.direction == GpioDirection::kOutput && line.bias != GpioBias::kAsIs) {
      return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "bias", "applies to inputs only");
    }
    for (std::size_t j = 0; j < i; ++j) {
      const GpioLineConfig& other = g.lines[j];
      if (other.name == name) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "name", "%s is used by %s too",
                    quote(name).text, line_section(g, j).text);
      }
      const bool same_line = line.by_name() ? other.line_name == line_name
                                            : !other.by_name() && other.offset == line.offset;
      if (same_line) {
        return fail(ctx, StatusCode::kInvalidArgument, 0, section.text, "line", "is %s's line too (a line has one use)",
                    line_section(g, j).text);
      }
    }
  }
  return ok_status();
}

}  // namespace config_detail
}  // namespace tether
