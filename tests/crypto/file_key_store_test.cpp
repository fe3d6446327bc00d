// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// FileKeyStore (development only) in a fresh temporary directory per test: keys generated and used
// (signatures checked with MbedCrypto::verify_sha256_signature), the file and directory modes it
// insists on, URIs it refuses, certificates, deletion, and the warning.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/port/log_sink.hpp"
#include "tether/port/mbedtls/file_key_store.hpp"
#include "tether/port/mbedtls/mbed_crypto.hpp"

using namespace tether;
using tether::mbedtls::FileKeyStore;
using tether::mbedtls::FileKeyStoreSettings;

namespace {

// A private temporary directory (0700), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tether-fks-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

port::KeySpec ec_spec(const char* label) {
  port::KeySpec spec;
  spec.algorithm = port::KeyAlgorithm::kEcP256;
  spec.label = label;
  return spec;
}

std::array<std::uint8_t, 32> digest_of(mbedtls::MbedCrypto& crypto, const char* text) {
  std::array<std::uint8_t, 32> digest{};
  REQUIRE(crypto.sha256(Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)),
                        digest)
              .ok());
  return digest;
}

// Signs with the store and verifies with MbedCrypto against the store's public key.
Status sign_and_verify(FileKeyStore& store, const std::string& uri) {
  mbedtls::MbedCrypto crypto;
  const auto digest = digest_of(crypto, "hello from a development device");
  std::array<std::uint8_t, 1024> key{};
  std::array<std::uint8_t, 512> signature{};
  Result<std::size_t> key_size = store.public_key_der(uri, key);
  if (!key_size.ok()) return key_size.status();
  Result<std::size_t> signature_size = store.sign_digest(uri, digest, signature);
  if (!signature_size.ok()) return signature_size.status();
  return crypto.verify_sha256_signature(Span<const std::uint8_t>(key.data(), *key_size), digest,
                                        Span<const std::uint8_t>(signature.data(), *signature_size));
}

class RecordingSink final : public port::LogSink {
 public:
  std::vector<std::string> lines;

 private:
  void do_write(const LogRecord& record) override { lines.emplace_back(record.message); }
};

}  // namespace

TEST_CASE("file key store generates an EC P-256 key in a 0600 file that signs verifiably") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  Result<port::KeyInfo> info = store.generate_key(ec_spec("dev-identity"));
  INFO(store.last_error());
  REQUIRE(info.ok());
  CHECK(info->uri == "file:dev-identity");
  CHECK(info->algorithm == port::KeyAlgorithm::kEcP256);
  CHECK_FALSE(info->sensitive);  // honest: it is a file
  CHECK(info->extractable);
  const auto file = dir.path() / "dev-identity.key.pem";
  CHECK(mode_of(file) == 0600);
  std::ifstream in(file);
  std::string first_line;
  std::getline(in, first_line);
  CHECK(first_line == "-----BEGIN EC PRIVATE KEY-----");

  CHECK(sign_and_verify(store, "file:dev-identity") == ok_status());
  Result<port::KeyInfo> found = store.find_key("file:dev-identity");
  REQUIRE(found.ok());
  CHECK(found->algorithm == port::KeyAlgorithm::kEcP256);
  CHECK(std::string(store.last_error()).empty());
}

TEST_CASE("file key store signatures from one key do not verify under another") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("a")).ok());
  REQUIRE(store.generate_key(ec_spec("b")).ok());
  mbedtls::MbedCrypto crypto;
  const auto digest = digest_of(crypto, "message");
  std::array<std::uint8_t, 1024> key_b{};
  std::array<std::uint8_t, 128> signature_a{};
  Result<std::size_t> key_size = store.public_key_der("file:b", key_b);
  Result<std::size_t> signature_size = store.sign_digest("file:a", digest, signature_a);
  REQUIRE(key_size.ok());
  REQUIRE(signature_size.ok());
  CHECK(crypto
            .verify_sha256_signature(Span<const std::uint8_t>(key_b.data(), *key_size), digest,
                                     Span<const std::uint8_t>(signature_a.data(), *signature_size))
            .code() == StatusCode::kUnauthenticated);
}

TEST_CASE("file key store refuses to overwrite a key with already exists and keeps the old one") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("identity")).ok());
  std::array<std::uint8_t, 1024> before{};
  std::array<std::uint8_t, 1024> after{};
  REQUIRE(store.public_key_der("file:identity", before).ok());
  Result<port::KeyInfo> again = store.generate_key(ec_spec("identity"));
  REQUIRE(!again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK(again.status().origin() == Origin::kKey);
  REQUIRE(store.public_key_der("file:identity", after).ok());
  CHECK(before == after);
}

TEST_CASE("file key store refuses a directory writable by group or others") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0770) == 0);
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  const Status status = store.open();
  CHECK(status.code() == StatusCode::kPermissionDenied);
  CHECK(status.detail() == 0770);
  CHECK(std::string(store.last_error()).find("not writable by group or others") != std::string::npos);
  CHECK(store.generate_key(ec_spec("k")).status().code() == StatusCode::kPermissionDenied);
  CHECK(!std::filesystem::exists(dir.path() / "k.key.pem"));
  REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
  CHECK(store.open().ok());
}

TEST_CASE("file key store refuses a missing directory with not found") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{(dir.path() / "absent").string(), nullptr});
  CHECK(store.open().code() == StatusCode::kNotFound);
}

TEST_CASE("file key store refuses a key file readable by group or others and a symbolic link") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("key")).ok());
  const auto file = dir.path() / "key.key.pem";
  REQUIRE(::chmod(file.c_str(), 0640) == 0);
  const Status loose = sign_and_verify(store, "file:key");
  CHECK(loose == Status(StatusCode::kPermissionDenied, Origin::kKey, 0640));
  CHECK(std::string(store.last_error()).find("chmod 600") != std::string::npos);
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  std::filesystem::create_symlink(file, dir.path() / "link.key.pem");
  CHECK(sign_and_verify(store, "file:link").code() == StatusCode::kPermissionDenied);  // ELOOP
  CHECK(sign_and_verify(store, "file:key") == ok_status());
}

TEST_CASE("file key store refuses URIs and labels that are not plain names") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  std::array<std::uint8_t, 1024> out{};
  for (const char* uri : {"pkcs11:token=dev;object=k;type=private", "file:", "file:../etc/passwd", "file:a/b",
                          "file:.hidden", "file:a.b", "k", "file:k.crt"}) {
    INFO(uri);
    CHECK(store.public_key_der(uri, out).status() == Status(StatusCode::kInvalidArgument, Origin::kKey));
  }
  for (const char* label : {"", "../up", "a b", "dot.ted"}) {
    INFO(label);
    CHECK(store.generate_key(ec_spec(label)).status().code() == StatusCode::kInvalidArgument);
  }
  port::KeySpec with_id = ec_spec("k");
  with_id.id = "0102";
  CHECK(store.generate_key(with_id).status().code() == StatusCode::kInvalidArgument);
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("file key store reports missing keys as not found and an RSA generation as unimplemented") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  CHECK(store.find_key("file:absent").status().code() == StatusCode::kNotFound);
  port::KeySpec rsa = ec_spec("rsa");
  rsa.algorithm = port::KeyAlgorithm::kRsa2048;
  CHECK(store.generate_key(rsa).status().code() == StatusCode::kUnimplemented);
}

TEST_CASE("file key store refuses a digest that is not 32 bytes and an output too small") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("k")).ok());
  std::array<std::uint8_t, 31> short_digest{};
  std::array<std::uint8_t, 32> digest{};
  std::array<std::uint8_t, 128> out{};
  std::array<std::uint8_t, 8> tiny{};
  CHECK(store.sign_digest("file:k", short_digest, out).status().code() == StatusCode::kInvalidArgument);
  const Status small = store.sign_digest("file:k", digest, tiny).status();
  CHECK(small.code() == StatusCode::kResourceExhausted);
  CHECK(small.detail() > 8);
  CHECK(store.public_key_der("file:k", tiny).status() == Status(StatusCode::kResourceExhausted, Origin::kKey, 91));
}

TEST_CASE("file key store reports a damaged key file as data loss") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("k")).ok());
  const auto file = dir.path() / "k.key.pem";
  std::filesystem::resize_file(file, 40);
  CHECK(store.find_key("file:k").status().code() == StatusCode::kDataLoss);
}

TEST_CASE("file key store stores, reads and deletes certificates and keys") {
  TempDir dir;
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), nullptr});
  REQUIRE(store.generate_key(ec_spec("k")).ok());
  const std::vector<std::uint8_t> certificate = {0x30, 0x03, 0x02, 0x01, 0x07};
  Result<FixedString<port::kMaxKeyUri>> uri =
      store.store_certificate("file:k", Span<const std::uint8_t>(certificate.data(), certificate.size()), "k-cert");
  INFO(store.last_error());
  REQUIRE(uri.ok());
  CHECK(*uri == "file:k-cert.crt");
  std::array<std::uint8_t, 64> out{};
  Result<std::size_t> size = store.read_certificate("file:k-cert.crt", out);
  REQUIRE(size.ok());
  CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*size)) == certificate);
  CHECK(store.store_certificate("file:absent", Span<const std::uint8_t>(certificate.data(), certificate.size()), "x")
            .status()
            .code() == StatusCode::kNotFound);

  CHECK(store.delete_object("file:k-cert.crt").ok());
  CHECK(store.read_certificate("file:k-cert.crt", out).status().code() == StatusCode::kNotFound);
  CHECK(store.delete_object("file:k").ok());
  CHECK(store.find_key("file:k").status().code() == StatusCode::kNotFound);
  CHECK(store.delete_object("file:k").code() == StatusCode::kNotFound);
}

TEST_CASE("file key store says loudly that it is not for production, once, through the logger") {
  TempDir dir;
  RecordingSink sink;
  Logger logger(&sink, LogLevel::kWarn);
  FileKeyStore store(FileKeyStoreSettings{dir.path().string(), &logger});
  CHECK(std::string(store.warning()).rfind("not for production: the private key is a file", 0) == 0);
  REQUIRE(store.open().ok());
  REQUIRE(store.generate_key(ec_spec("k")).ok());
  REQUIRE(sink.lines.size() == 1);
  CHECK(sink.lines[0].find("not for production") != std::string::npos);
  CHECK(sink.lines[0].find(dir.path().string()) != std::string::npos);
}
