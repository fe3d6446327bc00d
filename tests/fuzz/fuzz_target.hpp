// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared by every fuzz target: the libFuzzer entry point (also driven by regression_main.cpp) and
// the invariant check. A failed check aborts, which libFuzzer reports as a crash (and saves the
// input) and which fails the ctest regression run.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace tether::fuzz {

[[noreturn]] inline void check_failed(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

}  // namespace tether::fuzz

/// Aborts with the failed expression when `cond` is false: never compiled out (unlike assert).
#define TETHER_FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::tether::fuzz::check_failed(#cond, __FILE__, __LINE__))
