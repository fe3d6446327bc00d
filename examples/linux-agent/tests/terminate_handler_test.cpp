// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// tether-agent's terminate handler (terminate_handler.hpp), linked as the agent is (libstdc++
// statically). terminate_handler_test.sh runs it three ways: `throw` (an uncaught std::exception:
// its type and what()), `other` (an uncaught exception of a type that is not a std::exception) and
// `no-exception` (std::terminate() called with no exception in flight).
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "terminate_handler.hpp"

namespace {
struct NotAStdException {
  int code;
};
}  // namespace

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (std::strcmp(what, "throw") == 0) throw std::runtime_error("the queue directory vanished");
  if (std::strcmp(what, "no-exception") == 0) std::terminate();
  if (std::strcmp(what, "other") == 0) throw NotAStdException{7};
  std::fprintf(stderr, "usage: terminate_handler_test throw|no-exception|other\n");
  return 2;
}
