#!/usr/bin/env bash
# Build the benchmarks (release preset) and run them against a throw-away test broker.
#
# Usage: scripts/bench.sh [publish|offline|all] [arguments of that benchmark]
#   scripts/bench.sh                          bench-publish: 5 rounds of 20000 messages per side and QoS
#   scripts/bench.sh --messages 50000 --rounds 9        (no selector: bench-publish, as always)
#   scripts/bench.sh publish --help           all bench-publish arguments (bench/publish/README.md)
#   scripts/bench.sh offline                  bench-offline: enqueue rate vs SQLite and Paho persistence,
#                                             drain vs live QoS 1, RAM with a 1M-record backlog (~1 min)
#   scripts/bench.sh offline --quick          the short form for CI (1 round, small counts, no backlog)
#   scripts/bench.sh offline --help           all bench-offline arguments (bench/offline/README.md)
#   scripts/bench.sh all                      both, with their default arguments
#
# Needs what scripts/install-deps.sh host installs (compiler, CMake, Ninja, Paho, SQLite,
# mosquitto, openssl). Build output goes to stderr; stdout carries only the benchmarks' reports,
# each ending with its "BENCH ..." summary line(s). The broker (scripts/test-broker.sh, mutual TLS,
# certificates for device-1 and bench-1) and bench-offline's stores live in a temporary directory
# that is removed on exit (bench-offline's stores go elsewhere only if you pass --dir).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${root}"

log() { echo "bench: $*" >&2; }

which=publish
case ${1:-} in
    publish|offline|all) which=$1; shift ;;
esac
if [[ ${which} == all && $# -gt 0 ]]; then
    log "error: 'all' runs each benchmark with its defaults and takes no arguments"
    exit 1
fi

declare -a targets=()
[[ ${which} == offline ]] || targets+=(tether_bench_publish)
[[ ${which} == publish ]] || targets+=(tether_bench_offline)

log "building ${targets[*]} (release preset)"
cmake --preset release >&2
cmake --build --preset release --target "${targets[@]}" >&2
publish_binary=${root}/build/release/bench/publish/bench-publish
offline_binary=${root}/build/release/bench/offline/bench-offline
for target in "${targets[@]}"; do
    binary=${publish_binary}
    [[ ${target} == tether_bench_offline ]] && binary=${offline_binary}
    [[ -x ${binary} ]] || { log "error: ${binary} was not built"; exit 1; }
done

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")
broker_dir=${work_dir}/broker
stores_dir=${work_dir}/stores
mkdir -p "${broker_dir}" "${stores_dir}"
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    "${root}/scripts/test-broker.sh" stop "${broker_dir}" || true
    rm -rf "${work_dir}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting the test broker in ${broker_dir}"
# bench-offline publishes to dt/bench-1/telemetry, which the broker's ACL allows only to bench-1.
TETHER_TEST_DEVICES=bench-1 "${root}/scripts/test-broker.sh" start "${broker_dir}" >/dev/null
set -a
# shellcheck source=/dev/null  # written by test-broker.sh: TETHER_BROKER_HOST/PORT/DIR
. "${broker_dir}/broker.env"
set +a
log "broker at ${TETHER_BROKER_HOST}:${TETHER_BROKER_PORT}"

rc=0
if [[ ${which} != offline ]]; then
    log "running bench-publish $*"
    "${publish_binary}" "$@" || rc=$?
fi
if [[ ${which} != publish ]]; then
    declare -a offline_args=("$@")
    has_dir=false
    for arg in "$@"; do [[ ${arg} == --dir ]] && has_dir=true; done
    ${has_dir} || offline_args+=(--dir "${stores_dir}")
    [[ ${which} == all ]] && echo
    log "running bench-offline ${offline_args[*]}"
    offline_rc=0
    "${offline_binary}" "${offline_args[@]}" || offline_rc=$?
    [[ ${rc} -ne 0 ]] || rc=${offline_rc}
fi
exit "${rc}"
