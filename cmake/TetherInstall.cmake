# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
# install + export: find_package(Tether CONFIG COMPONENTS ...) and pkg-config (tether.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_tether_targets tether_core tether_offline tether_shadow tether_commands tether_tether)
set(_tether_components core offline shadow commands)
foreach(_t testing port_posix port_paho port_mbedtls port_openssl port_pkcs11)
  if(TARGET tether_${_t})
    list(APPEND _tether_targets tether_${_t})
    list(APPEND _tether_components ${_t})
  endif()
endforeach()
# tether::port_linux (the MetricsSource over /proc and /sys) links tether::metrics: export both.
if(TARGET tether_port_linux)
  if(NOT tether_metrics IN_LIST _tether_targets)
    list(APPEND _tether_targets tether_metrics)
    list(APPEND _tether_components metrics)
  endif()
  list(APPEND _tether_targets tether_port_linux)
  list(APPEND _tether_components port_linux)
endif()
# tether::provisioning (Fleet Provisioning, portable) and tether::port_identity (certificate rotation
# and the identity files on Linux, over the pkcs11, openssl and paho ports and the shadow's merge).
foreach(_t provisioning port_identity)
  if(TARGET tether_${_t})
    list(APPEND _tether_targets tether_${_t})
    list(APPEND _tether_components ${_t})
  endif()
endforeach()

install(TARGETS ${_tether_targets} EXPORT TetherTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(_dir testing posix paho mbedtls openssl pkcs11)
  set(_target tether_port_${_dir})
  if(_dir STREQUAL "testing")
    set(_target tether_testing)
  endif()
  if(TARGET ${_target})
    install(DIRECTORY ports/${_dir}/include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()
foreach(_dir linux identity)
  if(TARGET tether_port_${_dir})
    install(DIRECTORY ports/${_dir}/include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

set(TETHER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Tether)
install(EXPORT TetherTargets NAMESPACE tether:: DESTINATION ${TETHER_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/TetherConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/TetherConfig.cmake
  INSTALL_DESTINATION ${TETHER_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/TetherConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/TetherConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/TetherConfigVersion.cmake
  cmake/TetherCJSON.cmake cmake/TetherLibCbor.cmake cmake/FindMbedTLS.cmake DESTINATION ${TETHER_INSTALL_CMAKEDIR})

# pkg-config: one file for the whole SDK as built.
set(_pc_libs "-ltether_commands -ltether_shadow -ltether_offline -ltether_core")
if(TARGET tether_provisioning)
  set(_pc_libs "-ltether_provisioning ${_pc_libs}")
endif()
set(_pc_requires "libcjson")
set(_pc_libs_private "")
if(TARGET tether_port_posix)
  set(_pc_libs "-ltether_port_posix ${_pc_libs}")
endif()
if(TARGET tether_port_linux)
  set(_pc_libs "-ltether_port_linux -ltether_metrics ${_pc_libs}")
  if(TETHER_GPIOD_API STREQUAL "2")
    set(_pc_requires "${_pc_requires} libgpiod")  # Debian's libgpiod-dev ships libgpiod.pc
  elseif(TETHER_GPIOD_API)
    set(_pc_libs_private "${_pc_libs_private} -ldl")  # libgpiod 1.x: loaded at run time (dlopen)
  endif()
endif()
if(TARGET tether_port_paho)
  set(_pc_libs "-ltether_port_paho ${_pc_libs}")
  # Debian's Paho C ships no .pc file: name the library directly (OpenSSL: libssl.pc).
  set(_pc_libs_private "${_pc_libs_private} -lpaho-mqtt3as")
  set(_pc_requires "${_pc_requires} libssl libcrypto")
endif()
if(TARGET tether_port_mbedtls)
  set(_pc_libs "-ltether_port_mbedtls ${_pc_libs}")
  # Debian's mbedTLS ships no .pc file either.
  set(_pc_libs_private "${_pc_libs_private} -lmbedx509 -lmbedcrypto")
endif()
if(TARGET tether_port_openssl)
  set(_pc_libs "-ltether_port_openssl ${_pc_libs}")
  set(_pc_requires "${_pc_requires} libcrypto")
endif()
if(TARGET tether_port_pkcs11)
  set(_pc_libs "-ltether_port_pkcs11 ${_pc_libs}")
  # libp11 and p11-kit are loaded at run time (dlopen), like the module itself.
  set(_pc_requires "${_pc_requires} libcrypto")
  set(_pc_libs_private "${_pc_libs_private} -ldl")
endif()
if(TARGET tether_testing)
  set(_pc_libs "-ltether_testing ${_pc_libs}")
endif()
if(TARGET tether_port_identity)
  # Before the ports it uses (pkcs11, openssl, paho) and the shadow's merge.
  set(_pc_libs "-ltether_port_identity ${_pc_libs}")
endif()
if("metrics" IN_LIST _tether_components AND TETHER_HAVE_LIBCBOR)
  # CBOR metrics reports: Debian's libcbor-dev ships libcbor.pc.
  set(_pc_requires "${_pc_requires} libcbor")
endif()
file(RELATIVE_PATH _pc_prefix_rel "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" _pc_prefix_rel "${_pc_prefix_rel}")
configure_file(cmake/tether.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tether.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tether.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
