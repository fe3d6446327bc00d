#!/usr/bin/env bash
# Runs a Cortex-M4 firmware image (ELF) on QEMU's mps2-an386 board with semihosting: its output goes
# to stdout, its exit status (semihosting SYS_EXIT_EXTENDED) becomes ours. Fails loudly on a timeout,
# a fault (examples/bare-metal/board/startup.c exits with status 100) or a QEMU error.
#
# Usage: scripts/run-qemu-m4.sh [--timeout SECONDS] FIRMWARE.elf [ARG ...]
#   ARG...  the firmware's command line (argv[1..], through semihosting SYS_GET_CMDLINE),
#           e.g. Catch2 options: scripts/run-qemu-m4.sh build/.../tether_unit_tests_m4.elf "[topics]"
#
# Environment: QEMU_SYSTEM_ARM (default qemu-system-arm).
set -euo pipefail

timeout_s=600
if [[ ${1:-} == --timeout ]]; then
  timeout_s=$2
  shift 2
fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--timeout SECONDS] FIRMWARE.elf [ARG ...]" >&2; exit 2; }
elf=$1
shift
qemu=${QEMU_SYSTEM_ARM:-qemu-system-arm}
command -v "${qemu}" >/dev/null || { echo "run-qemu-m4: ${qemu} not found (scripts/install-deps.sh cross)" >&2; exit 2; }
[[ -f ${elf} ]] || { echo "run-qemu-m4: no such file: ${elf}" >&2; exit 2; }

# QEMU hands the firmware "<kernel path> <-append string>" as its semihosting command line, which
# startup.c splits at spaces into argv: arguments cannot contain any.
cmdline=""
for arg in "$@"; do
  [[ ${arg} != *" "* ]] || { echo "run-qemu-m4: arguments cannot contain spaces: '${arg}'" >&2; exit 2; }
  cmdline+="${cmdline:+ }${arg}"
done

started=$(date +%s%N)
status=0
# -nographic: the board's UART and the QEMU monitor on stdio (semihosting output is separate);
# stdin from /dev/null so a test runner cannot stop on a terminal read.
timeout --kill-after=10 "${timeout_s}" \
  "${qemu}" -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial null \
    -semihosting-config enable=on,target=native -kernel "${elf}" ${cmdline:+-append "${cmdline}"} </dev/null \
  || status=$?
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
elapsed="$((elapsed_ms / 1000)).$(( (elapsed_ms % 1000) / 100 ))"

case ${status} in
  0) echo "run-qemu-m4: $(basename "${elf}") exited 0 after ${elapsed} s" ;;
  124|137)
    echo "run-qemu-m4: FAILED: $(basename "${elf}") timed out after ${timeout_s} s (hung, or waiting in a fault loop)" >&2 ;;
  100) echo "run-qemu-m4: FAILED: $(basename "${elf}") took a fault (registers above) after ${elapsed} s" >&2 ;;
  *) echo "run-qemu-m4: FAILED: $(basename "${elf}") exited with status ${status} after ${elapsed} s" >&2 ;;
esac
exit "${status}"
