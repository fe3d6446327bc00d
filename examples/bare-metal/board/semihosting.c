/* Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0 */
#include "semihosting.h"

#include <stdint.h>

enum {
  kSysWrite0 = 0x04,
  kSysGetCmdline = 0x15,
  kSysExit = 0x18,
  kSysExitExtended = 0x20,
  kAdpStoppedApplicationExit = 0x20026,
};

/* The semihosting trap on M-profile cores: operation in r0, parameter in r1, result in r0. */
static int semihosting_call(int operation, void* parameter) {
  register int r0 __asm__("r0") = operation;
  register void* r1 __asm__("r1") = parameter;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihosting_write0(const char* text) { (void)semihosting_call(kSysWrite0, (void*)text); }

int semihosting_command_line(char* buf, size_t size) {
  uint32_t block[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)size};
  if (size == 0 || semihosting_call(kSysGetCmdline, block) != 0) return -1;
  buf[size - 1] = '\0';
  return (int)block[1];
}

void semihosting_exit(int code) {
  /* SYS_EXIT on 32-bit cores carries no status (QEMU maps "application exit" to 0, anything else
   * to 1); SYS_EXIT_EXTENDED carries it. */
  uint32_t block[2] = {kAdpStoppedApplicationExit, (uint32_t)code};
  (void)semihosting_call(kSysExitExtended, block);
  /* A host without the extension: plain SYS_EXIT, then stop here. */
  (void)semihosting_call(kSysExit, (void*)(uintptr_t)(code == 0 ? kAdpStoppedApplicationExit : 0x20023));
  for (;;) {
  }
}
