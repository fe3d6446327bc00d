#!/usr/bin/env bash
# make-sysroot.sh ARCH [DIR]
#
# Builds a private cross-compilation sysroot for ARCH (arm64 or armhf) from
# Debian .deb files: `apt-get download <pkg>:ARCH` + `dpkg -x`. Nothing is
# installed for ARCH on the host (no multiarch co-installation, so the host's
# package versions are never touched).
#
#   DIR      default: <repo>/.sysroot/<ARCH>
#   cache    <DIR's parent>/.debs-<ARCH>   downloaded .debs
#            <DIR's parent>/.apt-<ARCH>    private apt state (package lists)
#
# apt runs with a private state/cache directory and APT::Architectures=ARCH,
# using the host's own sources, keys and apt.conf (proxy ...). So the host's
# dpkg architecture list and /var/lib/apt are left alone: a foreign-arch index
# that the mirror serves inconsistently (seen with armhf) cannot make the
# host's own `apt-get update` fail. No root needed.
#
# Environment:
#   TETHER_SYSROOT_EXTRA_PACKAGES  extra package names (space separated) to add
#   TETHER_SYSROOT_FORCE=1         rebuild even if DIR/.complete matches
#
# DIR/var/lib/dpkg is a dpkg database of the packages (status, file lists, shlibs, symbols):
# DPKG_ADMINDIR=DIR/var/lib/dpkg dpkg-shlibdeps -lDIR/usr/lib/<triplet> gives a cross-built
# binary's Depends (examples/linux-agent's CPack package does so).
#
# The result uses the merged-/usr layout (DIR/lib -> usr/lib, same for bin, sbin,
# lib64 ...), has every absolute symlink rewritten to a relative one that stays
# inside DIR, and carries DIR/.complete listing the requested packages: running
# the script again with the same list does nothing. Used by
# toolchains/aarch64-linux-gnu.cmake and toolchains/arm-linux-gnueabihf.cmake.
set -euo pipefail

# Bump when the post-processing below changes, so that old sysroots get rebuilt.
LAYOUT_VERSION=4

usage() {
    echo "usage: $0 arm64|armhf [DIR]" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
ARCH=$1
case "$ARCH" in
    arm64) TRIPLET=aarch64-linux-gnu ;;
    armhf) TRIPLET=arm-linux-gnueabihf ;;
    -h|--help) usage ;;
    *) echo "make-sysroot.sh: unsupported ARCH '$ARCH' (use arm64 or armhf)" >&2; exit 2 ;;
esac

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
DIR=${2:-$REPO_ROOT/.sysroot/$ARCH}
mkdir -p "$(dirname "$DIR")"
DIR=$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")
PARENT=$(dirname "$DIR")
CACHE=$PARENT/.debs-$ARCH
APT_DIR=$PARENT/.apt-$ARCH

# Explicit package list (names as in Debian 12 "bookworm"). Runtime + -dev of
# every library the SDK links, plus the C runtime and the libraries those pull
# in (OpenSSL/libtirpc -> Kerberos). Kept explicit on purpose: no dependency
# solver, so the sysroot is exactly this list.
PACKAGES=(
    # C/C++ runtime and headers
    libc6 libc6-dev libstdc++6 libgcc-s1 linux-libc-dev
    libcrypt1 libcrypt-dev libnsl2 libnsl-dev libtirpc3 libtirpc-dev
    # Kerberos runtime pulled in by libtirpc3 (libgssapi-krb5-2) and friends
    libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
    # OpenSSL
    libssl-dev libssl3
    # Paho MQTT C and C++
    libpaho-mqtt-dev libpaho-mqtt1.3 libpaho-mqttpp-dev libpaho-mqttpp3-1
    # mbedTLS 2.28
    libmbedtls-dev libmbedtls14 libmbedx509-1 libmbedcrypto7
    # cJSON
    libcjson-dev libcjson1
    # libcbor (CBOR Defender reports in tether::metrics; optional at build time)
    libcbor-dev libcbor0.8
    # Catch2 v2 (headers + CMake config + target-arch libCatch2WithMain.a)
    catch2
    # PKCS#11: libp11 and the p11-kit header/runtime (libffi8 is p11-kit's dep)
    libp11-dev libp11-3 libp11-kit-dev libp11-kit0 libffi8
    # libgpiod 1.6 (tether-agent's GPIO lines; the library Raspberry Pi OS bookworm has)
    libgpiod-dev libgpiod2
)
# shellcheck disable=SC2206
EXTRA=(${TETHER_SYSROOT_EXTRA_PACKAGES:-})
PACKAGES+=("${EXTRA[@]}")
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)

STAMP_CONTENT=$(printf 'layout %s\narch %s\n' "$LAYOUT_VERSION" "$ARCH"; printf '%s\n' "${PACKAGES[@]}")

DEGRADED_LINE="# degraded: apt-get update failed, retried on the next run"
RETRY_DEGRADED=0
if [[ "${TETHER_SYSROOT_FORCE:-0}" != 1 && -f "$DIR/.complete" ]]; then
    stamp=$(cat "$DIR/.complete")
    if [[ "$stamp" == "$STAMP_CONTENT" ]]; then
        echo "make-sysroot.sh: $DIR is up to date (${#PACKAGES[@]} packages)"
        exit 0
    elif [[ "$stamp" == "$STAMP_CONTENT"$'\n'"$DEGRADED_LINE" ]]; then
        RETRY_DEGRADED=1   # usable, but made from incomplete indexes
    fi
fi

log() { echo "make-sysroot.sh: [${SECONDS}s] $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb realpath; do
    command -v "$tool" >/dev/null || die "'$tool' not found (this script needs a Debian/Ubuntu host)"
done

# --- 1. private apt configuration for ARCH -----------------------------------
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$CACHE"
: >"$APT_DIR/status"   # empty dpkg status: nothing "installed" for ARCH
APT_OPTS=(
    -o "APT::Architecture=$ARCH"
    -o "APT::Architectures=$ARCH"
    -o "Dir::State=$APT_DIR"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::State::status=$APT_DIR/status"
    -o "Dir::Cache=$APT_DIR"
    -o "Dir::Cache::archives=$APT_DIR/archives"
    -o "APT::Sandbox::User=$(id -un)"   # no _apt user: it may not reach DIR
    -o "Debug::NoLocking=true"
    -o "Acquire::GzipIndexes=true"      # keep the lists compressed
    -o "Dir::Cache::pkgcache="          # caches built in memory: the
    -o "Dir::Cache::srcpkgcache="       # files would be ~40 MB each
)

# --- 2. package indexes -------------------------------------------------------
# apt-get update can "succeed" while an index failed (exit 0 + "W: Failed to
# fetch"), and armhf indexes were once served inconsistent for a while ("File
# has unexpected size ... Mirror sync in progress?"): check the output too.
apt_update_once() {
    local out rc=0
    out=$(apt-get "${APT_OPTS[@]}" update 2>&1) || rc=$?
    if [[ $rc -eq 0 ]] && ! grep -qE '^(E:|W: (Failed to fetch|Some index files))' <<<"$out"; then
        return 0
    fi
    log "apt-get update failed (rc=$rc):"
    grep -E '^(E|W):' <<<"$out" | head -n 5 >&2 || true
    return 1
}

download() {
    # apt-get download fetches each name's candidate version into the cwd.
    (cd "$CACHE" && apt-get "${APT_OPTS[@]}" download -q "${PACKAGES[@]/%/:$ARCH}")
}

log "apt-get update (arch $ARCH)"
index_ok=0
if [[ $RETRY_DEGRADED -eq 1 ]]; then
    # One try only: while the mirror stays inconsistent, keep the usable sysroot.
    if ! apt_update_once; then
        log "warning: package indexes still incomplete; keeping $DIR as it is"
        exit 0
    fi
    index_ok=1
fi
for attempt in 1 2 3; do
    [[ $index_ok -eq 1 ]] && break
    if apt_update_once; then index_ok=1; break; fi
    [[ $attempt -lt 3 ]] && { log "retrying apt-get update in $((attempt * 10))s"; sleep $((attempt * 10)); }
done
if [[ $index_ok -ne 1 ]]; then
    log "warning: apt-get update kept failing; using the package indexes apt still has."
    log "warning: the sysroot may miss recent (security) updates; the next run tries again."
fi

log "apt-get download of ${#PACKAGES[@]} packages"
ok=0
for attempt in 1 2 3; do
    if download; then ok=1; break; fi
    log "apt-get download attempt $attempt failed"
    if [[ $attempt -lt 3 ]]; then
        sleep $((attempt * 10))
        if apt_update_once; then index_ok=1; fi
    fi
done
[[ $ok -eq 1 ]] || die "could not download packages for $ARCH"

# Pick, for every requested package, the .deb of its current candidate version
# (the cache may hold older versions from earlier runs).
# One apt-cache call for all of them (each call costs about a second).
declare -A CANDIDATE=()
while read -r pkg ver; do
    CANDIDATE["$pkg"]=$ver
done < <(apt-cache "${APT_OPTS[@]}" policy "${PACKAGES[@]/%/:$ARCH}" \
    | awk '/^[^ ].*:$/ {sub(/:$/, ""); sub(/:[^:]*$/, ""); p=$0} /^  Candidate:/ {print p, $2}')
DEBS=()
for pkg in "${PACKAGES[@]}"; do
    ver=${CANDIDATE[$pkg]:-}
    [[ -n "$ver" && "$ver" != "(none)" ]] || die "no candidate for $pkg:$ARCH"
    ver_file=${ver//:/%3a}           # epochs are url-encoded in file names
    deb=$(compgen -G "$CACHE/${pkg}_${ver_file}_*.deb" | head -n 1 || true)
    [[ -n "$deb" ]] || die "downloaded file for $pkg:$ARCH $ver not found in $CACHE"
    DEBS+=("$deb")
done
# Drop stale versions so the cache does not grow forever.
for f in "$CACHE"/*.deb; do
    keep=0
    for d in "${DEBS[@]}"; do [[ "$f" == "$d" ]] && { keep=1; break; }; done
    [[ $keep -eq 1 ]] || rm -f -- "$f"
done

# --- 3. extract into a fresh tree, then swap it in ---------------------------
log "extracting ${#DEBS[@]} packages"
TMP="$DIR.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP" "$TMP.ctrl"' EXIT

: >"$TMP/.packages"
# A dpkg database of the extracted packages in DIR/var/lib/dpkg (status, file lists, shlibs and
# symbols files), for dpkg-shlibdeps with DPKG_ADMINDIR pointing at it: the cross builds' CPack
# packages get their Depends from the target's libraries. The file lists name the files where they
# are in DIR (absolute paths, both the package's and the merged-/usr one), as dpkg-shlibdeps -l finds
# them: a sysroot moved elsewhere must be made again.
ADMIN=$TMP/var/lib/dpkg
mkdir -p "$ADMIN/info" "$ADMIN/updates"
: >"$ADMIN/status"
for deb in "${DEBS[@]}"; do
    dpkg-deb -x "$deb" "$TMP"
    pkg=$(dpkg-deb -f "$deb" Package)
    printf '%s %s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" >>"$TMP/.packages"
    { dpkg-deb -f "$deb"; printf 'Status: install ok installed\n\n'; } >>"$ADMIN/status"
    ctrl="$TMP.ctrl"
    rm -rf "$ctrl"
    dpkg-deb -e "$deb" "$ctrl"
    for f in shlibs symbols; do
        [[ -f "$ctrl/$f" ]] && cp "$ctrl/$f" "$ADMIN/info/$pkg.$f"
    done
    rm -rf "$ctrl"
    # dpkg-deb -c: "./usr/lib/x" (or "./lib/x -> target"); dpkg's database format 0: <pkg>.list
    dpkg-deb -c "$deb" | awk -v dir="$DIR" '{
        p = substr($6, 2); if (p == "/" || p == "") next; sub(/\/$/, "", p)
        print dir p
        if (p ~ /^\/(bin|sbin|lib|lib32|lib64|libx32)(\/|$)/) print dir "/usr" p
    }' >"$ADMIN/info/$pkg.list"
done

# --- 4. symlinks: make every target sysroot-absolute, merge /usr, relativise --
log "fixing symlinks, merging /usr"
# a) Record each symlink's target as an absolute path *inside the sysroot*.
declare -A LINK_TARGET=()
while IFS= read -r -d '' link; do
    rel=${link#"$TMP"}
    tgt=$(readlink "$link")
    if [[ "$tgt" == /* ]]; then
        abs=$tgt
    else
        abs=$(realpath -ms "$(dirname "$rel")/$tgt")
    fi
    LINK_TARGET["$rel"]=$abs
done < <(find "$TMP" -type l -print0)

# b) Merged /usr: move top-level bin, sbin, lib* into usr/ and leave symlinks.
usr_path() {  # map a sysroot-absolute path to its merged-/usr location
    case "$1" in
        /bin|/bin/*|/sbin|/sbin/*|/lib|/lib/*|/lib32|/lib32/*|/lib64|/lib64/*|/libx32|/libx32/*)
            echo "/usr$1" ;;
        *) echo "$1" ;;
    esac
}
for top in bin sbin lib lib32 lib64 libx32; do
    src="$TMP/$top"
    [[ -d "$src" && ! -L "$src" ]] || continue
    mkdir -p "$TMP/usr/$top"
    # cp -a merges directory trees; files never collide in Debian's packages.
    cp -a "$src/." "$TMP/usr/$top/"
    rm -rf "$src"
    ln -s "usr/$top" "$src"
done

# c) Rewrite every recorded symlink (at its new place) as a relative link.
for rel in "${!LINK_TARGET[@]}"; do
    newrel=$(usr_path "$rel")
    link="$TMP$newrel"
    [[ -L "$link" ]] || continue
    target=$(usr_path "${LINK_TARGET[$rel]}")
    relt=$(realpath -ms --relative-to="$(dirname "$TMP$newrel")" "$TMP$target")
    ln -sfn "$relt" "$link"
done

# --- 5. fix-ups for package files that hard-code /usr ------------------------
# cJSON's CMake export hard-codes /usr/include and /usr/lib/<triplet>/...: make
# it relative to the config file so find_package(cJSON) works in the sysroot.
# (Paho C, Paho C++ and Catch2 configs are already relocatable.)
for f in "$TMP"/usr/lib/"$TRIPLET"/cmake/cJSON/*.cmake; do
    [[ -f "$f" ]] || continue
    grep -q '"/usr' "$f" || continue
    # cmake/cJSON -> cmake -> <triplet> -> lib -> usr  (CMake, not shell, expands ${...})
    # shellcheck disable=SC2016
    sed -i -e 's|"/usr/|"${_tether_cjson_usr}/|g' -e 's|"/usr"|"${_tether_cjson_usr}"|g' \
           -e '1i get_filename_component(_tether_cjson_usr "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE) # make-sysroot.sh' \
           "$f"
done

# --- 6. sanity check: every DT_NEEDED of the shared libraries resolves -------
log "checking shared-library dependencies"
READELF=$(command -v "$TRIPLET-readelf" || command -v readelf || true)
if [[ -n "$READELF" ]]; then
    missing=()
    while IFS= read -r -d '' so; do
        while IFS= read -r need; do
            if [[ ! -e "$TMP/usr/lib/$TRIPLET/$need" && ! -e "$TMP/usr/lib/$need" ]]; then
                missing+=("$need (needed by ${so#"$TMP"})")
            fi
        done < <("$READELF" -d "$so" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    done < <(find "$TMP/usr/lib/$TRIPLET" -maxdepth 1 -type f -name '*.so*' -print0)
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "warning: unresolved shared-library dependencies in the sysroot:"
        printf '  %s\n' "${missing[@]}" | sort -u >&2
    fi
fi

# A sysroot made from incomplete indexes is usable, but its stamp does not
# match, so the next run tries again.
if [[ $index_ok -eq 1 ]]; then
    printf '%s\n' "$STAMP_CONTENT" >"$TMP/.complete"
else
    printf '%s\n%s\n' "$STAMP_CONTENT" "$DEGRADED_LINE" >"$TMP/.complete"
fi

rm -rf "$DIR"
mv "$TMP" "$DIR"
trap - EXIT
log "sysroot for $ARCH ($TRIPLET) ready in $DIR ($(du -sh "$DIR" | cut -f1), ${#PACKAGES[@]} packages)"
