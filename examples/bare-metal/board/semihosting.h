/* Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
 *
 * Arm semihosting (the host debugger or QEMU's -semihosting performs the call): console output,
 * the command line and the exit status. Used by the startup code, the fault handlers and the board
 * support. Ordinary stdio (printf, std::cout) goes through newlib's librdimon, which uses the same
 * calls. Semihosting halts the core on `bkpt 0xAB` when no debugger is attached: never leave it in
 * firmware for a board that runs without one.
 */
#ifndef TETHER_EXAMPLE_SEMIHOSTING_H
#define TETHER_EXAMPLE_SEMIHOSTING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a NUL-terminated string to the host console (SYS_WRITE0). */
void semihosting_write0(const char* text);

/* Copies the command line (QEMU: -append "...") into buf, NUL-terminated. Returns its length, or -1
 * when the host has none or it does not fit (SYS_GET_CMDLINE). */
int semihosting_command_line(char* buf, size_t size);

/* Ends the emulation with `code` as the exit status (SYS_EXIT_EXTENDED; QEMU exits with it). */
__attribute__((noreturn)) void semihosting_exit(int code);

#ifdef __cplusplus
}
#endif

#endif
