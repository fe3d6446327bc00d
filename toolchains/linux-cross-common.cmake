# Shared logic of the ARM Linux cross toolchain files. Do not use directly: it
# is included by aarch64-linux-gnu.cmake / arm-linux-gnueabihf.cmake after they
# set
#   TETHER_CROSS_TRIPLET    GNU triplet, e.g. aarch64-linux-gnu
#   TETHER_CROSS_ARCH       Debian architecture, e.g. arm64 (sysroot name)
#   TETHER_CROSS_PROCESSOR  CMAKE_SYSTEM_PROCESSOR, e.g. aarch64
#   TETHER_CROSS_QEMU       qemu-user binary, e.g. qemu-aarch64
#
# The sysroot is a private Debian-layout tree made by
# scripts/make-sysroot.sh <arch>. Its location, first match wins:
#   -DTETHER_SYSROOT=<dir>  (cache variable)
#   $TETHER_SYSROOT         (environment)
#   <repo>/.sysroot/<arch>  (default)

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${TETHER_CROSS_PROCESSOR})

# --- compilers ---------------------------------------------------------------
if(NOT DEFINED CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${TETHER_CROSS_TRIPLET}-gcc)
endif()
if(NOT DEFINED CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${TETHER_CROSS_TRIPLET}-g++)
endif()

# --- sysroot -----------------------------------------------------------------
if(NOT TETHER_SYSROOT)
  if(DEFINED ENV{TETHER_SYSROOT} AND NOT "$ENV{TETHER_SYSROOT}" STREQUAL "")
    set(_tether_sysroot "$ENV{TETHER_SYSROOT}")
  else()
    set(_tether_sysroot "${CMAKE_CURRENT_LIST_DIR}/../.sysroot/${TETHER_CROSS_ARCH}")
  endif()
  get_filename_component(_tether_sysroot "${_tether_sysroot}" ABSOLUTE)
  set(TETHER_SYSROOT "${_tether_sysroot}" CACHE PATH
      "Sysroot for ${TETHER_CROSS_TRIPLET} (made by scripts/make-sysroot.sh ${TETHER_CROSS_ARCH})")
  unset(_tether_sysroot)
endif()

if(NOT EXISTS "${TETHER_SYSROOT}/.complete" OR NOT EXISTS "${TETHER_SYSROOT}/usr/include/${TETHER_CROSS_TRIPLET}")
  get_filename_component(_tether_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
  message(FATAL_ERROR
    "No ${TETHER_CROSS_ARCH} sysroot at '${TETHER_SYSROOT}'.\n"
    "Create it with:\n"
    "    ${_tether_repo}/scripts/make-sysroot.sh ${TETHER_CROSS_ARCH}\n"
    "or point -DTETHER_SYSROOT=<dir> (or the TETHER_SYSROOT environment variable) "
    "at one made with 'scripts/make-sysroot.sh ${TETHER_CROSS_ARCH} <dir>'.")
endif()

set(CMAKE_SYSROOT "${TETHER_SYSROOT}")
# Debian multiarch: headers in usr/include/<triplet>, libraries and CMake
# package configs in usr/lib/<triplet>. gcc's own multiarch support searches
# <sysroot>/usr/include/<triplet> and <sysroot>/usr/lib/<triplet> once
# --sysroot is given; this makes find_library/find_package look there too.
set(CMAKE_LIBRARY_ARCHITECTURE ${TETHER_CROSS_TRIPLET})

# try_compile() projects re-read this file without our cache: pass the sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TETHER_SYSROOT)

# --- find_* only inside the sysroot (programs from the host) -------------------
# CMAKE_SYSROOT is itself a find root; CMAKE_FIND_ROOT_PATH stays free for the
# project (e.g. a staging prefix of cross-built third-party code).
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# --- linker: resolve indirect shared-library deps (libpaho-mqttpp3 ->
# libpaho-mqtt3as -> libssl ...) inside the sysroot --------------------------
set(_tether_rpath_link
    "-Wl,-rpath-link,${TETHER_SYSROOT}/lib/${TETHER_CROSS_TRIPLET} -Wl,-rpath-link,${TETHER_SYSROOT}/usr/lib/${TETHER_CROSS_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT    "${_tether_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_tether_rpath_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_tether_rpath_link}")
unset(_tether_rpath_link)

# --- pkg-config: only the sysroot's .pc files, paths prefixed with it ----------
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TETHER_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${TETHER_SYSROOT}/usr/lib/${TETHER_CROSS_TRIPLET}/pkgconfig:${TETHER_SYSROOT}/usr/lib/pkgconfig:${TETHER_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# --- run target binaries (ctest, try_run, catch_discover_tests) under qemu ----
# The sysroot carries its own libc, so "-L <sysroot>" gives qemu a consistent
# dynamic loader + libraries (binfmt_misc is not relied upon).
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(TETHER_QEMU_${TETHER_CROSS_PROCESSOR} NAMES ${TETHER_CROSS_QEMU} ${TETHER_CROSS_QEMU}-static)
  if(TETHER_QEMU_${TETHER_CROSS_PROCESSOR})
    set(CMAKE_CROSSCOMPILING_EMULATOR "${TETHER_QEMU_${TETHER_CROSS_PROCESSOR}};-L;${TETHER_SYSROOT}")
  else()
    message(WARNING "${TETHER_CROSS_QEMU} not found (apt-get install qemu-user): "
                    "cross-built tests cannot run under ctest.")
  endif()
endif()
