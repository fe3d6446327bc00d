#!/usr/bin/env bash
# Code size of Tether's libraries for a bare-metal build (text/data/bss per library and object).
#
# Usage: scripts/size-table.sh [--print|--check|--update] BUILD_DIR   (default --print)
#   --print   print the table (markdown)
#   --update  rewrite the table in docs/memory.md (between the size-table markers)
#   --check   print, then fail if any library's text grew more than 5% over docs/memory.md
#             (update the table in the same change when growth is intended)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=--print
if [[ $# -gt 0 && $1 == --* ]]; then mode=$1; shift; fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--print|--check|--update] BUILD_DIR" >&2; exit 2; }
build=$1
size_tool=${ARM_SIZE:-arm-none-eabi-size}
command -v "${size_tool}" >/dev/null || { echo "size-table: ${size_tool} not found (scripts/install-deps.sh cross)" >&2; exit 1; }
doc="${root}/docs/memory.md"

libs=()
while IFS= read -r lib; do libs+=("${lib}"); done < <(find "${build}" -name 'libtether_*.a' | sort)
[[ ${#libs[@]} -gt 0 ]] || { echo "size-table: no libtether_*.a under ${build}" >&2; exit 1; }

table() {
  echo "| library | object | text | data | bss |"
  echo "|---|---|---:|---:|---:|"
  local lib name
  for lib in "${libs[@]}"; do
    name=$(basename "${lib}" .a)
    name=${name#lib}
    "${size_tool}" -t "${lib}" | awk -v lib="${name}" '
      NR > 1 && $6 != "(TOTALS)" { obj = $6; sub(/\.obj$/, "", obj); printf "| %s | %s | %d | %d | %d |\n", lib, obj, $1, $2, $3 }
      $6 == "(TOTALS)" { printf "| **%s** | **total** | **%d** | **%d** | **%d** |\n", lib, $1, $2, $3 }'
  done
}

current=$(table)
compiler=$(arm-none-eabi-gcc --version | head -n 1)
flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -fno-exceptions -fno-rtti"

case "${mode}" in
  --print)
    echo "${current}"
    ;;
  --update)
    block=$(printf '<!-- size-table:begin -->\nCompiler: %s; flags: `%s`.\n\n%s\n<!-- size-table:end -->' "${compiler}" "${flags}" "${current}")
    python3 - "${doc}" "${block}" <<'PY'
import re, sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
new, n = re.subn(r"<!-- size-table:begin -->.*?<!-- size-table:end -->", lambda m: block, text, flags=re.S)
if n != 1:
    sys.exit(f"size-table: {path} needs exactly one size-table marker pair")
open(path, "w").write(new)
PY
    echo "size-table: updated ${doc}"
    ;;
  --check)
    echo "${current}"
    status=0
    while IFS='|' read -r _ lib _ text _; do
      lib=$(echo "${lib}" | tr -d ' *')
      text=$(echo "${text}" | tr -d ' *')
      recorded=$(grep -E "^\| \*\*${lib}\*\* \| \*\*total\*\*" "${doc}" | awk -F'|' '{gsub(/[ *]/, "", $4); print $4}')
      if [[ -z ${recorded} ]]; then
        echo "size-table: ${lib} is not in docs/memory.md: run scripts/size-table.sh --update ${build}" >&2
        status=1
      elif (( text * 100 > recorded * 105 )); then
        echo "size-table: ${lib} text grew from ${recorded} to ${text} bytes (> 5%): update docs/memory.md" >&2
        status=1
      else
        echo "size-table: ${lib} text ${text} bytes (recorded ${recorded})"
      fi
    done < <(echo "${current}" | grep -F '**total**')
    exit "${status}"
    ;;
  *) echo "usage: $0 [--print|--check|--update] BUILD_DIR" >&2; exit 2 ;;
esac
