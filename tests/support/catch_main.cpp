// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Our own Catch2 main: Debian's Catch2WithMain is a host-only archive (useless in cross builds),
// and the no-exception build (CATCH_CONFIG_DISABLE_EXCEPTIONS) needs the runner compiled the same way.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
