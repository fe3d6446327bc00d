// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Pkcs11KeyStore against a key inside a TPM: tpm2-pkcs11's module over a software TPM (swtpm), a
// fresh TPM and token per test (tests/pkcs11/tpm_token.hpp); public keys, signatures and
// certificates checked with OpenSSL.
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "key_checks.hpp"
#include "tpm_token.hpp"

namespace {

using tether::Span;
using tether::StatusCode;
using tether::port::KeyAlgorithm;
using tether::port::KeyInfo;
using tether::port::KeySpec;
using tether::port::Pkcs11KeyStore;
using tether::port::Pkcs11KeyStoreSettings;
using tether::test::kTpmTokenLabel;
using tether::test::kTpmUserPin;
using tether::test::Digest;
using tether::test::parsed_public_key;
using tether::test::Pkey;
using tether::test::sha256_of;
using tether::test::signature_verifies;
using tether::test::TpmToken;

// A DER certificate for `subject_key`, issued by a throwaway CA key made here.
std::vector<std::uint8_t> certificate_for(EVP_PKEY* subject_key) {
  Pkey ca(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  REQUIRE(ca != nullptr);
  std::unique_ptr<X509, void (*)(X509*)> cert(X509_new(), X509_free);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24);
  for (X509_NAME* name : {X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())}) {
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tpm-device"),
                                       -1, -1, 0) == 1);
  }
  REQUIRE(X509_set_pubkey(cert.get(), subject_key) == 1);
  REQUIRE(X509_sign(cert.get(), ca.get(), EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  REQUIRE(len > 0);
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

void check_key_in_tpm(KeyAlgorithm algorithm, int base_id, int bits) {
  TpmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = tether::test::generate_in(store, algorithm, "tpm-identity");
  CHECK(info.uri.view().find(std::string("token=") + kTpmTokenLabel) != std::string_view::npos);

  // Read back from the token, not from what generate_key() asked for.
  auto found = store.find_key(info.uri.view());
  INFO(store.last_error());
  REQUIRE(found.ok());
  CHECK(found->uri == info.uri.view());
  CHECK(found->algorithm == algorithm);
  CHECK(found->sensitive);
  CHECK_FALSE(found->extractable);

  Pkey pub = parsed_public_key(store, info.uri.view());
  CHECK(EVP_PKEY_get_base_id(pub.get()) == base_id);
  CHECK(EVP_PKEY_get_bits(pub.get()) == bits);

  const Digest digest = sha256_of("telemetry batch 42");
  std::array<std::uint8_t, 512> sig{};
  auto len = store.sign_digest(info.uri.view(), digest, sig);
  INFO(store.last_error());
  REQUIRE(len.ok());
  const Span<const std::uint8_t> signature(sig.data(), *len);
  CHECK(signature_verifies(pub.get(), digest, signature));
  CHECK_FALSE(signature_verifies(pub.get(), sha256_of("telemetry batch 43"), signature));

  // A second signature in the same store (the TPM's object slots are not used up by the first).
  auto again = store.sign_digest(info.uri.view(), sha256_of("telemetry batch 43"), sig);
  INFO(store.last_error());
  REQUIRE(again.ok());
  CHECK(signature_verifies(pub.get(), sha256_of("telemetry batch 43"), Span<const std::uint8_t>(sig.data(), *again)));
}

}  // namespace

TEST_CASE("An EC P-256 key generated in the TPM is sensitive, not extractable, and its signatures verify with OpenSSL") {
  check_key_in_tpm(KeyAlgorithm::kEcP256, EVP_PKEY_EC, 256);
}

TEST_CASE("An RSA-2048 key generated in the TPM is sensitive, not extractable, and its signatures verify with OpenSSL") {
  check_key_in_tpm(KeyAlgorithm::kRsa2048, EVP_PKEY_RSA, 2048);
}

TEST_CASE("A certificate stored next to a TPM key reads back byte for byte, also in a second store") {
  TpmToken token;
  std::vector<std::uint8_t> expected;
  std::string cert_uri;
  {
    Pkcs11KeyStore store(token.settings());
    KeyInfo info = tether::test::generate_in(store, KeyAlgorithm::kEcP256, "tpm-identity");
    Pkey pub = parsed_public_key(store, info.uri.view());
    expected = certificate_for(pub.get());
    const Span<const std::uint8_t> der(expected.data(), expected.size());
    auto stored = store.store_certificate(info.uri.view(), der, "tpm-cert");
    INFO(store.last_error());
    REQUIRE(stored.ok());
    cert_uri = std::string(stored->view());
    CHECK(cert_uri.find("type=cert") != std::string::npos);
  }
  // What the first store (module instance) left loaded in the TPM goes before the next one starts.
  token.flush_transient();
  Pkcs11KeyStore store(token.settings());
  std::vector<std::uint8_t> back(4096);
  auto len = store.read_certificate(cert_uri, Span<std::uint8_t>(back.data(), back.size()));
  INFO(store.last_error());
  REQUIRE(len.ok());
  back.resize(*len);
  CHECK(back == expected);
}

TEST_CASE("A wrong PIN for the TPM token is kUnauthenticated and the error text does not contain the PIN") {
  TpmToken token;
  const std::string wrong_pin = "9999-wrong";
  Pkcs11KeyStoreSettings settings = token.settings();
  settings.pin_file = (token.dir() / "wrong-pin").string();
  tether::test::SoftHsmToken::write_pin_file(settings.pin_file, wrong_pin, 0600);
  Pkcs11KeyStore store(settings);
  KeySpec spec;
  spec.label = "tpm-identity";
  auto info = store.generate_key(spec);
  REQUIRE_FALSE(info.ok());
  CHECK(info.status().code() == StatusCode::kUnauthenticated);
  CHECK(info.status().origin() == tether::Origin::kKey);
  CHECK(info.status().detail() == 0xA0);  // CKR_PIN_INCORRECT
  std::string text = store.last_error();
  INFO(text);
  CHECK(text.find("C_Login") != std::string::npos);
  CHECK(text.find(wrong_pin) == std::string::npos);
  CHECK(text.find(kTpmUserPin) == std::string::npos);
}

// swtpm has 3 object slots and no resource manager swaps objects out: the module keeps what it
// loaded for a key it generated or used, so one store holds one key in the TPM at a time here (on a
// device, /dev/tpmrm0 swaps). The key kept is made by another store, whose objects are flushed.
TEST_CASE("A deleted TPM key pair is not found any more and its label can be used again") {
  TpmToken token;
  std::string keep_uri;
  {
    Pkcs11KeyStore first(token.settings());
    keep_uri = std::string(tether::test::generate_in(first, KeyAlgorithm::kEcP256, "tpm-keep").uri.view());
  }
  token.flush_transient();
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = tether::test::generate_in(store, KeyAlgorithm::kEcP256, "tpm-identity");
  std::array<std::uint8_t, 128> sig{};
  REQUIRE(store.sign_digest(info.uri.view(), sha256_of("before"), sig).ok());

  REQUIRE(store.delete_object(info.uri.view()).ok());
  // The module does not flush the deleted key's objects: make room for the next login and key.
  token.flush_transient();
  auto found = store.find_key(info.uri.view());
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == StatusCode::kNotFound);
  std::string public_uri(info.uri.view());
  public_uri.replace(public_uri.find("type=private"), 12, "type=public");
  CHECK(store.public_key_der(public_uri, sig).status().code() == StatusCode::kNotFound);
  CHECK(store.find_key(keep_uri).ok());

  // The label again: a new key, and it is the one that signs.
  KeyInfo again = tether::test::generate_in(store, KeyAlgorithm::kEcP256, "tpm-identity");
  const Digest digest = sha256_of("after rotation");
  auto len = store.sign_digest(again.uri.view(), digest, sig);
  INFO(store.last_error());
  REQUIRE(len.ok());
  Pkey pub = parsed_public_key(store, again.uri.view());
  CHECK(signature_verifies(pub.get(), digest, Span<const std::uint8_t>(sig.data(), *len)));
}
