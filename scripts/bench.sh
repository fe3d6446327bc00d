#!/usr/bin/env bash
# Build the benchmarks (release preset; bench-footprint: minsize preset) and run them against a
# throw-away test broker.
#
# Usage: scripts/bench.sh [publish|offline|shadow|metrics|footprint|all] [arguments of that benchmark]
#   scripts/bench.sh                          bench-publish: 5 rounds of 20000 messages per side and QoS
#   scripts/bench.sh --messages 50000 --rounds 9        (no selector: bench-publish, as always)
#   scripts/bench.sh publish --help           all bench-publish arguments (bench/publish/README.md)
#   scripts/bench.sh offline                  bench-offline: enqueue rate vs SQLite and Paho persistence,
#                                             drain vs live QoS 1, RAM with a 1M-record backlog (~1 min)
#   scripts/bench.sh offline --quick          the short form for CI (1 round, small counts, no backlog)
#   scripts/bench.sh offline --help           all bench-offline arguments (bench/offline/README.md)
#   scripts/bench.sh shadow                   bench-shadow: desired -> reported round trip through
#                                             tools/cloudsim with Tether Agent + Shadow, next to a raw
#                                             MQTT request/response round trip (~1 min)
#   scripts/bench.sh shadow --help            all bench-shadow arguments (bench/shadow/README.md)
#   scripts/bench.sh metrics                  bench-metrics: CPU time of a metrics snapshot with 1,000
#                                             open sockets next to `ss -tanu` and a naive parser, and
#                                             the report size per format (~10 s; needs no broker)
#   scripts/bench.sh metrics --help           all bench-metrics arguments (bench/metrics/README.md)
#   scripts/bench.sh footprint                bench-footprint: resident memory of tether-agent (every
#                                             feature on, against the broker and tools/cloudsim) next to
#                                             a minimal raw Paho MQTT C telemetry program (~30 s)
#   scripts/bench.sh footprint --help         all bench-footprint arguments (bench/footprint/README.md)
#   scripts/bench.sh all                      all five, with their default arguments
#
# Needs what scripts/install-deps.sh host installs (compiler, CMake, Ninja, Paho, SQLite,
# mosquitto, openssl; python3-paho-mqtt for tools/cloudsim; libcbor for CBOR reports), and for
# bench-metrics iproute2's ss (Debian has it). Build output goes to stderr; stdout carries only the
# benchmarks' reports, each ending with its "BENCH ..." summary line(s). The broker
# (scripts/test-broker.sh, mutual TLS, certificates for device-1, device-2 and bench-1),
# bench-shadow's and bench-footprint's cloud emulator (tools/cloudsim, its database and log) and the benchmarks' stores
# live in a temporary directory that is removed on exit (bench-offline's stores and bench-shadow's
# replica go elsewhere only if you pass --dir / --state-dir). bench-metrics alone starts no broker.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${root}"

log() { echo "bench: $*" >&2; }

readonly PYTHON=/usr/bin/python3            # the interpreter tools/cloudsim is written for
readonly CLOUDSIM_START_TIMEOUT_S=40         # the emulator itself gives up after 30 s
readonly CLOUDSIM_STOP_TIMEOUT_S=10

which=publish
case ${1:-} in
    publish|offline|shadow|metrics|footprint|all) which=$1; shift ;;
esac
if [[ ${which} == all && $# -gt 0 ]]; then
    log "error: 'all' runs each benchmark with its defaults and takes no arguments"
    exit 1
fi
declare -a benches=("${which}")
[[ ${which} == all ]] && benches=(publish offline shadow metrics footprint)

wants() { [[ " ${benches[*]} " == *" $1 "* ]]; }
# bench-footprint measures tether-agent built as the packages are (-Os: preset minsize), the
# others a release build (preset release).
# TETHER_BENCH_BUILD_DIR: another build tree of the release preset (default build/release).
# TETHER_BENCH_MINSIZE_BUILD_DIR: another build tree of the minsize preset (default build/minsize).
release_dir=${TETHER_BENCH_BUILD_DIR:-${root}/build/release}
minsize_dir=${TETHER_BENCH_MINSIZE_BUILD_DIR:-${root}/build/minsize}
preset_of() { if [[ $1 == footprint ]]; then echo minsize; else echo release; fi; }
dir_of() { if [[ $1 == footprint ]]; then echo "${minsize_dir}"; else echo "${release_dir}"; fi; }
binary() { echo "$(dir_of "$1")/bench/$1/bench-$1"; }

if { wants shadow || wants footprint; } && ! "${PYTHON}" -c 'import paho.mqtt.client, sqlite3' >/dev/null 2>&1; then
    log "error: bench-shadow and bench-footprint run tools/cloudsim, which needs ${PYTHON} with python3-paho-mqtt (scripts/install-deps.sh host)"
    exit 1
fi

for preset in release minsize; do
    declare -a targets=()
    for bench in "${benches[@]}"; do
        [[ $(preset_of "${bench}") == "${preset}" ]] && targets+=("tether_bench_${bench}")
    done
    ((${#targets[@]} > 0)) || continue
    dir=$(dir_of "${targets[0]#tether_bench_}")
    log "building ${targets[*]} (${preset} preset, ${dir})"
    cmake --preset "${preset}" -B "${dir}" >&2
    cmake --build "${dir}" --target "${targets[@]}" >&2
done
for bench in "${benches[@]}"; do
    [[ -x $(binary "${bench}") ]] || { log "error: $(binary "${bench}") was not built"; exit 1; }
done

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")
broker_dir=${work_dir}/broker
stores_dir=${work_dir}/stores
mkdir -p "${broker_dir}" "${stores_dir}"
cloudsim_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap
stop_cloudsim() {
    [[ -n ${cloudsim_pid} ]] || return 0
    kill -TERM "${cloudsim_pid}" 2>/dev/null || true
    local deadline=$((SECONDS + CLOUDSIM_STOP_TIMEOUT_S))
    while kill -0 "${cloudsim_pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "${cloudsim_pid}" 2>/dev/null || true
    wait "${cloudsim_pid}" 2>/dev/null || true
    cloudsim_pid=""
}
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    stop_cloudsim
    "${root}/scripts/test-broker.sh" stop "${broker_dir}" || true
    rm -rf "${work_dir}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench-metrics needs no broker; the others do.
if wants publish || wants offline || wants shadow || wants footprint; then
    log "starting the test broker in ${broker_dir}"
    # bench-offline publishes to dt/bench-1/telemetry, which the broker's ACL allows only to bench-1.
    TETHER_TEST_DEVICES=bench-1 "${root}/scripts/test-broker.sh" start "${broker_dir}" >/dev/null
    set -a
    # shellcheck source=/dev/null  # written by test-broker.sh: TETHER_BROKER_HOST/PORT/DIR
    . "${broker_dir}/broker.env"
    set +a
    log "broker at ${TETHER_BROKER_HOST}:${TETHER_BROKER_PORT}"
fi

# The cloud side of bench-shadow and bench-footprint: tools/cloudsim on the same broker, as scripts/devenv.sh runs it.
start_cloudsim() {
    local ready=${work_dir}/cloudsim.ready deadline
    rm -f "${ready}" "${work_dir}"/cloudsim.db*  # a fresh emulator for each benchmark that needs one
    log "starting tools/cloudsim (log ${work_dir}/cloudsim.log)"
    PYTHONPATH="${root}/tools/cloudsim" "${PYTHON}" -m cloudsim serve \
        --host "${TETHER_BROKER_HOST}" --port "${TETHER_BROKER_PORT}" \
        --ca "${broker_dir}/ca.crt" --cert "${broker_dir}/cloudsim.crt" --key "${broker_dir}/cloudsim.key" \
        --db "${work_dir}/cloudsim.db" --http-port 0 --ready-file "${ready}" \
        </dev/null >"${work_dir}/cloudsim.log" 2>&1 &
    cloudsim_pid=$!
    deadline=$((SECONDS + CLOUDSIM_START_TIMEOUT_S))
    until [[ -s ${ready} ]]; do
        if ! kill -0 "${cloudsim_pid}" 2>/dev/null || ((SECONDS >= deadline)); then
            log "error: cloudsim did not become ready; last lines of its log:"
            tail -n 25 "${work_dir}/cloudsim.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
}

rc=0
first=true
for bench in "${benches[@]}"; do
    declare -a args=("$@")
    case ${bench} in
        offline)
            has_dir=false
            for arg in "$@"; do [[ ${arg} == --dir ]] && has_dir=true; done
            ${has_dir} || args+=(--dir "${stores_dir}")
            ;;
        shadow)
            has_dir=false
            for arg in "$@"; do [[ ${arg} == --state-dir ]] && has_dir=true; done
            ${has_dir} || args+=(--state-dir "${stores_dir}/shadow-replica")
            start_cloudsim || { rc=1; continue; }
            ;;
        footprint)
            start_cloudsim || { rc=1; continue; }
            ;;
    esac
    ${first} || echo
    first=false
    log "running bench-${bench} ${args[*]}"
    bench_rc=0
    "$(binary "${bench}")" "${args[@]}" || bench_rc=$?
    [[ ${rc} -ne 0 ]] || rc=${bench_rc}
    [[ ${bench} != shadow && ${bench} != footprint ]] || stop_cloudsim
done
exit "${rc}"
