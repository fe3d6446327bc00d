/* Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
 *
 * Startup for a Cortex-M4F (written for the MPS2 AN386 board that QEMU models; nothing in it is
 * board-specific except the number of interrupt vectors):
 *   - the vector table: initial stack pointer, reset handler, fault handlers, SysTick, IRQs;
 *   - Reset_Handler: enables the FPU, copies .data from flash to RAM, zeroes .bss, opens the
 *     semihosting console, starts the board (board_init: SysTick), runs the static constructors,
 *     calls main(argc, argv) with the semihosting command line, and exits with its status;
 *   - fault handlers that print the fault and the stacked registers over semihosting and exit with
 *     status 100, so a test run under QEMU fails loudly instead of hanging.
 * Symbols come from the linker script (mps2_an386.ld).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "semihosting.h"

extern uint32_t __data_start__, __data_end__, __data_load__, __bss_start__, __bss_end__, __stack_top__;

extern int main(int argc, char** argv);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void); /* newlib librdimon: stdin/stdout/stderr over semihosting */
extern void board_init(void);                  /* board.cpp */
extern void SysTick_Handler(void);             /* board.cpp */

void _init(void);
void _fini(void);
void _exit(int status);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);

/* Built with -nostartfiles: these come from crti.o/crtbegin.o otherwise. __libc_init_array calls
 * _init(); static objects with destructors register against __dso_handle. */
void _init(void) {}
void _fini(void) {}
void* __dso_handle = 0;

/* exit() ends here once atexit handlers ran and stdio is flushed (replaces librdimon's _exit, which
 * cannot pass the status to QEMU). */
void _exit(int status) { semihosting_exit(status); }

#define FAULT_EXIT_STATUS 100
#define MAX_ARGS 16

static volatile uint32_t* const kScbCpacr = (volatile uint32_t*)0xE000ED88u;
static volatile uint32_t* const kScbCfsr = (volatile uint32_t*)0xE000ED28u;
static volatile uint32_t* const kScbHfsr = (volatile uint32_t*)0xE000ED2Cu;
static volatile uint32_t* const kScbMmfar = (volatile uint32_t*)0xE000ED34u;
static volatile uint32_t* const kScbBfar = (volatile uint32_t*)0xE000ED38u;
static volatile uint32_t* const kScbShcsr = (volatile uint32_t*)0xE000ED24u;

static char g_command_line[256];
static char* g_argv[MAX_ARGS + 1];

/* Splits the semihosting command line (QEMU: -append "prog args...") at spaces; argv[0] is the
 * program name even when the host gives no command line. */
static int split_command_line(void) {
  int argc = 0;
  if (semihosting_command_line(g_command_line, sizeof g_command_line) > 0) {
    char* p = g_command_line;
    while (*p != '\0' && argc < MAX_ARGS) {
      while (*p == ' ') *p++ = '\0';
      if (*p == '\0') break;
      g_argv[argc++] = p;
      while (*p != '\0' && *p != ' ') ++p;
    }
  }
  if (argc == 0) {
    static char program[] = "firmware";
    g_argv[argc++] = program;
  }
  g_argv[argc] = 0;
  return argc;
}

__attribute__((noreturn, used)) void Reset_Handler(void) {
  /* Full access to CP10/CP11 (the FPU) before any floating-point instruction: the code is built
   * with -mfloat-abi=hard and may touch FP registers anywhere, memcpy included. */
  *kScbCpacr |= (0xFu << 20);
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  /* Usage, bus and memory-management faults get their own handlers (else they escalate). */
  *kScbShcsr |= (1u << 18) | (1u << 17) | (1u << 16);

  memcpy(&__data_start__, &__data_load__, (size_t)((char*)&__data_end__ - (char*)&__data_start__));
  memset(&__bss_start__, 0, (size_t)((char*)&__bss_end__ - (char*)&__bss_start__));

  initialise_monitor_handles();
  board_init();
  __libc_init_array();

  const int argc = split_command_line();
  exit(main(argc, g_argv));
}

/* --- faults ------------------------------------------------------------------------------------ */

static void put_hex(char* out, uint32_t value) {
  static const char kDigits[] = "0123456789abcdef";
  out[0] = '0';
  out[1] = 'x';
  for (int i = 0; i < 8; ++i) out[2 + i] = kDigits[(value >> (28 - 4 * i)) & 0xFu];
  out[10] = '\0';
}

static void put_field(const char* name, uint32_t value) {
  char hex[11];
  put_hex(hex, value);
  semihosting_write0(" ");
  semihosting_write0(name);
  semihosting_write0("=");
  semihosting_write0(hex);
}

/* frame: r0, r1, r2, r3, r12, lr, pc, xpsr as the core stacked them on exception entry. */
__attribute__((noreturn, used)) static void report_fault(const uint32_t* frame, uint32_t exc_return) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  static const char* const kNames[] = {"thread", "reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
  const uint32_t number = ipsr & 0x1FFu;
  semihosting_write0("\n*** FAULT: ");
  semihosting_write0(number < sizeof kNames / sizeof kNames[0] ? kNames[number] : "unexpected interrupt");
  put_field("exception", number);
  put_field("pc", frame[6]);
  put_field("lr", frame[5]);
  put_field("xpsr", frame[7]);
  put_field("cfsr", *kScbCfsr);
  put_field("hfsr", *kScbHfsr);
  put_field("mmfar", *kScbMmfar);
  put_field("bfar", *kScbBfar);
  put_field("exc_return", exc_return);
  semihosting_write0("\n");
  semihosting_exit(FAULT_EXIT_STATUS);
}

/* Picks the stack the frame was pushed on (MSP or PSP: bit 2 of EXC_RETURN) and reports. */
__attribute__((naked)) void Default_Handler(void) {
  __asm__ volatile(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "mov r1, lr\n\t"
      "b report_fault\n\t");
}

void HardFault_Handler(void) __attribute__((alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((alias("Default_Handler")));

/* --- vector table -------------------------------------------------------------------------------- */

typedef void (*Vector)(void);
#define EXTERNAL_IRQS 32 /* AN386: UARTs, timers, GPIO, ... (QEMU models 32 NVIC lines) */

__attribute__((section(".isr_vector"), used)) const Vector g_vectors[16 + EXTERNAL_IRQS] = {
    (Vector)(uintptr_t)&__stack_top__,
    Reset_Handler,
    Default_Handler,    /* NMI */
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,         /* reserved */
    Default_Handler,    /* SVCall */
    Default_Handler,    /* DebugMonitor */
    0,                  /* reserved */
    Default_Handler,    /* PendSV */
    SysTick_Handler,
#define IRQ4 Default_Handler, Default_Handler, Default_Handler, Default_Handler
    IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, /* 32 external interrupts */
#undef IRQ4
};
