// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Crypto port: random bytes, SHA-256, HMAC-SHA-256 and authenticated encryption (AEAD), for the
/// offline queue's encryption at rest, and signature verification (ECDSA P-256, RSA PKCS#1 v1.5).
/// Implementation: `tether::mbedtls::MbedCrypto` (ports/mbedtls); an integrator may put a hardware
/// crypto engine behind the same interface.
///
/// ## Algorithms
/// - Hash: SHA-256 (FIPS 180-4), 32-byte digest.
/// - MAC: HMAC-SHA-256 (RFC 2104), key of any length, 32-byte MAC (never truncated here).
/// - AEAD: **AES-256-GCM** (NIST SP 800-38D) with a 32-byte key, a 12-byte nonce and the full
///   16-byte tag. A sealed message is `ciphertext || tag`: the ciphertext has the plaintext's
///   length, so a sealed message is exactly `kAeadTagSize` bytes longer than its plaintext.
/// - Signature verification: ECDSA on NIST P-256 (DER ECDSA-Sig-Value, as X.509 and TLS carry it)
///   and RSA PKCS#1 v1.5 (RFC 8017 §8.2, DigestInfo with SHA-256), both over a SHA-256 digest the
///   caller computed; the public key is a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), as
///   `KeyStore::public_key_der()` returns it and as certificates carry it.
///
/// ## Nonces (the caller's duty)
/// The caller supplies the nonce. A (key, nonce) pair must never seal two different messages: GCM
/// then reveals the XOR of the plaintexts and lets anyone forge tags for that key. Either use a
/// counter that is never reused (also not after a restart: persist it ahead of use), or take the
/// nonce from random() and seal at most 2^32 messages per key (SP 800-38D §8.3).
///
/// ## Checks common to every implementation (done here, before the implementation is called)
/// - A fixed-size argument or output of the wrong size (AEAD key or nonce, digest, MAC, the digest
///   given to verify_sha256_signature()):
///   kInvalidArgument, origin kCrypto, detail 0.
/// - A variable-size output that is too small: kResourceExhausted, origin kCrypto, detail 0.
/// - An output that overlaps any input is a caller bug: the contract handler
///   (tether/contract.hpp) is called, and if it returns, the call returns kInvalidArgument/kCrypto/0
///   without writing anything.
/// Errors of the backend carry origin kCrypto and the backend's code as detail (mbedTLS: the
/// negated error code, low 16 bits, e.g. 0x12 for MBEDTLS_ERR_GCM_AUTH_FAILED).
///
/// ## Outputs on failure
/// When a call fails, every byte of its output buffer (`out`, `digest`, `mac`) is set to zero,
/// whatever the cause (apart from the overlap fallback above): a failed aead_open() never leaves
/// partial plaintext behind, a failed random() never leaves bytes that could pass for a key.
///
/// ## Not here
/// CSR building needs a private key, so it lives with the key store, not here: ports/mbedtls
/// (`tether/port/mbedtls/csr.hpp`) builds one whose signature the KeyStore computes.
///
/// ## Threading
/// Not thread-safe: one thread makes every call (implementations keep state, such as a DRBG).

#include <cstddef>
#include <cstdint>

#include "tether/contract.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether {
namespace detail {

/// Sets every byte of `bytes` to zero with stores the compiler may not remove as dead.
inline void secure_zero(Span<std::uint8_t> bytes) {
  volatile std::uint8_t* p = bytes.data();
  for (std::size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
}

/// True if the two byte ranges share at least one byte (empty ranges share none).
inline bool ranges_overlap(const void* a, std::size_t a_size, const void* b, std::size_t b_size) {
  if (a_size == 0 || b_size == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a);
  const auto b0 = reinterpret_cast<std::uintptr_t>(b);
  return a0 < b0 + b_size && b0 < a0 + a_size;
}

template <typename T>
bool overlaps(Span<std::uint8_t> out, Span<T> in) {
  return ranges_overlap(out.data(), out.size(), in.data(), in.size());
}

}  // namespace detail

namespace port {

class Crypto {
 public:
  static constexpr std::size_t kSha256Size = 32;      ///< SHA-256 digest bytes
  static constexpr std::size_t kHmacSha256Size = 32;  ///< HMAC-SHA-256 MAC bytes
  static constexpr std::size_t kAeadKeySize = 32;     ///< AES-256-GCM key bytes
  static constexpr std::size_t kAeadNonceSize = 12;   ///< AES-256-GCM nonce (IV) bytes
  static constexpr std::size_t kAeadTagSize = 16;     ///< AES-256-GCM tag bytes, appended to the ciphertext
  /// Longest plaintext GCM allows under one nonce (2^36 - 32 bytes, SP 800-38D §5.2.1.1).
  static constexpr std::uint64_t kAeadMaxPlaintextSize = (std::uint64_t{1} << 36) - 32;

  virtual ~Crypto() = default;

  /// Fills all of `out` with bytes from a cryptographically secure random generator (suitable
  /// for keys and nonces). An empty `out` is allowed. Returns ok, or:
  /// - kUnavailable (kCrypto, backend code): the generator could not be seeded or reseeded from
  ///   its entropy sources (it is retried on the next call)
  /// - kResourceExhausted (kCrypto, backend code): the backend ran out of memory or of entropy
  ///   source slots
  /// - kInternal (kCrypto, backend code): any other backend failure
  /// On failure `out` is all zero.
  Status random(Span<std::uint8_t> out) {
    Status status = do_random(out);
    if (!status.ok()) detail::secure_zero(out);
    return status;
  }

  /// Writes the SHA-256 digest of `data` (any length, empty too) to `digest`. Returns ok, or:
  /// - kInvalidArgument (kCrypto, 0): `digest.size()` is not kSha256Size
  /// - kUnimplemented (kCrypto, backend code): the backend was built without SHA-256
  /// - kInternal (kCrypto, backend code): any other backend failure
  /// On failure `digest` is all zero. `digest` may overlap `data` (the digest is written last).
  Status sha256(Span<const std::uint8_t> data, Span<std::uint8_t> digest) {
    Status status = digest.size() != kSha256Size ? invalid_argument() : do_sha256(data, digest);
    if (!status.ok()) detail::secure_zero(digest);
    return status;
  }

  /// Writes HMAC-SHA-256(`key`, `data`) to `mac`. `key` may have any length (longer than 64 bytes
  /// is hashed first, as RFC 2104 says); `data` any length. Returns ok, or:
  /// - kInvalidArgument (kCrypto, 0): `mac.size()` is not kHmacSha256Size
  /// - kUnimplemented (kCrypto, backend code): the backend was built without SHA-256 or HMAC
  /// - kResourceExhausted (kCrypto, backend code): the backend ran out of memory
  /// - kInternal (kCrypto, backend code): any other backend failure
  /// On failure `mac` is all zero. `mac` may overlap `key` or `data` (it is written last).
  /// Compare MACs with a constant-time comparison, never with memcmp.
  Status hmac_sha256(Span<const std::uint8_t> key, Span<const std::uint8_t> data, Span<std::uint8_t> mac) {
    Status status = mac.size() != kHmacSha256Size ? invalid_argument() : do_hmac_sha256(key, data, mac);
    if (!status.ok()) detail::secure_zero(mac);
    return status;
  }

  /// Checks `signature` over the SHA-256 digest `digest` (32 bytes, computed by the caller, e.g.
  /// with sha256()) against `public_key_der`, a DER SubjectPublicKeyInfo (nothing may follow it; no
  /// PEM). Key types: EC on NIST P-256 (prime256v1) with a DER ECDSA-Sig-Value signature, and RSA
  /// of 2048 to 4096 bits with a PKCS#1 v1.5 signature whose DigestInfo names SHA-256. Only the
  /// public key is used; nothing is written. Returns ok when the signature verifies, or:
  /// - kUnauthenticated (kCrypto, backend code, mbedTLS e.g. 0x4E00 ECDSA, 0x4380 RSA): the
  ///   signature does not verify: it was made over another digest or with another key, or it is
  ///   malformed (not DER, wrong length, trailing bytes): a malformed signature is a signature that
  ///   does not verify, never kInvalidArgument. (Unlike aead_open(), whose failed tag means the
  ///   stored data was damaged, kDataLoss: here the question is who signed.)
  /// - kUnauthenticated (kCrypto, 0): `signature` is empty
  /// - kInvalidArgument (kCrypto, 0): `digest.size()` is not kSha256Size, or `public_key_der` is
  ///   empty
  /// - kInvalidArgument (kCrypto, backend code): `public_key_der` is not a DER
  ///   SubjectPublicKeyInfo (does not parse, bytes after it, a point not on the curve)
  /// - kUnimplemented (kCrypto, backend code or 0): a key type other than EC P-256 or RSA (another
  ///   curve, Ed25519, DSA, ...), an RSA key shorter than 2048 or longer than 4096 bits, or a
  ///   backend built without that algorithm
  /// - kResourceExhausted (kCrypto, backend code): the backend ran out of memory
  /// - kInternal (kCrypto, backend code): any other backend failure
  Status verify_sha256_signature(Span<const std::uint8_t> public_key_der, Span<const std::uint8_t> digest,
                                 Span<const std::uint8_t> signature) {
    if (digest.size() != kSha256Size || public_key_der.empty()) return invalid_argument();
    if (signature.empty()) return Status(StatusCode::kUnauthenticated, Origin::kCrypto);
    return do_verify_sha256_signature(public_key_der, digest, signature);
  }

  /// AES-256-GCM encryption: writes `ciphertext || tag` (plaintext.size() + kAeadTagSize bytes) to
  /// the start of `out` and returns that count. `aad` (additional authenticated data, may be empty)
  /// is authenticated but not encrypted; the same `aad` must be given to aead_open(). Never reuse
  /// a (key, nonce) pair (see the file comment). `out` must not overlap any input (contract).
  /// Returns the byte count, or:
  /// - kInvalidArgument (kCrypto, 0): `key.size()` != kAeadKeySize or `nonce.size()` != kAeadNonceSize
  /// - kOutOfRange (kCrypto, 0): `plaintext` is longer than kAeadMaxPlaintextSize
  /// - kResourceExhausted (kCrypto, 0): `out.size()` < plaintext.size() + kAeadTagSize
  /// - kResourceExhausted (kCrypto, backend code): the backend ran out of memory
  /// - kUnimplemented (kCrypto, backend code): the backend was built without AES or GCM
  /// - kInvalidArgument (kCrypto, backend code): the backend refused the lengths
  /// - kInternal (kCrypto, backend code): any other backend failure
  /// On failure `out` is all zero. Bytes of `out` beyond the returned count are not touched.
  Result<std::size_t> aead_seal(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                Span<const std::uint8_t> aad, Span<const std::uint8_t> plaintext,
                                Span<std::uint8_t> out) {
    if (overlap_violation(out, key, nonce, aad, plaintext)) return invalid_argument();
    Status status;
    if (key.size() != kAeadKeySize || nonce.size() != kAeadNonceSize) {
      status = invalid_argument();
    } else if (static_cast<std::uint64_t>(plaintext.size()) > kAeadMaxPlaintextSize) {
      status = Status(StatusCode::kOutOfRange, Origin::kCrypto);
    } else if (out.size() < plaintext.size() + kAeadTagSize) {
      status = Status(StatusCode::kResourceExhausted, Origin::kCrypto);
    } else {
      status = do_aead_seal(key, nonce, aad, plaintext, out.subspan(0, plaintext.size() + kAeadTagSize));
      if (status.ok()) return plaintext.size() + kAeadTagSize;
    }
    detail::secure_zero(out);
    return status;
  }

  /// AES-256-GCM decryption: checks the tag at the end of `ciphertext_with_tag` against `key`,
  /// `nonce`, `aad` and the ciphertext; only if it verifies, writes the plaintext
  /// (ciphertext_with_tag.size() - kAeadTagSize bytes) to the start of `out` and returns that
  /// count. `out` must not overlap any input (contract). Returns the byte count, or:
  /// - kDataLoss (kCrypto, backend code, mbedTLS: 0x12): the tag does not verify: the ciphertext,
  ///   the tag, the nonce, the AAD or the key differ from what was sealed (corruption or tampering)
  /// - kDataLoss (kCrypto, 0): `ciphertext_with_tag` is shorter than kAeadTagSize (truncated)
  /// - kInvalidArgument (kCrypto, 0): `key.size()` != kAeadKeySize or `nonce.size()` != kAeadNonceSize
  /// - kOutOfRange (kCrypto, 0): the ciphertext is longer than kAeadMaxPlaintextSize
  /// - kResourceExhausted (kCrypto, 0): `out.size()` < ciphertext_with_tag.size() - kAeadTagSize
  /// - kResourceExhausted (kCrypto, backend code): the backend ran out of memory
  /// - kUnimplemented (kCrypto, backend code): the backend was built without AES or GCM
  /// - kInvalidArgument (kCrypto, backend code): the backend refused the lengths
  /// - kInternal (kCrypto, backend code): any other backend failure
  /// On failure `out` is all zero: never partial or unauthenticated plaintext. Bytes of `out`
  /// beyond the returned count are not touched.
  Result<std::size_t> aead_open(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                Span<const std::uint8_t> aad, Span<const std::uint8_t> ciphertext_with_tag,
                                Span<std::uint8_t> out) {
    if (overlap_violation(out, key, nonce, aad, ciphertext_with_tag)) return invalid_argument();
    Status status;
    if (key.size() != kAeadKeySize || nonce.size() != kAeadNonceSize) {
      status = invalid_argument();
    } else if (ciphertext_with_tag.size() < kAeadTagSize) {
      status = Status(StatusCode::kDataLoss, Origin::kCrypto);
    } else if (static_cast<std::uint64_t>(ciphertext_with_tag.size() - kAeadTagSize) > kAeadMaxPlaintextSize) {
      status = Status(StatusCode::kOutOfRange, Origin::kCrypto);
    } else if (out.size() < ciphertext_with_tag.size() - kAeadTagSize) {
      status = Status(StatusCode::kResourceExhausted, Origin::kCrypto);
    } else {
      const std::size_t size = ciphertext_with_tag.size() - kAeadTagSize;
      status = do_aead_open(key, nonce, aad, ciphertext_with_tag, out.subspan(0, size));
      if (status.ok()) return size;
    }
    detail::secure_zero(out);
    return status;
  }

 private:
  static constexpr Status invalid_argument() { return Status(StatusCode::kInvalidArgument, Origin::kCrypto); }

  static bool overlap_violation(Span<std::uint8_t> out, Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                Span<const std::uint8_t> aad, Span<const std::uint8_t> input) {
    const bool overlap = detail::overlaps(out, key) || detail::overlaps(out, nonce) ||
                         detail::overlaps(out, aad) || detail::overlaps(out, input);
    TETHER_EXPECTS(!overlap);
    return overlap;
  }

  /// Called with any `out` (possibly empty). On failure the caller zeroes `out`.
  virtual Status do_random(Span<std::uint8_t> out) = 0;
  /// Called with `digest.size()` == kSha256Size.
  virtual Status do_sha256(Span<const std::uint8_t> data, Span<std::uint8_t> digest) = 0;
  /// Called with `mac.size()` == kHmacSha256Size.
  virtual Status do_hmac_sha256(Span<const std::uint8_t> key, Span<const std::uint8_t> data,
                                Span<std::uint8_t> mac) = 0;
  /// Called with checked key and nonce sizes and `out.size()` == plaintext.size() + kAeadTagSize,
  /// no overlap. Writes ciphertext || tag.
  virtual Status do_aead_seal(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                              Span<const std::uint8_t> aad, Span<const std::uint8_t> plaintext,
                              Span<std::uint8_t> out) = 0;
  /// Called with checked key and nonce sizes, `ciphertext_with_tag.size()` >= kAeadTagSize and
  /// `out.size()` == ciphertext_with_tag.size() - kAeadTagSize, no overlap. Returns kDataLoss when
  /// the tag does not verify.
  virtual Status do_aead_open(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                              Span<const std::uint8_t> aad, Span<const std::uint8_t> ciphertext_with_tag,
                              Span<std::uint8_t> out) = 0;
  /// Called with `digest.size()` == kSha256Size and non-empty `public_key_der` and `signature`.
  /// Returns ok only when the signature verifies; the codes are those of verify_sha256_signature().
  virtual Status do_verify_sha256_signature(Span<const std::uint8_t> public_key_der, Span<const std::uint8_t> digest,
                                            Span<const std::uint8_t> signature) = 0;
};

}  // namespace port
}  // namespace tether
