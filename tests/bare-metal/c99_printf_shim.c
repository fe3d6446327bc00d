/* Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
 *
 * Test-build workaround, linked only into tether_unit_tests_m4 (-Wl,--wrap=snprintf,--wrap=vsnprintf).
 *
 * The core prints size_t with "%zu" in its error texts. Debian's newlib for arm-none-eabi (full and
 * nano) is built without C99 printf formats, so it prints "zu" and skips the argument. That is a
 * defect of the core on such firmware (docs/porting.md, "Running on an emulated Cortex-M4"), not of
 * the code the tests check: this shim drops the 'z' length modifier before newlib sees the format,
 * so the rest of every error-text test still runs on the target. size_t is unsigned int here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(size_t) == sizeof(unsigned int), "%z -> % needs a size_t as wide as int");

int __real_vsnprintf(char* buf, size_t size, const char* format, va_list args);
int __wrap_vsnprintf(char* buf, size_t size, const char* format, va_list args);
int __wrap_snprintf(char* buf, size_t size, const char* format, ...);

/* Copies `format` without the 'z' of each conversion; returns `format` itself when there is none
 * or it does not fit. */
static const char* drop_z(const char* format, char* out, size_t size) {
  if (strchr(format, 'z') == NULL || strlen(format) >= size) return format;
  size_t o = 0;
  for (const char* p = format; *p != '\0';) {
    if (*p != '%') {
      out[o++] = *p++;
      continue;
    }
    out[o++] = *p++;
    if (*p == '%') {
      out[o++] = *p++;
      continue;
    }
    while (*p != '\0' && strchr("-+ #0123456789.*", *p) != NULL) out[o++] = *p++;
    if (*p == 'z') ++p;
  }
  out[o] = '\0';
  return out;
}

int __wrap_vsnprintf(char* buf, size_t size, const char* format, va_list args) {
  char patched[512];
  return __real_vsnprintf(buf, size, drop_z(format, patched, sizeof patched), args);
}

int __wrap_snprintf(char* buf, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = __wrap_vsnprintf(buf, size, format, args);
  va_end(args);
  return n;
}
