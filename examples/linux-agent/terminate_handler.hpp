// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// tether-agent's terminate handler, for builds that link libstdc++ statically
// (TETHER_AGENT_STATIC_LIBSTDCXX, the default). libstdc++'s own default handler,
// __gnu_cxx::__verbose_terminate_handler, prints the type of the uncaught exception through the C++
// demangler, and so brings the whole demangler into the executable: about 45 kB of code and tables,
// resident in every agent (docs/memory.md). A program that defines the handler itself keeps that
// archive member out of the link. This one says the same things (the exception's type, mangled:
// `c++filt -t` reads it, and what() for a std::exception), at journald's critical priority under
// systemd, and aborts as the default does (a core dump where the system keeps them).
//
// It is a definition, not a declaration: include this header in exactly one source file of a program
// (tether-agent's main.cpp; tests/terminate_handler_test.cpp checks it on its own).
#pragma once

#include <cxxabi.h>
#include <syslog.h>

#include <cstdlib>
#include <exception>
#include <typeinfo>

#include "tell.hpp"

namespace __gnu_cxx {  // NOLINT(cert-dcl58-cpp): replaces libstdc++'s definition, declared in <cxxabi.h>
void __verbose_terminate_handler() {
  static bool terminating = false;  // set: a second call, from a throw in the code below
  if (!terminating) {
    terminating = true;
    const std::type_info* type = abi::__cxa_current_exception_type();
    if (type == nullptr) {
      tether::examples::tell(LOG_CRIT, "tether-agent: terminate called without an active exception\n");
    } else {
      const char* name = type->name();
      if (name[0] == '*') ++name;  // how GCC marks a type local to its file
      try {
        throw;
      } catch (const std::exception& e) {
        tether::examples::tell(LOG_CRIT, "tether-agent: terminate called after throwing %s (c++filt -t): %s\n", name,
                               e.what());
      } catch (...) {
        tether::examples::tell(LOG_CRIT, "tether-agent: terminate called after throwing %s (c++filt -t)\n", name);
      }
    }
  }
  std::abort();
}
}  // namespace __gnu_cxx
