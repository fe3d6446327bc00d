#!/usr/bin/env bash
# The tether-agent Debian package as cpack builds it (no root needed): its file list holds the
# binary, the systemd unit and the configuration template, its control data the maintainer scripts
# that create the `tether` user, nothing of the SDK's own install rules, and the unit is sound.
# Usage: deb_contents_test.sh BUILD_DIR [ARCH [GPIOD_PACKAGE]]   (ARCH: the package's Debian
# architecture, default the host's; the cross builds pass arm64 or armhf. GPIOD_PACKAGE: libgpiod's
# runtime package where the agent loads it on first use (libgpiod 1.x), which the package must
# recommend rather than depend on)
set -euo pipefail
build_dir=$1
arch=${2:-$(dpkg --print-architecture)}
gpiod_package=${3:-}
out=$(mktemp -d "${TMPDIR:-/tmp}/tether-deb-XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "deb_contents_test: FAILED: $*" >&2; exit 1; }

cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
    { cat "$out/cpack.log" >&2; fail "cpack did not build the package"; }
shopt -s nullglob
debs=("$out"/tether-agent_*.deb)
[[ ${#debs[@]} -eq 1 ]] || { ls -l "$out" >&2; fail "expected one tether-agent_*.deb, found ${#debs[@]}"; }
deb=${debs[0]}
[[ $(dpkg-deb -f "$deb" Architecture) == "$arch" ]] || fail "Architecture is not $arch"
[[ $(dpkg-deb -f "$deb" Package) == tether-agent ]] || fail "Package is not tether-agent"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
echo "$files"
for want in ./usr/bin/tether-agent ./usr/lib/systemd/system/tether-agent.service ./etc/tether/agent.json.example; do
    grep -qx -- "$want" <<<"$files" || fail "$want is not in the package"
done
# tether-provision (first boot) is in the package whenever the build made it (a PKCS#11 build).
if [[ -x $build_dir/examples/provision/tether-provision ]]; then
    grep -qx -- ./usr/bin/tether-provision <<<"$files" || fail "tether-provision was built but is not in the package"
fi
if grep -q -- '/include/\|\.a$\|/cmake/\|\.pc$' <<<"$files"; then
    fail "the package holds SDK files: $(grep -- '/include/\|\.a$\|/cmake/\|\.pc$' <<<"$files" | head -3)"
fi
dpkg-deb -e "$deb" "$out/control"
[[ -x $out/control/postinst ]] || fail "no executable postinst"
grep -q 'adduser --system --quiet --group' "$out/control/postinst" || fail "postinst does not create the tether user"
grep -q 'try-restart tether-agent' "$out/control/postinst" || fail "postinst does not restart the service on upgrade"
[[ -x $out/control/postrm ]] || fail "no executable postrm"
# Everything the package puts in /etc is a conffile (dpkg keeps the admin's changes on upgrade).
for etc_file in $(grep '^\./etc/.*[^/]$' <<<"$files"); do
    grep -qx -- "${etc_file#.}" "$out/control/conffiles" 2>/dev/null || fail "${etc_file#.} is not a conffile"
done
! grep -q 'deluser' "$out/control/postrm" || fail "postrm deletes the tether user (its files in /etc/tether would be orphaned)"
for script in "$out/control/postinst" "$out/control/postrm"; do
    sh -n "$script" || fail "$(basename "$script") is not valid sh"
done
# The unit must be valid for systemd (the program path pointed at the extracted binary).
dpkg-deb -x "$deb" "$out/root"
unit=$out/root/usr/lib/systemd/system/tether-agent.service
# The unit as packaged: Type=notify with a watchdog (the agent speaks the notification protocol
# itself: no libsystemd in its Depends).
grep -qx 'Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -q '^WatchdogSec=' "$unit" || fail "no WatchdogSec= in the unit"
! grep -q 'libsystemd' <(dpkg-deb -f "$deb" Depends) || fail "the package depends on libsystemd"
if [[ -n $gpiod_package ]]; then
    ! grep -q 'libgpiod' <(dpkg-deb -f "$deb" Depends) || fail "the package depends on libgpiod, which the agent loads only for GPIO lines"
    [[ $(dpkg-deb -f "$deb" Recommends) == "$gpiod_package" ]] ||
        fail "the package recommends '$(dpkg-deb -f "$deb" Recommends)', expected '$gpiod_package'"
fi
for want in 'User=tether' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'StateDirectory=tether' \
            'RuntimeDirectory=tether' 'Restart=on-failure' 'RestartForceExitStatus=75'; do
    grep -qx -- "$want" "$unit" || fail "the unit lacks $want"
done
if command -v systemd-analyze >/dev/null; then
    sed "s|/usr/bin/tether-agent|$out/root/usr/bin/tether-agent|g" "$unit" >"$out/tether-agent.service"
    verify=$(systemd-analyze verify "$out/tether-agent.service" 2>&1) || fail "systemd-analyze verify: $verify"
    [[ -z $verify ]] || fail "systemd-analyze verify: $verify"
else
    echo "deb_contents_test: systemd-analyze not installed: the unit's syntax is not verified" >&2
fi
echo "deb_contents_test: $(basename "$deb"): binary, unit, template and maintainer scripts present and valid"
