#!/usr/bin/env bash
# Tether in one command: installs what is missing, builds, starts the local environment
# (scripts/devenv.sh: mosquitto with TLS and client certificates, the cloud emulator), runs
# examples/minimal-agent against it and shows what happens:
#   - the agent connects with its device certificate and publishes heartbeats,
#   - a "cloud" client (privileged certificate) sees them and sends the device a message,
#   - the broker is restarted mid-run: the agent reconnects and resubscribes by itself,
#   - after DEMO_SECONDS (default 30) the agent gets SIGTERM and disconnects cleanly.
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"
seconds=${DEMO_SECONDS:-30}
[[ ${seconds} =~ ^[0-9]+$ && ${seconds} -ge 10 ]] || { echo "demo: DEMO_SECONDS must be a number >= 10" >&2; exit 2; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "dependencies"
scripts/install-deps.sh host

say "build (release)"
cmake --preset release >/dev/null
cmake --build --preset release --target tether_minimal_agent -j "${TETHER_JOBS:-$(nproc)}" >/dev/null
agent_bin=build/release/examples/minimal-agent/minimal-agent

work=$(mktemp -d)
agent_pid=""
watch_pid=""
# The demo's environment lives in a temporary directory, apart from a developer's own .devenv.
export TETHER_DEVENV_DIR="${work}/devenv" TETHER_DEVENV_THINGS="device-1" TETHER_DEVENV_SOFTHSM=off
cleanup() {
  [[ -n ${agent_pid} ]] && kill "${agent_pid}" 2>/dev/null || true
  [[ -n ${watch_pid} ]] && kill "${watch_pid}" 2>/dev/null || true
  scripts/devenv.sh down >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

say "local environment: mosquitto (TLS 1.2+, client certificates, per-device ACL) + cloud emulator"
scripts/devenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${TETHER_DEVENV_DIR}/env"
echo "broker on ${TETHER_BROKER_HOST}:${TETHER_BROKER_PORT}, emulator API on ${CLOUDSIM_API}"

cat >"${work}/agent.json" <<JSON
{
  "thing_name": "device-1",
  "endpoint": "localhost",
  "port": ${TETHER_BROKER_PORT},
  "tls": {
    "ca_file": "${TETHER_BROKER_DIR}/ca.crt",
    "cert_file": "${TETHER_BROKER_DIR}/devices/device-1.crt",
    "key": "${TETHER_BROKER_DIR}/devices/device-1.key"
  },
  "mqtt": { "version": 5, "keep_alive_s": 30 },
  "reconnect": { "initial_ms": 500, "max_ms": 5000 },
  "heartbeat": { "interval_s": 2 },
  "log": { "level": "info" }
}
JSON

# The "cloud": a privileged client that watches device-1's telemetry.
cloud=(--cafile "${TETHER_BROKER_DIR}/ca.crt" --cert "${TETHER_BROKER_DIR}/cloudsim.crt"
       --key "${TETHER_BROKER_DIR}/cloudsim.key" -h localhost -p "${TETHER_BROKER_PORT}")
# (process substitution, so that $! is mosquitto_sub itself and kill stops it)
mosquitto_sub "${cloud[@]}" -t 'dt/device-1/#' -v 2>/dev/null > >(sed -u 's/^/  [cloud sees] /') &
watch_pid=$!

say "agent: ${agent_bin} (runs ${seconds} s)"
"${agent_bin}" "${work}/agent.json" 2>&1 | sed -u 's/^/  [agent] /' &
agent_pid=$!

sleep $(( seconds / 3 ))
say "cloud -> device: a message on dt/device-1/inbox"
mosquitto_pub "${cloud[@]}" -q 1 -t dt/device-1/inbox -m 'hello from the cloud'

sleep 2
say "broker restart: the agent reconnects and resubscribes on its own"
kill "${watch_pid}" 2>/dev/null || true
scripts/test-broker.sh restart "${TETHER_BROKER_DIR}" >/dev/null
# (process substitution, so that $! is mosquitto_sub itself and kill stops it)
mosquitto_sub "${cloud[@]}" -t 'dt/device-1/#' -v 2>/dev/null > >(sed -u 's/^/  [cloud sees] /') &
watch_pid=$!

sleep $(( seconds / 3 ))
say "cloud -> device again, after the restart"
mosquitto_pub "${cloud[@]}" -q 1 -t dt/device-1/inbox -m 'still there?'

remaining=$(( seconds - 2 * (seconds / 3) - 2 ))
(( remaining > 0 )) && sleep "${remaining}"
say "SIGTERM: clean shutdown"
pkill -TERM -f "${agent_bin} ${work}/agent.json" || true
for _ in $(seq 50); do
  pgrep -f "${agent_bin} ${work}/agent.json" >/dev/null || break
  sleep 0.1
done
wait "${agent_pid}" 2>/dev/null || true
agent_pid=""
say "done"
