// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/openssl/csr.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "openssl_detail.hpp"

namespace tether::openssl {
namespace {

using detail::crypto_error;

// Large enough for the DER SubjectPublicKeyInfo of an RSA 4096 key (550 bytes).
constexpr std::size_t kMaxPublicKeyDer = 1024;
// The largest signature: RSA 4096 (512 bytes); DER ECDSA P-256 is at most 72.
constexpr std::size_t kMaxSignature = 512;
constexpr std::size_t kSha256Size = 32;

struct ReqFree {
  void operator()(X509_REQ* req) const { X509_REQ_free(req); }
};
struct AlgorFree {
  void operator()(X509_ALGOR* alg) const { X509_ALGOR_free(alg); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// A subject field (validated: printable ASCII) into the request's name.
bool add_name_entry(X509_NAME* name, int nid, std::string_view value) {
  if (value.empty()) return true;
  return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

Result<std::size_t> write_csr(port::KeyStore& keys, std::string_view uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error) {
  char status_text[48];
  std::uint8_t der[kMaxPublicKeyDer];
  Result<std::size_t> der_size = keys.public_key_der(uri, Span<std::uint8_t>(der, sizeof der));
  if (!der_size.ok()) {
    set_error_text(error, "reading the public key of the CSR's key failed: %s",
                   format_status(der_size.status(), status_text, sizeof status_text));
    return der_size.status();
  }
  detail::Pkey key;
  Status parsed = detail::parse_signing_key(Span<const std::uint8_t>(der, *der_size), key);
  if (parsed.code() == StatusCode::kUnimplemented) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    set_error_text(error, "the CSR's key is not EC P-256 or RSA 2048-4096 (%s, %d bits)",
                   type != nullptr ? type : "unknown", EVP_PKEY_get_bits(key.get()));
    return parsed;
  }
  if (!parsed.ok()) {
    set_error_text(error, "the key store's public key is not a DER SubjectPublicKeyInfo OpenSSL can use");
    return parsed;
  }
  const bool ec = EVP_PKEY_base_id(key.get()) == EVP_PKEY_EC;

  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  std::unique_ptr<X509_ALGOR, AlgorFree> algorithm(X509_ALGOR_new());
  X509_NAME* name = req ? X509_REQ_get_subject_name(req.get()) : nullptr;
  if (!req || !algorithm || name == nullptr || X509_REQ_set_version(req.get(), 0) != 1 ||
      !add_name_entry(name, NID_commonName, subject.common_name) ||
      !add_name_entry(name, NID_organizationName, subject.organization) ||
      !add_name_entry(name, NID_serialNumber, subject.serial_number) ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(ec ? NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption),
                      ec ? V_ASN1_UNDEF : V_ASN1_NULL, nullptr) != 1 ||
      X509_REQ_set1_signature_algo(req.get(), algorithm.get()) != 1) {
    const Status failed = crypto_error(StatusCode::kInternal);
    set_error_text(error, "OpenSSL could not build the CSR (reason %u)", static_cast<unsigned>(failed.detail()));
    return failed;
  }

  // The to-be-signed part (CertificationRequestInfo), its SHA-256, the store's signature.
  unsigned char* tbs_raw = nullptr;
  const int tbs_size = i2d_re_X509_REQ_tbs(req.get(), &tbs_raw);
  std::unique_ptr<unsigned char, OpensslFree> tbs(tbs_raw);
  std::uint8_t digest[kSha256Size];
  unsigned int digest_size = 0;
  if (tbs_size <= 0 || EVP_Digest(tbs.get(), static_cast<std::size_t>(tbs_size), digest, &digest_size, EVP_sha256(),
                                  nullptr) != 1) {
    const Status failed = crypto_error(StatusCode::kInternal);
    set_error_text(error, "OpenSSL could not encode the CSR (reason %u)", static_cast<unsigned>(failed.detail()));
    return failed;
  }
  const std::size_t capacity = ec ? std::size_t{72} : static_cast<std::size_t>(EVP_PKEY_get_size(key.get()));
  std::uint8_t sig[kMaxSignature] = {};
  Result<std::size_t> sig_size = keys.sign_digest(uri, Span<const std::uint8_t>(digest, sizeof digest),
                                                  Span<std::uint8_t>(sig, std::min(capacity, sizeof sig)));
  if (!sig_size.ok()) {
    set_error_text(error, "the key store did not sign the CSR: %s",
                   format_status(sig_size.status(), status_text, sizeof status_text));
    return sig_size.status();
  }
  const bool rsa_length_wrong = !ec && *sig_size != capacity;
  // Checked under the public key, as a CA will.
  if (rsa_length_wrong || !detail::verify_sha256(key.get(), Span<const std::uint8_t>(digest, sizeof digest),
                                                 Span<const std::uint8_t>(sig, *sig_size))) {
    const Status failed = crypto_error(StatusCode::kInternal);
    set_error_text(error,
                   "the key store's signature does not verify under the key's public key: it signed with another "
                   "key, or not in the port's format (DER ECDSA-Sig-Value, PKCS#1 v1.5)");
    return failed;
  }
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  if (bits == nullptr || ASN1_BIT_STRING_set(bits, sig, static_cast<int>(*sig_size)) != 1) {
    ASN1_BIT_STRING_free(bits);
    return crypto_error(StatusCode::kResourceExhausted);
  }
  // A signature is a whole number of bytes: no unused bits.
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req.get(), bits);  // the request owns it now

  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    const Status failed = crypto_error(StatusCode::kInternal);
    set_error_text(error, "OpenSSL could not write the CSR as PEM (reason %u)", static_cast<unsigned>(failed.detail()));
    return failed;
  }
  char* pem = nullptr;
  const long pem_size = BIO_get_mem_data(bio.get(), &pem);
  if (pem_size <= 0 || pem == nullptr) return crypto_error(StatusCode::kInternal);
  if (static_cast<std::size_t>(pem_size) + 1 > pem_out.size()) {
    set_error_text(error, "the CSR does not fit in %zu bytes of PEM (kCsrPemMaxSize is enough)", pem_out.size());
    return Status(StatusCode::kResourceExhausted, Origin::kCrypto);
  }
  std::memcpy(pem_out.data(), pem, static_cast<std::size_t>(pem_size));
  pem_out[static_cast<std::size_t>(pem_size)] = '\0';
  return static_cast<std::size_t>(pem_size);
}

}  // namespace

Result<std::size_t> build_csr(port::KeyStore& keys, std::string_view key_uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error) {
  if (error != nullptr) error->clear();
  const Status valid = validate_csr_subject(subject, error);
  Result<std::size_t> result = valid.ok() ? write_csr(keys, key_uri, subject, pem_out, error) : Result<std::size_t>(valid);
  if (!result.ok()) std::fill(pem_out.begin(), pem_out.end(), '\0');
  return result;
}

}  // namespace tether::openssl
