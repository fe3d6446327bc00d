# Cross toolchain: 32-bit ARM Linux, hard float (Debian armhf, arm-linux-gnueabihf;
# ARMv7-A + VFPv3-D16 + Thumb-2, the Debian armhf baseline).
#   scripts/make-sysroot.sh armhf
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
# Needs: g++-arm-linux-gnueabihf, qemu-user (to run tests). See linux-cross-common.cmake.
set(TETHER_CROSS_TRIPLET   arm-linux-gnueabihf)
set(TETHER_CROSS_ARCH      armhf)
set(TETHER_CROSS_PROCESSOR armv7l)
set(TETHER_CROSS_QEMU      qemu-arm)
include("${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake")

# GCC notes that the ARM EABI of some std:: iterators changed in GCC 7.1 (-Wpsabi). Everything here
# is built by one compiler, so the note is noise; it would otherwise clutter every template build.
string(APPEND CMAKE_CXX_FLAGS_INIT " -Wno-psabi")
