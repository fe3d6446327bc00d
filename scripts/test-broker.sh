#!/usr/bin/env bash
# Start and stop a real mosquitto broker with mutual TLS for Tether's tests.
#
# Usage:
#   scripts/test-broker.sh start   DIR   create certificates (once) and start a broker
#   scripts/test-broker.sh stop    DIR   stop it (idempotent)
#   scripts/test-broker.sh restart DIR   stop (if running), then start again on the
#                                        same port, keeping the certificates
#   scripts/test-broker.sh status  DIR   exit 0 if running, 1 if not
#
# Environment (read by start and restart):
#   TETHER_TEST_DEVICES        extra device names (space separated) besides
#                              device-1 and device-2 to issue certificates for
#   TETHER_BROKER_SERVER_CERT  "wronghost" or "otherca": serve a bad server
#                              certificate (for negative client tests)
#
# Everything lives in DIR (created if missing):
#   ca.crt/.key                 "Tether Test CA" (cloudsim --signing-ca-key DIR/ca.key
#                               signs Fleet Provisioning certificates with it)
#   server.crt/.key             CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   server-wronghost.crt/.key   good CA, but CN/SAN wrong.example only
#   server-otherca.crt/.key     CN=localhost, signed by other-ca
#   other-ca.crt/.key           an unrelated second CA
#   cloudsim.crt/.key           CN=tether-cloudsim, may use every topic
#   devices/<name>.crt/.key     CN=<name>, clientAuth
#   devices/rogue.crt/.key      CN=device-1 but signed by other-ca
#   devices/claim.crt/.key      CN=claim: the Fleet Provisioning claim identity, may use
#                               only CreateCertificateFromCsr and RegisterThing
#   mosquitto.conf, acl, mosquitto.log, mosquitto.pid
#   broker.env                  TETHER_BROKER_HOST/PORT/DIR (also printed on stdout)
#
# The broker has a single TLS listener on 127.0.0.1 on a free port, requires a
# client certificate from ca.crt and uses its CN as the MQTT user name, to
# which the ACL confines each device (things/<CN>/#, state/<CN>/#, ...).
#
# stdout carries only the KEY=VALUE lines; diagnostics go to stderr.
set -euo pipefail

readonly HOST=127.0.0.1
readonly CERT_DAYS=5            # validity; certificates are renewed when < 1 h is left
readonly START_TIMEOUT_S=10     # wait for the listener to accept connections
readonly STOP_TIMEOUT_S=5       # wait after SIGTERM before SIGKILL
readonly PORT_ATTEMPTS=5        # fresh ports to try when the chosen one was taken
readonly DEFAULT_DEVICES=(device-1 device-2)

log() { echo "test-broker: $*" >&2; }
die() { echo "test-broker: error: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 start|stop|restart|status DIR" >&2
    exit 2
}

# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

# A self-contained openssl configuration, so that whatever the system
# openssl.cnf contains cannot add or change extensions.
req_config() {
    cat <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
}

server_ext() { # $1: subjectAltName value
    cat <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $1
EOF
}

client_ext() {
    cat <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# 64 random bits as a positive hex serial (unique enough for a test CA).
random_serial() {
    printf '0x%04x%04x%04x%04x' $((RANDOM & 0x7fff)) "${RANDOM}" "${RANDOM}" "${RANDOM}"
}

# make_ca BASE CN: self-signed EC P-256 CA as BASE.crt / BASE.key.
make_ca() {
    local base=$1 cn=$2
    [[ -s ${base}.crt && -s ${base}.key ]] && return 0
    openssl req -x509 -new -config <(req_config) -extensions v3_ca \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -days "${CERT_DAYS}" -set_serial "$(random_serial)" -subj "/CN=${cn}" \
        -keyout "${base}.key" -out "${base}.crt" 2>/dev/null \
        || die "openssl failed to create CA ${base}.crt"
}

# make_leaf CA_BASE BASE CN EXTENSIONS: EC P-256 key and a certificate signed
# by CA_BASE. The CSR is piped, never written.
make_leaf() {
    local ca=$1 base=$2 cn=$3 ext=$4
    [[ -s ${base}.crt && -s ${base}.key ]] && return 0
    openssl req -new -config <(req_config) \
            -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=${cn}" -keyout "${base}.key" 2>/dev/null \
        | openssl x509 -req -sha256 -days "${CERT_DAYS}" \
            -CA "${ca}.crt" -CAkey "${ca}.key" -set_serial "$(random_serial)" \
            -extfile <(printf '%s\n' "${ext}") -out "${base}.crt" 2>/dev/null \
        || die "openssl failed to create ${base}.crt"
}

# Device names end up in file names, certificate subjects and ACL topics.
check_device_name() {
    local name=$1
    [[ ${name} =~ ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$ ]] \
        || die "invalid device name '${name}' (allowed: A-Z a-z 0-9 . _ : -)"
    [[ ${name} != rogue ]] || die "device name 'rogue' is reserved for the wrong-CA certificate"
    [[ ${name} != claim ]] || die "device name 'claim' is reserved for the provisioning claim"
}

# Creates whatever is missing. If the CA is absent or about to expire, all
# certificates are (re)issued; otherwise existing ones are kept, so restarts
# and already-running clients keep working, and only newly requested devices
# (TETHER_TEST_DEVICES) get certificates.
generate_certs() {
    local dir=$1 name
    local -a devices=("${DEFAULT_DEVICES[@]}")
    # shellcheck disable=SC2206  # word splitting of the list is intended
    devices+=(${TETHER_TEST_DEVICES:-})
    for name in "${devices[@]}"; do check_device_name "${name}"; done

    if [[ -f ${dir}/ca.crt ]] \
        && ! openssl x509 -checkend 3600 -noout -in "${dir}/ca.crt" >/dev/null 2>&1; then
        log "test CA in ${dir} is expired or expiring: issuing new certificates"
        rm -f "${dir}"/{ca,other-ca,server,server-wronghost,server-otherca,cloudsim}.{crt,key} \
              "${dir}"/devices/*.crt "${dir}"/devices/*.key
    fi

    mkdir -p "${dir}/devices"
    # Keys are created 0600 by the umask; certificates are made readable below.
    (
        umask 077
        local ok_san="DNS:localhost, IP:127.0.0.1"
        make_ca "${dir}/ca" "Tether Test CA"
        make_ca "${dir}/other-ca" "Tether Other Test CA"
        make_leaf "${dir}/ca" "${dir}/server" localhost "$(server_ext "${ok_san}")"
        make_leaf "${dir}/ca" "${dir}/server-wronghost" wrong.example \
            "$(server_ext "DNS:wrong.example")"
        make_leaf "${dir}/other-ca" "${dir}/server-otherca" localhost \
            "$(server_ext "${ok_san}")"
        make_leaf "${dir}/ca" "${dir}/cloudsim" tether-cloudsim "$(client_ext)"
        for name in "${devices[@]}"; do
            make_leaf "${dir}/ca" "${dir}/devices/${name}" "${name}" "$(client_ext)"
        done
        make_leaf "${dir}/other-ca" "${dir}/devices/rogue" device-1 "$(client_ext)"
        make_leaf "${dir}/ca" "${dir}/devices/claim" claim "$(client_ext)"
    )
    chmod 0600 "${dir}"/*.key "${dir}"/devices/*.key
    chmod 0644 "${dir}"/*.crt "${dir}"/devices/*.crt
}

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

server_cert_base() {
    case ${TETHER_BROKER_SERVER_CERT:-} in
        "")        echo server ;;
        wronghost) echo server-wronghost ;;
        otherca)   echo server-otherca ;;
        *) die "TETHER_BROKER_SERVER_CERT must be empty, 'wronghost' or 'otherca'" ;;
    esac
}

write_acl() {
    local dir=$1
    cat >"${dir}/acl" <<'EOF'
# Generated by scripts/test-broker.sh.
# The MQTT user name is the client certificate's CN (use_identity_as_username),
# so %u is the device's thing name.

# Every client: its own topics only. ("pattern" lines apply to all users,
# wherever they appear in the file.)
pattern readwrite things/%u/#
pattern readwrite $aws/things/%u/#
pattern readwrite $aws/commands/things/%u/#
pattern readwrite state/%u/#
pattern readwrite cmd/%u/#
pattern readwrite dt/%u/#

# The cloud emulator may use every topic. '#' does not match topics that
# begin with '$' (MQTT 3.1.1 section 4.7.2), hence the separate $aws/# line.
user tether-cloudsim
topic readwrite #
topic readwrite $aws/#

# The Fleet Provisioning claim (CN=claim): requests by CSR and RegisterThing, and
# their answers. No device may use these topics (cloudsim answers them).
user claim
topic write $aws/certificates/create-from-csr/json
topic write $aws/certificates/create-from-csr/cbor
topic read $aws/certificates/create-from-csr/+/accepted
topic read $aws/certificates/create-from-csr/+/rejected
topic write $aws/provisioning-templates/+/provision/json
topic write $aws/provisioning-templates/+/provision/cbor
topic read $aws/provisioning-templates/+/provision/+/accepted
topic read $aws/provisioning-templates/+/provision/+/rejected

# A device whose policy allows certificate rotation over its own connection
# (CN=rotating-1: the rotation tests issue its certificates): the same
# provisioning topics, besides its own (the pattern lines above).
user rotating-1
topic write $aws/certificates/create-from-csr/json
topic read $aws/certificates/create-from-csr/+/accepted
topic read $aws/certificates/create-from-csr/+/rejected
topic write $aws/provisioning-templates/+/provision/json
topic read $aws/provisioning-templates/+/provision/+/accepted
topic read $aws/provisioning-templates/+/provision/+/rejected
EOF
}

write_conf() {
    local dir=$1 port=$2 cert
    cert=$(server_cert_base)
    cat >"${dir}/mosquitto.conf" <<EOF
# Generated by scripts/test-broker.sh; rewritten on every start.
per_listener_settings false
allow_anonymous false
acl_file ${dir}/acl
persistence false
pid_file ${dir}/mosquitto.pid
log_dest file ${dir}/mosquitto.log
log_type all
log_timestamp_format %Y-%m-%dT%H:%M:%S
# A slow test subscriber must not lose QoS 1 messages to mosquitto's default
# limit of 1000 queued messages per client: tests count every arrival. (Not 0,
# "no limit": mosquitto 2.0.11 then answers PUBACK 0x87 to every publish that
# follows a refused one on the same connection.)
max_queued_messages 1000000
# Send small packets at once (an answer right after a PUBACK otherwise waits for the
# client's 40 ms delayed ACK): tests and benchmarks measure the clients, not Nagle.
set_tcp_nodelay true
# Started as root, mosquitto would switch to the "mosquitto" user, which can
# read neither the 0600 keys nor a private DIR. Stay the invoking user.
user $(id -un)

listener ${port} ${HOST}
cafile ${dir}/ca.crt
certfile ${dir}/${cert}.crt
keyfile ${dir}/${cert}.key
# Minimum version since mosquitto 2.0 (1.6 treated it as the only version).
tls_version tlsv1.2
require_certificate true
use_identity_as_username true
EOF
}

conf_port() {
    awk '$1 == "listener" { print $2; exit }' "$1/mosquitto.conf" 2>/dev/null
}

write_env() {
    local dir=$1 port=$2
    printf 'TETHER_BROKER_HOST=%s\nTETHER_BROKER_PORT=%s\nTETHER_BROKER_DIR=%s\n' \
        "${HOST}" "${port}" "${dir}" >"${dir}/broker.env"
    cat "${dir}/broker.env"
}

# --------------------------------------------------------------------------
# Process handling
# --------------------------------------------------------------------------

# A port nobody listens on right now: the kernel's pick for port 0. Another
# process may still take it before mosquitto binds; start_broker retries.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' && return 0
    fi
    # Fallback without python: a random high port that refuses connections.
    local port _
    for _ in {1..100}; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/${HOST}/${port}") 2>/dev/null; then
            echo "${port}"
            return 0
        fi
    done
    die "found no free port"
}

port_open() {
    (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

# True while PID is a live process. A daemon's parent is init, and an init
# that reaps lazily (as in some containers) leaves an exited mosquitto as a
# zombie for a second or more, which kill -0 still reports; so look at the
# process state as well.
alive() {
    local pid=$1 stat state
    kill -0 "${pid}" 2>/dev/null || return 1
    stat=$(cat "/proc/${pid}/stat" 2>/dev/null) || return 0   # no procfs: trust kill
    state=${stat##*) }          # fields after "(comm) "
    [[ ${state%% *} != Z ]]
}

# Pid of the mosquitto running DIR's configuration, or failure. The command
# line check guards against a recycled pid belonging to something else.
running_pid() {
    local dir=$1 pid
    pid=$(cat "${dir}/mosquitto.pid" 2>/dev/null) || return 1
    [[ ${pid} =~ ^[0-9]+$ ]] || return 1
    alive "${pid}" || return 1
    if [[ -r /proc/${pid}/cmdline ]]; then
        tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "${dir}/mosquitto.conf" || return 1
    fi
    echo "${pid}"
}

log_tail() {
    local dir=$1
    log "last lines of ${dir}/mosquitto.log:"
    tail -n 20 "${dir}/mosquitto.log" >&2 2>/dev/null || true
}

# wait_gone [PID]: give an exiting daemon a moment to go (and release files).
wait_gone() {
    [[ -n ${1:-} ]] || return 0
    for _ in {1..100}; do
        alive "$1" || return 0
        sleep 0.02
    done
}

# launch DIR PORT: start mosquitto on DIR's configuration and wait until it
# accepts connections. Returns 0 when ready, 3 when the port was taken (the
# caller may try another), 1 on any other failure.
launch() {
    local dir=$1 port=$2 pid="" deadline log_offset new_log
    log_offset=$(stat -c %s "${dir}/mosquitto.log" 2>/dev/null || echo 0)
    rm -f "${dir}/mosquitto.pid"

    # -d: mosquitto daemonises itself (own session, stdio then reopened on
    # /dev/null), so it outlives this script and holds no pipe of a caller's
    # $(...). What it prints before that (configuration errors, the
    # "should not be run as root" warning) goes to the log as well.
    if ! mosquitto -c "${dir}/mosquitto.conf" -d \
            </dev/null >>"${dir}/mosquitto.log" 2>&1; then
        log "mosquitto refused the configuration ${dir}/mosquitto.conf"
        log_tail "${dir}"
        return 1
    fi

    deadline=$((SECONDS + START_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        if [[ -z ${pid} ]]; then
            pid=$(cat "${dir}/mosquitto.pid" 2>/dev/null || true)
        fi
        # Failures after the fork only show in the log: the daemon deletes its
        # pid file when it exits, possibly before we have read it.
        new_log=$(tail -c +"$((log_offset + 1))" "${dir}/mosquitto.log" 2>/dev/null || true)
        if [[ ${new_log} == *"Address already in use"* ]]; then
            wait_gone "${pid}"
            return 3
        fi
        if [[ ${new_log} == *": Error: "* ]] || { [[ -n ${pid} ]] && ! alive "${pid}"; }; then
            log "mosquitto failed to start"
            log_tail "${dir}"
            [[ -n ${pid} ]] && kill "${pid}" 2>/dev/null
            return 1
        fi
        # Ready once our daemon has logged that its listener is up ("running"
        # comes after the bind; a connect alone might reach whoever else holds
        # the port) and the port answers. The probe shows up in the log as a
        # failed connection ("unexpected eof").
        if [[ -n ${pid} && ${new_log} == *" running"* ]] && port_open "${port}"; then
            return 0
        fi
        sleep 0.02
    done
    log "mosquitto did not accept connections on ${HOST}:${port} within ${START_TIMEOUT_S} s"
    log_tail "${dir}"
    [[ -n ${pid} ]] && kill "${pid}" 2>/dev/null
    return 1
}

stop_broker() {
    local dir=$1 pid deadline
    if ! pid=$(running_pid "${dir}"); then
        rm -f "${dir}/mosquitto.pid"
        return 0
    fi
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while alive "${pid}" && ((SECONDS < deadline)); do
        sleep 0.02
    done
    if alive "${pid}"; then
        log "mosquitto (pid ${pid}) ignored SIGTERM, sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
        while alive "${pid}"; do sleep 0.02; done
    fi
    rm -f "${dir}/mosquitto.pid"
}

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

cmd_start() {
    local dir=$1 port attempt rc
    command -v mosquitto >/dev/null 2>&1 || die "mosquitto not found (scripts/install-deps.sh host)"
    command -v openssl >/dev/null 2>&1 || die "openssl not found (scripts/install-deps.sh host)"

    if running_pid "${dir}" >/dev/null; then
        log "already running in ${dir} (use restart to apply changes)"
        write_env "${dir}" "$(conf_port "${dir}")"
        return 0
    fi

    generate_certs "${dir}"
    write_acl "${dir}"
    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        port=$(free_port)
        write_conf "${dir}" "${port}"
        rc=0
        launch "${dir}" "${port}" || rc=$?
        case ${rc} in
            0) write_env "${dir}" "${port}"; return 0 ;;
            3) log "port ${port} was taken, trying another" ;;
            *) exit 1 ;;
        esac
    done
    die "could not bind a free port in ${PORT_ATTEMPTS} attempts"
}

# Like start, but on the port of the previous start (clients keep their
# address, as after a broker crash), and whether or not it is running.
cmd_restart() {
    local dir=$1 port rc deadline
    port=$(conf_port "${dir}")
    if [[ -z ${port} ]]; then
        log "no previous broker in ${dir}: starting a new one"
        cmd_start "${dir}"
        return
    fi
    stop_broker "${dir}"
    generate_certs "${dir}"     # keeps the existing ones
    write_acl "${dir}"
    write_conf "${dir}" "${port}"
    # mosquitto sets SO_REUSEADDR, so connections in TIME_WAIT do not block
    # the port; another process listening on it might let go, so keep trying
    # until the start timeout.
    deadline=$((SECONDS + START_TIMEOUT_S))
    while :; do
        rc=0
        launch "${dir}" "${port}" || rc=$?
        case ${rc} in
            0) write_env "${dir}" "${port}"; return 0 ;;
            3) ((SECONDS < deadline)) || die "port ${port} is taken by another process"
               sleep 0.2 ;;
            *) exit 1 ;;
        esac
    done
}

cmd_status() {
    local dir=$1 pid
    if pid=$(running_pid "${dir}"); then
        echo "running: pid ${pid}, ${HOST}:$(conf_port "${dir}")"
        return 0
    fi
    echo "not running"
    return 1
}

main() {
    [[ $# -eq 2 ]] || usage
    local cmd=$1 dir=$2
    [[ -n ${dir} ]] || usage

    case ${cmd} in
        start|restart) mkdir -p "${dir}" ;;
        stop|status)
            # Nothing ever ran here: stop has nothing to do, status says so.
            if [[ ! -d ${dir} ]]; then
                [[ ${cmd} == stop ]] && return 0
                echo "not running"
                return 1
            fi
            ;;
        *) usage ;;
    esac
    # Absolute, symlink-free path: it is written into the configuration and
    # matched against the daemon's command line.
    dir=$(cd "${dir}" && pwd -P)

    case ${cmd} in
        start)   cmd_start "${dir}" ;;
        stop)    stop_broker "${dir}" ;;
        restart) cmd_restart "${dir}" ;;
        status)  cmd_status "${dir}" ;;
    esac
}

main "$@"
