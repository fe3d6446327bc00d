#!/usr/bin/env bash
# Build the publish benchmark (release preset) and run it against a throw-away test broker.
#
# Usage: scripts/bench.sh [bench-publish arguments]
#   e.g. scripts/bench.sh                         5 rounds of 20000 messages per side and QoS
#        scripts/bench.sh --messages 50000 --rounds 9
#        scripts/bench.sh --help                  all arguments (bench/publish/README.md explains them)
#
# Needs what scripts/install-deps.sh host installs (compiler, CMake, Ninja, Paho, mosquitto,
# openssl). Build output goes to stderr; stdout carries only the benchmark's report, whose last
# two lines are the "BENCH publish ..." summary. The broker (scripts/test-broker.sh, mutual TLS,
# device-1's certificate) lives in a temporary directory that is removed on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${root}"

log() { echo "bench: $*" >&2; }

log "building tether_bench_publish (release preset)"
cmake --preset release >&2
cmake --build --preset release --target tether_bench_publish >&2
binary=${root}/build/release/bench/publish/bench-publish
[[ -x ${binary} ]] || { log "error: ${binary} was not built"; exit 1; }

broker_dir=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    "${root}/scripts/test-broker.sh" stop "${broker_dir}" || true
    rm -rf "${broker_dir}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting the test broker in ${broker_dir}"
"${root}/scripts/test-broker.sh" start "${broker_dir}" >/dev/null
set -a
# shellcheck source=/dev/null  # written by test-broker.sh: TETHER_BROKER_HOST/PORT/DIR
. "${broker_dir}/broker.env"
set +a

log "broker at ${TETHER_BROKER_HOST}:${TETHER_BROKER_PORT}; running bench-publish $*"
rc=0
"${binary}" "$@" || rc=$?
exit "${rc}"
