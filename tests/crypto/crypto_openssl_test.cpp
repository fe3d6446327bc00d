// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Crypto conformance suite against OpenSslCrypto (ports/openssl), and what is particular to it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "crypto_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/openssl/openssl_crypto.hpp"

using namespace tether;
using tether::openssl::OpenSslCrypto;

namespace {

class OpenSslTarget final : public conformance::CryptoTarget {
 public:
  port::Crypto& crypto() override { return crypto_; }

 private:
  OpenSslCrypto crypto_;
};

}  // namespace

TETHER_CRYPTO_CONFORMANCE_TESTS("crypto conformance (openssl)", OpenSslTarget)

TEST_CASE("openssl crypto: a tag that does not verify is data loss and leaves no plaintext behind") {
  OpenSslCrypto crypto;
  const std::vector<std::uint8_t> key(32, 0x11), nonce(12, 0x22), plain(100, 0x33);
  std::vector<std::uint8_t> sealed(plain.size() + 16);
  REQUIRE(crypto.aead_seal(Span<const std::uint8_t>(key.data(), key.size()), Span<const std::uint8_t>(nonce.data(), 12),
                           {}, Span<const std::uint8_t>(plain.data(), plain.size()),
                           Span<std::uint8_t>(sealed.data(), sealed.size()))
              .ok());
  sealed.back() ^= 0x01;
  std::vector<std::uint8_t> out(plain.size(), 0xEE);
  const Result<std::size_t> opened =
      crypto.aead_open(Span<const std::uint8_t>(key.data(), key.size()), Span<const std::uint8_t>(nonce.data(), 12), {},
                       Span<const std::uint8_t>(sealed.data(), sealed.size()), Span<std::uint8_t>(out.data(), out.size()));
  CHECK(opened.status() == Status(StatusCode::kDataLoss, Origin::kCrypto));
  for (std::uint8_t b : out) CHECK(b == 0);
}

TEST_CASE("openssl crypto: two instances produce different random bytes") {
  OpenSslCrypto a;
  OpenSslCrypto b;
  std::vector<std::uint8_t> x(32), y(32);
  REQUIRE(a.random(Span<std::uint8_t>(x.data(), x.size())).ok());
  REQUIRE(b.random(Span<std::uint8_t>(y.data(), y.size())).ok());
  CHECK(x != y);
}

#if defined(TETHER_TEST_HAVE_MBEDTLS)
#include "tether/port/mbedtls/mbed_crypto.hpp"

// A queue encrypted by an agent built with mbedTLS must open in one built with OpenSSL and back:
// the same AES-256-GCM records and the same HMAC-derived keys.
TEST_CASE("openssl crypto: what MbedCrypto seals OpenSslCrypto opens, and the other way round, with the same MACs") {
  OpenSslCrypto openssl;
  tether::mbedtls::MbedCrypto mbed;
  const std::vector<std::uint8_t> key(32, 0x5A), nonce(12, 0x0C), aad{1, 2, 3}, plain(1000, 0x42);
  auto cview = [](const std::vector<std::uint8_t>& v) { return Span<const std::uint8_t>(v.data(), v.size()); };
  for (port::Crypto* sealer : {static_cast<port::Crypto*>(&openssl), static_cast<port::Crypto*>(&mbed)}) {
    port::Crypto* opener = sealer == &openssl ? static_cast<port::Crypto*>(&mbed) : &openssl;
    std::vector<std::uint8_t> sealed(plain.size() + 16);
    REQUIRE(sealer->aead_seal(cview(key), cview(nonce), cview(aad), cview(plain),
                              Span<std::uint8_t>(sealed.data(), sealed.size())).ok());
    std::vector<std::uint8_t> out(plain.size());
    const Result<std::size_t> opened = opener->aead_open(cview(key), cview(nonce), cview(aad), cview(sealed),
                                                         Span<std::uint8_t>(out.data(), out.size()));
    REQUIRE(opened.ok());
    CHECK(out == plain);
  }
  std::vector<std::uint8_t> mac_a(32), mac_b(32);
  REQUIRE(openssl.hmac_sha256(cview(key), cview(plain), Span<std::uint8_t>(mac_a.data(), 32)).ok());
  REQUIRE(mbed.hmac_sha256(cview(key), cview(plain), Span<std::uint8_t>(mac_b.data(), 32)).ok());
  CHECK(mac_a == mac_b);
}
#endif
