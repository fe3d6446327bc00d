# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#[=======================================================================[.rst:
FindMbedTLS
-----------

Finds mbedTLS 2.x as packaged by Debian (libmbedtls-dev), which ships neither a CMake package
configuration nor a pkg-config file. Works in a cross sysroot (CMAKE_SYSROOT + find root modes).
Installed next to TetherConfig.cmake, which uses it to find mbedTLS again for consumers.

  find_package(MbedTLS [2.28] [REQUIRED] [COMPONENTS mbedcrypto mbedx509 mbedtls])

The component mbedcrypto is always looked for and always required; mbedx509 and mbedtls are
required only when listed.

Imported targets (UNKNOWN IMPORTED, each with the include directory):

``MbedTLS::mbedcrypto``  ciphers, hashes, DRBG, entropy, bignum, PK
``MbedTLS::mbedx509``    X.509 (links MbedTLS::mbedcrypto)
``MbedTLS::mbedtls``     TLS (links MbedTLS::mbedx509)

Result variables: ``MbedTLS_FOUND``, ``MbedTLS_VERSION`` (from mbedtls/version.h),
``MbedTLS_INCLUDE_DIRS``, ``MbedTLS_LIBRARIES``, ``MbedTLS_<component>_FOUND``.

Cache variables (set them to use an mbedTLS built elsewhere, e.g. for a microcontroller):
``MbedTLS_INCLUDE_DIR`` (the directory holding mbedtls/version.h), ``MbedTLS_mbedcrypto_LIBRARY``,
``MbedTLS_mbedx509_LIBRARY``, ``MbedTLS_mbedtls_LIBRARY``.

If ``MbedTLS::mbedcrypto`` exists already (a superproject that builds mbedTLS, or mbedTLS's own
package configuration found earlier), the module uses the existing targets and finds nothing.
#]=======================================================================]

include(FindPackageHandleStandardArgs)

if(TARGET MbedTLS::mbedcrypto)
  set(MbedTLS_FOUND TRUE)
  set(MbedTLS_mbedcrypto_FOUND TRUE)
  foreach(_mbedtls_comp mbedx509 mbedtls)
    if(TARGET MbedTLS::${_mbedtls_comp})
      set(MbedTLS_${_mbedtls_comp}_FOUND TRUE)
    elseif(MbedTLS_FIND_REQUIRED_${_mbedtls_comp})
      set(MbedTLS_FOUND FALSE)
    endif()
  endforeach()
  unset(_mbedtls_comp)
  return()
endif()

find_path(MbedTLS_INCLUDE_DIR NAMES mbedtls/version.h DOC "Directory holding mbedtls/version.h")
mark_as_advanced(MbedTLS_INCLUDE_DIR)

if(MbedTLS_INCLUDE_DIR AND EXISTS "${MbedTLS_INCLUDE_DIR}/mbedtls/version.h")
  file(STRINGS "${MbedTLS_INCLUDE_DIR}/mbedtls/version.h" _mbedtls_version_line
       REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]+\"[0-9.]+\"")
  if(_mbedtls_version_line MATCHES "\"([0-9.]+)\"")
    set(MbedTLS_VERSION "${CMAKE_MATCH_1}")
  endif()
  unset(_mbedtls_version_line)
endif()

set(_mbedtls_required_vars MbedTLS_INCLUDE_DIR)
set(MbedTLS_LIBRARIES "")
foreach(_mbedtls_comp mbedcrypto mbedx509 mbedtls)
  find_library(MbedTLS_${_mbedtls_comp}_LIBRARY NAMES ${_mbedtls_comp} DOC "mbedTLS library ${_mbedtls_comp}")
  mark_as_advanced(MbedTLS_${_mbedtls_comp}_LIBRARY)
  if(MbedTLS_INCLUDE_DIR AND MbedTLS_${_mbedtls_comp}_LIBRARY)
    set(MbedTLS_${_mbedtls_comp}_FOUND TRUE)
  else()
    set(MbedTLS_${_mbedtls_comp}_FOUND FALSE)
  endif()
endforeach()
list(APPEND _mbedtls_required_vars MbedTLS_mbedcrypto_LIBRARY)

find_package_handle_standard_args(MbedTLS
  REQUIRED_VARS ${_mbedtls_required_vars}
  VERSION_VAR MbedTLS_VERSION
  HANDLE_COMPONENTS
  REASON_FAILURE_MESSAGE "install libmbedtls-dev (scripts/install-deps.sh), or set MbedTLS_INCLUDE_DIR and MbedTLS_mbedcrypto_LIBRARY")
unset(_mbedtls_required_vars)

if(MbedTLS_FOUND)
  set(MbedTLS_INCLUDE_DIRS "${MbedTLS_INCLUDE_DIR}")
  set(_mbedtls_previous "")
  foreach(_mbedtls_comp mbedcrypto mbedx509 mbedtls)
    if(NOT MbedTLS_${_mbedtls_comp}_FOUND)
      break()  # each library needs the ones before it
    endif()
    list(PREPEND MbedTLS_LIBRARIES "${MbedTLS_${_mbedtls_comp}_LIBRARY}")
    if(NOT TARGET MbedTLS::${_mbedtls_comp})
      add_library(MbedTLS::${_mbedtls_comp} UNKNOWN IMPORTED)
      set_target_properties(MbedTLS::${_mbedtls_comp} PROPERTIES
        IMPORTED_LOCATION "${MbedTLS_${_mbedtls_comp}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${MbedTLS_INCLUDE_DIR}")
      if(_mbedtls_previous)
        set_target_properties(MbedTLS::${_mbedtls_comp} PROPERTIES INTERFACE_LINK_LIBRARIES "${_mbedtls_previous}")
      endif()
    endif()
    set(_mbedtls_previous MbedTLS::${_mbedtls_comp})
  endforeach()
  unset(_mbedtls_previous)
endif()
unset(_mbedtls_comp)
