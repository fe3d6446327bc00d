// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/key_store.hpp"

namespace tether::port {

const char* to_string(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kEcP256:
      return "ec-p256";
    case KeyAlgorithm::kRsa2048:
      return "rsa-2048";
  }
  return "unknown";
}

}  // namespace tether::port
