#!/usr/bin/env bash
# Installs what is missing, builds Tether and runs every test.
#
# Usage: scripts/test.sh [STAGE ...]
#
# Stages (default: all of them, in this order):
#   dev         scripts/check-portable-formats.sh; host build (Debug, -Werror), unit + integration
#               tests (real mosquitto with TLS)
#   noexcept    core, fakes and unit tests built with -fno-exceptions -fno-rtti
#   asan-ubsan  unit + integration tests under AddressSanitizer and UndefinedBehaviorSanitizer
#   tsan        unit + integration tests under ThreadSanitizer
#   consumer    install to a prefix; a separate project finds it with find_package and pkg-config
#   aarch64     cross build for arm64 Linux; unit tests run under qemu-aarch64; then (test preset
#               aarch64-agent) the tether-agent .deb (arm64), the dev build's linux-agent integration
#               tests against the cross-built tether-agent under qemu-aarch64, broker and cloudsim, and
#               its GPIO lines in an arm64 VM (qemu-system-aarch64, the virt board's PL061)
#   armhf       the same for armhf Linux under qemu-arm
#   cortex-m4   scripts/check-portable-formats.sh; the portable core for Cortex-M4 (-Os, no
#               exceptions); size table vs docs/memory.md; the footprint images, also without error
#               texts and log calls (preset cortex-m4-lean), run to their end on QEMU;
#               then (preset cortex-m4-qemu) the portable unit tests and the bare-metal example built
#               for Cortex-M4 and run on QEMU's mps2-an386 board (scripts/run-qemu-m4.sh)
#   fuzz        short libFuzzer runs of every parser of outside input (TETHER_FUZZ_SECONDS each, 20)
#
# Environment: TETHER_JOBS (parallel build jobs, default: all cores).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"

all_stages=(dev noexcept asan-ubsan tsan consumer fuzz aarch64 armhf cortex-m4)
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=("${all_stages[@]}")
jobs=${TETHER_JOBS:-$(nproc)}

declare -a summary=()
started=$(date +%s)

say() { printf '\n=== %s\n' "$*"; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

needs_cross=false
for s in "${stages[@]}"; do
  case "${s}" in
    dev|noexcept|asan-ubsan|tsan|consumer|fuzz) ;;
    aarch64|armhf|cortex-m4) needs_cross=true ;;
    *) die "unknown stage '${s}' (stages: ${all_stages[*]})" ;;
  esac
done

say "dependencies"
if ${needs_cross}; then
  scripts/install-deps.sh all
else
  scripts/install-deps.sh host
fi

# configure + build + ctest for one preset; remaining arguments go to ctest.
run_preset() {
  local preset=$1
  shift
  local t0
  t0=$(date +%s)
  say "${preset}: configure"
  cmake --preset "${preset}" >/dev/null
  say "${preset}: build"
  cmake --build --preset "${preset}" -j "${jobs}"
  if [[ $# -gt 0 || ${preset} != cortex-m4 ]]; then
    say "${preset}: test"
    ctest --preset "${preset}" -j "${jobs}" "$@"
  fi
  summary+=("${preset}: ok ($(( $(date +%s) - t0 )) s)")
}

stage_consumer() {
  local t0 prefix build
  t0=$(date +%s)
  say "consumer: install the dev build and build a project against it"
  [[ -d build/dev ]] || { cmake --preset dev >/dev/null && cmake --build --preset dev -j "${jobs}"; }
  prefix=$(mktemp -d)
  build=$(mktemp -d)
  trap 'rm -rf "${prefix}" "${build}"' RETURN
  cmake --install build/dev --prefix "${prefix}" >/dev/null
  cmake -S tests/consumer -B "${build}" -G Ninja -DCMAKE_PREFIX_PATH="${prefix}" >/dev/null
  cmake --build "${build}" -j "${jobs}"
  "${build}/consumer"
  local pc_flags
  pc_flags=$(PKG_CONFIG_PATH="${prefix}/lib/pkgconfig" pkg-config --static --cflags --libs tether)
  # shellcheck disable=SC2086 # word splitting of the flags is intended
  c++ -o "${build}/consumer_pc" tests/consumer/main.cpp ${pc_flags}
  "${build}/consumer_pc"
  summary+=("consumer: ok ($(( $(date +%s) - t0 )) s)")
}

stage_cross() {
  local preset=$1 arch=$2
  say "${preset}: sysroot"
  scripts/make-sysroot.sh "${arch}"
  # the kernel and busybox of the GPIO test VM (linux_agent_gpio_vm, presets aarch64-agent, armhf-agent)
  scripts/make-gpio-vm.sh "${arch}"
  run_preset "${preset}"
  if [[ ${preset} == armhf ]]; then
    say "armhf: size table"
    scripts/size-table.sh --check build/armhf  # per-library text vs docs/memory.md's armhf table
  fi
  # The host's integration tests (the dev build's: they drive the broker and cloudsim) against this
  # preset's tether-agent under qemu-user; built here if the dev stage did not run.
  local t0
  t0=$(date +%s)
  say "${preset}: tether-agent under qemu-user (host integration tests from build/dev), its .deb"
  [[ -f build/dev/build.ninja ]] || cmake --preset dev >/dev/null
  cmake --build --preset dev -j "${jobs}" --target tether_integration_tests
  ctest --preset "${preset}-agent" -j "${jobs}"
  summary+=("${preset}-agent: ok ($(( $(date +%s) - t0 )) s)")
}

stage_cortex_m4() {
  say "cortex-m4: printf formats of the portable code"
  scripts/check-portable-formats.sh  # no %zu, %lld, PRId64 in include/ and lib/ (newlib lacks them)
  # cJSON's code, built for the board: the footprint images of the cortex-m4 preset link it, the
  # unit tests run the JSON codecs.
  scripts/fetch-cjson-source.sh
  run_preset cortex-m4
  say "cortex-m4: size table"
  scripts/size-table.sh --check build/cortex-m4
  say "cortex-m4: the footprint images run to their end (examples/bare-metal/footprint.cpp)"
  local image
  for image in agent core full; do
    scripts/run-qemu-m4.sh --timeout 60 "build/cortex-m4/examples/bare-metal/footprint-${image}.elf"
  done
  arm-none-eabi-size build/cortex-m4/examples/bare-metal/footprint-*.elf
  say "cortex-m4-lean: the footprint images without error texts and log calls build and run to their end"
  cmake --preset cortex-m4-lean >/dev/null
  cmake --build --preset cortex-m4-lean -j "${jobs}"
  for image in agent core full; do
    scripts/run-qemu-m4.sh --timeout 60 "build/cortex-m4-lean/examples/bare-metal/footprint-${image}.elf"
  done
  arm-none-eabi-size build/cortex-m4-lean/examples/bare-metal/footprint-*.elf
  say "cortex-m4: unit tests on the emulated board (qemu-system-arm mps2-an386)"
  run_preset cortex-m4-qemu
}

for s in "${stages[@]}"; do
  case "${s}" in
    dev)
      say "dev: printf formats of the portable code"
      scripts/check-portable-formats.sh
      run_preset dev
      ;;
    noexcept|asan-ubsan|tsan) run_preset "${s}" ;;
    consumer) stage_consumer ;;
    fuzz)
      t0=$(date +%s)
      say "fuzz: ${TETHER_FUZZ_SECONDS:-20} s per target"
      scripts/fuzz.sh "${TETHER_FUZZ_SECONDS:-20}"
      summary+=("fuzz: ok ($(( $(date +%s) - t0 )) s)")
      ;;
    aarch64) stage_cross aarch64 arm64 ;;
    armhf) stage_cross armhf armhf ;;
    cortex-m4) stage_cortex_m4 ;;
  esac
done

say "summary ($(( $(date +%s) - started )) s)"
printf '  %s\n' "${summary[@]}"
