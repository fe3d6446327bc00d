#!/usr/bin/env bash
# Install the Debian packages Tether needs to build and test.
#
# Usage: scripts/install-deps.sh [host|cross|all]    (default: host)
#
#   host   native toolchain, libraries (Paho, cJSON, libcbor, mbedTLS, OpenSSL,
#          libp11 + p11-kit for the PKCS#11 key store, Catch2; SQLite for the
#          offline-queue benchmark), the test broker (mosquitto + clients) and
#          the PKCS#11 test peers (SoftHSM2, opensc's pkcs11-tool)
#   cross  qemu-user and the aarch64 / armhf / Cortex-M (arm-none-eabi) toolchains
#   all    both
#
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing. Uses the machine's existing apt sources.
set -euo pipefail

readonly HOST_PACKAGES=(
    build-essential cmake ninja-build pkg-config clang
    libpaho-mqttpp-dev libpaho-mqtt-dev libcjson-dev libcbor-dev catch2
    libmbedtls-dev libssl-dev libclang-rt-dev libsqlite3-dev
    libp11-dev libp11-kit-dev
    mosquitto mosquitto-clients openssl softhsm2 opensc
    python3 python3-paho-mqtt python3-cbor2
)

readonly CROSS_PACKAGES=(
    qemu-user
    g++-aarch64-linux-gnu g++-arm-linux-gnueabihf
    gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib binutils-arm-none-eabi
)

readonly UPDATE_ATTEMPTS=3

# Seconds apt waits for the dpkg lock held by another apt run (e.g. a
# parallel install by another job) instead of failing immediately.
readonly LOCK_TIMEOUT=600

usage() {
    echo "usage: $0 [host|cross|all]" >&2
    exit 2
}

log() { echo "install-deps: $*"; }
die() { echo "install-deps: error: $*" >&2; exit 1; }

# Prints "sudo" when privileges must be raised, nothing when already root.
privilege_prefix() {
    if [[ ${EUID} -eq 0 ]]; then
        return 0
    fi
    if command -v sudo >/dev/null 2>&1; then
        echo sudo
        return 0
    fi
    die "not running as root and sudo is not available"
}

# True when the package is fully installed ("install ok installed").
# dpkg-query fails for packages it has never heard of; treat that as missing.
is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ ${status} == "install ok installed" ]]
}

# apt-get update, retried: mirrors are sometimes caught mid-sync and serve
# indexes that do not match their Release file. --error-on=any makes such
# partial failures a non-zero exit (by default apt only warns), so they are
# retried too. After the last attempt we still try the install: the existing
# lists may well be good enough.
apt_update() {
    local sudo_cmd=$1 attempt
    for ((attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++)); do
        if ${sudo_cmd} apt-get -o DPkg::Lock::Timeout="${LOCK_TIMEOUT}" \
                update --error-on=any; then
            return 0
        fi
        if ((attempt < UPDATE_ATTEMPTS)); then
            log "apt-get update failed (attempt ${attempt}/${UPDATE_ATTEMPTS}), retrying in $((attempt * 10)) s"
            sleep $((attempt * 10))
        fi
    done
    log "warning: apt-get update failed ${UPDATE_ATTEMPTS} times; trying the install with the current package lists"
}

main() {
    local group=${1:-host}
    [[ $# -le 1 ]] || usage

    local -a wanted
    case ${group} in
        host)  wanted=("${HOST_PACKAGES[@]}") ;;
        cross) wanted=("${CROSS_PACKAGES[@]}") ;;
        all)   wanted=("${HOST_PACKAGES[@]}" "${CROSS_PACKAGES[@]}") ;;
        -h|--help) usage ;;
        *) echo "install-deps: unknown group '${group}'" >&2; usage ;;
    esac

    local -a missing=()
    local pkg
    for pkg in "${wanted[@]}"; do
        is_installed "${pkg}" || missing+=("${pkg}")
    done

    if [[ ${#missing[@]} -eq 0 ]]; then
        log "all ${#wanted[@]} '${group}' packages already installed"
        return 0
    fi

    local sudo_cmd
    sudo_cmd=$(privilege_prefix)

    log "installing ${#missing[@]} missing '${group}' package(s): ${missing[*]}"
    apt_update "${sudo_cmd}"
    # env(1) so DEBIAN_FRONTEND survives sudo's environment reset.
    ${sudo_cmd} env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout="${LOCK_TIMEOUT}" \
        install -y --no-install-recommends "${missing[@]}"

    # Verify: apt-get can succeed while a package ends up half-configured.
    local -a still_missing=()
    for pkg in "${missing[@]}"; do
        is_installed "${pkg}" || still_missing+=("${pkg}")
    done
    if [[ ${#still_missing[@]} -gt 0 ]]; then
        die "still not installed: ${still_missing[*]}"
    fi
    log "done"
}

main "$@"
