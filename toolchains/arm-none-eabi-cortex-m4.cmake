# Bare-metal toolchain: ARM Cortex-M4F (Thumb-2, single-precision FPU, hard
# float ABI) with the GNU Arm Embedded compiler and newlib-nano.
#   cmake -S . -B build-m4 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi-cortex-m4.cmake
# Needs: gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib.
#
# Sets the cache variable TETHER_BARE_METAL=ON: projects use it to skip the
# Linux-only parts (Paho, OpenSSL, threads, tests that need an OS).
# Executables link with newlib-nano + nosys stubs and gcc's default memory
# layout; a real board adds its linker script and startup file, e.g.
#   target_link_options(fw PRIVATE -T${CMAKE_SOURCE_DIR}/board/stm32f4.ld)

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m4)

set(TETHER_BARE_METAL ON CACHE BOOL "Building for a bare-metal target (no OS)" FORCE)

set(_tether_m4_prefix arm-none-eabi-)
if(NOT DEFINED CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${_tether_m4_prefix}gcc)
endif()
if(NOT DEFINED CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${_tether_m4_prefix}g++)
endif()
if(NOT DEFINED CMAKE_ASM_COMPILER)
  set(CMAKE_ASM_COMPILER ${_tether_m4_prefix}gcc)
endif()
# Binutils next to the compiler (CMake would derive ar/ranlib/objcopy from the
# compiler name too); TETHER_ARM_SIZE is for size reports.
find_program(CMAKE_AR      ${_tether_m4_prefix}ar)
find_program(CMAKE_RANLIB  ${_tether_m4_prefix}ranlib)
find_program(CMAKE_OBJCOPY ${_tether_m4_prefix}objcopy)
find_program(CMAKE_OBJDUMP ${_tether_m4_prefix}objdump)
find_program(TETHER_ARM_SIZE ${_tether_m4_prefix}size)

# The toolchain's own prefix (newlib + libstdc++: <prefix>/include, <prefix>/lib),
# e.g. /usr/lib/arm-none-eabi on Debian. Used as the only find root below, so
# find_package()/find_library() can never pick up the host's x86 libraries.
if(NOT TETHER_ARM_NONE_EABI_PREFIX)
  execute_process(COMMAND ${_tether_m4_prefix}gcc -print-file-name=libc.a
                  OUTPUT_VARIABLE _tether_libc OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _tether_rc ERROR_QUIET)
  if(_tether_rc EQUAL 0 AND IS_ABSOLUTE "${_tether_libc}")
    get_filename_component(_tether_libc "${_tether_libc}" REALPATH)
    get_filename_component(_tether_prefix "${_tether_libc}" DIRECTORY)  # .../lib
    get_filename_component(_tether_prefix "${_tether_prefix}" DIRECTORY)
    set(TETHER_ARM_NONE_EABI_PREFIX "${_tether_prefix}" CACHE PATH "arm-none-eabi newlib prefix")
  else()
    message(FATAL_ERROR "${_tether_m4_prefix}gcc not found or without newlib: "
                        "apt-get install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib")
  endif()
  unset(_tether_libc)
  unset(_tether_prefix)
  unset(_tether_rc)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TETHER_ARM_NONE_EABI_PREFIX)
unset(_tether_m4_prefix)

# No OS to run a test executable, so compiler checks build a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(_tether_m4_arch "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT   "${_tether_m4_arch} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${_tether_m4_arch} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${_tether_m4_arch}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")
unset(_tether_m4_arch)

# Size-optimised release builds. CMake's GNU module appends "-O3 -DNDEBUG" to
# the *_INIT values, so set the cache entries (a -D on the command line still
# wins because it is in the cache first).
set(CMAKE_C_FLAGS_RELEASE            "-Os -DNDEBUG"    CACHE STRING "C flags, Release")
set(CMAKE_CXX_FLAGS_RELEASE          "-Os -DNDEBUG"    CACHE STRING "C++ flags, Release")
set(CMAKE_C_FLAGS_MINSIZEREL         "-Os -DNDEBUG"    CACHE STRING "C flags, MinSizeRel")
set(CMAKE_CXX_FLAGS_MINSIZEREL       "-Os -DNDEBUG"    CACHE STRING "C++ flags, MinSizeRel")
set(CMAKE_C_FLAGS_RELWITHDEBINFO     "-Os -g -DNDEBUG" CACHE STRING "C flags, RelWithDebInfo")
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO   "-Os -g -DNDEBUG" CACHE STRING "C++ flags, RelWithDebInfo")
set(CMAKE_C_FLAGS_DEBUG              "-Og -g"          CACHE STRING "C flags, Debug")
set(CMAKE_CXX_FLAGS_DEBUG            "-Og -g"          CACHE STRING "C++ flags, Debug")
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE MinSizeRel CACHE STRING "Build type (default for bare metal: MinSizeRel)")
endif()

# Only the toolchain's own newlib/libstdc++ (and whatever the project appends to
# CMAKE_FIND_ROOT_PATH); never the host's headers/libraries.
list(APPEND CMAKE_FIND_ROOT_PATH "${TETHER_ARM_NONE_EABI_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Executables get the conventional .elf suffix.
set(CMAKE_EXECUTABLE_SUFFIX_C   .elf)
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)
set(CMAKE_EXECUTABLE_SUFFIX_ASM .elf)
