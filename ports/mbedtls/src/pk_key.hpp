// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Private to tether::port_mbedtls: public keys for signatures (parse and check a DER
// SubjectPublicKeyInfo), a pk context holder and the mbedTLS error helpers that MbedCrypto,
// build_csr and FileKeyStore share.

#include <cstdint>

#include <mbedtls/pk.h>

#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether::mbedtls::detail {

/// The negated mbedTLS error code, low 16 bits: the detail of a Status with origin kCrypto.
inline std::uint16_t detail_of(int ret) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(-ret) & 0xFFFFu);
}

/// True if `test` holds for the whole mbedTLS 2 error code, its high-level or its low-level part
/// (mbedTLS 2 adds a low-level code, bits 0..6, to a high-level one, bits 7..14).
inline bool any_part(int ret, bool (*test)(int)) {
  const int negated = -ret;
  return test(ret) || test(-(negated & 0x7F80)) || test(-(negated & 0x007F));
}

/// An mbedtls_pk_context freed on every path (mbedtls_pk_free frees the RSA or EC key it holds and
/// zeroes it, private parts included).
class PkContext {
 public:
  PkContext() { mbedtls_pk_init(&ctx_); }
  ~PkContext() { mbedtls_pk_free(&ctx_); }
  PkContext(const PkContext&) = delete;
  PkContext& operator=(const PkContext&) = delete;
  mbedtls_pk_context* get() { return &ctx_; }

 private:
  mbedtls_pk_context ctx_;
};

/// True if `code` is one of mbedTLS's allocation failures (PK, ECP, MPI, ASN.1, X.509).
bool out_of_memory(int code);

/// Parses `der`, a DER SubjectPublicKeyInfo with nothing after it, into `pk` (initialised, not set
/// up) and checks it is a key this port signs or verifies with: EC on secp256r1, or RSA of 2048
/// to 4096 bits. Returns ok, or (origin kCrypto):
/// - kInvalidArgument (mbedTLS code, or 0 for trailing bytes): not a DER SubjectPublicKeyInfo, a
///   point not on its curve, an inconsistent RSA key
/// - kUnimplemented (mbedTLS code, or 0): another algorithm or curve, or an RSA size outside the range
/// - kResourceExhausted (mbedTLS code): out of memory
/// On failure `pk` may be set up (a key of another type or size): the caller frees it either way.
Status parse_signing_key(Span<const std::uint8_t> der, mbedtls_pk_context* pk);

}  // namespace tether::mbedtls::detail
