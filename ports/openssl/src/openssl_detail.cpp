// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "openssl_detail.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstring>

namespace tether::openssl::detail {

Status crypto_error(StatusCode code) {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  return Status(code, Origin::kCrypto, static_cast<std::uint16_t>(ERR_GET_REASON(error) & 0xFFFF));
}

Status parse_signing_key(Span<const std::uint8_t> der, Pkey& key) {
  const unsigned char* p = der.data();
  key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return crypto_error(StatusCode::kInvalidArgument);
  if (p != der.data() + der.size()) {
    key.reset();
    return Status(StatusCode::kInvalidArgument, Origin::kCrypto);  // bytes after the key
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  if (EVP_PKEY_base_id(key.get()) == EVP_PKEY_RSA) {
    if (bits >= 2048 && bits <= 4096) return ok_status();
  } else if (EVP_PKEY_base_id(key.get()) == EVP_PKEY_EC) {
    char curve[32] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof curve, &length) == 1 &&
        std::strcmp(curve, "prime256v1") == 0) {
      return ok_status();
    }
  }
  ERR_clear_error();
  return Status(StatusCode::kUnimplemented, Origin::kCrypto);
}

}  // namespace tether::openssl::detail
