// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the unit tests.

#include <ostream>
#include <string>

#include "tether/contract.hpp"
#include "tether/status.hpp"

namespace tether {
// Lets Catch2 print a Status in failure messages.
std::ostream& operator<<(std::ostream& os, Status status);
}  // namespace tether

namespace tether::test {

/// Installs a contract handler that counts violations instead of aborting (RAII).
class ContractCounter {
 public:
  ContractCounter();
  ~ContractCounter();
  ContractCounter(const ContractCounter&) = delete;
  ContractCounter& operator=(const ContractCounter&) = delete;
  int count() const;
  const std::string& last_expression() const;

 private:
  ContractHandler previous_;
};

}  // namespace tether::test
