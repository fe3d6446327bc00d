// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Mutual TLS to a real mosquitto with a key generated inside a PKCS#11 token (SoftHSM2), used by
// the stock Paho through OpenSSL's pkcs11-provider (enable_pkcs11_tls_key), and the errors a user
// meets at start: a certificate for another key, a wrong PIN, a missing module, a missing provider.
//
// OpenSSL's provider and the PKCS#11 module are process-wide and loaded once: ctest runs every
// test case in a process of its own (catch_discover_tests). Running this binary by hand runs one
// case at a time the same way (pass its name). Cases tagged [provider] load pkcs11-provider, which
// the sanitizer runtimes cannot run (RTLD_DEEPBIND): the asan-ubsan and tsan presets leave them out.
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "../broker_fixture.hpp"
#include "../mqtt_harness.hpp"
#include "token_tls.hpp"
#include "softhsm_token.hpp"
#include "tpm_token.hpp"
#include "test_support.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/port/pkcs11/tls_key.hpp"

namespace {

using namespace std::chrono_literals;
using tether::ErrorText;
using tether::Status;
using tether::StatusCode;
using tether::port::KeyAlgorithm;
using tether::port::KeyInfo;
using tether::port::KeySpec;
using tether::port::PahoMqttClient;
using tether::port::PahoSettings;
using tether::port::Pkcs11KeyStore;
using tether::port::Pkcs11TlsKeySettings;
using tether::test::connect_and_wait;
using tether::test::Recorder;
using tether::test::SoftHsmToken;
using tether::test::TestBroker;
using tether::test::TpmToken;

constexpr const char* kDevice = "hsm-device";

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename Token>
KeyInfo generate_key(const Token& token, const char* label, KeyAlgorithm algorithm = KeyAlgorithm::kEcP256) {
  Pkcs11KeyStore store(token.settings());
  KeySpec spec;
  spec.algorithm = algorithm;
  spec.label = label;
  auto info = store.generate_key(spec);
  INFO(store.last_error());
  REQUIRE(info.ok());
  return *info;
}  // the store finalizes the module here, before the provider loads it

// The key's public half as OpenSSL sees it (read by a store of its own, finalized again).
template <typename Token>
PkeyPtr public_key(const Token& token, const KeyInfo& key) {
  Pkcs11KeyStore store(token.settings());
  std::array<std::uint8_t, 1024> der{};
  auto len = store.public_key_der(key.uri.view(), der);
  INFO(store.last_error());
  REQUIRE(len.ok());
  const unsigned char* p = der.data();
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(*len)));
  REQUIRE(pub != nullptr);
  return pub;
}

// A certificate for `public_key` with subject CN=`cn`, issued by the broker's CA (as a CA would,
// from a CSR): written as PEM to `path`.
void issue_certificate(const TestBroker& broker, EVP_PKEY* public_key, const std::string& cn, const std::string& path) {
  BioPtr ca_bio(BIO_new_file(broker.path("ca.crt").c_str(), "r"));
  REQUIRE(ca_bio != nullptr);
  X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(ca != nullptr);
  BioPtr ca_key_bio(BIO_new_file(broker.path("ca.key").c_str(), "r"));
  REQUIRE(ca_key_bio != nullptr);
  PkeyPtr ca_key(PEM_read_bio_PrivateKey(ca_key_bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(ca_key != nullptr);

  X509Ptr cert(X509_new());
  REQUIRE(cert != nullptr);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(::getpid()) * 1000 + 7) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                     -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), public_key) == 1);
  REQUIRE(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0);
  BioPtr out(BIO_new_file(path.c_str(), "w"));
  REQUIRE(out != nullptr);
  REQUIRE(PEM_write_bio_X509(out.get(), cert.get()) == 1);
}

template <typename Token>
Pkcs11TlsKeySettings tls_settings(const Token& token, const KeyInfo& key, const std::string& cert_file) {
  Pkcs11TlsKeySettings settings;
  settings.token = token.settings();
  settings.key_uri = std::string(key.uri.view());
  settings.cert_file = cert_file;
  settings.key_pem_path = (token.dir() / "tls-key.pem").string();
  return settings;
}

// A broker, a token with a key generated in it, a certificate for that key from the broker's CA
// (CN = kDevice), and the TLS key settings naming both.
template <typename Token>
struct KeyWithCertificate {
  explicit KeyWithCertificate(const char* label = "identity", KeyAlgorithm algorithm = KeyAlgorithm::kEcP256)
      : key(generate_key(token, label, algorithm)), cert_file((token.dir() / "device.crt").string()) {
    issue_certificate(broker, public_key(token, key).get(), kDevice, cert_file);
    settings = tls_settings(token, key, cert_file);
  }
  TestBroker broker;
  Token token;
  KeyInfo key;
  std::string cert_file;
  Pkcs11TlsKeySettings settings;
};

// enable_pkcs11_tls_key() with `settings`, which must succeed.
void enable(const Pkcs11TlsKeySettings& settings, KeyInfo* seen = nullptr) {
  ErrorText error;
  const Status enabled = tether::port::enable_pkcs11_tls_key(settings, seen, &error);
  INFO(error.c_str());
  REQUIRE(enabled.ok());
}

// enable_pkcs11_tls_key() with `settings`, which must fail: its status, and the text in `text`.
Status enable_failing(const Pkcs11TlsKeySettings& settings, std::string* text) {
  ErrorText error;
  const Status enabled = tether::port::enable_pkcs11_tls_key(settings, nullptr, &error);
  *text = error.c_str();
  INFO(*text);
  REQUIRE_FALSE(enabled.ok());
  return enabled;
}


void round_trip_as_device(const TestBroker& broker, const std::string& cert_file, const std::string& key_file) {
  tether::test::round_trip_as(broker, kDevice, cert_file, key_file);
}

}  // namespace

TEST_CASE("A key generated inside SoftHSM2 and never extractable authenticates mutual TLS to mosquitto through Paho",
          "[pkcs11][integration][provider]") {
  TestBroker broker;
  SoftHsmToken token;
  const KeyInfo key = generate_key(token, "identity");
  CHECK_FALSE(key.extractable);
  // What another PKCS#11 client sees of the key.
  const std::vector<std::string> access = token.private_key_access("identity");
  CHECK(std::find(access.begin(), access.end(), "never extractable") != access.end());
  CHECK(std::find(access.begin(), access.end(), "extractable") == access.end());

  const std::string cert_file = (token.dir() / "device.crt").string();
  issue_certificate(broker, public_key(token, key).get(), kDevice, cert_file);

  const Pkcs11TlsKeySettings settings = tls_settings(token, key, cert_file);
  KeyInfo seen;
  ErrorText error;
  const Status enabled = tether::port::enable_pkcs11_tls_key(settings, &seen, &error);
  INFO(error.c_str());
  REQUIRE(enabled.ok());
  CHECK(seen.uri == key.uri.view());
  CHECK_FALSE(seen.extractable);
  CHECK(seen.sensitive);

  // The key file names the key and holds nothing secret: mode 0600 all the same.
  struct stat info {};
  REQUIRE(::stat(settings.key_pem_path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  const std::string pem = read_file(settings.key_pem_path);
  CHECK(pem.rfind("-----BEGIN PKCS#11 PROVIDER URI-----", 0) == 0);
  CHECK(pem.find("PRIVATE KEY") == std::string::npos);
  std::string expected;
  REQUIRE(tether::port::pkcs11_uri_pem(settings.key_uri, &expected).ok());
  CHECK(pem == expected);

  round_trip_as_device(broker, cert_file, settings.key_pem_path);
}

TEST_CASE("An RSA-2048 key inside SoftHSM2 authenticates mutual TLS to mosquitto through Paho",
          "[pkcs11][integration][provider]") {
  KeyWithCertificate<SoftHsmToken> d("identity-rsa", KeyAlgorithm::kRsa2048);
  enable(d.settings);
  round_trip_as_device(d.broker, d.cert_file, d.settings.key_pem_path);
}

TEST_CASE("A key generated inside a software TPM through tpm2-pkcs11 authenticates mutual TLS to mosquitto",
          "[pkcs11][integration][provider][tpm]") {
  KeyWithCertificate<TpmToken> d;
  CHECK_FALSE(d.key.extractable);
  // Without a resource manager each PKCS#11 session leaves objects in swtpm's 3 slots.
  d.token.flush_transient();
  KeyInfo seen;
  enable(d.settings, &seen);
  CHECK_FALSE(seen.extractable);
  round_trip_as_device(d.broker, d.cert_file, d.settings.key_pem_path);
}

TEST_CASE("A key store opened and closed while the provider holds the module leaves TLS working",
          "[pkcs11][integration][provider]") {
  KeyWithCertificate<SoftHsmToken> d;
  enable(d.settings);
  round_trip_as_device(d.broker, d.cert_file, d.settings.key_pem_path);
  // Rotation generates the next key while the current one serves TLS: a store of the same module
  // comes and goes. Its end must not finalize the module under the provider.
  {
    const KeyInfo next = generate_key(d.token, "identity-next");
    CHECK_FALSE(next.extractable);
  }
  round_trip_as_device(d.broker, d.cert_file, d.settings.key_pem_path);
}

TEST_CASE("A certificate issued for another key is refused at start and names both",
          "[pkcs11][integration][provider]") {
  TestBroker broker;
  SoftHsmToken token;
  const KeyInfo key = generate_key(token, "identity");
  const KeyInfo other = generate_key(token, "other");
  const std::string cert_file = (token.dir() / "other.crt").string();
  issue_certificate(broker, public_key(token, other).get(), kDevice, cert_file);

  const Pkcs11TlsKeySettings settings = tls_settings(token, key, cert_file);
  ErrorText error;
  const Status enabled = tether::port::enable_pkcs11_tls_key(settings, nullptr, &error);
  INFO(error.c_str());
  CHECK(enabled.code() == StatusCode::kInvalidArgument);
  const std::string text = error.c_str();
  CHECK(text.find("is not for key") != std::string::npos);
  CHECK(text.find(cert_file) != std::string::npos);
  CHECK(text.find("object=identity") != std::string::npos);
  CHECK(::access(settings.key_pem_path.c_str(), F_OK) != 0);  // nothing written for a mismatch

  // And the TLS layer itself refuses the pair too: the provider loaded for the right key, then
  // Paho given the other key's certificate with this key fails the handshake, not silently.
  Pkcs11TlsKeySettings right = settings;
  const std::string own_cert = (token.dir() / "identity.crt").string();
  issue_certificate(broker, public_key(token, key).get(), kDevice, own_cert);
  right.cert_file = own_cert;
  REQUIRE(tether::port::enable_pkcs11_tls_key(right, nullptr, &error).ok());
  PahoSettings mismatched = broker.client_settings("device-1");
  mismatched.cert_file = cert_file;
  mismatched.key_file = right.key_pem_path;
  PahoMqttClient client(mismatched);
  Recorder recorder;
  client.set_listener(&recorder);
  const Status connected = connect_and_wait(client, recorder, tether::test::tls_connect_options(kDevice));
  INFO("connect: " << connected);
  CHECK_FALSE(connected.ok());
  CHECK_FALSE(client.connected());
}

TEST_CASE("A wrong PIN is refused at start with kUnauthenticated and the PIN is not shown", "[pkcs11][integration]") {
  KeyWithCertificate<SoftHsmToken> d;
  Pkcs11TlsKeySettings settings = d.settings;
  settings.token = d.token.settings_with_pin_file("wrong-pin", "9999-wrong", 0600);
  std::string text;
  CHECK(enable_failing(settings, &text).code() == StatusCode::kUnauthenticated);
  CHECK(text.find("PIN") != std::string::npos);
  CHECK(text.find("9999-wrong") == std::string::npos);
  CHECK(text.find(tether::test::kUserPin) == std::string::npos);
}

TEST_CASE("A PKCS#11 module that is not there is refused at start and the error names it", "[pkcs11][integration]") {
  KeyWithCertificate<SoftHsmToken> d;
  Pkcs11TlsKeySettings settings = d.settings;
  settings.token.module_path = (d.token.dir() / "no-such-module.so").string();
  std::string text;
  CHECK(enable_failing(settings, &text).code() == StatusCode::kUnavailable);
  CHECK(text.find("no-such-module.so") != std::string::npos);
}

TEST_CASE("Without OpenSSL's PKCS#11 provider the start fails and says which package to install",
          "[pkcs11][integration]") {
  KeyWithCertificate<SoftHsmToken> d;
  Pkcs11TlsKeySettings settings = d.settings;
  settings.provider_module = (d.token.dir() / "ossl-modules" / "pkcs11.so").string();
  std::string text;
  CHECK(enable_failing(settings, &text).code() == StatusCode::kUnavailable);
  CHECK(text.find("pkcs11-provider") != std::string::npos);
  CHECK(text.find(settings.provider_module) != std::string::npos);
}

TEST_CASE("The provider is installed where OpenSSL looks for it", "[pkcs11][integration]") {
  // Not a skip: a machine without pkcs11-provider fails here with what to install.
  const std::string path = tether::port::default_pkcs11_provider_path();
  INFO(path << " missing: scripts/install-deps.sh installs pkcs11-provider");
  CHECK(::access(path.c_str(), R_OK) == 0);
}

TEST_CASE("A key URI carrying a PIN is refused without echoing it", "[pkcs11][integration]") {
  SoftHsmToken token;
  Pkcs11TlsKeySettings settings;
  settings.token = token.settings();
  settings.key_uri = "pkcs11:token=tether-test;object=identity;type=private?pin-value=4711-user";
  settings.cert_file = "/nonexistent.crt";
  settings.key_pem_path = (token.dir() / "tls-key.pem").string();
  ErrorText error;
  CHECK(tether::port::enable_pkcs11_tls_key(settings, nullptr, &error).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(error.c_str()).find("4711") == std::string::npos);
}
