#!/usr/bin/env bash
# End-to-end test of scripts/devenv.sh: up, idempotent up, status, a device
# talking to the emulator through the broker, an emulator crash, down (twice),
# down --purge. Runs in its own state directory, so a developer's .devenv is
# untouched. Exits non-zero on the first failure.
#
# Usage: tests/devenv/test_devenv.sh [MINIMAL_AGENT_BINARY]
#   With the binary (ctest passes it), the example agent also runs against the
#   environment for a few seconds and must connect and send a heartbeat.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
devenv=${root}/scripts/devenv.sh
agent_bin=${1:-}
work=$(mktemp -d)
export TETHER_DEVENV_DIR=${work}/devenv
export TETHER_DEVENV_THINGS="demo-1 demo-2 demo-3"
state=${TETHER_DEVENV_DIR}

fail() { echo "test_devenv: FAIL: $*" >&2; exit 1; }
step() { echo "test_devenv: $*"; }

cleanup() {
    "${devenv}" down --purge >/dev/null 2>&1 || true
    rm -rf "${work}"
}
trap cleanup EXIT

# A live (non-zombie) process.
alive() {
    local stat state
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    state=${stat##*) }
    [[ ${state%% *} != Z ]]
}

# Live processes whose command line mentions the state directory.
our_processes() {
    local p args
    for p in /proc/[0-9]*; do
        args=$(tr '\0' ' ' <"${p}/cmdline" 2>/dev/null) || continue
        [[ ${args} == *"${state}/"* ]] || continue
        [[ ${args} == *mosquitto* || ${args} == *cloudsim* ]] || continue
        alive "${p#/proc/}" && echo "${p#/proc/} ${args}"
    done
    return 0
}

cloudsim() {
    PYTHONPATH=${root}/tools/cloudsim /usr/bin/python3 -m cloudsim "$@"
}

# ---------------------------------------------------------------- up
step "up"
"${devenv}" up >"${work}/up.out" 2>&1 || { cat "${work}/up.out" >&2; fail "up failed"; }

for f in env agent-demo-1.json agent-demo-2.json agent-demo-3.json cloudsim.pid cloudsim.log \
         cloudsim.db cloudsim.ready broker/ca.crt broker/broker.env broker/mosquitto.pid \
         broker/devices/demo-1.crt broker/devices/demo-1.key broker/devices/demo-3.key; do
    [[ -s ${state}/${f} || ${f} == cloudsim.db ]] || fail "missing ${state}/${f}"
    [[ -e ${state}/${f} ]] || fail "missing ${state}/${f}"
done
[[ $(stat -c %a "${state}/broker/devices/demo-1.key") == 600 ]] || fail "device key is not 0600"

# shellcheck disable=SC1091
source "${state}/env"
for v in TETHER_BROKER_HOST TETHER_BROKER_PORT TETHER_CA_FILE TETHER_THINGS CLOUDSIM_API \
         TETHER_THING_DEMO_1_CERT TETHER_THING_DEMO_1_KEY TETHER_THING_DEMO_3_CONFIG; do
    [[ -n ${!v:-} ]] || fail "env does not set ${v}"
done
[[ ${TETHER_THINGS} == "demo-1 demo-2 demo-3" ]] || fail "TETHER_THINGS is '${TETHER_THINGS}'"
[[ -f ${TETHER_THING_DEMO_1_CERT} && -f ${TETHER_CA_FILE} ]] || fail "env paths do not exist"
/usr/bin/python3 - "${state}/agent-demo-2.json" "${TETHER_BROKER_PORT}" <<'PY' || fail "agent config wrong"
import json, os, sys
c = json.load(open(sys.argv[1]))
assert c["thing_name"] == "demo-2", c
assert c["port"] == int(sys.argv[2]), c
for k in ("ca_file", "cert_file", "key"):
    assert os.path.isabs(c["tls"][k]) and os.path.isfile(c["tls"][k]), c["tls"][k]
PY

if [[ -f ${state}/softhsm/softhsm2.conf ]]; then
    step "SoftHSM2 token present"
    [[ ${SOFTHSM2_CONF:-} == "${state}/softhsm/softhsm2.conf" ]] || fail "env lacks SOFTHSM2_CONF"
    for pin in user.pin so.pin; do
        [[ $(stat -c %a "${state}/softhsm/${pin}") == 600 ]] || fail "${pin} is not 0600"
        grep -qF -- "$(cat "${state}/softhsm/${pin}")" "${work}/up.out" && fail "${pin} was printed"
    done
    softhsm2-util --show-slots | grep -q 'Label: *tether-dev' || fail "no token tether-dev"
else
    step "SoftHSM2 not installed: token skipped"
    grep -q "SoftHSM2" "${work}/up.out" || fail "up did not say that SoftHSM2 was skipped"
fi

mosq_pid=$(cat "${state}/broker/mosquitto.pid")
sim_pid=$(cat "${state}/cloudsim.pid")
alive "${mosq_pid}" || fail "mosquitto not running"
alive "${sim_pid}" || fail "cloudsim not running"

# ---------------------------------------------------------------- idempotent up, status
step "up again (idempotent)"
"${devenv}" up >"${work}/up2.out" 2>&1 || fail "second up failed"
grep -q "already up" "${work}/up2.out" || fail "second up did not report 'already up'"
[[ $(cat "${state}/cloudsim.pid") == "${sim_pid}" ]] || fail "second up restarted cloudsim"
[[ $(cat "${state}/broker/mosquitto.pid") == "${mosq_pid}" ]] || fail "second up restarted the broker"

step "status"
"${devenv}" status >"${work}/status.out" || fail "status exit code != 0 while up"
grep -q "127.0.0.1:${TETHER_BROKER_PORT}" "${work}/status.out" || fail "status lacks the broker port"
grep -qF "${CLOUDSIM_API}" "${work}/status.out" || fail "status lacks the cloudsim API"
grep -qF "agent-demo-1.json" "${work}/status.out" || fail "status lacks the agent command"

# ---------------------------------------------------------------- the emulator answers a device
step "device demo-1 reports through the broker, cloudsim shows it"
# shellcheck disable=SC2016  # a literal $aws topic
mosquitto_pub --cafile "${TETHER_CA_FILE}" --cert "${TETHER_THING_DEMO_1_CERT}" \
    --key "${TETHER_THING_DEMO_1_KEY}" -h 127.0.0.1 -p "${TETHER_BROKER_PORT}" -q 1 \
    -t '$aws/things/demo-1/shadow/update' -m '{"state":{"reported":{"devenv":42}}}' \
    || fail "mosquitto_pub as demo-1 failed"
ok=""
for _ in $(seq 50); do
    if cloudsim shadow get demo-1 2>/dev/null | grep -q '"devenv": 42'; then ok=1; break; fi
    sleep 0.1
done
[[ -n ${ok} ]] || fail "cloudsim shadow get demo-1 does not show the reported state"
cloudsim shadow desire demo-2 '{"led": true}' >/dev/null || fail "cloudsim shadow desire failed"

if [[ -n ${agent_bin} ]]; then
    step "example agent runs against the environment"
    [[ -x ${agent_bin} ]] || fail "no agent binary ${agent_bin}"
    "${agent_bin}" "${state}/agent-demo-1.json" >"${work}/agent.log" 2>&1 &
    agent_pid=$!
    ok=""
    for _ in $(seq 100); do
        grep -q "heartbeat 1 sent" "${work}/agent.log" && { ok=1; break; }
        alive "${agent_pid}" || break
        sleep 0.1
    done
    kill -TERM "${agent_pid}" 2>/dev/null || true
    wait "${agent_pid}" || fail "agent exit code $? ($(tail -n 5 "${work}/agent.log"))"
    [[ -n ${ok} ]] || { cat "${work}/agent.log" >&2; fail "agent sent no heartbeat"; }
fi

# ---------------------------------------------------------------- crash of the emulator
step "cloudsim killed: status says so, up restarts it and keeps the broker"
kill -KILL "${sim_pid}"
for _ in $(seq 50); do alive "${sim_pid}" || break; sleep 0.1; done
if "${devenv}" status >/dev/null 2>&1; then fail "status exit code 0 with cloudsim dead"; fi
"${devenv}" up >/dev/null 2>&1 || fail "up after crash failed"
sim_pid=$(cat "${state}/cloudsim.pid")
alive "${sim_pid}" || fail "cloudsim not restarted"
[[ $(cat "${state}/broker/mosquitto.pid") == "${mosq_pid}" ]] || fail "broker restarted needlessly"
# shellcheck disable=SC1091
source "${state}/env"
# The restarted emulator may take a moment to answer: retry, but a lost shadow still fails.
ok=""
for _ in $(seq 50); do
    if cloudsim shadow get demo-1 2>/dev/null | grep -q '"devenv": 42'; then ok=1; break; fi
    sleep 0.1
done
[[ -n ${ok} ]] || fail "shadow lost across emulator restart ($(cloudsim shadow get demo-1 2>&1 | tail -n 2))"

# ---------------------------------------------------------------- down
step "down"
"${devenv}" down >/dev/null 2>&1 || fail "down failed"
for _ in $(seq 50); do
    alive "${mosq_pid}" || alive "${sim_pid}" || break
    sleep 0.1
done
alive "${mosq_pid}" && fail "mosquitto (pid ${mosq_pid}) still running after down"
alive "${sim_pid}" && fail "cloudsim (pid ${sim_pid}) still running after down"
left=$(our_processes)
[[ -z ${left} ]] || fail "processes left after down: ${left}"
if "${devenv}" status >/dev/null 2>&1; then fail "status exit code 0 after down"; fi
[[ -f ${state}/broker/ca.crt && -f ${state}/cloudsim.db ]] || fail "down removed persistent state"

step "down again (idempotent)"
"${devenv}" down >/dev/null 2>&1 || fail "second down failed"

step "down --purge"
"${devenv}" down --purge >/dev/null 2>&1 || fail "down --purge failed"
[[ ! -e ${state} ]] || fail "${state} still exists after --purge"

step "purge refuses a directory devenv did not create"
mkdir -p "${work}/foreign" && touch "${work}/foreign/precious"
if TETHER_DEVENV_DIR=${work}/foreign "${devenv}" down --purge >/dev/null 2>&1; then
    fail "down --purge deleted a foreign directory"
fi
[[ -f ${work}/foreign/precious ]] || fail "foreign file deleted"

step "PASS"
