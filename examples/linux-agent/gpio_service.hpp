// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// tether-agent's GPIO lines (configuration section "gpio"; tether::port::GpioLines over libgpiod):
//   - inputs are read every `poll_ms`; each record of telemetry carries them ("gpio":{"door":true}),
//     a change sends a record at once and is reported to the shadow (reported.gpio.<name>),
//   - outputs start at `initial`, follow the shadow's desired.gpio.<name> (true or false) and are
//     reported back as the chip reads them; after a restart they start at the value the previous
//     run applied (the shadow replica's reported.gpio.<name>), not at `initial`.
// stdout: "GPIO <name>=<0|1>" for the first reading of a line and every change.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "example_support.hpp"
#include "shadow_support.hpp"
#include "tether/agent.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"
#include "tether/port/linux/gpio_lines.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

namespace tether::agent_app {

class GpioService {
 public:
  explicit GpioService(const GpioConfig& config) : config_(&config) {
    for (std::size_t i = 0; i < config.line_count; ++i) {
      names_.push_back(std::string("gpio.") + config.lines[i].name.c_str());
    }
    values_.assign(config.line_count, false);
    known_.assign(config.line_count, false);
  }

  /// Outputs follow desired.gpio.<name>: before the shadow starts (the lines are opened after).
  int attach(const char* program, shadow::Shadow& shadow) {
    shadow_ = &shadow;
    for (std::size_t i = 0; i < config_->line_count; ++i) {
      if (config_->lines[i].direction != GpioDirection::kOutput) continue;
      ErrorText error;
      const Status status = shadow.on_desired(
          names_[i], [this, i](const shadow::DesiredChange& c) { return apply(i, c); }, &error);
      if (!status.ok()) {
        tether::examples::tell(LOG_ERR, "%s: %s: %s\n", program, names_[i].c_str(), error.c_str());
        return 2;
      }
    }
    return 0;
  }

  /// Takes the lines; after the shadow started (its replica loaded) when there is one: an output
  /// then starts at the value the previous run applied (reported.gpio.<name>) instead of `initial`,
  /// so a restart does not glitch it. Returns 0, or 2 after printing why (chip, line, errno).
  int open(const char* program, const char* config_path) {
    GpioConfig config = *config_;
    if (shadow_ != nullptr) {
      json::parse(shadow_->reported(), shadow::kStateBytes, [this, &config](const json::Value& root) {
        for (std::size_t i = 0; i < config.line_count; ++i) {
          if (config.lines[i].direction != GpioDirection::kOutput) continue;
          const Result<bool> applied = shadow::find(root, names_[i]).as_bool();
          if (applied.ok()) config.lines[i].initial = applied.value();
        }
        return Status();
      }).ignore();  // an empty or unreadable replica leaves the configured initial values
    }
    ErrorText error;
    const Status opened = lines_.open(config, program, &error);
    if (!opened.ok()) {
      tether::examples::tell(LOG_ERR, "%s: %s: %s\n", program, config_path, error.c_str());
      return 2;
    }
    return 0;
  }

  /// Reads every line now (reporting them), then inputs every poll_ms; `changed` runs after an
  /// input changed (tether-agent sends a telemetry record).
  Status start(Agent& agent, std::function<void()> changed) {
    agent_ = &agent;
    changed_ = std::move(changed);
    poll(true);
    bool inputs = false;
    for (std::size_t i = 0; i < config_->line_count; ++i) inputs |= config_->lines[i].direction == GpioDirection::kInput;
    if (!inputs) return Status();
    const Result<TimerId> timer = agent.start_timer(Milliseconds(config_->poll_ms), [this] { poll(false); });
    return timer.ok() ? Status() : timer.status();
  }

  /// `"gpio":{"door":true,"led":false}`: the members telemetry carries (empty before start).
  std::string telemetry_members() const {
    std::string text;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (!known_[i]) continue;
      text += text.empty() ? "\"gpio\":{" : ",";
      text += std::string("\"") + config_->lines[i].name.c_str() + "\":" + (values_[i] ? "true" : "false");
    }
    return text.empty() ? text : text + "}";
  }

  const std::string& chip_description() const { return lines_.chip_description(); }

 private:
  // Reads every input (and at the first call every output): prints, reports and signals changes.
  void poll(bool first) {
    bool input_changed = false;
    for (std::size_t i = 0; i < config_->line_count; ++i) {
      const bool input = config_->lines[i].direction == GpioDirection::kInput;
      if (!input && !first) continue;
      const Result<bool> value = lines_.read(i);
      if (!value.ok()) {
        if (!read_failed_) {
          TETHER_LOG_WARN(agent_->logger(), Origin::kApp, value.status(), "gpio: reading %s failed",
                          names_[i].c_str());
        }
        read_failed_ = true;
        continue;
      }
      if (known_[i] && values_[i] == value.value()) continue;
      input_changed |= input && known_[i];
      record(i, value.value());
    }
    if (input_changed && changed_) changed_();
  }

  // The line's value as last read, and its GPIO line on stdout.
  void remember(std::size_t i, bool value) {
    values_[i] = value;
    known_[i] = true;
    examples::say("GPIO %s=%d", config_->lines[i].name.c_str(), value ? 1 : 0);
  }

  // remember(), and reported.gpio.<name> in the shadow.
  void record(std::size_t i, bool value) {
    remember(i, value);
    if (shadow_ == nullptr) return;
    ErrorText why;
    const Status reported = shadow_->report_bool(names_[i], value, &why);
    if (!reported.ok()) {
      TETHER_LOG_WARN(agent_->logger(), Origin::kApp, reported, "gpio: reporting %s: %s", names_[i].c_str(),
                      why.c_str());
    }
  }

  shadow::DesiredResult apply(std::size_t i, const shadow::DesiredChange& change) {
    const Result<bool> wanted = change.value.as_bool();
    shadow::DesiredResult result = shadow::DesiredResult::accept();
    if (!wanted.ok()) {
      result = shadow::DesiredResult::reject("a GPIO output takes true or false");
    } else if (!lines_.write(i, wanted.value()).ok()) {
      result = shadow::DesiredResult::reject("the GPIO line could not be set");
    }
    examples::print_decision(change, result);
    if (result.decision == shadow::Decision::kAccept) {
      const Result<bool> now = lines_.read(i);  // as the chip reads it back
      if (now.ok() && (!known_[i] || values_[i] != now.value())) remember(i, now.value());
    }
    return result;  // accepted: the shadow reports the desired value back
  }

  const GpioConfig* config_ = nullptr;
  port::GpioLines lines_;
  Agent* agent_ = nullptr;
  shadow::Shadow* shadow_ = nullptr;
  std::function<void()> changed_;
  std::vector<std::string> names_;  // "gpio.<name>": the shadow path
  std::vector<bool> values_;
  std::vector<bool> known_;
  bool read_failed_ = false;
};

}  // namespace tether::agent_app
