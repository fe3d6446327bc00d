#!/usr/bin/env bash
# Regenerates the footprint figures in docs/memory.md (issue "Footprint"), each between its markers:
#   m4     the Cortex-M4 library table (scripts/size-table.sh --update, <!-- size-table -->), the
#          linked footprint images of examples/bare-metal/footprint.cpp with the default limits and
#          with the "small MCU" limits below: text/data/bss, who brought the bytes (link map), the
#          RAM of each static object (<!-- footprint-m4 -->)
#   armhf  the armhf library table (scripts/size-table.sh --update, <!-- size-table-armhf -->)
#   rss    resident memory of tether-agent next to raw Paho MQTT C (scripts/bench.sh footprint,
#          <!-- footprint-rss -->)
#
# Usage: scripts/footprint.sh [m4] [armhf] [rss]      (default: all three)
#
# Build trees: ${TETHER_FOOTPRINT_BUILD:-build/footprint}-{m4,m4-small,m4-lean,armhf,minsize}, configured
# from the presets cortex-m4, cortex-m4-lean, armhf and minsize (never the trees CI and
# scripts/test.sh use).
# Needs what scripts/install-deps.sh all installs (the cross compilers; the armhf sysroot is made by
# scripts/make-sysroot.sh armhf; cJSON's source by scripts/fetch-cjson-source.sh).
# Environment: TETHER_JOBS (parallel build jobs, default: all cores), TETHER_FOOTPRINT_RSS_ROUNDS
# (rounds of bench-footprint for rss, default 9).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"
prefix=${TETHER_FOOTPRINT_BUILD:-build/footprint}
jobs=${TETHER_JOBS:-$(nproc)}
doc=docs/memory.md
log() { echo "footprint: $*" >&2; }
die() { echo "footprint: error: $*" >&2; exit 1; }

# The "small MCU" limits (docs/memory.md, docs/configuration.md): one 1 KiB-record queue stream, a
# 1 KiB shadow document, small metrics tables and commands journal. Passed as CXXFLAGS on the first
# configure (docs/porting.md, "Capacities"): the libraries and the firmware must agree on them.
readonly SMALL_MCU_LIMITS="-DTETHER_MAX_RECORD=1024 -DTETHER_MAX_STREAMS=1 -DTETHER_MAX_QUEUE_SEGMENTS=8 \
-DTETHER_MAX_QUEUE_INFLIGHT=8 -DTETHER_SHADOW_STATE_BYTES=1024 -DTETHER_SHADOW_MAX_HANDLERS=4 \
-DTETHER_METRICS_REPORT_BYTES=2048 -DTETHER_METRICS_MAX_VIOLATIONS=4 -DTETHER_METRICS_MAX_PORTS=4 \
-DTETHER_METRICS_MAX_CONNECTIONS=4 -DTETHER_METRICS_MAX_INTERFACES=2 -DTETHER_METRICS_MAX_HARDWARE=2 \
-DTETHER_COMMANDS_JOURNAL=4 -DTETHER_COMMANDS_MAX_RUNNING=1 -DTETHER_COMMANDS_MAX_DETAILS=256 \
-DTETHER_MAX_PATH=64 -DTETHER_MAX_JSON_INPUT=4096 -DTETHER_MAX_TIMERS=4 -DTETHER_MAX_SUBSCRIPTIONS=16 \
-DTETHER_SUBSCRIPTION_FILTER_BYTES=1536"

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(m4 armhf rss)
for p in "${parts[@]}"; do
  case ${p} in m4|armhf|rss) ;; *) die "unknown part '${p}' (parts: m4 armhf rss)" ;; esac
done
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }

# Replaces what stands between <!-- NAME:begin --> and <!-- NAME:end --> in docs/memory.md by stdin.
replace_section() {
  local name=$1 body
  body=$(cat)
  python3 - "${doc}" "${name}" "${body}" <<'PY'
import re, sys
path, name, body = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
new, n = re.subn(re.escape(begin) + r".*?" + re.escape(end), lambda m: begin + "\n" + body + "\n" + end, text,
                 flags=re.S)
if n != 1:
    sys.exit(f"footprint: {path} needs exactly one {begin} ... {end} pair")
open(path, "w").write(new)
PY
  log "updated <!-- ${name} --> in ${doc}"
}

# configure (every time, so that a changed preset reaches an existing tree) + build; remaining
# arguments: targets (none: all).
build() {
  local preset=$1 dir=$2
  shift 2
  log "configuring ${dir} (preset ${preset})"
  cmake --preset "${preset}" -B "${dir}" >/dev/null
  log "building ${dir} $*"
  if [[ $# -gt 0 ]]; then
    cmake --build "${dir}" -j "${jobs}" --target "$@" >/dev/null
  else
    cmake --build "${dir}" -j "${jobs}" >/dev/null
  fi
}

# text data bss of an ELF file.
elf_size() { arm-none-eabi-size "$1" | awk 'NR == 2 { print $1, $2, $3 }'; }

# Bytes of the Tether libraries, cJSON and the C/C++ runtime in a link map: "tether cjson runtime".
shares() {
  python3 scripts/link-map-sizes.py "$1" | awk '
    $1 ~ /^libtether_/ { t += $2 }
    $1 == "libmps2_cjson.a" { c += $2 }
    $1 ~ /^lib(c|m|g|gcc|stdc\+\+|supc\+\+|nosys|rdimon)(_nano)?\.a$/ { r += $2 }
    END { print t + 0, c + 0, r + 0 }'
}

# "name size" of each static object of footprint.cpp's run() (nm -S: the symbol's size = sizeof).
objects() {
  local name hex
  arm-none-eabi-nm -S -C "$1" | awk '
    $3 ~ /^[bBdD]$/ && /\(anonymous namespace\)::run\(\)::[a-z_]+$/ { name = $NF; sub(/.*::/, "", name); print name, $2 }' |
    while read -r name hex; do echo "${name} $((16#${hex}))"; done
}

m4_section() {
  local big=$1 small=$2 lean=$3 img t d b td ts tb tl name
  local -A size_default size_small
  echo "Measured by \`scripts/footprint.sh m4\` (preset cortex-m4: $(arm-none-eabi-gcc --version | head -n 1),"
  echo "\`-Os\`, \`-ffunction-sections -fdata-sections\`, linked with \`--gc-sections\`, newlib-nano with"
  echo "\`-u _printf_float\`). Images of \`examples/bare-metal/footprint.cpp\` for the mps2-an386 board; each"
  echo "runs to its end on QEMU. \"small MCU\" is the same source with the libraries and the image built with:"
  echo
  echo "\`${SMALL_MCU_LIMITS//  / }\`"
  echo
  echo "\"lean\" is the default limits without error texts and log calls (preset cortex-m4-lean:"
  echo "\`-DTETHER_ERROR_TEXTS=0 -DTETHER_LOG_LEVEL=-1\`; every Status the same, docs/porting.md)."
  echo
  echo "| image | what it links | text | data | bss | text, small MCU | bss, small MCU | text, lean |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for img in agent core full; do
    read -r t d b < <(elf_size "${big}/footprint-${img}.elf")
    read -r ts _ tb < <(elf_size "${small}/footprint-${img}.elf")
    read -r tl _ _ < <(elf_size "${lean}/footprint-${img}.elf")
    case ${img} in
      agent) name="Agent (connection manager, publish, subscribe, timers)" ;;
      core) name="+ OfflineQueue (RamLogStore, 8 KiB), Shadow, commands Inbox + Jobs, metrics Reporter" ;;
      full) name="+ parse_config() and commands::Builtins (reboot, set-config)" ;;
    esac
    echo "| footprint-${img} | ${name} | ${t} | ${d} | ${b} | ${ts} | ${tb} | ${tl} |"
  done
  echo
  echo "Where the text of footprint-core (default limits) comes from (link map, scripts/link-map-sizes.py):"
  echo
  python3 scripts/link-map-sizes.py "${big}/footprint-core.map" --markdown
  read -r t d b < <(shares "${big}/footprint-core.map")
  read -r td _ _ < <(shares "${big}/footprint-agent.map")
  echo
  echo "Tether's libraries: ${t} B of footprint-core's text (${td} B in footprint-agent); cJSON: ${d} B (only its"
  echo "parser is linked: Tether writes JSON itself); the C and C++ runtime (newlib-nano, libgcc, libm, stdio"
  echo "over semihosting): ${b} B, mostly printf with floating point and strtod."
  echo
  echo "RAM of footprint-core: every Tether object is a static, so .data + .bss is the agent's RAM but for the"
  echo "stack and cJSON's heap while it parses a document. Sizes of the objects (\`arm-none-eabi-nm -S\`):"
  echo
  echo "| object | default limits | small MCU |"
  echo "|---|---:|---:|"
  while read -r name t; do size_default[${name}]=${t}; done < <(objects "${big}/footprint-core.elf")
  while read -r name t; do size_small[${name}]=${t}; done < <(objects "${small}/footprint-core.elf")
  for name in config agent queue queue_storage queue_store shadow inbox jobs reporter; do
    echo "| \`${name}\` | ${size_default[${name}]:-?} | ${size_small[${name}]:-?} |"
  done
  read -r _ d b < <(elf_size "${big}/footprint-core.elf")
  read -r _ ts tb < <(elf_size "${small}/footprint-core.elf")
  echo "| **.data + .bss of the image** | **$((d + b))** | **$((ts + tb))** |"
}

if wants m4; then
  scripts/fetch-cjson-source.sh >&2
  build cortex-m4 "${prefix}-m4"
  scripts/size-table.sh --update "${prefix}-m4"
  if [[ ! -f ${prefix}-m4-small/build.ninja ]]; then
    log "configuring ${prefix}-m4-small (preset cortex-m4, small MCU limits)"
    CXXFLAGS="${SMALL_MCU_LIMITS}" cmake --preset cortex-m4 -B "${prefix}-m4-small" >/dev/null
  fi
  build cortex-m4 "${prefix}-m4-small" tether_footprint_agent tether_footprint_core tether_footprint_full
  build cortex-m4-lean "${prefix}-m4-lean" tether_footprint_agent tether_footprint_core tether_footprint_full
  for tree in "${prefix}-m4" "${prefix}-m4-small" "${prefix}-m4-lean"; do
    for img in agent core full; do
      scripts/run-qemu-m4.sh --timeout 60 "${tree}/examples/bare-metal/footprint-${img}.elf" >&2 \
        || die "${tree}/examples/bare-metal/footprint-${img}.elf did not run to its end"
    done
  done
  m4_section "${prefix}-m4/examples/bare-metal" "${prefix}-m4-small/examples/bare-metal" \
    "${prefix}-m4-lean/examples/bare-metal" | replace_section footprint-m4
fi

if wants armhf; then
  scripts/make-sysroot.sh armhf >&2
  log "configuring ${prefix}-armhf (preset armhf)"
  cmake --preset armhf -B "${prefix}-armhf" >/dev/null
  # The libraries only (the tests and examples are not measured).
  mapfile -t archives < <(ninja -C "${prefix}-armhf" -t targets all | sed -n 's/^\([^:]*libtether_[a-z_0-9]*\.a\):.*/\1/p' \
    | grep -v -e libtether_test_ -e libtether_bench_)
  log "building ${#archives[@]} libraries in ${prefix}-armhf"
  ninja -C "${prefix}-armhf" -j "${jobs}" "${archives[@]}" >/dev/null
  scripts/size-table.sh --update "${prefix}-armhf"
fi

if wants rss; then
  # Nine rounds, not the bench's three: single runs of the agent vary by about 200 kB (how the kernel
  # maps the pages of cached libraries around the ones touched), the gap to the goal is smaller.
  out=$(TETHER_BENCH_MINSIZE_BUILD_DIR="${root}/${prefix}-minsize" scripts/bench.sh footprint \
    --rounds "${TETHER_FOOTPRINT_RSS_ROUNDS:-9}")
  echo "${out}"
  {
    echo "Measured by \`scripts/footprint.sh rss\` (\`scripts/bench.sh footprint\`, minsize preset as the packages are built, $(uname -m),"
    echo "the local TLS mosquitto and tools/cloudsim):"
    echo
    # The rounds' range, then both tables of the bench (processes, then resident kB per mapping),
    # each with its header.
    echo "${out}" | sed -n '/^The round with the median/p'
    echo
    echo "${out}" | awk '/^\|/ { print; table = 1; next } table { print ""; table = 0 }'
    echo
    echo '```'
    echo "${out}" | sed -n '/^goal: /p; /^BENCH /p'
    echo '```'
  } | replace_section footprint-rss
fi
