#!/usr/bin/env bash
# Self-test of scripts/test-broker.sh with the mosquitto command-line clients.
#
# Usage: scripts/selftest-broker.sh
#
# Starts a broker in a temporary directory (always stopped and removed on
# exit) and checks that:
#   1. device-1 can publish and subscribe on things/device-1/x (round trip);
#   2. device-2 subscribed to things/device-1/# receives nothing of it, and
#      device-2's publishes to device-1's topics are not delivered;
#   3. the cloud simulator receives device-1's $aws/things/device-1/... messages;
#   4. a client certificate from the wrong CA (devices/rogue) is refused;
#   5. a client trusting the wrong CA for the server is refused;
#   6. restart keeps the port and serves again;
#   7. TETHER_BROKER_SERVER_CERT=wronghost / otherca serve the bad server
#      certificates (refused by a verifying client; accepted once the client
#      skips the host name check or trusts the other CA).
# Exits non-zero with a message naming the first failed check.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly BROKER="${SCRIPT_DIR}/test-broker.sh"
readonly WAIT_S=5               # per-step timeout
readonly NONCE="$$-${RANDOM}"   # makes payloads unique to this run

WORK=""
SUB_PIDS=()

fail() { echo "selftest-broker: FAIL: $*" >&2; exit 1; }
pass() { echo "selftest-broker: ok: $*"; }

cleanup() {
    local pid
    for pid in "${SUB_PIDS[@]}"; do
        kill "${pid}" 2>/dev/null || true
        wait "${pid}" 2>/dev/null || true
    done
    if [[ -n ${WORK} ]]; then
        "${BROKER}" stop "${WORK}/broker" >/dev/null 2>&1 || true
        rm -rf "${WORK}"
    fi
}

# start_broker [VAR=VALUE...]: (re)start the broker in ${WORK}/broker with the
# given environment and load broker.env into this shell.
start_broker() {
    "${BROKER}" stop "${WORK}/broker" >/dev/null
    env "$@" "${BROKER}" start "${WORK}/broker" >/dev/null \
        || fail "test-broker.sh start $* failed"
    # shellcheck disable=SC1091
    source "${WORK}/broker/broker.env"
}

# client_args CERT_BASE [CA_FILE]: connection options for a certificate in the
# broker directory ("devices/device-1", "cloudsim", ...).
client_args() {
    local dir=${TETHER_BROKER_DIR}
    CLIENT=(-h "${TETHER_BROKER_HOST}" -p "${TETHER_BROKER_PORT}"
            --cafile "${2:-${dir}/ca.crt}"
            --cert "${dir}/$1.crt" --key "${dir}/$1.key")
}

# wait_for FILE PATTERN: until FILE contains PATTERN (fixed string).
wait_for() {
    local file=$1 pattern=$2 deadline=$((SECONDS + WAIT_S))
    until grep -qF -- "${pattern}" "${file}" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.02
    done
}

# subscribe NAME CERT_BASE TOPIC: background subscriber writing "topic payload"
# lines to ${WORK}/NAME.out; returns once subscribed. The broker's log tells
# when: mosquitto_sub's -d traces are block-buffered when not on a terminal.
subscribe() {
    local name=$1 cert=$2 topic=$3 out="${WORK}/$1.out" id="selftest-$1-${NONCE}"
    client_args "${cert}"
    mosquitto_sub "${CLIENT[@]}" -i "${id}" -v -q 1 -t "${topic}" -W 30 >"${out}" 2>&1 &
    SUB_PIDS+=($!)
    wait_for "${TETHER_BROKER_DIR}/mosquitto.log" "Sending SUBACK to ${id}" \
        || fail "${name}: not subscribed to '${topic}' within ${WAIT_S} s: $(cat "${out}")"
}

# publish CERT_BASE TOPIC PAYLOAD: QoS 1 publish that must succeed.
publish() {
    local out
    client_args "$1"
    out=$(timeout "${WAIT_S}" mosquitto_pub "${CLIENT[@]}" -q 1 -t "$2" -m "$3" 2>&1) \
        || fail "$1 could not publish to '$2': ${out}"
}

# refused WHAT CERT_BASE [CA_FILE]: a publish that the TLS handshake must stop.
refused() {
    local what=$1 out
    client_args "$2" "${3:-}"
    if out=$(timeout "${WAIT_S}" mosquitto_pub "${CLIENT[@]}" -q 1 \
            -t "things/device-1/x" -m "must-not-arrive-${NONCE}" 2>&1); then
        fail "${what}: connection was accepted"
    fi
    pass "${what}: refused (${out//$'\n'/ })"
}

# roundtrip NAME: device-1 publishes and receives its own message.
roundtrip() {
    local msg="$1-${NONCE}"
    subscribe "$1" devices/device-1 things/device-1/x
    publish devices/device-1 things/device-1/x "${msg}"
    wait_for "${WORK}/$1.out" "things/device-1/x ${msg}" \
        || fail "$1: device-1 did not receive its own message"
}

main() {
    local tool
    for tool in mosquitto_pub mosquitto_sub; do
        command -v "${tool}" >/dev/null 2>&1 \
            || fail "${tool} not found (scripts/install-deps.sh host)"
    done
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tether-broker-selftest.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    start_broker
    local port=${TETHER_BROKER_PORT}
    pass "broker started on ${TETHER_BROKER_HOST}:${port}"

    # 1-3: start every subscriber first, then publish. device-1's own
    # subscriber receiving a later message proves that earlier ones were
    # routed, so absence at the other subscribers means "filtered", not
    # "not yet delivered".
    subscribe spy devices/device-2 "things/device-1/#"
    subscribe cloud cloudsim "\$aws/#"
    roundtrip owner
    pass "device-1 round trip on things/device-1/x"

    publish devices/device-2 things/device-1/x "intruder-${NONCE}"
    publish devices/device-1 "\$aws/things/device-1/shadow/update" "shadow-${NONCE}"
    publish devices/device-1 things/device-1/x "marker-${NONCE}"
    wait_for "${WORK}/owner.out" "marker-${NONCE}" \
        || fail "device-1 did not receive its marker message"
    wait_for "${WORK}/cloud.out" "\$aws/things/device-1/shadow/update shadow-${NONCE}" \
        || fail "tether-cloudsim did not receive \$aws/things/device-1/shadow/update"
    pass "tether-cloudsim receives \$aws/things/device-1/..."

    if grep -qF -- "${NONCE}" "${WORK}/spy.out"; then
        fail "device-2 received device-1's messages: $(grep -F -- "${NONCE}" "${WORK}/spy.out")"
    fi
    pass "device-2 subscribed to things/device-1/# received nothing"
    if grep -qF -- "intruder-${NONCE}" "${WORK}/owner.out"; then
        fail "device-2's publish to things/device-1/x was delivered"
    fi
    pass "device-2's publish to things/device-1/x was dropped"

    # 4-5: TLS refusals.
    refused "client certificate from the wrong CA" devices/rogue
    refused "server verified against the wrong CA" devices/device-1 \
        "${TETHER_BROKER_DIR}/other-ca.crt"

    # 6: restart on the same port.
    "${BROKER}" restart "${WORK}/broker" >/dev/null || fail "test-broker.sh restart failed"
    # shellcheck disable=SC1091
    source "${WORK}/broker/broker.env"
    [[ ${TETHER_BROKER_PORT} == "${port}" ]] \
        || fail "restart moved the broker from port ${port} to ${TETHER_BROKER_PORT}"
    roundtrip after-restart
    pass "restart kept port ${port} and serves again"

    # 7: the deliberately bad server certificates. The positive control in
    # each case shows the refusal is about that one property.
    start_broker TETHER_BROKER_SERVER_CERT=wronghost
    refused "server certificate for the wrong host name" devices/device-1
    client_args devices/device-1
    timeout "${WAIT_S}" mosquitto_pub "${CLIENT[@]}" --insecure -q 1 \
            -t things/device-1/x -m "insecure-${NONCE}" >/dev/null 2>&1 \
        || fail "wronghost broker refused a client that skips the host name check"
    pass "wronghost broker accepted once the host name check is skipped"

    start_broker TETHER_BROKER_SERVER_CERT=otherca
    refused "server certificate from the other CA" devices/device-1
    client_args devices/device-1 "${TETHER_BROKER_DIR}/other-ca.crt"
    timeout "${WAIT_S}" mosquitto_pub "${CLIENT[@]}" -q 1 \
            -t things/device-1/x -m "otherca-${NONCE}" >/dev/null 2>&1 \
        || fail "otherca broker refused a client trusting other-ca.crt"
    pass "otherca broker accepted a client trusting other-ca.crt"

    "${BROKER}" stop "${WORK}/broker"
    "${BROKER}" status "${WORK}/broker" >/dev/null && fail "broker still running after stop"
    pass "stopped"
    echo "selftest-broker: all checks passed"
}

main "$@"
