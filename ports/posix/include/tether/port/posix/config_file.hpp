// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Loading the agent configuration from a file.

#include "tether/config.hpp"

namespace tether::port {

/// Reads `path` (at most kMaxJsonInput bytes) and parses it with parse_config, naming the file in
/// error texts. Returns ok, kNotFound/kOs (no such file; detail = errno), kPermissionDenied/kOs,
/// kOutOfRange/kConfig (file larger than kMaxJsonInput), kUnavailable/kOs (other read errors), or
/// parse_config's errors. `error` gets `<path>: <problem>`.
Status load_config_file(const char* path, AgentConfig& out, ErrorText* error);

}  // namespace tether::port
