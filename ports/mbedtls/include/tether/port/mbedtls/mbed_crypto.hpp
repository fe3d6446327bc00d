// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// MbedCrypto: the Crypto port (tether/port/crypto.hpp) over mbedTLS 2.28: SHA-256 with
/// mbedtls_sha256, HMAC-SHA-256 with mbedtls_md, AES-256-GCM with mbedtls_gcm, random bytes from
/// a CTR_DRBG (AES-256) seeded from mbedtls_entropy, signature verification with mbedtls_pk. ports/mbedtls/README.md lists the mbedTLS
/// build options it needs, where mbedTLS allocates, and how mbedTLS errors map to Status.

#include <cstddef>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "tether/port/crypto.hpp"

namespace tether::mbedtls {

/// An additional entropy source for the random generator, in mbedTLS's callback form: a
/// hardware TRNG on a board whose mbedTLS has no platform entropy, or a fault-injecting source in
/// tests. The platform's own sources (Linux: getrandom) are always used as well.
struct EntropySource {
  /// An mbedtls_entropy_f_source_ptr: writes up to `size` bytes to `out`, stores how many in
  /// `*written`, returns 0 or an mbedTLS error (e.g. MBEDTLS_ERR_ENTROPY_SOURCE_FAILED). Null:
  /// no additional source.
  int (*poll)(void* context, unsigned char* out, std::size_t size, std::size_t* written) = nullptr;
  /// Passed to `poll` unchanged.
  void* context = nullptr;
  /// Bytes the source must deliver before the generator is seeded.
  std::size_t threshold = 32;
  /// True if the source is cryptographically strong (MBEDTLS_ENTROPY_SOURCE_STRONG).
  bool strong = true;
};

/// The Crypto port over mbedTLS. Construction cannot fail and does no I/O: the random generator
/// is seeded by the first random() call (a failure there is a Status, and the next call tries
/// again). Not thread-safe (one thread makes every call); neither copyable nor movable (mbedTLS
/// contexts point into the object). After fork(), do not use an instance created before it in
/// both processes: they would produce the same random bytes.
class MbedCrypto final : public port::Crypto {
 public:
  MbedCrypto();
  /// `extra`: a source added to the platform's (see EntropySource).
  explicit MbedCrypto(EntropySource extra);
  ~MbedCrypto() override;
  MbedCrypto(const MbedCrypto&) = delete;
  MbedCrypto& operator=(const MbedCrypto&) = delete;

  /// True once the random generator has been seeded.
  bool seeded() const { return seeded_; }

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

  Status seed();

  EntropySource extra_;
  bool extra_added_ = false;
  bool seeded_ = false;
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
};

}  // namespace tether::mbedtls
