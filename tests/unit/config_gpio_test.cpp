// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The "gpio" section of the configuration: a chip, input lines (bias, active-low) and output lines
// (initial value), by offset or by the line's name; every mistake named with its place.

#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"
#include "tether/config.hpp"

using namespace tether;

namespace {

struct Outcome {
  Status status;
  std::string error;
  AgentConfig config;
};

Outcome parse_gpio(const std::string& section) {
  const std::string json = R"({"thing_name": "dev-1", "endpoint": "broker.local",
    "tls": {"ca_file": "/etc/tether/ca.pem", "cert_file": "/etc/tether/dev.crt", "key": "/etc/tether/dev.key"},
    "gpio": )" + section + "}";
  Outcome o;
  ErrorText error;
  o.status = parse_config(json, "agent.json", o.config, &error);
  o.error = std::string(error.view());
  return o;
}

}  // namespace

TEST_CASE("config gpio: absent means no GPIO") {
  AgentConfig config;
  const std::string json = R"({"thing_name": "dev-1", "endpoint": "broker.local",
    "tls": {"ca_file": "/a", "cert_file": "/b", "key": "/c"}})";
  REQUIRE(parse_config(json, "agent.json", config, nullptr).ok());
  CHECK_FALSE(config.gpio.enabled);
  CHECK(config.gpio.line_count == 0);
}

TEST_CASE("config gpio: inputs and outputs are read into lines, inputs first") {
  const Outcome o = parse_gpio(R"({"chip": "pinctrl-bcm2711", "poll_ms": 50,
    "inputs": [{"name": "door", "line": "GPIO17", "active_low": true, "bias": "pull-up"},
               {"name": "button", "line": 22}],
    "outputs": [{"name": "led", "line": 27, "initial": true}, {"name": "relay_1", "line": "GPIO5", "active_low": true}]})");
  INFO(o.error);
  REQUIRE(o.status.ok());
  const GpioConfig& g = o.config.gpio;
  CHECK(g.enabled);
  CHECK(g.chip == "pinctrl-bcm2711");
  CHECK(g.poll_ms == 50);
  REQUIRE(g.line_count == 4);
  CHECK(g.lines[0].name == "door");
  CHECK(g.lines[0].by_name());
  CHECK(g.lines[0].line_name == "GPIO17");
  CHECK(g.lines[0].direction == GpioDirection::kInput);
  CHECK(g.lines[0].active_low);
  CHECK(g.lines[0].bias == GpioBias::kPullUp);
  CHECK_FALSE(g.lines[1].by_name());
  CHECK(g.lines[1].offset == 22);
  CHECK(g.lines[1].bias == GpioBias::kAsIs);
  CHECK_FALSE(g.lines[1].active_low);
  CHECK(g.lines[2].direction == GpioDirection::kOutput);
  CHECK(g.lines[2].offset == 27);
  CHECK(g.lines[2].initial);
  CHECK(g.lines[3].line_name == "GPIO5");
  CHECK_FALSE(g.lines[3].initial);
  CHECK(g.find("relay_1") == &g.lines[3]);
  CHECK(g.find("nope") == nullptr);
}

TEST_CASE("config gpio: defaults") {
  const Outcome o = parse_gpio(R"({"chip": "gpiochip0"})");
  INFO(o.error);
  REQUIRE(o.status.ok());
  CHECK(o.config.gpio.poll_ms == 100);
  CHECK(o.config.gpio.line_count == 0);
}

TEST_CASE("config gpio: mistakes are named with their place") {
  struct Case {
    const char* section;
    const char* error;
  };
  const Case cases[] = {
      {R"({})", "agent.json: gpio: missing required key \"chip\""},
      {R"("gpiochip0")", "agent.json: gpio: must be an object, got string \"gpiochip0\""},
      {R"({"chip": ""})", "agent.json: gpio.chip: must name the chip: \"gpiochip0\", \"/dev/gpiochip0\" or its label "
                          "(gpiodetect lists them)"},
      {R"({"chip": "gpiochip0", "pins": []})", "agent.json: gpio: unknown key \"pins\""},
      {R"({"chip": "gpiochip0", "poll_ms": 5})", "agent.json: gpio.poll_ms: must be an integer between 10 and 60000, got 5"},
      {R"({"chip": "gpiochip0", "inputs": {}})", "agent.json: gpio.inputs: must be an array of objects, got an object"},
      {R"({"chip": "gpiochip0", "inputs": [17]})", "agent.json: gpio.inputs[0]: must be an object, got 17"},
      {R"({"chip": "gpiochip0", "inputs": [{"line": 17}]})", "agent.json: gpio.inputs[0]: missing required key \"name\""},
      {R"({"chip": "gpiochip0", "outputs": [{"name": "led"}]})",
       "agent.json: gpio.outputs[0]: missing required key \"line\""},
      {R"({"chip": "gpiochip0", "outputs": [{"name": "led", "line": 1, "bias": "pull-up"}]})",
       "agent.json: gpio.outputs[0]: unknown key \"bias\""},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": 1, "initial": true}]})",
       "agent.json: gpio.inputs[0]: unknown key \"initial\""},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": 1024}]})",
       "agent.json: gpio.inputs[0].line: must be an integer between 0 and 1023, got 1024"},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": -1}]})",
       "agent.json: gpio.inputs[0].line: must be an integer between 0 and 1023, got -1"},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": ""}]})",
       "agent.json: gpio.inputs[0].line: must be a line offset (0..1023) or the line's name on the chip (\"GPIO17\"), "
       "got \"\""},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": "GPIO 17"}]})",
       "agent.json: gpio.inputs[0].line: a line name is printable ASCII without spaces or quotes, got \"GPIO 17\""},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": 1, "bias": "up"}]})",
       "agent.json: gpio.inputs[0].bias: must be \"as-is\", \"disabled\", \"pull-up\" or \"pull-down\", got string \"up\""},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "door", "line": 1, "active_low": 1}]})",
       "agent.json: gpio.inputs[0].active_low: must be true or false, got 1"},
      {R"({"chip": "gpiochip0", "outputs": [{"name": "front.led", "line": 1}]})",
       "agent.json: gpio.outputs[0].name: must be 1 to 32 of A-Z a-z 0-9 _ - (it is a key in telemetry and the "
       "shadow), got \"front.led\""},
      {R"({"chip": "gpiochip0", "outputs": [{"name": "", "line": 1}]})",
       "agent.json: gpio.outputs[0].name: must not be empty"},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "led", "line": 1}], "outputs": [{"name": "led", "line": 2}]})",
       "agent.json: gpio.outputs[0].name: \"led\" is used by gpio.inputs[0] too"},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "a", "line": 4}], "outputs": [{"name": "b", "line": 3},
                                                                                 {"name": "c", "line": 4}]})",
       "agent.json: gpio.outputs[1].line: is gpio.inputs[0]'s line too (a line has one use)"},
      {R"({"chip": "gpiochip0", "inputs": [{"name": "a", "line": "GPIO4"}, {"name": "b", "line": "GPIO4"}]})",
       "agent.json: gpio.inputs[1].line: is gpio.inputs[0]'s line too (a line has one use)"},
  };
  for (const Case& c : cases) {
    INFO(c.section);
    const Outcome o = parse_gpio(c.section);
    CHECK_FALSE(o.status.ok());
    CHECK(o.status.origin() == Origin::kConfig);
    CHECK(o.error == c.error);
  }
}

TEST_CASE("config gpio: at most TETHER_MAX_GPIO_LINES lines, inputs and outputs together") {
  std::string inputs;
  std::string outputs;
  for (std::size_t i = 0; i < kMaxGpioLines; ++i) {
    std::string& list = i % 2 == 0 ? inputs : outputs;
    list += (list.empty() ? "" : ",") + std::string(R"({"name": "l)") + std::to_string(i) + R"(", "line": )" +
            std::to_string(i) + "}";
  }
  const Outcome full = parse_gpio(R"({"chip": "gpiochip0", "inputs": [)" + inputs + R"(], "outputs": [)" + outputs + "]}");
  INFO(full.error);
  REQUIRE(full.status.ok());
  CHECK(full.config.gpio.line_count == kMaxGpioLines);

  const Outcome over = parse_gpio(R"({"chip": "gpiochip0", "inputs": [)" + inputs + R"(], "outputs": [)" + outputs +
                                  R"(, {"name": "extra", "line": 100}]})");
  CHECK(over.status.code() == StatusCode::kOutOfRange);
  CHECK(over.error == "agent.json: gpio.outputs: too many lines: inputs and outputs together hold at most 8 "
                      "(TETHER_MAX_GPIO_LINES)");
}

TEST_CASE("config gpio: validate_config checks a section built in code") {
  AgentConfig config;
  config.thing_name.assign("dev-1").ignore();
  config.broker.endpoint.assign("broker.local").ignore();
  config.broker.ca_file.assign("/a").ignore();
  config.broker.cert_file.assign("/b").ignore();
  config.broker.key.assign("/c").ignore();
  config.gpio.enabled = true;
  config.gpio.chip.assign("gpiochip0").ignore();
  config.gpio.line_count = 1;
  config.gpio.lines[0].name.assign("led").ignore();
  config.gpio.lines[0].direction = GpioDirection::kOutput;
  config.gpio.lines[0].bias = GpioBias::kPullDown;
  ErrorText error;
  CHECK(validate_config(config, "code", &error).code() == StatusCode::kInvalidArgument);
  CHECK(error.view() == "code: gpio.outputs[0].bias: applies to inputs only");
  config.gpio.lines[0].bias = GpioBias::kAsIs;
  CHECK(validate_config(config, "code", &error).ok());
  config.gpio.poll_ms = 0;
  CHECK(validate_config(config, "code", &error).code() == StatusCode::kOutOfRange);
  CHECK(error.view() == "code: gpio.poll_ms: must be between 10 and 60000");
}
