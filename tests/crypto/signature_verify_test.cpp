// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Crypto::verify_sha256_signature() over Backend (or, built with TETHER_TEST_OPENSSL_CRYPTO,
// over OpenSslCrypto) against keys and signatures made by OpenSSL:
// what verifies, what does not (any flipped bit, another key, malformed signatures) and how keys
// that do not parse or are of another type are refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "openssl_keys.hpp"
#include "test_support.hpp"
#if defined(TETHER_TEST_OPENSSL_CRYPTO)
#include "tether/port/openssl/openssl_crypto.hpp"
#define TETHER_TEST_BACKEND "openssl crypto: "
using Backend = tether::openssl::OpenSslCrypto;
#else
#include "tether/port/mbedtls/mbed_crypto.hpp"
#define TETHER_TEST_BACKEND "mbedtls crypto: "
using Backend = tether::mbedtls::MbedCrypto;
#endif

using namespace tether;
using tether::test::Bytes;
using tether::test::view;

namespace {

constexpr char kMessage[] = "tether firmware manifest v1";

Bytes message_digest() { return test::sha256_of(kMessage, sizeof(kMessage) - 1); }

// RSA key generation is slow (more so under qemu): one key per kind for the whole run.
EVP_PKEY* shared_rsa_key() {
  static test::EvpKey key = test::rsa_key(2048);
  return key.get();
}
EVP_PKEY* shared_ec_key() {
  static test::EvpKey key = test::ec_key("P-256");
  return key.get();
}

struct Signed {
  Bytes key;
  Bytes digest;
  Bytes signature;
};

Signed signed_by(EVP_PKEY* key) {
  REQUIRE(key != nullptr);
  Signed s{test::spki_der(key), message_digest(), {}};
  s.signature = test::sign_digest(key, s.digest);
  REQUIRE(!s.key.empty());
  REQUIRE(s.digest.size() == 32);
  REQUIRE(!s.signature.empty());
  return s;
}

StatusCode verify(Backend& crypto, const Bytes& key, const Bytes& digest, const Bytes& signature) {
  const Status status = crypto.verify_sha256_signature(view(key), view(digest), view(signature));
  CHECK(status.origin() == (status.ok() ? Origin::kNone : Origin::kCrypto));
  return status.code();
}

// Flips every bit of `bytes` in turn; counts the flips that still verify.
int flips_that_verify(Backend& crypto, Signed s, Bytes Signed::*field) {
  int verified = 0;
  Bytes& bytes = s.*field;
  for (std::size_t i = 0; i < bytes.size() * 8; ++i) {
    bytes[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    const StatusCode code = verify(crypto, s.key, s.digest, s.signature);
    if (code != StatusCode::kUnauthenticated) ++verified;
    bytes[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
  }
  return verified;
}

}  // namespace

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature accepts an ECDSA P-256 signature made by OpenSSL") {
  Backend crypto;
  const Signed s = signed_by(shared_ec_key());
  CHECK(s.signature[0] == 0x30);  // DER SEQUENCE, not raw r||s
  CHECK(crypto.verify_sha256_signature(view(s.key), view(s.digest), view(s.signature)) == ok_status());
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature accepts an RSA 2048 PKCS#1 v1.5 signature made by OpenSSL") {
  Backend crypto;
  const Signed s = signed_by(shared_rsa_key());
  CHECK(s.signature.size() == 256);
  CHECK(crypto.verify_sha256_signature(view(s.key), view(s.digest), view(s.signature)) == ok_status());
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses an ECDSA signature or digest with any bit flipped as unauthenticated") {
  Backend crypto;
  const Signed s = signed_by(shared_ec_key());
  CHECK(flips_that_verify(crypto, s, &Signed::signature) == 0);
  CHECK(flips_that_verify(crypto, s, &Signed::digest) == 0);
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses an RSA signature or digest with any bit flipped as unauthenticated") {
  Backend crypto;
  const Signed s = signed_by(shared_rsa_key());
  CHECK(flips_that_verify(crypto, s, &Signed::signature) == 0);
  CHECK(flips_that_verify(crypto, s, &Signed::digest) == 0);
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses a signature made with another key as unauthenticated") {
  Backend crypto;
  const Signed ec = signed_by(shared_ec_key());
  const Signed rsa = signed_by(shared_rsa_key());
  test::EvpKey other_ec = test::ec_key("P-256");
  REQUIRE(other_ec != nullptr);
  const Bytes other_ec_der = test::spki_der(other_ec.get());

  const Status status = crypto.verify_sha256_signature(view(other_ec_der), view(ec.digest), view(ec.signature));
  CHECK(status.code() == StatusCode::kUnauthenticated);
  CHECK(status.origin() == Origin::kCrypto);
#if !defined(TETHER_TEST_OPENSSL_CRYPTO)
  CHECK(status.detail() == 0x4E00);  // MBEDTLS_ERR_ECP_VERIFY_FAILED (OpenSSL: no error is queued)
#endif
  // An ECDSA signature under an RSA key and the other way round.
  CHECK(verify(crypto, rsa.key, ec.digest, ec.signature) == StatusCode::kUnauthenticated);
  CHECK(verify(crypto, ec.key, rsa.digest, rsa.signature) == StatusCode::kUnauthenticated);
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses malformed and empty signatures as unauthenticated") {
  Backend crypto;
  for (EVP_PKEY* key : {shared_ec_key(), shared_rsa_key()}) {
    const Signed s = signed_by(key);
    Bytes longer = s.signature;
    longer.push_back(0);
    Bytes shorter(s.signature.begin(), s.signature.end() - 1);
    CHECK(verify(crypto, s.key, s.digest, longer) == StatusCode::kUnauthenticated);
    CHECK(verify(crypto, s.key, s.digest, shorter) == StatusCode::kUnauthenticated);
    CHECK(verify(crypto, s.key, s.digest, Bytes{}) == StatusCode::kUnauthenticated);
    CHECK(verify(crypto, s.key, s.digest, Bytes(s.signature.size(), 0xFF)) == StatusCode::kUnauthenticated);
  }
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses a key that is not a DER SubjectPublicKeyInfo as invalid argument") {
  Backend crypto;
  const Signed s = signed_by(shared_ec_key());
  const Bytes garbage = {0x30, 0x03, 0x02, 0x01, 0x05, 0xDE, 0xAD};
  Bytes truncated(s.key.begin(), s.key.end() - 1);
  Bytes trailing = s.key;
  trailing.push_back(0x00);
  Bytes off_curve = s.key;
  off_curve.back() ^= 0x01;  // the point's y no longer matches x
  const std::string pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
  const Bytes pem_bytes(pem.begin(), pem.end());

  const Bytes* const keys[] = {&garbage, &truncated, &trailing, &off_curve, &pem_bytes};
  for (const Bytes* key : keys) {
    const Status status = crypto.verify_sha256_signature(view(*key), view(s.digest), view(s.signature));
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.origin() == Origin::kCrypto);
  }
  CHECK(verify(crypto, Bytes{}, s.digest, s.signature) == StatusCode::kInvalidArgument);
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses a digest that is not 32 bytes as invalid argument") {
  Backend crypto;
  const Signed s = signed_by(shared_ec_key());
  Bytes short_digest(s.digest.begin(), s.digest.end() - 1);
  Bytes long_digest = s.digest;
  long_digest.push_back(0);
  CHECK(crypto.verify_sha256_signature(view(s.key), view(short_digest), view(s.signature)) ==
        Status(StatusCode::kInvalidArgument, Origin::kCrypto));
  CHECK(crypto.verify_sha256_signature(view(s.key), view(long_digest), view(s.signature)) ==
        Status(StatusCode::kInvalidArgument, Origin::kCrypto));
}

TEST_CASE(TETHER_TEST_BACKEND "verify_sha256_signature refuses keys other than EC P-256 and RSA 2048 to 4096 as unimplemented") {
  Backend crypto;
  test::EvpKey p384 = test::ec_key("P-384");
  test::EvpKey rsa1024 = test::rsa_key(1024);
  test::EvpKey ed25519 = test::ed25519_key();
  for (EVP_PKEY* key : {p384.get(), rsa1024.get(), ed25519.get()}) {
    REQUIRE(key != nullptr);
    const Bytes der = test::spki_der(key);
    const Bytes digest = message_digest();
    const Bytes signature = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? Bytes(64, 1) : test::sign_digest(key, digest);
    REQUIRE(!signature.empty());
    const Status status = crypto.verify_sha256_signature(view(der), view(digest), view(signature));
    CHECK(status.code() == StatusCode::kUnimplemented);
    CHECK(status.origin() == Origin::kCrypto);
  }
}
