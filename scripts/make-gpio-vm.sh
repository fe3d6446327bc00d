#!/usr/bin/env bash
# make-gpio-vm.sh [ARCH [DIR]]
#
# What examples/linux-agent/tests/gpio_vm_test.py boots to test tether-agent's GPIO lines on a real
# kernel GPIO driver: Debian's kernel for ARCH (arm64: linux-image-arm64; armhf: linux-image-armmp;
# both have the PL061 GPIO driver built in, and QEMU's `virt` board has a PL061 whose line 3 is the
# power button) and busybox-static for ARCH, from Debian's packages, fetched with the private apt
# state of scripts/make-sysroot.sh ARCH (run that first).
#
#   ARCH  arm64 (default) or armhf
#   DIR   default: <repo>/.sysroot/gpio-vm-<ARCH>   gets vmlinuz, busybox, modules/ (virtio-mmio
#         networking: virtio_mmio, failover, net_failover, virtio_net) and .complete
#
# Running it again does nothing once DIR/.complete names the same package versions.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "${SCRIPT_DIR}/.." && pwd)
ARCH=${1:-arm64}
case "${ARCH}" in
  arm64) FLAVOUR=arm64 ;;
  armhf) FLAVOUR=armmp ;;
  *) echo "make-gpio-vm.sh: unsupported ARCH '${ARCH}' (arm64 or armhf)" >&2; exit 2 ;;
esac
DIR=${2:-${REPO_ROOT}/.sysroot/gpio-vm-${ARCH}}
APT_DIR=${REPO_ROOT}/.sysroot/.apt-${ARCH}

log() { echo "make-gpio-vm.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -d ${APT_DIR}/lists ]] || die "${APT_DIR} is missing: run scripts/make-sysroot.sh ${ARCH} first (its apt state is used)"
APT_OPTS=(
  -o "APT::Architecture=${ARCH}" -o "APT::Architectures=${ARCH}"
  -o "Dir::State=${APT_DIR}" -o "Dir::State::Lists=${APT_DIR}/lists" -o "Dir::State::status=${APT_DIR}/status"
  -o "Dir::Cache=${APT_DIR}" -o "Dir::Cache::archives=${APT_DIR}/archives"
  -o "APT::Sandbox::User=$(id -un)" -o "Debug::NoLocking=true" -o "Acquire::GzipIndexes=true"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
)

# linux-image-<flavour> is a metapackage: the kernel is the package it depends on.
kernel_pkg=$(apt-cache "${APT_OPTS[@]}" depends "linux-image-${FLAVOUR}:${ARCH}" |
  awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
kernel_pkg=${kernel_pkg%:"${ARCH}"}
[[ -n ${kernel_pkg} ]] || die "cannot tell which kernel linux-image-${FLAVOUR} depends on (apt-cache depends printed nothing)"
stamp=$(apt-cache "${APT_OPTS[@]}" policy "${kernel_pkg}:${ARCH}" "busybox-static:${ARCH}" | awk '/Candidate:/ { print $2 }' | tr '\n' ' ')
stamp="layout 2 ${kernel_pkg} ${stamp}"
if [[ -f ${DIR}/.complete && $(cat "${DIR}/.complete") == "${stamp}" ]]; then
  log "${DIR} is up to date (${stamp})"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
log "downloading ${kernel_pkg} and busybox-static (${ARCH})"
(cd "${work}" && apt-get "${APT_OPTS[@]}" download -q "${kernel_pkg}:${ARCH}" "busybox-static:${ARCH}") >&2 \
  || die "apt-get download failed"
for deb in "${work}"/*.deb; do dpkg-deb -x "${deb}" "${work}/root"; done
kernel=$(find "${work}/root/boot" -name 'vmlinuz-*' | head -n 1)
[[ -f ${kernel} ]] || die "no vmlinuz in ${kernel_pkg}"
grep -q '^CONFIG_GPIO_PL061=y' "${work}"/root/boot/config-* \
  || die "${kernel_pkg} does not have the PL061 GPIO driver built in (CONFIG_GPIO_PL061=y)"
mkdir -p "${DIR}/modules"
for module in virtio_mmio failover net_failover virtio_net; do
  ko=$(find "${work}/root/lib/modules" -name "${module}.ko" | head -n 1)
  [[ -n ${ko} ]] || die "${kernel_pkg} has no ${module}.ko (uncompressed): the VM would have no network"
  install -m 0644 "${ko}" "${DIR}/modules/${module}.ko"
done
install -m 0644 "${kernel}" "${DIR}/vmlinuz"
install -m 0755 "${work}/root/bin/busybox" "${DIR}/busybox"
echo "${stamp}" > "${DIR}/.complete"
log "ready: ${DIR} (${stamp})"
