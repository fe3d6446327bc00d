# Cross toolchain: 64-bit ARM Linux (Debian arm64, aarch64-linux-gnu).
#   scripts/make-sysroot.sh arm64
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
# Needs: g++-aarch64-linux-gnu, qemu-user (to run tests). See linux-cross-common.cmake.
set(TETHER_CROSS_TRIPLET   aarch64-linux-gnu)
set(TETHER_CROSS_ARCH      arm64)
set(TETHER_CROSS_PROCESSOR aarch64)
set(TETHER_CROSS_QEMU      qemu-aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake")
