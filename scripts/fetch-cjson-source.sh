#!/usr/bin/env bash
# Fetches and unpacks Debian's source of cJSON (the version of the host's libcjson-dev, Debian
# patches applied) for the bare-metal unit tests: on a microcontroller the firmware compiles cJSON
# itself, and so do tests/bare-metal (preset cortex-m4-qemu).
#
# Usage: scripts/fetch-cjson-source.sh [DIR]     (default: <repo>/.sysroot/cjson)
#
# Leaves the machine's apt configuration alone: a private deb-src list, derived from the machine's
# own apt sources for its Debian release, and private index and cache directories in a temporary
# directory. apt checks the downloaded files against the signed Sources index. No root needed.
# Idempotent: does nothing when DIR already holds that version.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-${root}/.sysroot/cjson}
log() { echo "fetch-cjson-source: $*"; }
die() { echo "fetch-cjson-source: error: $*" >&2; exit 1; }

version=$(dpkg-query -W -f='${source:Version}' libcjson-dev 2>/dev/null) \
  || die "libcjson-dev is not installed (scripts/install-deps.sh host)"
if [[ -f ${dest}/.complete && $(cat "${dest}/.complete") == "${version}" && -f ${dest}/cJSON.c ]]; then
  log "cJSON ${version} already in ${dest}"
  exit 0
fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n ${codename} ]] || die "cannot tell the Debian release (/etc/os-release has no VERSION_CODENAME)"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/lists/partial" "${work}/cache/archives/partial" "${work}/parts" "${work}/src"

# deb-src twins of the machine's sources for this release (<codename>, <codename>-updates,
# <codename>-security, ...): deb822 .sources files and one-line .list files.
for file in /etc/apt/sources.list.d/*.sources; do
  [[ -r ${file} ]] || continue
  awk -v want="${codename}" '
    function flush(  i, n, s, keep) {
      if (types ~ /(^| )deb( |$)/ && uri != "") {
        n = split(suites, s, /[ \t]+/); keep = ""
        for (i = 1; i <= n; i++) if (s[i] == want || index(s[i], want "-") == 1) keep = keep " " s[i]
        if (keep != "") {
          printf "Types: deb-src\nURIs: %s\nSuites:%s\nComponents: %s\n", uri, keep, comps
          if (signed != "") printf "Signed-By: %s\n", signed
          printf "\n"
        }
      }
      types = suites = uri = comps = signed = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
    /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
    /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uri = $0 }
    /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
    /^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); signed = $0 }
    END { flush() }
  ' "${file}" >>"${work}/parts/release.sources"
done
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [[ -r ${file} ]] || continue
  awk -v want="${codename}" '
    $1 == "deb" {
      i = 2
      if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      suite = $(i + 1)
      if (suite == want || index(suite, want "-") == 1) { sub(/^deb/, "deb-src"); print }
    }
  ' "${file}" >>"${work}/parts/release.list"
done
[[ -s ${work}/parts/release.sources || -s ${work}/parts/release.list ]] \
  || die "no apt source serves '${codename}': add the Debian archive to the apt sources"

apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="${work}/parts"
          -o Dir::State::Lists="${work}/lists" -o Dir::Cache="${work}/cache" -o APT::Sandbox::User=root)
log "reading the deb-src indexes of ${codename}"
ok=false
for attempt in 1 2 3; do
  if apt-get "${apt_opts[@]}" -qq update; then ok=true; break; fi
  log "apt-get update failed (attempt ${attempt}/3)"
  sleep $((attempt * 5))
done
${ok} || die "cannot read the deb-src indexes"
log "downloading cjson ${version}"
(cd "${work}/src" && apt-get "${apt_opts[@]}" -qq source "cjson=${version}" >/dev/null) \
  || die "apt-get source cjson=${version} failed"

unpacked=$(find "${work}/src" -mindepth 1 -maxdepth 1 -type d -name 'cjson-*' | head -n 1)
[[ -n ${unpacked} && -f ${unpacked}/cJSON.c ]] || die "the cjson source has no cJSON.c"
rm -rf "${dest}"
mkdir -p "${dest}"
cp "${unpacked}/cJSON.c" "${unpacked}/cJSON.h" "${unpacked}/LICENSE" "${dest}/"
echo "${version}" >"${dest}/.complete"
log "cJSON ${version} in ${dest}"
