// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// What the OpenSSL port's Crypto and CSR code share: Status from OpenSSL's error queue, and the
// public keys both accept.

#include <openssl/evp.h>

#include <cstdint>
#include <memory>

#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether::openssl::detail {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

/// `code` with origin kCrypto and, as detail, the reason of the oldest error on OpenSSL's error
/// queue (low 16 bits; 0 when the queue is empty). Empties the queue.
Status crypto_error(StatusCode code);

/// True if `signature` is `key`'s signature over the SHA-256 digest `digest` (32 bytes): a DER
/// ECDSA-Sig-Value for EC, PKCS#1 v1.5 with a SHA-256 DigestInfo for RSA. A malformed signature is
/// one that does not verify. Leaves OpenSSL's error queue empty.
bool verify_sha256(EVP_PKEY* key, Span<const std::uint8_t> digest, Span<const std::uint8_t> signature);

/// Parses a DER SubjectPublicKeyInfo (all of `der`, nothing after it) into `key`. ok for EC on
/// P-256 and RSA of 2048 to 4096 bits; kInvalidArgument (kCrypto) when it does not parse or bytes
/// follow it; kUnimplemented (kCrypto, 0) for any other key type or size.
Status parse_signing_key(Span<const std::uint8_t> der, Pkey& key);

}  // namespace tether::openssl::detail
