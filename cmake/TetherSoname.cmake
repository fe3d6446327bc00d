# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
# tether_soname_of(OUT LIBRARIES FALLBACK): the soname ("name.so.MAJOR") of the first shared library
# in LIBRARIES (a pkg-config *_LINK_LIBRARIES list: full paths), read from the file the development
# symlink points to; FALLBACK when none is found. For the ports that load a library on first use
# (dlopen) instead of linking it: pkcs11 (libp11, p11-kit) and linux (libgpiod 1.x).
function(tether_soname_of out_var libraries fallback)
  set(_soname "${fallback}")
  foreach(_lib IN LISTS libraries)
    if(_lib MATCHES "\\.so$" AND EXISTS "${_lib}")
      file(REAL_PATH "${_lib}" _real)
      get_filename_component(_name "${_real}" NAME)
      if(_name MATCHES "^(.+\\.so\\.[0-9]+)")
        set(_soname "${CMAKE_MATCH_1}")
        break()
      endif()
    endif()
  endforeach()
  set(${out_var} "${_soname}" PARENT_SCOPE)
endfunction()
