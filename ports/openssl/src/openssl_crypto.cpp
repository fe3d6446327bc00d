// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/openssl/openssl_crypto.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "openssl_detail.hpp"

namespace tether::openssl {
namespace {

using detail::crypto_error;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// OpenSSL wants a valid pointer even for zero bytes.
const unsigned char* bytes_or_empty(Span<const std::uint8_t> s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : s.data();
}

bool fits_int(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

// AES-256-GCM with a 12-byte nonce: a context ready for update calls, or null.
CipherCtx gcm_context(bool encrypt, Span<const std::uint8_t> key, Span<const std::uint8_t> nonce) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return ctx;
  const int init = encrypt ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data())
                           : EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data());
  if (init != 1) ctx.reset();  // the default IV length of GCM in OpenSSL is 12 bytes: no ctrl needed
  return ctx;
}

// Feeds `data` in pieces of at most INT_MAX bytes (EVP's lengths are int).
bool update(EVP_CIPHER_CTX* ctx, bool encrypt, Span<const std::uint8_t> data, std::uint8_t* out) {
  std::size_t done = 0;
  while (done < data.size()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(data.size() - done, INT_MAX / 2));
    int written = 0;
    const int ok = encrypt ? EVP_EncryptUpdate(ctx, out == nullptr ? nullptr : out + done, &written,
                                               data.data() + done, chunk)
                           : EVP_DecryptUpdate(ctx, out == nullptr ? nullptr : out + done, &written,
                                               data.data() + done, chunk);
    if (ok != 1) return false;
    done += static_cast<std::size_t>(chunk);
  }
  return true;
}

}  // namespace

Status OpenSslCrypto::do_random(Span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(out.size() - done, INT_MAX / 2));
    if (RAND_bytes(out.data() + done, chunk) != 1) return crypto_error(StatusCode::kUnavailable);
    done += static_cast<std::size_t>(chunk);
  }
  return ok_status();
}

Status OpenSslCrypto::do_sha256(Span<const std::uint8_t> data, Span<std::uint8_t> digest) {
  unsigned int size = 0;
  if (EVP_Digest(bytes_or_empty(data), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != kSha256Size) {
    return crypto_error(StatusCode::kInternal);
  }
  return ok_status();
}

Status OpenSslCrypto::do_hmac_sha256(Span<const std::uint8_t> key, Span<const std::uint8_t> data,
                                     Span<std::uint8_t> mac) {
  if (!fits_int(key.size())) return crypto_error(StatusCode::kInvalidArgument);
  unsigned int size = 0;
  // HMAC() writes the MAC last: `mac` may overlap `key` or `data`, as the port allows.
  std::uint8_t result[kHmacSha256Size];
  if (HMAC(EVP_sha256(), bytes_or_empty(key), static_cast<int>(key.size()), bytes_or_empty(data), data.size(), result,
           &size) == nullptr ||
      size != kHmacSha256Size) {
    return crypto_error(StatusCode::kInternal);
  }
  std::copy(result, result + kHmacSha256Size, mac.data());
  OPENSSL_cleanse(result, sizeof result);
  return ok_status();
}

Status OpenSslCrypto::do_aead_seal(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                   Span<const std::uint8_t> aad, Span<const std::uint8_t> plaintext,
                                   Span<std::uint8_t> out) {
  CipherCtx ctx = gcm_context(true, key, nonce);
  if (!ctx) return crypto_error(StatusCode::kInternal);
  int final_bytes = 0;
  if (!update(ctx.get(), true, aad, nullptr) || !update(ctx.get(), true, plaintext, out.data()) ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &final_bytes) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagSize),
                          out.data() + plaintext.size()) != 1) {
    return crypto_error(StatusCode::kInternal);
  }
  return ok_status();
}

Status OpenSslCrypto::do_aead_open(Span<const std::uint8_t> key, Span<const std::uint8_t> nonce,
                                   Span<const std::uint8_t> aad, Span<const std::uint8_t> ciphertext_with_tag,
                                   Span<std::uint8_t> out) {
  const std::size_t size = ciphertext_with_tag.size() - kAeadTagSize;
  CipherCtx ctx = gcm_context(false, key, nonce);
  if (!ctx) return crypto_error(StatusCode::kInternal);
  // The tag goes in before the final call, which compares it (in constant time).
  std::uint8_t tag[kAeadTagSize];
  std::copy(ciphertext_with_tag.data() + size, ciphertext_with_tag.data() + size + kAeadTagSize, tag);
  std::uint8_t no_output = 0;
  if (!update(ctx.get(), false, aad, nullptr) ||
      !update(ctx.get(), false, ciphertext_with_tag.subspan(0, size), size == 0 ? &no_output : out.data()) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize), tag) != 1) {
    return crypto_error(StatusCode::kInternal);
  }
  int final_bytes = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), &no_output, &final_bytes) != 1) {
    ERR_clear_error();
    return Status(StatusCode::kDataLoss, Origin::kCrypto);  // the tag does not verify (the base zeroes `out`)
  }
  return ok_status();
}

Status OpenSslCrypto::do_verify_sha256_signature(Span<const std::uint8_t> public_key_der,
                                                 Span<const std::uint8_t> digest, Span<const std::uint8_t> signature) {
  detail::Pkey key;
  TETHER_RETURN_IF_ERROR(detail::parse_signing_key(public_key_der, key));
  if (detail::verify_sha256(key.get(), digest, signature)) return ok_status();
  return Status(StatusCode::kUnauthenticated, Origin::kCrypto);
}

}  // namespace tether::openssl
