// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Crypto conformance suite against MbedCrypto, and what is particular to it: mbedTLS error
// details, lazy seeding, and seeding failures reported as a Status and retried.
#include <catch2/catch.hpp>

#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>

#include <cstdint>
#include <vector>

#include "crypto_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/mbedtls/mbed_crypto.hpp"

using namespace tether;
using tether::mbedtls::EntropySource;
using tether::mbedtls::MbedCrypto;

namespace {

class MbedTarget final : public conformance::CryptoTarget {
 public:
  port::Crypto& crypto() override { return crypto_; }

 private:
  MbedCrypto crypto_;
};

using Bytes = std::vector<std::uint8_t>;
Span<const std::uint8_t> view(const Bytes& bytes) { return Span<const std::uint8_t>(bytes.data(), bytes.size()); }
Span<std::uint8_t> span(Bytes& bytes) { return Span<std::uint8_t>(bytes.data(), bytes.size()); }
bool all_zero(const Bytes& bytes) {
  for (std::uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// An entropy source the test switches between failing and delivering bytes.
struct SwitchableSource {
  bool fail = true;
  int polls = 0;
  std::uint8_t next = 1;
  static int poll(void* context, unsigned char* out, std::size_t size, std::size_t* written) {
    auto* self = static_cast<SwitchableSource*>(context);
    ++self->polls;
    if (self->fail) return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    for (std::size_t i = 0; i < size; ++i) out[i] = self->next++;
    *written = size;
    return 0;
  }
};

}  // namespace

TETHER_CRYPTO_CONFORMANCE_TESTS("crypto conformance (mbedtls)", MbedTarget)

TEST_CASE("mbedtls crypto: a tag that does not verify is data loss with MBEDTLS_ERR_GCM_AUTH_FAILED as detail") {
  MbedCrypto crypto;
  const Bytes key(32, 0x11);
  const Bytes nonce(12, 0x22);
  const Bytes plaintext(24, 0x33);
  Bytes sealed(plaintext.size() + port::Crypto::kAeadTagSize);
  REQUIRE(crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), view(plaintext), span(sealed)).ok());
  sealed.back() ^= 0x01;
  Bytes out(24, 0xA5);
  CHECK(crypto.aead_open(view(key), view(nonce), Span<const std::uint8_t>(), view(sealed), span(out)).status() ==
        Status(StatusCode::kDataLoss, Origin::kCrypto, static_cast<std::uint16_t>(-MBEDTLS_ERR_GCM_AUTH_FAILED)));
  CHECK(all_zero(out));
}

TEST_CASE("mbedtls crypto: construction does not seed, the first random call does") {
  MbedCrypto crypto;
  CHECK_FALSE(crypto.seeded());
  Bytes digest(32);
  REQUIRE(crypto.sha256(Span<const std::uint8_t>(), span(digest)) == Status());
  CHECK_FALSE(crypto.seeded());  // hashing needs no randomness
  Bytes out(16);
  REQUIRE(crypto.random(span(out)) == Status());
  CHECK(crypto.seeded());
}

TEST_CASE("mbedtls crypto: a failing entropy source makes random unavailable and zeroed, and a later call seeds") {
  SwitchableSource source;
  EntropySource extra;
  extra.poll = &SwitchableSource::poll;
  extra.context = &source;
  MbedCrypto crypto(extra);

  Bytes out(64, 0xA5);
  CHECK(crypto.random(span(out)) == Status(StatusCode::kUnavailable, Origin::kCrypto,
                                           static_cast<std::uint16_t>(-MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED)));
  CHECK(all_zero(out));
  CHECK_FALSE(crypto.seeded());
  CHECK(source.polls >= 1);

  // Still failing: still a Status, never bytes.
  out.assign(64, 0xA5);
  CHECK(crypto.random(span(out)).code() == StatusCode::kUnavailable);
  CHECK(all_zero(out));

  source.fail = false;
  const int polls_before = source.polls;
  out.assign(64, 0x00);
  REQUIRE(crypto.random(span(out)) == Status());
  CHECK(crypto.seeded());
  CHECK(source.polls > polls_before);  // the source was used for the seed
  CHECK_FALSE(all_zero(out));

  // Seeded: later calls do not depend on the source until the DRBG reseeds (10000 requests).
  source.fail = true;
  Bytes again(64, 0x00);
  CHECK(crypto.random(span(again)) == Status());
  CHECK(again != out);
}

TEST_CASE("mbedtls crypto: two instances produce different random bytes") {
  MbedCrypto first;
  MbedCrypto second;
  Bytes a(32, 0);
  Bytes b(32, 0);
  REQUIRE(first.random(span(a)) == Status());
  REQUIRE(second.random(span(b)) == Status());
  CHECK(a != b);
}
