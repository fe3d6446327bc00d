#!/usr/bin/env bash
# tether-agent's own terminate handler (terminate_handler.hpp): what it prints and that it aborts,
# run through the handler's test program; and that tether-agent links neither libstdc++'s verbose
# handler nor the demangler it brings (about 45 kB resident, docs/memory.md).
# Usage: terminate_handler_test.sh NM TEST_PROGRAM TETHER_AGENT [EMULATOR ...]
set -uo pipefail
nm=$1
program=$2
agent=$3
shift 3
emulator=("$@")  # qemu-<cpu> -L <sysroot> in a cross build, nothing on the host
fail() { echo "terminate_handler_test: FAILED: $*" >&2; exit 1; }

# run MODE JOURNAL(0|1) EXPECTED_LINE: the program must die of SIGABRT (status 134) after printing the
# line (and nothing else) on stderr.
run() {
    local mode=$1 journal=$2 expected=$3 out status
    if [[ $journal == 1 ]]; then
        out=$(JOURNAL_STREAM=8:1 "${emulator[@]}" "$program" "$mode" 2>&1 >/dev/null)
    else
        out=$(env -u JOURNAL_STREAM "${emulator[@]}" "$program" "$mode" 2>&1 >/dev/null)
    fi
    status=$?
    # qemu-user reports the guest's abort as its own SIGABRT (134) too; some add a line of their own.
    out=$(grep -v '^qemu: uncaught target signal' <<<"$out")
    [[ $status == 134 ]] || fail "$mode: exit status $status, expected 134 (SIGABRT); stderr: $out"
    [[ $out == "$expected" ]] || fail "$mode: stderr was '$out', expected '$expected'"
    echo "  $mode: $out"
}

run throw 0 "tether-agent: terminate called after throwing St13runtime_error (c++filt -t): the queue directory vanished"
run throw 1 "<2>tether-agent: terminate called after throwing St13runtime_error (c++filt -t): the queue directory vanished"
run other 0 "tether-agent: terminate called after throwing N12_GLOBAL__N_116NotAStdExceptionE (c++filt -t)"
run no-exception 0 "tether-agent: terminate called without an active exception"

symbols=$("$nm" "$agent") || fail "$nm could not read $agent"
for symbol in __cxa_demangle __gcclibcxx_demangle_callback; do
    if grep -q " [TtWw] ${symbol}$" <<<"$symbols"; then
        fail "$agent links libstdc++'s demangler ($symbol): its own terminate handler is not the one linked"
    fi
done
grep -q " [Tt] _ZN9__gnu_cxx27__verbose_terminate_handlerEv$" <<<"$symbols" ||
    fail "$agent has no __gnu_cxx::__verbose_terminate_handler"
echo "terminate_handler_test: ok"
