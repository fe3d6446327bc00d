// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/mbedtls/csr.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/pk_internal.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_csr.h>

#include "tether/fixed_string.hpp"

#include "pk_key.hpp"

#if !defined(MBEDTLS_X509_CSR_WRITE_C) || !defined(MBEDTLS_PEM_WRITE_C) || !defined(MBEDTLS_PK_WRITE_C)
#error "tether::port_mbedtls's build_csr needs MBEDTLS_X509_CSR_WRITE_C, MBEDTLS_PEM_WRITE_C and MBEDTLS_PK_WRITE_C"
#endif
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#error "tether::port_mbedtls's store-backed signer replaces the pk sign function: build mbedTLS without MBEDTLS_USE_PSA_CRYPTO"
#endif

namespace tether::mbedtls {
namespace {

// Large enough for the DER SubjectPublicKeyInfo of an RSA 4096 key (550 bytes).
constexpr std::size_t kMaxPublicKeyDer = 1024;
constexpr std::size_t kSha256Size = 32;

using detail::any_part;
using detail::detail_of;
using detail::PkContext;

Status crypto_error(StatusCode code, int ret = 0) { return Status(code, Origin::kCrypto, detail_of(ret)); }

bool out_of_memory(int ret) { return any_part(ret, detail::out_of_memory); }

bool too_small(int ret) {
  return ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ||
         ret == MBEDTLS_ERR_X509_BUFFER_TOO_SMALL;
}

// "CN=...,O=...,serialNumber=..." for mbedtls_x509write_csr_set_subject_name; the fields were
// checked, so nothing in them needs escaping.
using SubjectText = FixedString<3 * kCsrFieldMaxSize + 32>;
SubjectText subject_text(const CsrSubject& subject) {
  SubjectText text;
  text.append("CN=").ignore();
  text.append(subject.common_name).ignore();
  if (!subject.organization.empty()) {
    text.append(",O=").ignore();
    text.append(subject.organization).ignore();
  }
  if (!subject.serial_number.empty()) {
    text.append(",serialNumber=").ignore();
    text.append(subject.serial_number).ignore();
  }
  return text;
}

// ---- the store-backed signer -----------------------------------------------------------------

// A private-key context for mbedTLS whose signature comes from KeyStore::sign_digest().
//
// mbedTLS 2.28 has no hook for an external EC key, and an RSA_ALT context (mbedtls_pk_setup_rsa_alt)
// cannot be used to write a CSR: mbedtls_pk_write_pubkey_der() refuses MBEDTLS_PK_RSA_ALT. So both
// key types take the route of PLATFORM.md: a copy of mbedTLS's own mbedtls_pk_info_t for the type
// (MBEDTLS_PK_ECKEY or MBEDTLS_PK_RSA) with sign_func replaced. The public half (parsed from
// public_key_der()) is copied into this object, whose first member is the mbedTLS key, so the
// sign function finds its Signer from the key pointer mbedTLS passes; the stock functions (verify,
// write the public key, bit length) use the key as usual. Because the key lives here and not on the
// heap, ctx_free_func is replaced as well, by one that does nothing: mbedtls_pk_free() on the
// context is then harmless, and the destructor frees the keys (PLATFORM.md restores the stock info
// before freeing instead; that needs the key on mbedTLS's heap).
class Signer {
 public:
  Signer(port::KeyStore& keys, std::string_view uri) : keys_(keys), uri_(uri) {
    mbedtls_pk_init(&pk_);
    mbedtls_ecp_keypair_init(&ec_.key);
    ec_.owner = this;
    mbedtls_rsa_init(&rsa_.key, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    rsa_.owner = this;
  }
  ~Signer() {
    mbedtls_pk_free(&pk_);  // calls info_.ctx_free_func (nothing) and zeroes the context
    mbedtls_ecp_keypair_free(&ec_.key);
    mbedtls_rsa_free(&rsa_.key);
  }
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // Reads and parses the public key and sets up the context.
  Status open(ErrorText* error);

  mbedtls_pk_context* pk() { return &pk_; }
  // The KeyStore's Status when sign_digest() failed, or the check of its signature (else ok).
  Status sign_status() const { return sign_status_; }

 private:
  template <typename Key>
  struct Embedded {
    Key key;  // first member: the pointer mbedTLS passes as ctx is the Embedded's address
    Signer* owner = nullptr;
  };
  using EcKey = Embedded<mbedtls_ecp_keypair>;
  using RsaKey = Embedded<mbedtls_rsa_context>;

  template <typename Key>
  static int sign(void* ctx, mbedtls_md_type_t md_alg, const unsigned char* hash, std::size_t hash_len,
                  unsigned char* sig, std::size_t* sig_len, int (*)(void*, unsigned char*, std::size_t), void*) {
    return reinterpret_cast<Embedded<Key>*>(ctx)->owner->sign_with_store(md_alg, hash, hash_len, sig, sig_len);
  }
  static_assert(std::is_standard_layout_v<EcKey> && std::is_standard_layout_v<RsaKey>,
                "the key must be pointer-interconvertible with its Embedded");
  static void keep_key(void* /*ctx*/) {}  // the Signer owns and frees the key

  int sign_with_store(mbedtls_md_type_t md_alg, const unsigned char* hash, std::size_t hash_len, unsigned char* sig,
                      std::size_t* sig_len);

  port::KeyStore& keys_;
  std::string_view uri_;
  mbedtls_pk_context pk_;
  mbedtls_pk_info_t info_{};
  EcKey ec_;
  RsaKey rsa_;
  std::size_t max_signature_ = 0;  // DER ECDSA P-256: 72; RSA: the modulus length
  Status sign_status_;
  ErrorText* error_ = nullptr;
};

Status Signer::open(ErrorText* error) {
  error_ = error;
  std::uint8_t der[kMaxPublicKeyDer];
  Result<std::size_t> size = keys_.public_key_der(uri_, Span<std::uint8_t>(der, sizeof der));
  if (!size.ok()) {
    char status[48];
    set_error_text(error, "reading the public key of the CSR's key failed: %s",
                   format_status(size.status(), status, sizeof status));
    return size.status();
  }

  PkContext parsed;  // the stock context: stock info, heap key; freed on return
  Status status = detail::parse_signing_key(Span<const std::uint8_t>(der, *size), parsed.get());
  // mbedTLS's functions for the type, but signing through the store and a key that lives here.
  const auto adopt = [&](decltype(info_.sign_func) sign_func, void* key) {
    info_ = *parsed.get()->pk_info;
    info_.sign_func = sign_func;
    info_.ctx_free_func = &keep_key;
    info_.decrypt_func = nullptr;
    pk_.pk_info = &info_;
    pk_.pk_ctx = key;
  };
  int ret = 0;
  if (status.code() == StatusCode::kUnimplemented) {
    set_error_text(error, "the CSR's key is not EC P-256 or RSA 2048-4096 (%s, %zu bits)",
                   mbedtls_pk_get_name(parsed.get()), mbedtls_pk_get_bitlen(parsed.get()));
  } else if (!status.ok()) {
    set_error_text(error, "the key store's public key is not a DER SubjectPublicKeyInfo mbedTLS can use (-0x%04X)",
                   static_cast<unsigned>(status.detail()));
  } else if (mbedtls_pk_get_type(parsed.get()) == MBEDTLS_PK_ECKEY) {
    ret = mbedtls_ecp_group_copy(&ec_.key.grp, &mbedtls_pk_ec(*parsed.get())->grp);
    if (ret == 0) ret = mbedtls_ecp_copy(&ec_.key.Q, &mbedtls_pk_ec(*parsed.get())->Q);
    adopt(&sign<mbedtls_ecp_keypair>, &ec_.key);
    max_signature_ = MBEDTLS_ECDSA_MAX_SIG_LEN(256);
  } else {  // MBEDTLS_PK_RSA
    ret = mbedtls_rsa_copy(&rsa_.key, mbedtls_pk_rsa(*parsed.get()));
    adopt(&sign<mbedtls_rsa_context>, &rsa_.key);
    max_signature_ = mbedtls_pk_get_len(parsed.get());
  }
  if (status.ok() && ret != 0) {
    status = crypto_error(out_of_memory(ret) ? StatusCode::kResourceExhausted : StatusCode::kInternal, ret);
    set_error_text(error, "copying the public key failed (-0x%04X)", static_cast<unsigned>(detail_of(ret)));
  }
  return status;
}

int Signer::sign_with_store(mbedtls_md_type_t md_alg, const unsigned char* hash, std::size_t hash_len,
                            unsigned char* sig, std::size_t* sig_len) {
  if (md_alg != MBEDTLS_MD_SHA256 || hash_len != kSha256Size) return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
  // mbedTLS 2.28 passes no output size: the buffer is MBEDTLS_PK_SIGNATURE_MAX_SIZE (x509write) or
  // enough for this key's signature (TLS). Never offer the store more than the key's signature.
  const std::size_t capacity = std::min<std::size_t>(max_signature_, MBEDTLS_PK_SIGNATURE_MAX_SIZE);
  Result<std::size_t> size =
      keys_.sign_digest(uri_, Span<const std::uint8_t>(hash, hash_len), Span<std::uint8_t>(sig, capacity));
  if (!size.ok()) {
    sign_status_ = size.status();
    char status[48];
    set_error_text(error_, "the key store did not sign the CSR: %s", format_status(size.status(), status, sizeof status));
    std::memset(sig, 0, capacity);
    return MBEDTLS_ERR_PK_HW_ACCEL_FAILED;
  }
  // The store's word is checked against its public key: a signature by another key, or a raw
  // r||s instead of DER, would give a CSR no CA accepts.
  const bool rsa_length_wrong = pk_.pk_ctx == &rsa_.key && *size != max_signature_;
  const int ret = rsa_length_wrong ? MBEDTLS_ERR_RSA_VERIFY_FAILED
                                   : mbedtls_pk_verify(&pk_, md_alg, hash, hash_len, sig, *size);
  if (ret != 0) {
    sign_status_ = crypto_error(out_of_memory(ret) ? StatusCode::kResourceExhausted : StatusCode::kInternal, ret);
    set_error_text(error_,
                   "the key store's signature does not verify under the key's public key (-0x%04X): it signed "
                   "with another key, or not in the port's format (DER ECDSA-Sig-Value, PKCS#1 v1.5)",
                   static_cast<unsigned>(detail_of(ret)));
    std::memset(sig, 0, capacity);
    return MBEDTLS_ERR_PK_HW_ACCEL_FAILED;
  }
  *sig_len = *size;
  return 0;
}

// Frees the CSR writer (it owns the subject's name list, not the key) on every path.
class CsrWriter {
 public:
  CsrWriter() { mbedtls_x509write_csr_init(&ctx_); }
  ~CsrWriter() { mbedtls_x509write_csr_free(&ctx_); }
  CsrWriter(const CsrWriter&) = delete;
  CsrWriter& operator=(const CsrWriter&) = delete;
  mbedtls_x509write_csr* get() { return &ctx_; }

 private:
  mbedtls_x509write_csr ctx_;
};

Result<std::size_t> write_csr(Signer& signer, const CsrSubject& subject, Span<char> pem_out, ErrorText* error) {
  CsrWriter csr;
  mbedtls_x509write_csr_set_md_alg(csr.get(), MBEDTLS_MD_SHA256);
  mbedtls_x509write_csr_set_key(csr.get(), signer.pk());
  const SubjectText name = subject_text(subject);
  int ret = mbedtls_x509write_csr_set_subject_name(csr.get(), name.c_str());
  if (ret != 0) {
    set_error_text(error, "mbedTLS refused the CSR subject (-0x%04X)", static_cast<unsigned>(detail_of(ret)));
    return crypto_error(out_of_memory(ret) ? StatusCode::kResourceExhausted : StatusCode::kInvalidArgument, ret);
  }
  auto* out = reinterpret_cast<unsigned char*>(pem_out.data());
  // No random generator: the store signs, and nothing else in the CSR needs randomness.
  ret = mbedtls_x509write_csr_pem(csr.get(), out, pem_out.size(), nullptr, nullptr);
  if (!signer.sign_status().ok()) return signer.sign_status();  // error text set by the signer
  if (ret != 0) {
    if (too_small(ret)) {
      set_error_text(error, "the CSR does not fit in %zu bytes of PEM (kCsrPemMaxSize is enough)", pem_out.size());
      return crypto_error(StatusCode::kResourceExhausted, ret);
    }
    set_error_text(error, "mbedtls_x509write_csr_pem failed (-0x%04X)", static_cast<unsigned>(detail_of(ret)));
    return crypto_error(out_of_memory(ret) ? StatusCode::kResourceExhausted : StatusCode::kInternal, ret);
  }
  const void* nul = std::memchr(pem_out.data(), '\0', pem_out.size());
  if (nul == nullptr) {
    set_error_text(error, "mbedtls_x509write_csr_pem wrote no terminating NUL");
    return crypto_error(StatusCode::kInternal);
  }
  return static_cast<std::size_t>(static_cast<const char*>(nul) - pem_out.data());
}

}  // namespace

Result<std::size_t> build_csr(port::KeyStore& keys, std::string_view key_uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error) {
  if (error != nullptr) error->clear();
  Result<std::size_t> result = crypto_error(StatusCode::kInternal);
  Status status = validate_csr_subject(subject, error);
  if (status.ok()) {
    Signer signer(keys, key_uri);
    status = signer.open(error);
    if (status.ok()) result = write_csr(signer, subject, pem_out, error);
  }
  if (!status.ok()) result = status;
  if (!result.ok()) std::fill(pem_out.begin(), pem_out.end(), '\0');
  return result;
}

}  // namespace tether::mbedtls
