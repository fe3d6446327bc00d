// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// build_csr() (ports/mbedtls; built with TETHER_TEST_OPENSSL_CSR, ports/openssl) with keys generated inside a SoftHSM2 token by Pkcs11KeyStore, the
// CSRs checked by OpenSSL; and with a small fake KeyStore (an OpenSSL key, switchable faults) for
// what a token will not do on request: refuse to sign, sign with another key, hand out a P-384 key.
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "openssl_keys.hpp"
#include "softhsm_token.hpp"
#include "test_support.hpp"
#if defined(TETHER_TEST_OPENSSL_CSR)
#include "tether/port/openssl/csr.hpp"
namespace csr_backend = tether::openssl;
#else
#include "tether/port/mbedtls/csr.hpp"
namespace csr_backend = tether::mbedtls;
#endif
#include "tether/port/pkcs11/pkcs11_key_store.hpp"

using namespace tether;
using csr_backend::build_csr;
using csr_backend::CsrSubject;
using csr_backend::kCsrPemMaxSize;
using tether::test::Bytes;

namespace {

struct ReqFree {
  void operator()(X509_REQ* req) const { X509_REQ_free(req); }
};
using Req = std::unique_ptr<X509_REQ, ReqFree>;

Req parse_pem(const std::string& pem) {
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  REQUIRE(bio != nullptr);
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(req != nullptr);
  return req;
}

std::string subject_entry(X509_REQ* req, int nid) {
  X509_NAME* name = X509_REQ_get_subject_name(req);
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "<absent>";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// Builds a CSR and checks it the way a CA would: it parses, its signature verifies with the public
// key it carries, that key is the store's, and the subject and algorithm are as asked.
void check_csr(port::KeyStore& store, const std::string& uri, const CsrSubject& subject, int signature_nid) {
  std::array<char, kCsrPemMaxSize> pem{};
  ErrorText error;
  Result<std::size_t> size = build_csr(store, uri, subject, Span<char>(pem.data(), pem.size()), &error);
  INFO(error.c_str());
  REQUIRE(size.ok());
  CHECK(error.empty());
  const std::string text(pem.data(), *size);
  CHECK(pem[*size] == '\0');
  CHECK(text.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) == 0);
  CHECK(text.find("-----END CERTIFICATE REQUEST-----") != std::string::npos);

  Req req = parse_pem(text);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  REQUIRE(key != nullptr);
  CHECK(X509_REQ_verify(req.get(), key) == 1);
  std::array<std::uint8_t, 1024> der{};
  Result<std::size_t> der_size = store.public_key_der(uri, der);
  REQUIRE(der_size.ok());
  CHECK(test::spki_der(key) == Bytes(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(*der_size)));
  CHECK(X509_REQ_get_signature_nid(req.get()) == signature_nid);
  CHECK(subject_entry(req.get(), NID_commonName) == std::string(subject.common_name));
  CHECK(subject_entry(req.get(), NID_organizationName) ==
        (subject.organization.empty() ? "<absent>" : std::string(subject.organization)));
  CHECK(subject_entry(req.get(), NID_serialNumber) ==
        (subject.serial_number.empty() ? "<absent>" : std::string(subject.serial_number)));
  CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())) ==
        1 + !subject.organization.empty() + !subject.serial_number.empty());
}

std::string generate(port::Pkcs11KeyStore& store, port::KeyAlgorithm algorithm, const char* label) {
  port::KeySpec spec;
  spec.algorithm = algorithm;
  spec.label = label;
  Result<port::KeyInfo> info = store.generate_key(spec);
  INFO(store.last_error());
  REQUIRE(info.ok());
  return std::string(info->uri.view());
}

// A KeyStore over an OpenSSL key, with faults to switch on. Only the calls build_csr makes.
class FakeKeyStore final : public port::KeyStore {
 public:
  explicit FakeKeyStore(test::EvpKey key) : key_(std::move(key)) {
    REQUIRE(key_ != nullptr);
    signing_key = key_.get();
  }

  Status sign_failure;             // returned by sign_digest() when not ok
  Status public_key_failure;       // returned by public_key_der() when not ok
  EVP_PKEY* signing_key = nullptr;  // the key that signs (another one to fake a mix-up)
  int sign_calls = 0;
  int public_key_calls = 0;

 private:
  Result<port::KeyInfo> do_generate_key(const port::KeySpec&) override { return unimplemented(); }
  Result<port::KeyInfo> do_find_key(std::string_view) override { return unimplemented(); }
  Result<std::size_t> do_public_key_der(std::string_view, Span<std::uint8_t> out) override {
    ++public_key_calls;
    if (!public_key_failure.ok()) return public_key_failure;
    return copy(test::spki_der(key_.get()), out);
  }
  Result<std::size_t> do_sign_digest(std::string_view, Span<const std::uint8_t> digest,
                                     Span<std::uint8_t> out) override {
    ++sign_calls;
    if (!sign_failure.ok()) return sign_failure;
    return copy(test::sign_digest(signing_key, Bytes(digest.begin(), digest.end())), out);
  }
  Result<FixedString<port::kMaxKeyUri>> do_store_certificate(std::string_view, Span<const std::uint8_t>,
                                                             std::string_view) override {
    return unimplemented();
  }
  Result<std::size_t> do_read_certificate(std::string_view, Span<std::uint8_t>) override { return unimplemented(); }
  Status do_delete_object(std::string_view) override { return unimplemented(); }

  static Status unimplemented() { return Status(StatusCode::kUnimplemented, Origin::kKey); }
  static Result<std::size_t> copy(const Bytes& bytes, Span<std::uint8_t> out) {
    REQUIRE(!bytes.empty());
    if (bytes.size() > out.size()) return Status(StatusCode::kResourceExhausted, Origin::kKey);
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return bytes.size();
  }

  test::EvpKey key_;
};

constexpr const char* kFakeUri = "file:fake";

bool all_zero(const std::array<char, kCsrPemMaxSize>& pem) {
  for (char c : pem) {
    if (c != '\0') return false;
  }
  return true;
}

struct Failed {
  Status status;
  std::string error;
  bool pem_zeroed = false;
};

Failed build_failing(port::KeyStore& store, const CsrSubject& subject, std::size_t pem_size = kCsrPemMaxSize) {
  std::array<char, kCsrPemMaxSize> pem;
  pem.fill('x');
  ErrorText error;
  Result<std::size_t> size = build_csr(store, kFakeUri, subject, Span<char>(pem.data(), pem_size), &error);
  REQUIRE(!size.ok());
  for (std::size_t i = pem_size; i < pem.size(); ++i) pem[i] = '\0';  // not ours to check
  return Failed{size.status(), std::string(error.view()), all_zero(pem)};
}

}  // namespace

TEST_CASE("build_csr makes a CSR OpenSSL verifies for an EC P-256 key inside a SoftHSM2 token") {
  test::SoftHsmToken token;
  port::Pkcs11KeyStore store(token.settings());
  const std::string uri = generate(store, port::KeyAlgorithm::kEcP256, "csr-ec");
  check_csr(store, uri, CsrSubject{"thing-0042_a", "", ""}, NID_ecdsa_with_SHA256);
  check_csr(store, uri, CsrSubject{"thing-0042", "Example Devices (EU)", "SN 12/34:56"}, NID_ecdsa_with_SHA256);
}

TEST_CASE("build_csr makes a CSR OpenSSL verifies for an RSA 2048 key inside a SoftHSM2 token") {
  test::SoftHsmToken token;
  port::Pkcs11KeyStore store(token.settings());
  const std::string uri = generate(store, port::KeyAlgorithm::kRsa2048, "csr-rsa");
  check_csr(store, uri, CsrSubject{"gateway@site-7", "Example Devices", "0815"}, NID_sha256WithRSAEncryption);
}

TEST_CASE("build_csr passes on the key store's status when the key does not exist") {
  test::SoftHsmToken token;
  port::Pkcs11KeyStore store(token.settings());
  std::array<char, kCsrPemMaxSize> pem{};
  ErrorText error;
  Result<std::size_t> size = build_csr(store, "pkcs11:token=tether-test;object=absent;type=private",
                                       CsrSubject{"thing", "", ""}, Span<char>(pem.data(), pem.size()), &error);
  REQUIRE(!size.ok());
  CHECK(size.status().code() == StatusCode::kNotFound);
  CHECK(size.status().origin() == Origin::kKey);
  CHECK(std::string(error.view()).find("public key") != std::string::npos);
}

TEST_CASE("build_csr refuses subjects that could inject distinguished-name attributes or break limits") {
  FakeKeyStore store(test::ec_key("P-256"));
  struct Case {
    CsrSubject subject;
    const char* says;
  };
  const std::string long_name(65, 'a');
  const Case cases[] = {
      {{"", "", ""}, "common name is required"},
      {{"thing,O=Evil Corp", "", ""}, "common name has ','"},
      {{"thing=1", "", ""}, "common name has '='"},
      {{"thing+CN=other", "", ""}, "common name has '+'"},
      {{"a\\,b", "", ""}, "common name has '\\'"},
      {{"a\"b", "", ""}, "common name has '\"'"},
      {{"a;b", "", ""}, "common name has ';'"},
      {{"a<b>", "", ""}, "common name has '<'"},
      {{"#3000", "", ""}, "common name has '#'"},
      {{"line\nbreak", "", ""}, "common name has byte 0x0A at offset 4"},
      {{std::string_view("nul\0x", 5), "", ""}, "common name has byte 0x00 at offset 3"},
      {{"caf\xC3\xA9", "", ""}, "common name has byte 0xC3 at offset 3"},
      {{" thing", "", ""}, "common name starts or ends with a space"},
      {{"thing ", "", ""}, "common name starts or ends with a space"},
      {{long_name, "", ""}, "common name is 65 characters long, at most 64"},
      {{"thing", "Evil, Inc.", ""}, "organization has ','"},
      {{"thing", long_name, ""}, "organization is 65 characters long"},
      {{"thing", "", "SN_1"}, "serial number has '_'"},
      {{"thing", "", "SN=1"}, "serial number has '='"},
  };
  for (const Case& c : cases) {
    INFO(c.says);
    const Failed failed = build_failing(store, c.subject);
    CHECK(failed.status == Status(StatusCode::kInvalidArgument, Origin::kCrypto));
    CHECK(failed.error.find(c.says) != std::string::npos);
    CHECK(failed.pem_zeroed);
    ErrorText error;
    CHECK(csr_backend::validate_csr_subject(c.subject, &error) == Status(StatusCode::kInvalidArgument, Origin::kCrypto));
    CHECK(error.view() == failed.error);
  }
  CHECK(store.public_key_calls == 0);  // refused before the store is asked anything
  CHECK(store.sign_calls == 0);
  CHECK(csr_backend::validate_csr_subject(CsrSubject{std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c')})
            .ok());
}

TEST_CASE("build_csr with a fake key store over an OpenSSL key makes a CSR OpenSSL verifies") {
  FakeKeyStore store(test::ec_key("P-256"));
  check_csr(store, kFakeUri, CsrSubject{"fake", "", ""}, NID_ecdsa_with_SHA256);
  CHECK(store.sign_calls == 1);
}

TEST_CASE("build_csr returns the key store's status cleanly when the store does not sign") {
  FakeKeyStore store(test::ec_key("P-256"));
  store.sign_failure = Status(StatusCode::kUnavailable, Origin::kKey, 0x30);  // CKR_DEVICE_ERROR
  const Failed failed = build_failing(store, CsrSubject{"thing", "", ""});
  CHECK(failed.status == store.sign_failure);
  CHECK(failed.error.find("did not sign") != std::string::npos);
  CHECK(failed.error.find("unavailable/key/48") != std::string::npos);
  CHECK(failed.pem_zeroed);
  CHECK(store.sign_calls == 1);
}

TEST_CASE("build_csr returns the key store's status when it cannot read the public key") {
  FakeKeyStore store(test::ec_key("P-256"));
  store.public_key_failure = Status(StatusCode::kUnauthenticated, Origin::kKey, 0xA0);  // CKR_PIN_INCORRECT
  const Failed failed = build_failing(store, CsrSubject{"thing", "", ""});
  CHECK(failed.status == store.public_key_failure);
  CHECK(failed.pem_zeroed);
  CHECK(store.sign_calls == 0);
}

TEST_CASE("build_csr refuses a signature the store made with another key than it names") {
  for (bool rsa : {false, true}) {
    FakeKeyStore store(rsa ? test::rsa_key(2048) : test::ec_key("P-256"));
    test::EvpKey other = rsa ? test::rsa_key(2048) : test::ec_key("P-256");
    store.signing_key = other.get();
    const Failed failed = build_failing(store, CsrSubject{"thing", "", ""});
    CHECK(failed.status.code() == StatusCode::kInternal);
    CHECK(failed.status.origin() == Origin::kCrypto);
    CHECK(failed.error.find("does not verify under the key's public key") != std::string::npos);
    CHECK(failed.pem_zeroed);
  }
}

TEST_CASE("build_csr refuses keys other than EC P-256 and RSA 2048 to 4096 as unimplemented") {
  FakeKeyStore p384(test::ec_key("P-384"));
  const Failed failed = build_failing(p384, CsrSubject{"thing", "", ""});
  CHECK(failed.status == Status(StatusCode::kUnimplemented, Origin::kCrypto));
  CHECK(failed.error.find("not EC P-256 or RSA 2048-4096 (EC, 384 bits)") != std::string::npos);
  CHECK(p384.sign_calls == 0);
  FakeKeyStore ed25519(test::ed25519_key());
  CHECK(build_failing(ed25519, CsrSubject{"thing", "", ""}).status.code() == StatusCode::kUnimplemented);
}

TEST_CASE("build_csr refuses a PEM buffer too small with resource exhausted and zeroes it") {
  FakeKeyStore store(test::ec_key("P-256"));
  const Failed failed = build_failing(store, CsrSubject{"thing", "", ""}, 200);
  CHECK(failed.status.code() == StatusCode::kResourceExhausted);
  CHECK(failed.status.origin() == Origin::kCrypto);
  CHECK(failed.pem_zeroed);
}
