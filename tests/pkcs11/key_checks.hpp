// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// OpenSSL-side checks of keys a KeyStore made (digests, public keys, signatures) and key
// generation that must succeed: shared by the SoftHSM2 and TPM key store tests. Test code.

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tether/port/key_store.hpp"
#include "tether/span.hpp"

namespace tether::test {

using Digest = std::array<std::uint8_t, 32>;
using Pkey = std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)>;

inline Digest sha256_of(const std::string& text) {
  Digest md{};
  REQUIRE(EVP_Digest(text.data(), text.size(), md.data(), nullptr, EVP_sha256(), nullptr) == 1);
  return md;
}

/// The store's DER SubjectPublicKeyInfo of `uri`, parsed by OpenSSL (all of it).
template <typename Store>
Pkey parsed_public_key(Store& store, std::string_view uri) {
  std::array<std::uint8_t, 1024> der{};
  auto len = store.public_key_der(uri, der);
  INFO(store.last_error());
  REQUIRE(len.ok());
  const unsigned char* p = der.data();
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(*len)), EVP_PKEY_free);
  REQUIRE(key != nullptr);
  CHECK(p == der.data() + *len);
  return key;
}

/// Whether `sig` is a signature of `digest` by `key` (ECDSA DER, or RSA PKCS#1 v1.5 with SHA-256).
inline bool signature_verifies(EVP_PKEY* key, const Digest& digest, Span<const std::uint8_t> sig) {
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_PKEY_verify_init(ctx.get()) == 1);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1);
  }
  REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1);
  return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
}

/// generate_key() of `label`, which must succeed.
template <typename Store>
port::KeyInfo generate_in(Store& store, port::KeyAlgorithm algorithm, const char* label) {
  port::KeySpec spec;
  spec.algorithm = algorithm;
  spec.label = label;
  auto info = store.generate_key(spec);
  INFO(store.last_error());
  REQUIRE(info.ok());
  return *info;
}

}  // namespace tether::test
