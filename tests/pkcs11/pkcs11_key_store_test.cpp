// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Pkcs11KeyStore against SoftHSM2: a fresh token per test (its own softhsm2.conf and token
// directory in a temporary directory), attributes checked with pkcs11-tool and signatures verified
// with OpenSSL.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "key_checks.hpp"
#include "softhsm_token.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"

namespace {

using tether::Span;
using tether::StatusCode;
using tether::port::KeyAlgorithm;
using tether::port::KeyInfo;
using tether::port::KeySpec;
using tether::port::Pkcs11KeyStore;
using tether::port::Pkcs11KeyStoreSettings;
using tether::test::kTokenLabel;
using tether::test::kUserPin;
using tether::test::SoftHsmToken;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  for (const std::string& x : v) {
    if (x == s) return true;
  }
  return false;
}

// Thin names over key_checks.hpp for this file.
std::array<std::uint8_t, 32> sha256(const std::string& text) { return tether::test::sha256_of(text); }
using tether::test::Pkey;
Pkey public_key_of(Pkcs11KeyStore& store, const std::string& uri) { return tether::test::parsed_public_key(store, uri); }
bool verifies(EVP_PKEY* key, const std::array<std::uint8_t, 32>& digest, const std::uint8_t* sig, std::size_t sig_len) {
  return tether::test::signature_verifies(key, digest, tether::Span<const std::uint8_t>(sig, sig_len));
}
KeyInfo generate(Pkcs11KeyStore& store, KeyAlgorithm algorithm, const char* label) {
  return tether::test::generate_in(store, algorithm, label);
}

// generate_key() of an EC key labelled "identity" that must fail.
tether::Result<KeyInfo> generate_failing(Pkcs11KeyStore& store) {
  KeySpec spec;
  spec.label = "identity";
  auto info = store.generate_key(spec);
  REQUIRE_FALSE(info.ok());
  return info;
}

void check_generated_key(KeyAlgorithm algorithm, int expected_base_id) {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = generate(store, algorithm, "identity");
  CHECK(info.algorithm == algorithm);
  CHECK(info.sensitive);
  CHECK_FALSE(info.extractable);
  CHECK(info.uri.view().find("type=private") != std::string_view::npos);
  CHECK(info.uri.view().find("object=identity") != std::string_view::npos);
  CHECK(info.uri.view().find(std::string("token=") + kTokenLabel) != std::string_view::npos);

  // Seen by another PKCS#11 client (pkcs11-tool, in its own process).
  std::vector<std::string> access = token.private_key_access("identity");
  INFO("pkcs11-tool Access flags: " << access.size());
  CHECK(contains(access, "sensitive"));
  CHECK(contains(access, "never extractable"));
  CHECK_FALSE(contains(access, "extractable"));

  auto found = store.find_key(info.uri.view());
  INFO(store.last_error());
  REQUIRE(found.ok());
  CHECK(found->uri == info.uri.view());
  CHECK(found->algorithm == algorithm);
  CHECK_FALSE(found->extractable);

  Pkey pub = public_key_of(store, std::string(info.uri.view()));
  CHECK(EVP_PKEY_get_base_id(pub.get()) == expected_base_id);
  if (algorithm == KeyAlgorithm::kRsa2048) CHECK(EVP_PKEY_get_bits(pub.get()) == 2048);
  if (algorithm == KeyAlgorithm::kEcP256) CHECK(EVP_PKEY_get_bits(pub.get()) == 256);

  auto digest = sha256("telemetry batch 42");
  std::array<std::uint8_t, 512> sig{};
  auto len = store.sign_digest(info.uri.view(), digest, sig);
  INFO(store.last_error());
  REQUIRE(len.ok());
  if (algorithm == KeyAlgorithm::kRsa2048) CHECK(*len == 256);
  CHECK(verifies(pub.get(), digest, sig.data(), *len));
  // A signature over another digest does not verify against this one.
  auto other = sha256("telemetry batch 43");
  CHECK_FALSE(verifies(pub.get(), other, sig.data(), *len));

  // A buffer too small says how much it needs.
  std::array<std::uint8_t, 8> tiny{};
  auto small = store.sign_digest(info.uri.view(), digest, tiny);
  REQUIRE_FALSE(small.ok());
  CHECK(small.status().code() == StatusCode::kResourceExhausted);
  CHECK(small.status().detail() >= 64);
  // A digest that is not 32 bytes.
  auto short_digest = store.sign_digest(info.uri.view(), Span<const std::uint8_t>(digest.data(), 20), sig);
  CHECK(short_digest.status().code() == StatusCode::kInvalidArgument);
}

}  // namespace

TEST_CASE("An EC P-256 key generated in the token is sensitive and never extractable and its signatures verify with OpenSSL") {
  check_generated_key(KeyAlgorithm::kEcP256, EVP_PKEY_EC);
}

TEST_CASE("An RSA-2048 key generated in the token is sensitive and never extractable and its PKCS1 v1.5 signatures verify with OpenSSL") {
  check_generated_key(KeyAlgorithm::kRsa2048, EVP_PKEY_RSA);
}

TEST_CASE("Two keys in one store each sign with their own key") {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo first = generate(store, KeyAlgorithm::kEcP256, "first");
  auto digest = sha256("one");
  std::array<std::uint8_t, 128> sig{};
  auto len = store.sign_digest(first.uri.view(), digest, sig);
  REQUIRE(len.ok());
  // Generated after libp11 has listed the token's keys once.
  KeyInfo second = generate(store, KeyAlgorithm::kEcP256, "second");
  auto len2 = store.sign_digest(second.uri.view(), digest, sig);
  INFO(store.last_error());
  REQUIRE(len2.ok());
  Pkey pub_first = public_key_of(store, std::string(first.uri.view()));
  Pkey pub_second = public_key_of(store, std::string(second.uri.view()));
  CHECK(verifies(pub_second.get(), digest, sig.data(), *len2));
  CHECK_FALSE(verifies(pub_first.get(), digest, sig.data(), *len2));
}

namespace {
// True if this process maps a file whose name contains `name` (/proc/self/maps).
bool process_maps(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("libp11 and p11-kit are loaded when a key store is first used, not when the program starts") {
  // ctest runs each test case in its own process (catch_discover_tests); run on its own otherwise.
  INFO("an earlier test case in this process may have loaded them: run this one alone");
  REQUIRE_FALSE(process_maps("/libp11.so"));
  REQUIRE_FALSE(process_maps("/libp11-kit.so"));
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  CHECK_FALSE(process_maps("/libp11.so"));  // constructing a store loads nothing either
  REQUIRE(store.open().ok());
  CHECK(process_maps("/libp11.so."));
  CHECK(process_maps("/libp11-kit.so."));
  generate(store, KeyAlgorithm::kEcP256, "loaded");
}

TEST_CASE("A PIN from an environment variable logs in") {
  SoftHsmToken token;
  Pkcs11KeyStoreSettings settings = token.settings();
  settings.pin_file.clear();
  settings.pin_env = "TETHER_TEST_PKCS11_PIN";
  REQUIRE(::setenv("TETHER_TEST_PKCS11_PIN", kUserPin, 1) == 0);
  Pkcs11KeyStore store(settings);
  generate(store, KeyAlgorithm::kEcP256, "from-env");
  ::unsetenv("TETHER_TEST_PKCS11_PIN");
}

TEST_CASE("A wrong PIN is kUnauthenticated and the error text does not contain the PIN") {
  SoftHsmToken token;
  const std::string wrong_pin = "9999-wrong";
  Pkcs11KeyStore store(token.settings_with_pin_file("wrong-pin", wrong_pin, 0600));
  auto info = generate_failing(store);
  CHECK(info.status().code() == StatusCode::kUnauthenticated);
  CHECK(info.status().origin() == tether::Origin::kKey);
  CHECK(info.status().detail() == 0xA0);  // CKR_PIN_INCORRECT
  std::string text = store.last_error();
  INFO(text);
  CHECK_FALSE(text.empty());
  CHECK(text.find(wrong_pin) == std::string::npos);
  CHECK(text.find(kUserPin) == std::string::npos);
  CHECK(text.find("C_Login") != std::string::npos);
}

TEST_CASE("A module that does not load is kUnavailable and the error text names its path") {
  SoftHsmToken token;
  const std::string missing = (token.dir() / "no-such-module.so").string();
  Pkcs11KeyStoreSettings settings = token.settings();
  settings.module_path = missing;
  Pkcs11KeyStore store(settings);
  auto found = store.find_key(std::string("pkcs11:token=") + kTokenLabel + ";object=identity;type=private");
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == StatusCode::kUnavailable);
  CHECK(std::string(store.last_error()).find(missing) != std::string::npos);

  // A file that is no PKCS#11 module.
  const std::string not_module = (token.dir() / "softhsm2.conf").string();
  settings.module_path = not_module;
  Pkcs11KeyStore store2(settings);
  auto opened = store2.open();
  CHECK(opened.code() == StatusCode::kUnavailable);
  CHECK(std::string(store2.last_error()).find(not_module) != std::string::npos);
}

TEST_CASE("A URI with pin-value is refused without showing the PIN") {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = generate(store, KeyAlgorithm::kEcP256, "identity");
  const std::string with_pin = std::string(info.uri.view()) + "?pin-value=" + kUserPin;
  auto found = store.find_key(with_pin);
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == StatusCode::kInvalidArgument);
  std::string text = store.last_error();
  INFO(text);
  CHECK(text.find("pin-value") != std::string::npos);
  CHECK(text.find(kUserPin) == std::string::npos);
  // Also as a path attribute.
  auto found2 = store.find_key(std::string(info.uri.view()) + ";pin-value=" + kUserPin);
  CHECK(found2.status().code() == StatusCode::kInvalidArgument);
  CHECK(std::string(store.last_error()).find(kUserPin) == std::string::npos);
  // And a URI with no type, or one that does not parse.
  CHECK(store.find_key(std::string("pkcs11:token=") + kTokenLabel + ";object=identity").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(store.find_key("file:/etc/key.pem").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A second key with the same label is kAlreadyExists") {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  generate(store, KeyAlgorithm::kEcP256, "identity");
  KeySpec spec;
  spec.algorithm = KeyAlgorithm::kRsa2048;
  spec.label = "identity";
  auto again = store.generate_key(spec);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK(std::string(store.last_error()).find("identity") != std::string::npos);
  // The same id under another label, too.
  spec.label = "other";
  spec.id = "0a0b";
  REQUIRE(store.generate_key(spec).ok());
  spec.label = "third";
  CHECK(store.generate_key(spec).status().code() == StatusCode::kAlreadyExists);
}

TEST_CASE("A certificate stored next to a key reads back byte for byte") {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = generate(store, KeyAlgorithm::kEcP256, "identity");
  Pkey pub = public_key_of(store, std::string(info.uri.view()));

  // A certificate for the token's key, issued by a throwaway CA key made here.
  Pkey ca(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  REQUIRE(ca != nullptr);
  std::unique_ptr<X509, void (*)(X509*)> cert(X509_new(), X509_free);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4711);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("device-1"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(X509_get_issuer_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test-ca"), -1, -1, 0);
  REQUIRE(X509_set_pubkey(cert.get(), pub.get()) == 1);
  REQUIRE(X509_sign(cert.get(), ca.get(), EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  int der_len = i2d_X509(cert.get(), &der);
  REQUIRE(der_len > 0);
  std::vector<std::uint8_t> expected(der, der + der_len);
  OPENSSL_free(der);

  auto cert_uri = store.store_certificate(info.uri.view(), Span<const std::uint8_t>(expected.data(), expected.size()),
                                          "identity-cert");
  INFO(store.last_error());
  REQUIRE(cert_uri.ok());
  CHECK(cert_uri->view().find("type=cert") != std::string_view::npos);
  std::vector<std::uint8_t> back(4096);
  auto len = store.read_certificate(cert_uri->view(), Span<std::uint8_t>(back.data(), back.size()));
  INFO(store.last_error());
  REQUIRE(len.ok());
  back.resize(*len);
  CHECK(back == expected);

  // Too small a buffer: the size needed.
  std::array<std::uint8_t, 16> tiny{};
  auto small = store.read_certificate(cert_uri->view(), tiny);
  CHECK(small.status().code() == StatusCode::kResourceExhausted);
  CHECK(small.status().detail() == expected.size());

  // The same label again, and a certificate for another key, are refused.
  CHECK(store.store_certificate(info.uri.view(), Span<const std::uint8_t>(expected.data(), expected.size()),
                                "identity-cert")
            .status()
            .code() == StatusCode::kAlreadyExists);
  KeyInfo other = generate(store, KeyAlgorithm::kEcP256, "other");
  CHECK(store.store_certificate(other.uri.view(), Span<const std::uint8_t>(expected.data(), expected.size()),
                                "other-cert")
            .status()
            .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A deleted key pair is not found any more") {
  SoftHsmToken token;
  Pkcs11KeyStore store(token.settings());
  KeyInfo info = generate(store, KeyAlgorithm::kEcP256, "identity");
  KeyInfo keep = generate(store, KeyAlgorithm::kEcP256, "keep");
  {
    // Used once before it goes (libp11 has listed it then).
    std::array<std::uint8_t, 128> sig{};
    REQUIRE(store.sign_digest(info.uri.view(), sha256("before"), sig).ok());
  }
  REQUIRE(store.delete_object(info.uri.view()).ok());
  auto found = store.find_key(info.uri.view());
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == StatusCode::kNotFound);
  // Both halves went: the label can be used again, and the new key is the one that signs.
  KeyInfo again = generate(store, KeyAlgorithm::kRsa2048, "identity");
  CHECK(again.uri == info.uri.view());  // same label, same derived id
  auto digest = sha256("after rotation");
  std::array<std::uint8_t, 512> sig{};
  auto len = store.sign_digest(again.uri.view(), digest, sig);
  INFO(store.last_error());
  REQUIRE(len.ok());
  CHECK(*len == 256);
  Pkey pub = public_key_of(store, std::string(again.uri.view()));
  CHECK(EVP_PKEY_get_base_id(pub.get()) == EVP_PKEY_RSA);
  CHECK(verifies(pub.get(), digest, sig.data(), *len));
  // The other key is untouched.
  CHECK(store.find_key(keep.uri.view()).ok());
  // Deleting what is not there.
  CHECK(store.delete_object(std::string("pkcs11:token=") + kTokenLabel + ";object=nothing;type=private").code() ==
        StatusCode::kNotFound);
}

TEST_CASE("A PIN file readable by others is refused") {
  SoftHsmToken token;
  Pkcs11KeyStoreSettings settings = token.settings_with_pin_file("open-pin", kUserPin, 0644);
  const std::string pin_file = settings.pin_file;
  Pkcs11KeyStore store(settings);
  auto info = generate_failing(store);
  CHECK(info.status().code() == StatusCode::kPermissionDenied);
  std::string text = store.last_error();
  INFO(text);
  CHECK(text.find(pin_file) != std::string::npos);
  CHECK(text.find("0644") != std::string::npos);
  CHECK(text.find(kUserPin) == std::string::npos);
}

TEST_CASE("Settings without exactly one PIN source are kInvalidArgument") {
  SoftHsmToken token;
  Pkcs11KeyStoreSettings settings = token.settings();
  settings.pin_env = "SOME_VARIABLE";
  Pkcs11KeyStore both(settings);
  CHECK(both.open().code() == StatusCode::kInvalidArgument);
  settings.pin_env.clear();
  settings.pin_file.clear();
  Pkcs11KeyStore neither(settings);
  CHECK(neither.open().code() == StatusCode::kInvalidArgument);
}
