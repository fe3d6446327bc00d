// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "p11_libraries.hpp"

#include <dlfcn.h>

#include <cstddef>

#include "tether/contract.hpp"

// The libraries' sonames and the Debian packages that ship them (CMakeLists.txt sets them from the
// libraries found at configure time).
#ifndef TETHER_LIBP11_SONAME
#define TETHER_LIBP11_SONAME "libp11.so.3"
#endif
#ifndef TETHER_P11KIT_SONAME
#define TETHER_P11KIT_SONAME "libp11-kit.so.0"
#endif

namespace tether::port::pkcs11_detail {
namespace {

struct Loaded {
  P11Libraries functions;
  bool ok = false;
  std::string error;
};

void* open_library(const char* soname, const char* package, std::string& error) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);  // never closed: the functions stay in use
  if (handle == nullptr) {
    const char* why = dlerror();
    error = std::string("cannot load ") + soname + " (" + (why != nullptr ? why : "not found") +
            "): a PKCS#11 key needs the package " + package;
  }
  return handle;
}

// One row per function, in TETHER_P11_FUNCTIONS' order: its name and which library has it.
enum Library : unsigned char { libp11, p11kit };
struct Symbol {
  const char* name;
  Library library;
};
constexpr Symbol kSymbols[] = {
#define TETHER_P11_SYMBOL(library, name) {#name, library},
    TETHER_P11_FUNCTIONS(TETHER_P11_SYMBOL)
#undef TETHER_P11_SYMBOL
};
constexpr std::size_t kSymbolCount = sizeof kSymbols / sizeof kSymbols[0];

Loaded load() {
  Loaded loaded;
  void* handles[2] = {open_library(TETHER_LIBP11_SONAME, "libp11-3", loaded.error), nullptr};
  if (handles[libp11] == nullptr) return loaded;
  handles[p11kit] = open_library(TETHER_P11KIT_SONAME, "libp11-kit0", loaded.error);
  if (handles[p11kit] == nullptr) return loaded;
  void* resolved[kSymbolCount] = {};
  for (std::size_t i = 0; i < kSymbolCount; ++i) {
    resolved[i] = dlsym(handles[kSymbols[i].library], kSymbols[i].name);
    if (resolved[i] == nullptr) {
      loaded.error = std::string(kSymbols[i].name) + " is missing from " +
                     (kSymbols[i].library == libp11 ? TETHER_LIBP11_SONAME : TETHER_P11KIT_SONAME) +
                     " (a version older than the one Tether was built with?)";
      return loaded;
    }
  }
  std::size_t next = 0;
#define TETHER_P11_ASSIGN(library, name) \
  loaded.functions.name = reinterpret_cast<decltype(loaded.functions.name)>(resolved[next++]);
  TETHER_P11_FUNCTIONS(TETHER_P11_ASSIGN)
#undef TETHER_P11_ASSIGN
  loaded.ok = true;
  return loaded;
}

const Loaded& loaded_libraries() {
  static const Loaded libraries = load();  // C++11: initialized once, thread-safe
  return libraries;
}

}  // namespace

const P11Libraries* load_p11_libraries(std::string& error) {
  const Loaded& libraries = loaded_libraries();
  if (!libraries.ok) {
    error = libraries.error;
    return nullptr;
  }
  return &libraries.functions;
}

const P11Libraries& p11() {
  const Loaded& libraries = loaded_libraries();
  TETHER_EXPECTS(libraries.ok);
  return libraries.functions;
}

}  // namespace tether::port::pkcs11_detail
