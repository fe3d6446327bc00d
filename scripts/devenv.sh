#!/usr/bin/env bash
# A local Tether development environment in one command: a TLS mosquitto with
# client certificates for a few demo things, the cloud emulator (tools/cloudsim)
# attached to it and, when SoftHSM2 is installed, a PKCS#11 token.
#
# Usage:
#   scripts/devenv.sh up             start everything (idempotent: when already
#                                    up, prints the status and exits 0)
#   scripts/devenv.sh status         what runs, ports, how to run the example
#                                    agent; exit 0 when fully up, 1 otherwise
#   scripts/devenv.sh down [--purge] stop every process it started (idempotent);
#                                    --purge also deletes the state directory
#
# Environment:
#   TETHER_DEVENV_DIR     state directory (default <repo>/.devenv)
#   TETHER_DEVENV_THINGS  demo thing names (default "demo-1 demo-2 demo-3")
#   TETHER_DEVENV_SOFTHSM "off" skips the SoftHSM2 token even when installed
#
# State directory (certificates, database and PINs are kept across down/up,
# only --purge removes them; env and agent-*.json exist while up):
#   env                   shell-sourceable exports: TETHER_BROKER_HOST/PORT,
#                         TETHER_CA_FILE, TETHER_THINGS, TETHER_THING_<NAME>_CERT
#                         /_KEY/_CONFIG, CLOUDSIM_API, SOFTHSM2_CONF (if any)
#   agent-<thing>.json    ready examples/minimal-agent configuration (command-agent too)
#   broker/               scripts/test-broker.sh directory (CA, certificates, log)
#   cloudsim.pid/.log/.db/.ready   the emulator
#   softhsm/              SOFTHSM2_CONF, tokens, user.pin and so.pin (0600)
set -euo pipefail

readonly CLOUDSIM_START_TIMEOUT_S=40   # the emulator itself gives up after 30 s
readonly CLOUDSIM_STOP_TIMEOUT_S=10
readonly LOCK_TIMEOUT_S=120
readonly TOKEN_LABEL=tether-dev
readonly PYTHON=/usr/bin/python3
readonly MARKER=.tether-devenv

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly root
readonly test_broker=${root}/scripts/test-broker.sh
things_list=${TETHER_DEVENV_THINGS:-demo-1 demo-2 demo-3}
dir=""   # state directory, absolute; set in main

log() { echo "devenv: $*" >&2; }
die() { echo "devenv: error: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 up | status | down [--purge]" >&2
    exit 2
}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

# True while PID is a live process (a zombie, left by a lazily reaping init,
# does not count).
alive() {
    local pid=$1 stat state
    kill -0 "${pid}" 2>/dev/null || return 1
    stat=$(cat "/proc/${pid}/stat" 2>/dev/null) || return 0
    state=${stat##*) }
    [[ ${state%% *} != Z ]]
}

# Pid of the emulator serving this state directory, or failure. The command
# line check guards against a recycled pid.
cloudsim_pid() {
    local pid
    pid=$(cat "${dir}/cloudsim.pid" 2>/dev/null) || return 1
    [[ ${pid} =~ ^[0-9]+$ ]] || return 1
    alive "${pid}" || return 1
    if [[ -r /proc/${pid}/cmdline ]]; then
        tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "--db ${dir}/cloudsim.db" || return 1
    fi
    echo "${pid}"
}

broker_running() {
    [[ -d ${dir}/broker ]] && "${test_broker}" status "${dir}/broker" >/dev/null 2>&1
}

broker_port() {
    sed -n 's/^TETHER_BROKER_PORT=//p' "${dir}/broker/broker.env" 2>/dev/null
}

cloudsim_http_port() {
    sed -n 's/.*"http_port": *\([0-9][0-9]*\).*/\1/p' "${dir}/cloudsim.ready" 2>/dev/null
}

is_up() {
    broker_running && cloudsim_pid >/dev/null && [[ -s ${dir}/env ]]
}

# Environment variable stem for a thing name: demo-1 -> TETHER_THING_DEMO_1.
thing_var() {
    local name=${1^^}
    echo "TETHER_THING_${name//[^A-Z0-9]/_}"
}

agent_binary() {
    echo "${root}/build/dev/examples/minimal-agent/minimal-agent"
}

# Serialises up and down of the same state directory. The descriptor must not
# leak into the daemons (they would hold the lock forever): every command that
# starts one closes it (9>&-).
take_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"${dir}/.lock"
    flock -w "${LOCK_TIMEOUT_S}" 9 || die "another devenv.sh holds ${dir}/.lock"
}

# --------------------------------------------------------------------------
# Dependencies
# --------------------------------------------------------------------------

missing_tools() {
    local -a missing=()
    command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
    command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto_pub)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [[ ! -x ${PYTHON} ]]; then
        missing+=("${PYTHON}")
    elif ! "${PYTHON}" -c 'import paho.mqtt.client, sqlite3' >/dev/null 2>&1; then
        missing+=(python3-paho-mqtt)
    fi
    echo "${missing[*]}"
}

ensure_deps() {
    local missing
    missing=$(missing_tools)
    [[ -z ${missing} ]] && return 0
    log "missing: ${missing}; running scripts/install-deps.sh host"
    "${root}/scripts/install-deps.sh" host 9>&- >&2
    missing=$(missing_tools)
    [[ -z ${missing} ]] || die "still missing after install-deps.sh: ${missing}"
}

check_things() {
    local name
    # shellcheck disable=SC2206  # word splitting of the list is intended
    local -a names=(${things_list})
    ((${#names[@]} > 0)) || die "TETHER_DEVENV_THINGS is empty"
    for name in "${names[@]}"; do
        [[ ${name} =~ ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$ && ${name} != rogue ]] \
            || die "invalid thing name '${name}'"
    done
}

# --------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------

broker_has_things() {
    local name
    # shellcheck disable=SC2206
    local -a names=(${things_list})
    for name in "${names[@]}"; do
        [[ -s ${dir}/broker/devices/${name}.crt ]] || return 1
    done
}

start_broker() {
    log "starting the broker (${dir}/broker)"
    TETHER_TEST_DEVICES="${things_list}" "${test_broker}" start "${dir}/broker" 9>&- >/dev/null \
        || return 1
}

start_cloudsim() {
    local b=${dir}/broker pid deadline ready_pid
    # shellcheck disable=SC1091
    source "${b}/broker.env"
    rm -f "${dir}/cloudsim.ready" "${dir}/cloudsim.pid"
    printf '\n==== %s devenv.sh up\n' "$(date '+%Y-%m-%dT%H:%M:%S')" >>"${dir}/cloudsim.log"
    log "starting cloudsim (log ${dir}/cloudsim.log)"
    # Own session (setsid) and no inherited stdio, so that it outlives this
    # script, ignores the terminal's Ctrl-C and never holds a caller's pipe.
    local -a launcher=()
    command -v setsid >/dev/null 2>&1 && launcher=(setsid)
    PYTHONPATH="${root}/tools/cloudsim" "${launcher[@]}" "${PYTHON}" -m cloudsim serve \
        --host "${TETHER_BROKER_HOST}" --port "${TETHER_BROKER_PORT}" \
        --ca "${b}/ca.crt" --cert "${b}/cloudsim.crt" --key "${b}/cloudsim.key" \
        --signing-ca-key "${b}/ca.key" \
        --db "${dir}/cloudsim.db" --http-port 0 --ready-file "${dir}/cloudsim.ready" \
        </dev/null >>"${dir}/cloudsim.log" 2>&1 9>&- &
    pid=$!
    echo "${pid}" >"${dir}/cloudsim.pid"

    deadline=$((SECONDS + CLOUDSIM_START_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        if [[ -s ${dir}/cloudsim.ready ]] && [[ -n $(cloudsim_http_port) ]]; then
            # The emulator's own pid (the same unless a launcher forked).
            ready_pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "${dir}/cloudsim.ready")
            [[ -n ${ready_pid} ]] && echo "${ready_pid}" >"${dir}/cloudsim.pid"
            return 0
        fi
        if ! alive "${pid}"; then
            log "cloudsim exited during start; last lines of ${dir}/cloudsim.log:"
            tail -n 25 "${dir}/cloudsim.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    log "cloudsim not ready within ${CLOUDSIM_START_TIMEOUT_S} s; last lines of ${dir}/cloudsim.log:"
    tail -n 25 "${dir}/cloudsim.log" >&2 || true
    return 1
}

stop_cloudsim() {
    local pid deadline
    if ! pid=$(cloudsim_pid); then
        rm -f "${dir}/cloudsim.pid" "${dir}/cloudsim.ready"
        return 0
    fi
    log "stopping cloudsim (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + CLOUDSIM_STOP_TIMEOUT_S))
    while alive "${pid}" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "${pid}"; then
        log "cloudsim (pid ${pid}) ignored SIGTERM, sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
        while alive "${pid}"; do sleep 0.05; done
    fi
    rm -f "${dir}/cloudsim.pid" "${dir}/cloudsim.ready"
}

stop_broker() {
    [[ -d ${dir}/broker ]] || return 0
    if broker_running; then log "stopping the broker"; fi
    "${test_broker}" stop "${dir}/broker" 9>&- >/dev/null
}

softhsm_module() {
    local m
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so \
             /usr/local/lib/softhsm/libsofthsm2.so; do
        [[ -e ${m} ]] && { echo "${m}"; return 0; }
    done
    return 1
}

# Initialises (once) a SoftHSM2 token with its own configuration. The PINs are
# random, kept in 0600 files and never printed. softhsm2-util only takes them
# as arguments, so they are briefly visible in this user's process list.
init_softhsm() {
    local hsm=${dir}/softhsm
    if [[ ${TETHER_DEVENV_SOFTHSM:-} == off ]]; then
        log "SoftHSM2 token skipped (TETHER_DEVENV_SOFTHSM=off)"
        return 0
    fi
    if ! command -v softhsm2-util >/dev/null 2>&1; then
        log "SoftHSM2 not installed (no softhsm2-util): no PKCS#11 token; optional, 'apt-get install softhsm2' adds one"
        return 0
    fi
    mkdir -p "${hsm}/tokens"
    chmod 0700 "${hsm}" "${hsm}/tokens"
    cat >"${hsm}/softhsm2.conf" <<EOF
# Generated by scripts/devenv.sh.
directories.tokendir = ${hsm}/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    (
        umask 077
        [[ -s ${hsm}/user.pin ]] || openssl rand -hex 16 >"${hsm}/user.pin"
        [[ -s ${hsm}/so.pin ]] || openssl rand -hex 16 >"${hsm}/so.pin"
    )
    chmod 0600 "${hsm}/user.pin" "${hsm}/so.pin"
    if SOFTHSM2_CONF=${hsm}/softhsm2.conf softhsm2-util --show-slots 2>/dev/null \
            | grep -Eq "^[[:space:]]*Label:[[:space:]]+${TOKEN_LABEL}[[:space:]]*$"; then
        log "SoftHSM2 token '${TOKEN_LABEL}' present (${hsm})"
        return 0
    fi
    log "initialising SoftHSM2 token '${TOKEN_LABEL}' (${hsm}; PINs in user.pin / so.pin)"
    SOFTHSM2_CONF=${hsm}/softhsm2.conf softhsm2-util --init-token --free --label "${TOKEN_LABEL}" \
        --pin "$(<"${hsm}/user.pin")" --so-pin "$(<"${hsm}/so.pin")" >/dev/null 2>&1 \
        || { log "softhsm2-util --init-token failed"; return 1; }
}

# --------------------------------------------------------------------------
# Client files
# --------------------------------------------------------------------------

write_agent_configs() {
    local name port
    port=$(broker_port)
    # shellcheck disable=SC2206
    local -a names=(${things_list})
    rm -f "${dir}"/agent-*.json
    for name in "${names[@]}"; do
        # JSON through python, so that any directory name is escaped correctly.
        "${PYTHON}" - "${name}" "${port}" "${dir}/broker" "${dir}/agent-${name}.json" <<'PY'
import json, sys
thing, port, b, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
config = {
    "thing_name": thing,
    "profile": "aws",
    "endpoint": "127.0.0.1",
    "port": port,
    "tls": {
        "ca_file": f"{b}/ca.crt",
        "cert_file": f"{b}/devices/{thing}.crt",
        "key": f"{b}/devices/{thing}.key",
    },
    "mqtt": {"version": 5, "keep_alive_s": 30},
    "reconnect": {"initial_ms": 500, "max_ms": 5000},
    "heartbeat": {"interval_s": 5},
    "log": {"level": "info"},
    # examples/metrics-agent: a report every minute (the AWS floor lifted for the emulator), rules
    # checked every 10 s, alerts on dt/<thing>/alerts
    "metrics": {
        "format": "json-short",
        "interval_s": 60,
        "allow_short_interval": True,
        "rules_interval_s": 10,
        "alert_topic": f"dt/{thing}/alerts",
        "rules": {"max_bytes_out_per_s": 10000000},
    },
    # examples/command-agent: reboot (exit 75), set-config of this file, and two allow-listed programs
    "commands": {
        "reboot": True,
        "set_config": True,
        "run": [
            {"name": "uptime", "path": "/usr/bin/uptime"},
            {"name": "df", "path": "/usr/bin/df", "args": ["-h"], "extra_args": True},
        ],
    },
}
with open(out, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
    done
}

write_env() {
    local name var b=${dir}/broker hsm=${dir}/softhsm module tmp=${dir}/env.tmp
    # shellcheck disable=SC2206
    local -a names=(${things_list})
    {
        echo "# Generated by scripts/devenv.sh up. Use: . ${dir}/env"
        printf 'export TETHER_DEVENV_DIR=%q\n' "${dir}"
        printf 'export TETHER_BROKER_HOST=%q\n' 127.0.0.1
        printf 'export TETHER_BROKER_PORT=%q\n' "$(broker_port)"
        printf 'export TETHER_BROKER_DIR=%q\n' "${b}"
        printf 'export TETHER_CA_FILE=%q\n' "${b}/ca.crt"
        printf 'export TETHER_THINGS=%q\n' "${names[*]}"
        for name in "${names[@]}"; do
            var=$(thing_var "${name}")
            printf 'export %s_CERT=%q\n' "${var}" "${b}/devices/${name}.crt"
            printf 'export %s_KEY=%q\n' "${var}" "${b}/devices/${name}.key"
            printf 'export %s_CONFIG=%q\n' "${var}" "${dir}/agent-${name}.json"
        done
        printf 'export CLOUDSIM_API=%q\n' "http://127.0.0.1:$(cloudsim_http_port)"
        if [[ -f ${hsm}/softhsm2.conf && ${TETHER_DEVENV_SOFTHSM:-} != off ]] \
                && command -v softhsm2-util >/dev/null 2>&1; then
            printf 'export SOFTHSM2_CONF=%q\n' "${hsm}/softhsm2.conf"
            printf 'export TETHER_PKCS11_TOKEN=%q\n' "${TOKEN_LABEL}"
            printf 'export TETHER_PKCS11_PIN_FILE=%q\n' "${hsm}/user.pin"
            if module=$(softhsm_module); then
                printf 'export TETHER_PKCS11_MODULE=%q\n' "${module}"
            fi
        fi
    } >"${tmp}"
    mv -f "${tmp}" "${dir}/env"
}

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

cmd_status() {
    local pid rc=0 first agent
    if [[ ! -d ${dir} ]]; then
        echo "devenv: not set up (${dir} does not exist); run: scripts/devenv.sh up"
        return 1
    fi
    echo "state:    ${dir}"
    if broker_running; then
        echo "broker:   running, mqtts://127.0.0.1:$(broker_port) (mosquitto, pid $(cat "${dir}/broker/mosquitto.pid"))"
    else
        echo "broker:   not running"
        rc=1
    fi
    if pid=$(cloudsim_pid); then
        echo "cloudsim: running, pid ${pid}, HTTP API http://127.0.0.1:$(cloudsim_http_port)"
    else
        echo "cloudsim: not running"
        rc=1
    fi
    if [[ -f ${dir}/softhsm/softhsm2.conf ]]; then
        echo "softhsm:  token '${TOKEN_LABEL}', SOFTHSM2_CONF=${dir}/softhsm/softhsm2.conf"
    else
        echo "softhsm:  none"
    fi
    echo "things:   ${things_list}"
    if ((rc == 0)); then
        first=${things_list%% *}
        agent=$(agent_binary)
        echo "env:      . ${dir}/env"
        [[ -x ${agent} ]] || echo "build:    cmake --preset dev && cmake --build --preset dev --target tether_minimal_agent"
        echo "agent:    ${agent} ${dir}/agent-${first}.json"
        echo "cloud:    . ${dir}/env && PYTHONPATH=${root}/tools/cloudsim ${PYTHON} -m cloudsim shadow get ${first}"
    else
        echo "devenv is not (fully) up; run: scripts/devenv.sh up"
    fi
    return "${rc}"
}

cmd_down() {
    local purge=$1
    if [[ -d ${dir} ]]; then
        take_lock
        stop_cloudsim
        stop_broker
        # Their addresses are stale now; up writes them again.
        rm -f "${dir}/env" "${dir}"/agent-*.json
    fi
    if [[ ${purge} == yes && -e ${dir} ]]; then
        # Refuse to delete a directory devenv.sh did not create (for example a
        # mistaken TETHER_DEVENV_DIR=$HOME).
        [[ -f ${dir}/${MARKER} ]] || die "${dir} was not created by devenv.sh (no ${MARKER}); not deleting it"
        rm -rf -- "${dir}"
        log "removed ${dir}"
    fi
    log "down"
}

cmd_up() {
    local existing
    mkdir -p "${dir}"
    if [[ ! -f ${dir}/${MARKER} ]]; then
        existing=$(find "${dir}" -mindepth 1 -maxdepth 1 | head -n 1)
        [[ -z ${existing} ]] || die "${dir} exists and was not created by devenv.sh"
        : >"${dir}/${MARKER}"
    fi
    chmod 0700 "${dir}"
    take_lock

    if is_up; then
        log "already up"
        cmd_status
        return 0
    fi
    check_things
    ensure_deps
    # Whatever is left of an earlier run: a broker that still runs and has
    # certificates for every thing keeps its port (connected agents stay
    # valid); anything else is stopped and started afresh.
    stop_cloudsim
    if ! broker_running || ! broker_has_things; then
        stop_broker
    fi
    # On any failure from here on, leave nothing running.
    trap 'log "up failed: stopping what was started"; stop_cloudsim || true; stop_broker || true' ERR
    broker_running || start_broker
    start_cloudsim
    init_softhsm
    write_agent_configs
    write_env
    trap - ERR
    log "up"
    cmd_status
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd=$1 purge=no
    shift
    case ${cmd} in
        up|status) [[ $# -eq 0 ]] || usage ;;
        down)
            case $# in
                0) ;;
                1) [[ $1 == --purge ]] || usage; purge=yes ;;
                *) usage ;;
            esac
            ;;
        *) usage ;;
    esac

    dir=${TETHER_DEVENV_DIR:-${root}/.devenv}
    [[ -n ${dir} && ${dir} != / ]] || die "bad TETHER_DEVENV_DIR"
    # Absolute and symlink-free: written into configurations and matched
    # against the daemons' command lines.
    if [[ -d ${dir} ]]; then
        dir=$(cd "${dir}" && pwd -P)
    elif [[ ${cmd} == up ]]; then
        mkdir -p "${dir}"
        dir=$(cd "${dir}" && pwd -P)
    else
        dir=$(cd "$(dirname "${dir}")" 2>/dev/null && pwd -P)/$(basename "${dir}") || true
    fi

    case ${cmd} in
        up)     cmd_up ;;
        status) cmd_status ;;
        down)   cmd_down "${purge}" ;;
    esac
}

main "$@"
