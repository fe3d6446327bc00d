// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// CK_RV → Status (the table in pkcs11_key_store.hpp). Private to the port.

#include <p11-kit/pkcs11.h>

#include "tether/status.hpp"

namespace tether::port::pkcs11_detail {

StatusCode code_for_ckr(CK_RV rv);
/// Status(code_for_ckr(rv), kKey, rv & 0xFFFF).
Status ckr_status(CK_RV rv);

}  // namespace tether::port::pkcs11_detail
