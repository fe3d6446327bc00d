#!/usr/bin/env bash
# tether-agent maps only the shared libraries it needs: each one it names (readelf -d, NEEDED) must be
# on the list below. Every library more costs resident memory on the gateway (docs/memory.md, "Linux
# RSS": libstdc++ 1464 kB, libm 312 kB, libsystemd and what it brings 1.2 MB, mbedTLS 236 kB, libp11
# and p11-kit 0.5 MB), and a change that brings one back (a std::floor at -Os pulls in libm, a port
# linked instead of loaded on first use) would otherwise only show in the next footprint bench.
# Usage: agent_libraries_test.sh READELF TETHER_AGENT STATIC_CXX_RUNTIME(ON|OFF) GPIOD_LINKED(ON|OFF)
set -euo pipefail
readelf=$1
agent=$2
static_cxx=$3
gpiod_linked=$4  # OFF: libgpiod 1.x, loaded when GPIO lines are opened; ON: libgpiod 2.x, linked
fail() { echo "agent_libraries_test: FAILED: $*" >&2; exit 1; }

[[ -x $agent ]] || fail "$agent is not an executable"
needed=$("$readelf" -d "$agent" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[[ -n $needed ]] || fail "readelf found no NEEDED entries in $agent"
echo "$agent needs:"
echo "$needed" | sed 's/^/  /'

# The C library and loader, OpenSSL (Paho's TLS), Paho C's async client, cJSON, libcbor (CBOR metrics
# reports) and, with libgpiod 2.x, libgpiod (GPIO lines). libp11 and p11-kit are loaded when a token
# is first used, libgpiod 1.x when GPIO lines are first opened.
allowed='^(libc\.so\.6|ld-linux.*\.so\.[0-9]+|libssl\.so\.3|libcrypto\.so\.3|libpaho-mqtt3as\.so\.1|libcjson\.so\.1|libcbor\.so\.[0-9.]+)$'
if [[ $gpiod_linked == ON ]]; then
    allowed="${allowed%)\$}|libgpiod\\.so\\.[0-9]+)\$"
fi
if [[ $static_cxx != ON ]]; then
    # Sanitizer builds link the C++ runtime as a shared library (TETHER_AGENT_STATIC_LIBSTDCXX=OFF).
    allowed="${allowed%)\$}|libstdc\\+\\+\\.so\\.6|libm\\.so\\.6|libgcc_s\\.so\\.1)\$"
fi
extra=$(grep -Ev "$allowed" <<<"$needed" || true)
[[ -z $extra ]] || fail "tether-agent needs $(tr '\n' ' ' <<<"$extra")which it should not map (docs/memory.md, Linux RSS)"
echo "agent_libraries_test: ok"
