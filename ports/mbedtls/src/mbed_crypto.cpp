// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/mbedtls/mbed_crypto.hpp"

#include "pk_key.hpp"

#include <algorithm>
#include <cstdint>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

// The mbedTLS build options this port needs (ports/mbedtls/README.md). Debian's build has them all.
#if !defined(MBEDTLS_AES_C) || !defined(MBEDTLS_CIPHER_C) || !defined(MBEDTLS_GCM_C)
#error "tether::port_mbedtls needs MBEDTLS_AES_C, MBEDTLS_CIPHER_C and MBEDTLS_GCM_C (AES-256-GCM)"
#endif
#if !defined(MBEDTLS_SHA256_C) || !defined(MBEDTLS_MD_C)
#error "tether::port_mbedtls needs MBEDTLS_SHA256_C and MBEDTLS_MD_C (SHA-256, HMAC-SHA-256)"
#endif
#if !defined(MBEDTLS_CTR_DRBG_C) || !defined(MBEDTLS_ENTROPY_C)
#error "tether::port_mbedtls needs MBEDTLS_CTR_DRBG_C and MBEDTLS_ENTROPY_C (random bytes)"
#endif
#if !defined(MBEDTLS_PK_C) || !defined(MBEDTLS_PK_PARSE_C) || !defined(MBEDTLS_ECDSA_C) || \
    !defined(MBEDTLS_ECP_DP_SECP256R1_ENABLED) || !defined(MBEDTLS_RSA_C) || !defined(MBEDTLS_PKCS1_V15)
#error "tether::port_mbedtls needs MBEDTLS_PK_C, MBEDTLS_PK_PARSE_C, MBEDTLS_ECDSA_C, MBEDTLS_ECP_DP_SECP256R1_ENABLED, MBEDTLS_RSA_C and MBEDTLS_PKCS1_V15 (signature verification)"
#endif

namespace tether::mbedtls {
namespace {

constexpr unsigned char kPersonalization[] = "tether-mbed-crypto";
constexpr unsigned int kAes256Bits = 256;

// mbedTLS wants readable pointers even for zero lengths in some builds (MBEDTLS_CHECK_PARAMS).
const unsigned char kEmpty[1] = {0};
const unsigned char* bytes_or_empty(Span<const std::uint8_t> span) {
  return span.empty() ? kEmpty : span.data();
}

using detail::any_part;
using detail::detail_of;
using detail::out_of_memory;
using detail::PkContext;

// The canonical code for one mbedTLS error code (negative), or kOk if it is not one we know.
StatusCode code_of(int ret) {
  switch (ret) {
    case MBEDTLS_ERR_GCM_AUTH_FAILED:
    case MBEDTLS_ERR_CIPHER_AUTH_FAILED:
      return StatusCode::kDataLoss;
    case MBEDTLS_ERR_GCM_BAD_INPUT:
    case MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA:
    case MBEDTLS_ERR_MD_BAD_INPUT_DATA:
    case MBEDTLS_ERR_SHA256_BAD_INPUT_DATA:
    case MBEDTLS_ERR_AES_INVALID_KEY_LENGTH:
    case MBEDTLS_ERR_AES_BAD_INPUT_DATA:
    case MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG:
    case MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG:
      return StatusCode::kInvalidArgument;
    case MBEDTLS_ERR_CIPHER_ALLOC_FAILED:
    case MBEDTLS_ERR_MD_ALLOC_FAILED:
    case MBEDTLS_ERR_ENTROPY_MAX_SOURCES:
      return StatusCode::kResourceExhausted;
    case MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_MD_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_AES_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_PLATFORM_FEATURE_UNSUPPORTED:
      return StatusCode::kUnimplemented;
    case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
    case MBEDTLS_ERR_ENTROPY_SOURCE_FAILED:
    case MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE:
    case MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kOk;
  }
}

// mbedTLS error (negative) -> Status with origin kCrypto and the negated code as detail. mbedTLS 2
// may add a low-level code (bits 0..6) to a high-level one (bits 7..14): the whole code is looked
// up first, then its high-level part, then its low-level part.
Status to_status(int ret) {
  if (ret == 0) return ok_status();
  const int negated = -ret;
  StatusCode code = code_of(ret);
  if (code == StatusCode::kOk) code = code_of(-(negated & 0x7F80));
  if (code == StatusCode::kOk) code = code_of(-(negated & 0x007F));
  if (code == StatusCode::kOk) code = StatusCode::kInternal;
  return Status(code, Origin::kCrypto, detail_of(ret));
}

// The status for an mbedTLS error from mbedtls_pk_verify with a key that parsed: memory is
// kResourceExhausted; anything else is about the signature (does not verify, malformed, wrong
// length, r or s out of range, a value >= the RSA modulus): kUnauthenticated.
Status verify_status(int ret) {
  return Status(any_part(ret, out_of_memory) ? StatusCode::kResourceExhausted : StatusCode::kUnauthenticated,
                Origin::kCrypto, detail_of(ret));
}

// Frees a GCM context (and zeroes the expanded key it holds) on every path.
class GcmContext {
 public:
  GcmContext() { mbedtls_gcm_init(&ctx_); }
  ~GcmContext() { mbedtls_gcm_free(&ctx_); }
  GcmContext(const GcmContext&) = delete;
  GcmContext& operator=(const GcmContext&) = delete;
  mbedtls_gcm_context* get() { return &ctx_; }

 private:
  mbedtls_gcm_context ctx_;
};

}  // namespace

MbedCrypto::MbedCrypto() : MbedCrypto(EntropySource{}) {}

MbedCrypto::MbedCrypto(EntropySource extra) : extra_(extra) {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
}

MbedCrypto::~MbedCrypto() {
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

Status MbedCrypto::seed() {
  if (seeded_) return ok_status();
  if (extra_.poll != nullptr && !extra_added_) {
    const int ret = mbedtls_entropy_add_source(&entropy_, extra_.poll, extra_.context, extra_.threshold,
                                               extra_.strong ? MBEDTLS_ENTROPY_SOURCE_STRONG
                                                             : MBEDTLS_ENTROPY_SOURCE_WEAK);
    if (ret != 0) return to_status(ret);
    extra_added_ = true;
  }
  const int ret = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_, kPersonalization,
                                        sizeof(kPersonalization) - 1);
  if (ret != 0) {
    // Start from a clean context next time (seed initialises the mutex and the AES context again).
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_ctr_drbg_init(&drbg_);
    return to_status(ret);
  }
  seeded_ = true;
  return ok_status();
}

Status MbedCrypto::do_random(Span<std::uint8_t> out) {
  TETHER_RETURN_IF_ERROR(seed());
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t chunk = std::min<std::size_t>(out.size() - done, MBEDTLS_CTR_DRBG_MAX_REQUEST);
    const int ret = mbedtls_ctr_drbg_random(&drbg_, out.data() + done, chunk);
    if (ret != 0) return to_status(ret);
    done += chunk;
  }
  return ok_status();
}

Status MbedCrypto::do_sha256(Span<const std::uint8_t> data, Span<std::uint8_t> digest) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  return to_status(mbedtls_sha256(bytes_or_empty(data), data.size(), digest.data(), 0));
#else
  return to_status(mbedtls_sha256_ret(bytes_or_empty(data), data.size(), digest.data(), 0));
#endif
}

Status MbedCrypto::do_hmac_sha256(Span<const std::uint8_t> key, Span<const std::uint8_t> data,
                                  Span<std::uint8_t> mac) {
  const mbedtls_md_info_t* sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  if (sha256 == nullptr) return to_status(MBEDTLS_ERR_MD_FEATURE_UNAVAILABLE);
  // mbedtls_md_hmac allocates the digest context and the HMAC pads, and frees (zeroes) them.
  return to_status(mbedtls_md_hmac(sha256, bytes_or_empty(key), key.size(), bytes_or_empty(data), data.size(),
                                   mac.data()));
}

Status MbedCrypto::do_aead_seal(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                Span<const std::uint8_t> aad, Span<const std::uint8_t> plaintext,
                                Span<std::uint8_t> out) {
  GcmContext gcm;
  // setkey allocates the AES context through mbedtls_cipher_setup; gcm's destructor frees it.
  int ret = mbedtls_gcm_setkey(gcm.get(), MBEDTLS_CIPHER_ID_AES, key.data(), kAes256Bits);
  if (ret == 0) {
    ret = mbedtls_gcm_crypt_and_tag(gcm.get(), MBEDTLS_GCM_ENCRYPT, plaintext.size(), nonce.data(), nonce.size(),
                                    bytes_or_empty(aad), aad.size(), bytes_or_empty(plaintext), out.data(),
                                    kAeadTagSize, out.data() + plaintext.size());
  }
  return to_status(ret);
}

Status MbedCrypto::do_aead_open(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                Span<const std::uint8_t> aad, Span<const std::uint8_t> ciphertext_with_tag,
                                Span<std::uint8_t> out) {
  const std::size_t size = ciphertext_with_tag.size() - kAeadTagSize;
  // With size 0 the output pointer is never written; mbedTLS still wants a valid one.
  std::uint8_t no_output = 0;
  std::uint8_t* output = size == 0 ? &no_output : out.data();
  GcmContext gcm;
  int ret = mbedtls_gcm_setkey(gcm.get(), MBEDTLS_CIPHER_ID_AES, key.data(), kAes256Bits);
  if (ret == 0) {
    // Decrypts, then compares the tag in constant time; on a mismatch it zeroes the output.
    ret = mbedtls_gcm_auth_decrypt(gcm.get(), size, nonce.data(), nonce.size(), bytes_or_empty(aad), aad.size(),
                                   ciphertext_with_tag.data() + size, kAeadTagSize,
                                   bytes_or_empty(ciphertext_with_tag), output);
  }
  return to_status(ret);
}

Status MbedCrypto::do_verify_sha256_signature(Span<const std::uint8_t> public_key_der,
                                              Span<const std::uint8_t> digest, Span<const std::uint8_t> signature) {
  PkContext pk;
  TETHER_RETURN_IF_ERROR(detail::parse_signing_key(public_key_der, pk.get()));
  // ECDSA: the DER ECDSA-Sig-Value, no trailing bytes (MBEDTLS_ERR_PK_SIG_LEN_MISMATCH). RSA: the
  // context's default padding is PKCS#1 v1.5, and mbedTLS checks the DigestInfo names SHA-256.
  const int ret = mbedtls_pk_verify(pk.get(), MBEDTLS_MD_SHA256, digest.data(), digest.size(), signature.data(),
                                    signature.size());
  return ret == 0 ? ok_status() : verify_status(ret);
}

}  // namespace tether::mbedtls
