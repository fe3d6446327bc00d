# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
# cJSON as an IMPORTED target. Debian's cJSON CMake config hard-codes /usr and breaks in a cross
# sysroot, so find the header and library directly. On bare-metal toolchains only the header is
# needed to build the core library (the firmware links cJSON itself): point
# TETHER_CJSON_INCLUDE_DIR at a directory holding cjson/cJSON.h.

if(TARGET tether::cjson)
  return()
endif()

if(TETHER_BARE_METAL)
  find_path(TETHER_CJSON_INCLUDE_DIR cjson/cJSON.h NO_CMAKE_FIND_ROOT_PATH PATHS /usr/include)
  if(NOT TETHER_CJSON_INCLUDE_DIR)
    message(FATAL_ERROR "cjson/cJSON.h not found: install libcjson-dev or set TETHER_CJSON_INCLUDE_DIR")
  endif()
  add_library(tether::cjson INTERFACE IMPORTED)
  # Only the declarations: a system include dir outside the sysroot would drag host headers in.
  set(_tether_cjson_hdr "${CMAKE_BINARY_DIR}/cjson-headers")
  file(MAKE_DIRECTORY "${_tether_cjson_hdr}/cjson")
  file(COPY_FILE "${TETHER_CJSON_INCLUDE_DIR}/cjson/cJSON.h" "${_tether_cjson_hdr}/cjson/cJSON.h" ONLY_IF_DIFFERENT)
  set_target_properties(tether::cjson PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_tether_cjson_hdr}")
  return()
endif()

find_path(TETHER_CJSON_INCLUDE_DIR cjson/cJSON.h)
find_library(TETHER_CJSON_LIBRARY NAMES cjson)
if(NOT TETHER_CJSON_INCLUDE_DIR OR NOT TETHER_CJSON_LIBRARY)
  message(FATAL_ERROR "cJSON not found (need cjson/cJSON.h and libcjson): apt-get install libcjson-dev, "
                      "or run scripts/install-deps.sh")
endif()
add_library(tether::cjson UNKNOWN IMPORTED)
set_target_properties(tether::cjson PROPERTIES
  IMPORTED_LOCATION "${TETHER_CJSON_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${TETHER_CJSON_INCLUDE_DIR}")
