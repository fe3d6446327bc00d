// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "openssl_detail.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

namespace tether::openssl::detail {

Status crypto_error(StatusCode code) {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  return Status(code, Origin::kCrypto, static_cast<std::uint16_t>(ERR_GET_REASON(error) & 0xFFFF));
}

bool verify_sha256(EVP_PKEY* key, Span<const std::uint8_t> digest, Span<const std::uint8_t> signature) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  bool verified = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
                  (EVP_PKEY_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1);
  // 1: verifies; 0 or a negative value: it does not.
  verified = verified && EVP_PKEY_verify(ctx, signature.data(), signature.size(), digest.data(), digest.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  ERR_clear_error();
  return verified;
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
