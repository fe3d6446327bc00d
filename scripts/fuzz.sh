#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with Clang (ASan + UBSan) and runs each of them.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
#
#   SECONDS_PER_TARGET  how long each fuzzer runs (default: 30)
#   TARGET              config, json, topics, record, shadow, commands, jobs (default: all of them)
#
# Each fuzzer starts from a scratch copy of its seed corpus tests/fuzz/corpus/<target>/ (the repo
# is never written) and runs single-process. A crash, a sanitizer report or a broken invariant
# fails the script, which prints the reproducer path. To keep a finding as a regression test:
# minimise it (build/fuzz/tests/fuzz/fuzz_<target> -minimize_crash=1 -runs=10000 REPRODUCER),
# copy it into tests/fuzz/corpus/<target>/ under a name saying what it caught, and fix the bug;
# ctest (label fuzz-regression) replays that directory in every build.
#
# Environment: TETHER_JOBS (parallel build jobs, default: all cores), TETHER_FUZZ_OUT (where the
# scratch corpora, logs and reproducers go; default: a new temporary directory, kept on failure).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"

die() { echo "fuzz.sh: error: $*" >&2; exit 1; }
say() { printf '\n=== %s\n' "$*"; }

all_targets=(config json topics record shadow commands jobs metrics provisioning)
seconds=${1:-30}
[[ ${seconds} =~ ^[1-9][0-9]*$ ]] || die "SECONDS_PER_TARGET must be a positive integer, got '${seconds}'"
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" ${t} "* ]] || die "unknown target '${t}' (targets: ${all_targets[*]})"
done
jobs=${TETHER_JOBS:-$(nproc)}

# Largest input per target: a configuration file is small; JSON documents and topic lines smaller
# still keep the fuzzers fast (the parsers' own limits are checked by dedicated seeds).
max_len_of() {
  case "$1" in
    config) echo 8192 ;;
    json) echo 4096 ;;
    topics) echo 1024 ;;
    record) echo 4096 ;;
    shadow) echo 4096 ;;
    commands) echo 4096 ;;
    jobs) echo 4096 ;;
    metrics) echo 4096 ;;
    provisioning) echo 8192 ;;
  esac
}

command -v clang++ >/dev/null || die "clang++ not found (Debian: apt-get install clang)"
probe=$(mktemp -d)
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' >"${probe}/probe.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "${probe}/probe.cpp" -o "${probe}/probe" 2>"${probe}/err"; then
  cat "${probe}/err" >&2
  rm -rf "${probe}"
  die "clang++ cannot link -fsanitize=fuzzer: install the compiler-rt runtimes" \
      "(Debian: apt-get install libclang-rt-dev)"
fi
rm -rf "${probe}"

build=build/fuzz
say "configure ${build}"
cmake -S . -B "${build}" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DTETHER_FUZZ=ON -DTETHER_PORT_PAHO=OFF -DTETHER_BUILD_EXAMPLES=OFF -DTETHER_BUILD_BENCH=OFF \
  -DTETHER_BUILD_INTEGRATION_TESTS=OFF >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_${t}"); done
say "build ${build_targets[*]}"
cmake --build "${build}" -j "${jobs}" --target "${build_targets[@]}"

out=${TETHER_FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tether-fuzz.XXXXXX")}
mkdir -p "${out}"
failed=()
declare -a summary=()
for t in "${targets[@]}"; do
  bin="${build}/tests/fuzz/fuzz_${t}"
  [[ -x ${bin} ]] || die "${bin} was not built"
  corpus="${out}/${t}/corpus"
  artifacts="${out}/${t}/artifacts/"
  log="${out}/${t}/fuzz.log"
  rm -rf "${out:?}/${t}"
  mkdir -p "${corpus}" "${artifacts}"
  cp tests/fuzz/corpus/"${t}"/* "${corpus}/"
  say "fuzz_${t}: ${seconds} s, -max_len=$(max_len_of "${t}") (log: ${log})"
  status=0
  # New units go into the scratch corpus (the first and only corpus directory), never into the repo.
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "${bin}" -max_total_time="${seconds}" -max_len="$(max_len_of "${t}")" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="${artifacts}" "${corpus}" >"${log}" 2>&1 || status=$?
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "${log}" |
          sed 's/^stat:://' | tr '\n' ' ' || true)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "${log}" | tail -1 || true)
  reproducers=$(find "${artifacts}" -type f | sort)
  if [[ ${status} -ne 0 || -n ${reproducers} ]]; then
    failed+=("${t}")
    tail -n 60 "${log}" >&2
    echo "fuzz.sh: fuzz_${t} FAILED (exit ${status})" >&2
    for r in ${reproducers}; do
      echo "fuzz.sh:   reproducer: ${r}" >&2
      echo "fuzz.sh:   replay:     ${root}/${bin} ${r}" >&2
    done
    summary+=("fuzz_${t}: FAILED (${stats}${cov})")
  else
    summary+=("fuzz_${t}: ok (${stats}${cov})")
  fi
done

say "summary"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  die "crash or broken invariant in: ${failed[*]} (scratch corpora, logs and reproducers kept in ${out})"
fi
if [[ -n ${TETHER_FUZZ_OUT:-} ]]; then
  echo "scratch corpora and logs in ${out}"
else
  rm -rf "${out}"
fi
