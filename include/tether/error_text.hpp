// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `ErrorText`: an optional human-readable explanation that accompanies a Status where a code
/// alone cannot say what is wrong and where (config key, byte offset of a bad character).
///
/// `TETHER_ERROR_TEXTS` (default 1): 0 compiles the explanations out. set_error_text() then writes
/// nothing and its format strings are not in the image (about 26 KB of Cortex-M4 text in
/// footprint-core together with `TETHER_LOG_LEVEL=-1`, docs/memory.md); every Status stays the
/// same. A whole-build setting: define it the same way for Tether's libraries and the firmware.

#include <cstdarg>
#include <cstdio>

#include "tether/fixed_string.hpp"

namespace tether {

#ifndef TETHER_ERROR_TEXTS
#define TETHER_ERROR_TEXTS 1
#endif

using ErrorText = FixedString<255>;

/// printf-style into `*out` when `out` is not null; cut at capacity (an explanation, not data).
inline void set_error_text(ErrorText* out, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#if TETHER_ERROR_TEXTS
inline void set_error_text(ErrorText* out, const char* format, ...) {
  if (out == nullptr) return;
  char buf[ErrorText::kCapacity + 1];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  if (n < 0) n = 0;
  std::size_t len = static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1;
  out->assign(std::string_view(buf, len)).ignore();
}
#else
inline void set_error_text(ErrorText*, const char*, ...) {}
#endif

}  // namespace tether
