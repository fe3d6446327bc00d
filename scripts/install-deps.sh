#!/usr/bin/env bash
# Install the Debian packages Tether needs to build and test.
#
# Usage: scripts/install-deps.sh [host|cross|all]    (default: host)
#
#   host   native toolchain, libraries (Paho, cJSON, libcbor, mbedTLS, OpenSSL,
#          libp11 + p11-kit for the PKCS#11 key store, Catch2; SQLite for the
#          offline-queue benchmark), the test broker (mosquitto + clients) and
#          the PKCS#11 test peers (SoftHSM2, opensc's pkcs11-tool), the software
#          TPM and tpm2-pkcs11 (swtpm, tpm2-tools, tpm2_ptool) and OpenSSL's
#          PKCS#11 provider (pkcs11-provider: TLS with a key inside a token).
#          Debian 12 has pkcs11-provider only in bookworm-backports: when no
#          configured suite offers it, the script adds <codename>-backports of
#          the Debian archive the machine already uses (its address and key
#          taken from the existing apt sources) and installs it from there.
#   cross  the build tools (cmake, ninja, pkg-config, dpkg-dev), qemu-user, qemu-system-arm and cpio,
#          and the aarch64 / armhf / Cortex-M (arm-none-eabi) toolchains
#   all    both
#
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing. Uses the machine's existing apt sources.
set -euo pipefail

readonly HOST_PACKAGES=(
    build-essential cmake ninja-build pkg-config clang
    libpaho-mqttpp-dev libpaho-mqtt-dev libcjson-dev libcbor-dev catch2
    libmbedtls-dev libssl-dev libclang-rt-dev libsqlite3-dev
    libp11-dev libp11-kit-dev dpkg-dev libgpiod-dev gpiod
    mosquitto mosquitto-clients openssl softhsm2 opensc
    swtpm swtpm-tools tpm2-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools
    python3 python3-paho-mqtt python3-cbor2 python3-cryptography
)

# Installed from <codename>-backports when the configured suites lack them.
readonly BACKPORT_PACKAGES=(pkcs11-provider)

readonly CROSS_PACKAGES=(
    build-essential cmake ninja-build pkg-config dpkg-dev
    qemu-user qemu-system-arm cpio
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

# True when apt knows an installable version of the package.
has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [[ -n ${candidate} && ${candidate} != "(none)" ]]
}

# Prints "URI|SIGNED_BY" of the apt source that serves the machine's Debian
# release (suite = codename, not the security archive), read from the deb822
# .sources files and the one-line lists. Nothing when there is none.
release_archive() {
    local codename=$1 file
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -r ${file} ]] || continue
        awk -v want="${codename}" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uri !~ /security/ && uri != "")
                    { print uri "|" signed; found = 1; exit }
                types = suites = uri = signed = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
            /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
            /^URIs:/ { sub(/^URIs:[ \t]*/, ""); split($0, u, /[ \t]+/); uri = u[1] }
            /^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); signed = $0 }
            END { if (!found) flush() }
        ' "${file}" | head -n 1 | grep . && return 0
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r ${file} ]] || continue
        awk -v want="${codename}" '
            $1 == "deb" {
                signed = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        if ($i ~ /signed-by=/) { signed = $i; sub(/.*signed-by=/, "", signed); sub(/\]$/, "", signed) }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                if ($(i + 1) == want && $i !~ /security/) { print $i "|" signed; exit }
            }
        ' "${file}" | head -n 1 | grep . && return 0
    done
    return 1
}

# Adds <codename>-backports of the machine's own Debian archive when one of
# BACKPORT_PACKAGES has no candidate in the configured suites. Prints the
# suite to install from ("" when the configured suites suffice).
enable_backports() {
    local sudo_cmd=$1 pkg need=0
    for pkg in "${BACKPORT_PACKAGES[@]}"; do
        has_candidate "${pkg}" || need=1
    done
    [[ ${need} -eq 1 ]] || return 0

    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n ${codename} ]] || die "cannot tell the Debian release (/etc/os-release has no VERSION_CODENAME) to add its backports suite for: ${BACKPORT_PACKAGES[*]}"
    local archive uri signed
    archive=$(release_archive "${codename}") \
        || die "no apt source serves '${codename}' (needed to add ${codename}-backports for ${BACKPORT_PACKAGES[*]}); add the Debian archive to the apt sources"
    uri=${archive%%|*}
    signed=${archive#*|}
    local list=/etc/apt/sources.list.d/tether-backports.sources
    log "adding ${codename}-backports of ${uri} (${list}) for: ${BACKPORT_PACKAGES[*]}" >&2
    {
        echo "Types: deb"
        echo "URIs: ${uri}"
        echo "Suites: ${codename}-backports"
        echo "Components: main"
        [[ -z ${signed} ]] || echo "Signed-By: ${signed}"
    } | ${sudo_cmd} tee "${list}" >/dev/null
    apt_update "${sudo_cmd}" >&2
    for pkg in "${BACKPORT_PACKAGES[@]}"; do
        has_candidate "${pkg}" || die "${pkg} is not in ${codename}-backports of ${uri} either"
    done
    echo "${codename}-backports"
}

main() {
    local group=${1:-host}
    [[ $# -le 1 ]] || usage

    local -a wanted
    case ${group} in
        host)  wanted=("${HOST_PACKAGES[@]}" "${BACKPORT_PACKAGES[@]}") ;;
        cross) wanted=("${CROSS_PACKAGES[@]}") ;;
        all)   wanted=("${HOST_PACKAGES[@]}" "${BACKPORT_PACKAGES[@]}" "${CROSS_PACKAGES[@]}") ;;
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
    # Packages of BACKPORT_PACKAGES go in a second run, from the backports
    # suite when the release itself lacks them (apt never takes a package
    # from backports unless asked with -t).
    local -a regular=() backported=()
    for pkg in "${missing[@]}"; do
        if [[ " ${BACKPORT_PACKAGES[*]} " == *" ${pkg} "* ]]; then
            backported+=("${pkg}")
        else
            regular+=("${pkg}")
        fi
    done
    # env(1) so DEBIAN_FRONTEND survives sudo's environment reset.
    if [[ ${#regular[@]} -gt 0 ]]; then
        ${sudo_cmd} env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout="${LOCK_TIMEOUT}" \
            install -y --no-install-recommends "${regular[@]}"
    fi
    if [[ ${#backported[@]} -gt 0 ]]; then
        local suite
        suite=$(enable_backports "${sudo_cmd}")
        ${sudo_cmd} env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout="${LOCK_TIMEOUT}" \
            install -y --no-install-recommends ${suite:+-t "${suite}"} "${backported[@]}"
    fi

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
