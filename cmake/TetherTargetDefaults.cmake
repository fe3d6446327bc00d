# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
# Warnings, sanitizers and the no-exceptions mode, added PRIVATE to Tether's own targets only.

function(tether_target_defaults target)
  # 64-bit file offsets and inode numbers on 32-bit Linux (armhf): without it stat() and readdir()
  # fail with EOVERFLOW on file systems with large inode numbers. A no-op on 64-bit targets.
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_compile_definitions(${target} PRIVATE _FILE_OFFSET_BITS=64)
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
      -Wcast-align -Wformat=2 -Wimplicit-fallthrough -Wmissing-declarations)
    # One section per function and object, so that a program linked with --gc-sections (the
    # Cortex-M images, tether-agent) keeps only what it calls. Free for everything else.
    target_compile_options(${target} PRIVATE -ffunction-sections -fdata-sections)
    if(TETHER_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC 12 at -Os (MinSizeRel: the cross presets, the packages) flags the Status inside a
        # moved-from Result<T> as "may be used uninitialized" where -O2 does not; a false positive
        # of its inliner. Kept as a warning, not an error.
        target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
      endif()
    endif()
    if(TETHER_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=${TETHER_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
      target_link_options(${target} PRIVATE -fsanitize=${TETHER_SANITIZE})
      if(TETHER_SANITIZE MATCHES "undefined")
        # The core is built without RTTI: UBSan's vptr check would need typeinfo it does not have.
        target_compile_options(${target} PRIVATE -fno-sanitize=vptr)
      endif()
    endif()
  endif()
endfunction()

# The core, its codecs and tether::testing never use exceptions or RTTI.
function(tether_no_exceptions target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti>)
  endif()
endfunction()

# tether_add_library(<target> EXPORT_NAME <name> [INCLUDE_DIR <dir>] SOURCES <file>...)
# A static library of Tether's: alias tether::<name>, exported as tether::<name>, public headers in
# INCLUDE_DIR (default: include/ next to the calling CMakeLists.txt), C++17, warnings/sanitizers.
function(tether_add_library target)
  cmake_parse_arguments(ARG "" "EXPORT_NAME;INCLUDE_DIR" "SOURCES" ${ARGN})
  if(NOT ARG_INCLUDE_DIR)
    set(ARG_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(tether::${ARG_EXPORT_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME} OUTPUT_NAME ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${ARG_INCLUDE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_17)
  tether_target_defaults(${target})
endfunction()
