// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// OpenSslCrypto: the Crypto port (tether/port/crypto.hpp) over OpenSSL 3's libcrypto, for Linux
/// programs that link OpenSSL anyway (the Paho port's TLS): one crypto library in the process
/// instead of two. Behaviour, Statuses and outputs on failure are the port's (the conformance
/// suite in tests/crypto runs against it); the backend detail of an OpenSSL error is the reason
/// code of the first error on OpenSSL's error queue (low 16 bits), 0 when there is none.
///
/// - random(): RAND_bytes, OpenSSL's default DRBG seeded by the operating system (getrandom).
/// - sha256(), hmac_sha256(): EVP_Digest and HMAC with SHA-256.
/// - aead_seal(), aead_open(): EVP AES-256-GCM with a 12-byte nonce and a 16-byte tag; a tag that
///   does not verify is kDataLoss with detail 0 and `out` zeroed.
/// - verify_sha256_signature(): the DER SubjectPublicKeyInfo parsed with d2i_PUBKEY (all of it,
///   nothing after it); EC P-256 (DER ECDSA-Sig-Value) and RSA 2048 to 4096 bits (PKCS#1 v1.5 with
///   a SHA-256 DigestInfo) through EVP_PKEY_verify.
///
/// No state besides OpenSSL's own: construction cannot fail, instances are cheap. Allocates (the
/// EVP contexts, freed before each call returns). Not for bare metal.

#include "tether/port/crypto.hpp"

namespace tether::openssl {

class OpenSslCrypto final : public port::Crypto {
 private:
  Status do_random(Span<std::uint8_t> out) override;
  Status do_sha256(Span<const std::uint8_t> data, Span<std::uint8_t> digest) override;
  Status do_hmac_sha256(Span<const std::uint8_t> key, Span<const std::uint8_t> data, Span<std::uint8_t> mac) override;
  Status do_aead_seal(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce, Span<const std::uint8_t> aad,
                      Span<const std::uint8_t> plaintext, Span<std::uint8_t> out) override;
  Status do_aead_open(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce, Span<const std::uint8_t> aad,
                      Span<const std::uint8_t> ciphertext_with_tag, Span<std::uint8_t> out) override;
  Status do_verify_sha256_signature(Span<const std::uint8_t> public_key_der, Span<const std::uint8_t> digest,
                                    Span<const std::uint8_t> signature) override;
};

}  // namespace tether::openssl
