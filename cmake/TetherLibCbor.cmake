# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
# libcbor (Debian: libcbor-dev) as the IMPORTED target tether::cbor, for CBOR Defender reports in
# tether::metrics. Optional: without it the metrics reports are JSON only (kCbor returns
# kUnimplemented). Found with find_path/find_library like cJSON, so a cross build finds the copy in
# its sysroot (scripts/make-sysroot.sh lists libcbor-dev and libcbor0.8). Never on bare metal: a
# firmware that wants CBOR reports builds libcbor itself. Sets TETHER_HAVE_LIBCBOR (ON/OFF).
# -DTETHER_WITH_LIBCBOR=OFF turns CBOR reports off even where libcbor is installed.

# TETHER_HAVE_LIBCBOR is an internal cache entry so that the package configuration (written at the
# top level) knows whether tether::metrics was built with libcbor.
if(TARGET tether::cbor)
  set(TETHER_HAVE_LIBCBOR ON CACHE INTERNAL "tether::metrics writes CBOR reports with libcbor")
  return()
endif()

option(TETHER_WITH_LIBCBOR "CBOR Defender reports with libcbor when it is found" ON)
set(TETHER_HAVE_LIBCBOR OFF CACHE INTERNAL "tether::metrics writes CBOR reports with libcbor")
if(TETHER_BARE_METAL OR NOT TETHER_WITH_LIBCBOR)
  if(NOT TETHER_LIBCBOR_QUIET)
    if(TETHER_BARE_METAL)
      message(STATUS "CBOR Defender reports are off on bare metal (JSON only)")
    else()
      message(STATUS "CBOR Defender reports are off: TETHER_WITH_LIBCBOR=OFF (JSON only)")
    endif()
  endif()
  return()
endif()

find_path(TETHER_LIBCBOR_INCLUDE_DIR cbor.h)
find_library(TETHER_LIBCBOR_LIBRARY NAMES cbor)
if(NOT TETHER_LIBCBOR_INCLUDE_DIR OR NOT TETHER_LIBCBOR_LIBRARY)
  if(NOT TETHER_LIBCBOR_QUIET)
    message(STATUS "libcbor not found: CBOR Defender reports are off (JSON only); "
                   "apt-get install libcbor-dev or run scripts/install-deps.sh to have them")
  endif()
  return()
endif()
add_library(tether::cbor UNKNOWN IMPORTED GLOBAL)
set_target_properties(tether::cbor PROPERTIES
  IMPORTED_LOCATION "${TETHER_LIBCBOR_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${TETHER_LIBCBOR_INCLUDE_DIR}")
set(TETHER_HAVE_LIBCBOR ON CACHE INTERNAL "tether::metrics writes CBOR reports with libcbor")
if(NOT TETHER_LIBCBOR_QUIET)
  message(STATUS "libcbor: ${TETHER_LIBCBOR_LIBRARY} (CBOR Defender reports on)")
endif()
