// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/contract.hpp"

#include <cstdio>
#include <cstdlib>

namespace tether {
namespace {

void default_handler(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "tether: contract violated: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

ContractHandler g_handler = &default_handler;

}  // namespace

ContractHandler set_contract_handler(ContractHandler handler) {
  ContractHandler previous = g_handler;
  g_handler = handler != nullptr ? handler : &default_handler;
  return previous;
}

namespace detail {
void contract_violated(const char* expression, const char* file, int line) {
  g_handler(expression, file, line);
}
}  // namespace detail

}  // namespace tether
