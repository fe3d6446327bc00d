// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "test_support.hpp"

namespace tether {
std::ostream& operator<<(std::ostream& os, Status status) {
  char buf[64];
  return os << format_status(status, buf, sizeof buf);
}
}  // namespace tether

namespace tether::test {
namespace {
int g_count = 0;
std::string g_last;
void counting_handler(const char* expression, const char*, int) {
  ++g_count;
  g_last = expression;
}
}  // namespace

ContractCounter::ContractCounter() : previous_(set_contract_handler(&counting_handler)) {
  g_count = 0;
  g_last.clear();
}
ContractCounter::~ContractCounter() { set_contract_handler(previous_); }
int ContractCounter::count() const { return g_count; }
const std::string& ContractCounter::last_expression() const { return g_last; }

}  // namespace tether::test
