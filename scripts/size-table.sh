#!/usr/bin/env bash
# Code size of Tether's libraries (text/data/bss per library and object) for a Cortex-M4 or an armhf
# build tree, as a markdown table in docs/memory.md.
#
# Usage: scripts/size-table.sh [--print|--check|--update] [--target cortex-m4|armhf] BUILD_DIR
#   --print   print the table (markdown; default)
#   --update  rewrite the target's table in docs/memory.md (between its markers:
#             <!-- size-table:begin/end --> for cortex-m4, <!-- size-table-armhf:begin/end --> for armhf)
#   --check   print, then fail if any library's text grew more than 5% over the target's table in
#             docs/memory.md (update the table in the same change when growth is intended)
#   --target  which table; without it the target is the build tree's C++ compiler (CMake's
#             CMakeFiles/<version>/CMakeCXXCompiler.cmake): arm-none-eabi-* is cortex-m4,
#             arm-linux-gnueabihf-* is armhf
#
# The compiler line and the flags above each table come from the build tree (the compiler CMake
# found and compile_commands.json), so they say how the measured objects were really compiled. Test-only
# libraries (tether_test_*, tether_bench_*) are left out.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: $0 [--print|--check|--update] [--target cortex-m4|armhf] BUILD_DIR" >&2; exit 2; }
mode=--print
target=""
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --print|--check|--update) mode=$1; shift ;;
    --target) [[ $# -ge 2 ]] || usage; target=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $# -eq 1 ]] || usage
build=$1
doc=${SIZE_TABLE_DOC:-${root}/docs/memory.md}
cache="${build}/CMakeCache.txt"
[[ -f ${cache} ]] || { echo "size-table: ${cache} not found (configure the build first)" >&2; exit 1; }
# The C++ compiler CMake found (set by the toolchain file, so not a cache entry).
cxx=$(sed -n 's/^set(CMAKE_CXX_COMPILER "\(.*\)")$/\1/p' "${build}"/CMakeFiles/*/CMakeCXXCompiler.cmake 2>/dev/null | head -n 1)

if [[ -z ${target} ]]; then
  case $(basename "${cxx}") in
    arm-none-eabi-*) target=cortex-m4 ;;
    arm-linux-gnueabihf-*) target=armhf ;;
    *) echo "size-table: cannot tell the target of ${build} (compiler '${cxx}'): pass --target" >&2; exit 2 ;;
  esac
fi
case ${target} in
  cortex-m4) prefix=arm-none-eabi-; marker=size-table ;;
  armhf) prefix=arm-linux-gnueabihf-; marker=size-table-armhf ;;
  *) usage ;;
esac
size_tool=${ARM_SIZE:-${prefix}size}
command -v "${size_tool}" >/dev/null || { echo "size-table: ${size_tool} not found (scripts/install-deps.sh cross)" >&2; exit 1; }
[[ -n ${cxx} ]] || cxx=${prefix}g++

libs=()
while IFS= read -r lib; do libs+=("${lib}"); done < <(find "${build}" -name 'libtether_*.a' \
  ! -name 'libtether_test_*' ! -name 'libtether_bench_*' | sort)
[[ ${#libs[@]} -gt 0 ]] || { echo "size-table: no libtether_*.a under ${build}" >&2; exit 1; }

table() {
  echo "| library | object | text | data | bss |"
  echo "|---|---|---:|---:|---:|"
  local lib name
  for lib in "${libs[@]}"; do
    name=$(basename "${lib}" .a)
    name=${name#lib}
    "${size_tool}" -t "${lib}" | awk -v lib="${name}" '
      NR > 1 && $6 != "(TOTALS)" { obj = $6; sub(/\.o(bj)?$/, "", obj); printf "| %s | %s | %d | %d | %d |\n", lib, obj, $1, $2, $3 }
      $6 == "(TOTALS)" { printf "| **%s** | **total** | **%d** | **%d** | **%d** |\n", lib, $1, $2, $3 }'
  done
}

# The flags the libraries were compiled with (compile_commands.json), without include paths,
# warnings, the sysroot and per-file arguments; libraries that share a set are listed together.
flags_text() {
  local names=()
  local lib name
  for lib in "${libs[@]}"; do
    name=$(basename "${lib}" .a)
    names+=("${name#lib}")
  done
  python3 - "${build}/compile_commands.json" "${names[@]}" <<'PY'
import json, shlex, sys
path, names = sys.argv[1], sys.argv[2:]
try:
    entries = json.load(open(path))
except OSError:
    print("flags: unknown (no compile_commands.json)")
    sys.exit(0)
groups = {}
for name in names:
    marker = "/" + name + ".dir/"
    for e in entries:
        words = e.get("arguments") or shlex.split(e["command"])
        out = e.get("output") or (words[words.index("-o") + 1] if "-o" in words else "")
        if marker not in "/" + out or not e["file"].endswith((".cpp", ".cc")):
            continue
        keep, skip = [], False
        for w in words[1:]:
            if skip:
                skip = False
                continue
            if w in ("-o", "-c", "-I", "-isystem", "-MF", "-MT", "-include"):
                skip = True
                continue
            if w.startswith(("-I", "-W", "--sysroot", "-MD", "-MF", "-MT", "-D_FILE_OFFSET_BITS", "-isystem")) \
                    or not w.startswith("-"):
                continue
            if w not in keep:
                keep.append(w)
        groups.setdefault(" ".join(keep), []).append(name)
        break
parts = ["`%s` (%s)" % (f, ", ".join(n)) for f, n in groups.items()]
print("flags: " + ("; ".join(parts) if len(groups) > 1 else "`%s`" % next(iter(groups), "")))
PY
}

header() {
  local compiler defaults
  compiler=$("${cxx}" --version | head -n 1)
  # The compiler's built-in target defaults (Debian's armhf gcc: --with-arch=..., --with-fpu=...).
  defaults=$("${cxx}" -v 2>&1 | grep -o -- '--with-\(arch\|cpu\|fpu\|float\|mode\)=[^ ]*' | sed 's/^--with-//' | paste -sd ' ' - || true)
  printf 'Compiler: %s' "${compiler}"
  [[ -z ${defaults} ]] || printf ' (built-in defaults: %s)' "${defaults}"
  printf '; %s.\n' "$(flags_text)"
}

current=$(table)

# The table between this target's markers in the document.
recorded_table() {
  awk -v b="<!-- ${marker}:begin -->" -v e="<!-- ${marker}:end -->" '
    $0 == b { on = 1; next } $0 == e { on = 0 } on' "${doc}"
}

case "${mode}" in
  --print)
    header
    echo
    echo "${current}"
    ;;
  --update)
    block=$(printf '<!-- %s:begin -->\n%s\n\n%s\n<!-- %s:end -->' "${marker}" "$(header)" "${current}" "${marker}")
    python3 - "${doc}" "${block}" "${marker}" <<'PY'
import re, sys
path, block, marker = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
pattern = re.escape("<!-- %s:begin -->" % marker) + r".*?" + re.escape("<!-- %s:end -->" % marker)
new, n = re.subn(pattern, lambda m: block, text, flags=re.S)
if n != 1:
    sys.exit(f"size-table: {path} needs exactly one <!-- {marker}:begin/end --> marker pair")
open(path, "w").write(new)
PY
    echo "size-table: updated the ${target} table in ${doc}"
    ;;
  --check)
    echo "${current}"
    recorded_all=$(recorded_table)
    [[ -n ${recorded_all} ]] || { echo "size-table: ${doc} has no ${target} table (<!-- ${marker}:begin -->): run $0 --update ${build}" >&2; exit 1; }
    status=0
    while IFS='|' read -r _ lib _ text _; do
      lib=$(echo "${lib}" | tr -d ' *')
      text=$(echo "${text}" | tr -d ' *')
      recorded=$(echo "${recorded_all}" | grep -E "^\| \*\*${lib}\*\* \| \*\*total\*\*" | awk -F'|' '{gsub(/[ *]/, "", $4); print $4}')
      if [[ -z ${recorded} ]]; then
        echo "size-table: ${lib} is not in the ${target} table of docs/memory.md: run scripts/size-table.sh --update ${build}" >&2
        status=1
      elif (( text * 100 > recorded * 105 )); then
        echo "size-table: ${target}: ${lib} text grew from ${recorded} to ${text} bytes (> 5%): update docs/memory.md (scripts/size-table.sh --update ${build})" >&2
        status=1
      else
        echo "size-table: ${target}: ${lib} text ${text} bytes (recorded ${recorded})"
      fi
    done < <(echo "${current}" | grep -F '**total**')
    exit "${status}"
    ;;
esac
