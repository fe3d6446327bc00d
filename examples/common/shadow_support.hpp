// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The stdout lines and log lines of an example agent's shadow, as examples/shadow-agent and
// examples/linux-agent (tether-agent) print them. Header-only, for the examples (not part of the
// SDK's API).
//   SYNCED version=<n>                                       the shadow was fetched and reconciled
//   DESIRED path=<path> value=<json> decision=accept         a desired value was applied
//   DESIRED path=<path> value=<json> decision=reject reason=<text to the end of the line>
//   REPORTED version=<n> reported=<json>                     the service accepted an update

#include <cinttypes>
#include <cstdio>
#include <string_view>

#include "tether/json.hpp"
#include "tether/log.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

namespace tether::examples {

/// One DESIRED line; `value` printed as compact JSON.
inline void print_decision(const shadow::DesiredChange& change, const shadow::DesiredResult& result) {
  char buf[256];
  json::Writer writer(Span<char>(buf, sizeof buf));
  shadow::write_value(writer, change.value);
  const Result<std::string_view> value = writer.finish();
  const std::string_view text = value.ok() ? value.value() : std::string_view("\"(too long to print)\"");
  std::printf("DESIRED path=%.*s value=%.*s decision=%s", static_cast<int>(change.path.size()), change.path.data(),
              static_cast<int>(text.size()), text.data(),
              result.decision == shadow::Decision::kAccept ? "accept" : "reject");
  if (result.decision == shadow::Decision::kReject) {
    std::printf(" reason=%.*s", static_cast<int>(result.reason.size()), result.reason.data());
  }
  std::printf("\n");
  std::fflush(stdout);
}

/// SYNCED and REPORTED lines on stdout; every other shadow event is logged as a warning.
inline void on_shadow_event(Logger& logger, const shadow::Shadow& shadow, const shadow::ShadowEvent& e) {
  switch (e.type) {
    case shadow::ShadowEventType::kSynced:
      std::printf("SYNCED version=%" PRId64 "\n", e.version);
      break;
    case shadow::ShadowEventType::kUpdateAccepted: {
      const std::string_view reported = shadow.reported();
      std::printf("REPORTED version=%" PRId64 " reported=%.*s\n", e.version, static_cast<int>(reported.size()),
                  reported.data());
      break;
    }
    default:
      TETHER_LOG_WARN(logger, Origin::kApp, e.reason, "shadow: %s%s%.*s", shadow::to_string(e.type),
                      e.message.empty() ? "" : ": ", static_cast<int>(e.message.size()), e.message.data());
      break;
  }
  std::fflush(stdout);
}

}  // namespace tether::examples
