// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "crypto_conformance.hpp"

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tether::conformance {
namespace {

using Bytes = std::vector<std::uint8_t>;
using port::Crypto;

// Hex digits to bytes; spaces are ignored so vectors can be typed as the documents print them.
Bytes from_hex(const char* hex) {
  Bytes bytes;
  int high = -1;
  for (const char* p = hex; *p != '\0'; ++p) {
    const char c = *p;
    if (c == ' ') continue;
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      FAIL("bad hex digit in a test vector");
    }
    if (high < 0) {
      high = v;
    } else {
      bytes.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  REQUIRE(high < 0);
  return bytes;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < size; ++i) {
    hex += kDigits[data[i] >> 4];
    hex += kDigits[data[i] & 0xF];
  }
  return hex;
}
std::string to_hex(const Bytes& bytes) { return to_hex(bytes.data(), bytes.size()); }

Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }
Bytes repeat(std::uint8_t value, std::size_t count) { return Bytes(count, value); }
Bytes pattern(std::size_t size, unsigned seed) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(seed * 131 + i * 7 + (i >> 8));
  return bytes;
}

Span<const std::uint8_t> view(const Bytes& bytes) { return Span<const std::uint8_t>(bytes.data(), bytes.size()); }
Span<std::uint8_t> span(Bytes& bytes) { return Span<std::uint8_t>(bytes.data(), bytes.size()); }

bool all_equal(const std::uint8_t* data, std::size_t size, std::uint8_t value) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != value) return false;
  }
  return true;
}
bool all_equal(const Bytes& bytes, std::uint8_t value) { return all_equal(bytes.data(), bytes.size(), value); }

std::string sha256_hex(Crypto& crypto, const Bytes& data) {
  Bytes digest(Crypto::kSha256Size, 0xA5);
  REQUIRE(crypto.sha256(view(data), span(digest)) == Status());
  return to_hex(digest);
}

std::string hmac_hex(Crypto& crypto, const Bytes& key, const Bytes& data) {
  Bytes mac(Crypto::kHmacSha256Size, 0xA5);
  REQUIRE(crypto.hmac_sha256(view(key), view(data), span(mac)) == Status());
  return to_hex(mac);
}

Bytes seal(Crypto& crypto, const Bytes& key, const Bytes& nonce, const Bytes& aad, const Bytes& plaintext) {
  Bytes out(plaintext.size() + Crypto::kAeadTagSize, 0xA5);
  Result<std::size_t> n = crypto.aead_seal(view(key), view(nonce), view(aad), view(plaintext), span(out));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == out.size());
  return out;
}

// What aead_open returns, with `out` prefilled with 0xA5 so zeroing is observable.
struct Opened {
  Status status;
  std::size_t size = 0;
  Bytes out;
};
Opened open_sealed(Crypto& crypto, const Bytes& key, const Bytes& nonce, const Bytes& aad, const Bytes& sealed,
            std::size_t out_size) {
  Opened opened;
  opened.out.assign(out_size, 0xA5);
  Result<std::size_t> n = crypto.aead_open(view(key), view(nonce), view(aad), view(sealed), span(opened.out));
  opened.status = n.status();
  opened.size = n.value_or(0);
  return opened;
}

bool is_data_loss(Status status) {
  return status.code() == StatusCode::kDataLoss && status.origin() == Origin::kCrypto;
}

// GCM specification (McGrew, Viega), appendix B, test cases 15 and 16: key, IV and AAD.
const char kGcmKey[] = "feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308";
const char kGcmIv[] = "cafebabefacedbaddecaf888";
const char kGcmAad16[] = "feedfacedeadbeeffeedfacedeadbeef abaddad2";
const char kGcmPlaintext16[] =
    "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39";
const char kGcmCiphertext16[] =
    "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662";
const char kGcmTag16[] = "76fc6ece0f4e1768cddf8853bb2d551b";

}  // namespace

void sha256_matches_the_nist_test_vectors(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  // FIPS 180-2 appendix B.1, B.2, B.3 and the empty message.
  CHECK(sha256_hex(crypto, text("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(crypto, text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(crypto, repeat('a', 1000000)) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256_hex(crypto, Bytes()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

void sha256_refuses_a_digest_buffer_of_the_wrong_size(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes data = text("abc");
  for (std::size_t size : {std::size_t{0}, std::size_t{31}, std::size_t{33}, std::size_t{64}}) {
    CAPTURE(size);
    Bytes digest(size, 0xA5);
    CHECK(crypto.sha256(view(data), span(digest)) == Status(StatusCode::kInvalidArgument, Origin::kCrypto));
    CHECK(all_equal(digest, 0x00));
  }
}

void hmac_sha256_matches_the_rfc_4231_test_vectors(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  // RFC 4231 §4.2 to §4.8, HMAC-SHA-256 results.
  CHECK(hmac_hex(crypto, repeat(0x0b, 20), text("Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hmac_hex(crypto, text("Jefe"), text("what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_hex(crypto, repeat(0xaa, 20), repeat(0xdd, 50)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  CHECK(hmac_hex(crypto, from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), repeat(0xcd, 50)) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5 publishes only the first 128 bits.
  CHECK(hmac_hex(crypto, repeat(0x0c, 20), text("Test With Truncation")).substr(0, 32) ==
        "a3b6167473100ee06e0c796c2955552b");
  CHECK(hmac_hex(crypto, repeat(0xaa, 131), text("Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_hex(crypto, repeat(0xaa, 131),
                 text("This is a test using a larger than block-size key and a larger than block-size data. "
                      "The key needs to be hashed before being used by the HMAC algorithm.")) ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

void hmac_sha256_refuses_a_mac_buffer_of_the_wrong_size(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = repeat(0x0b, 20);
  const Bytes data = text("Hi There");
  for (std::size_t size : {std::size_t{0}, std::size_t{16}, std::size_t{31}, std::size_t{33}}) {
    CAPTURE(size);
    Bytes mac(size, 0xA5);
    CHECK(crypto.hmac_sha256(view(key), view(data), span(mac)) ==
          Status(StatusCode::kInvalidArgument, Origin::kCrypto));
    CHECK(all_equal(mac, 0x00));
  }
}

void aead_seal_matches_the_gcm_spec_test_vectors(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes zero_key(32, 0);
  const Bytes zero_iv(12, 0);
  // Test case 13: empty plaintext, no AAD: the output is the tag alone.
  CHECK(to_hex(seal(crypto, zero_key, zero_iv, Bytes(), Bytes())) == "530f8afbc74536b9a963b4f1c4cb738b");
  // Test case 14: one zero block.
  CHECK(to_hex(seal(crypto, zero_key, zero_iv, Bytes(), Bytes(16, 0))) ==
        "cea7403d4d606b6e074ec5d3baf39d18" "d0d1c8a799996bf0265b98b5d48ab919");
  // Test case 15: four blocks, no AAD.
  CHECK(to_hex(seal(crypto, from_hex(kGcmKey), from_hex(kGcmIv), Bytes(),
                    from_hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                             "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"))) ==
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
        "b094dac5d93471bdec1a502270e3cc6c");
  // Test case 16: a partial last block and 20 bytes of AAD.
  CHECK(to_hex(seal(crypto, from_hex(kGcmKey), from_hex(kGcmIv), from_hex(kGcmAad16), from_hex(kGcmPlaintext16))) ==
        to_hex(from_hex(kGcmCiphertext16)) + kGcmTag16);
}

void aead_open_recovers_the_gcm_spec_test_case_16_plaintext(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  Bytes sealed = from_hex(kGcmCiphertext16);
  const Bytes tag = from_hex(kGcmTag16);
  sealed.insert(sealed.end(), tag.begin(), tag.end());
  // A larger output buffer: only the plaintext's bytes are written.
  const Opened opened = open_sealed(crypto, from_hex(kGcmKey), from_hex(kGcmIv), from_hex(kGcmAad16), sealed, 100);
  REQUIRE(opened.status == Status());
  REQUIRE(opened.size == 60);
  CHECK(to_hex(opened.out.data(), 60) == to_hex(from_hex(kGcmPlaintext16)));
  CHECK(all_equal(opened.out.data() + 60, 40, 0xA5));
}

void aead_seal_then_open_round_trips_every_size(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = pattern(32, 1);
  const Bytes nonce = pattern(12, 2);
  for (std::size_t size : {0, 1, 15, 16, 17, 255, 1024, 4099}) {
    for (std::size_t aad_size : {0, 1, 13, 300}) {
      CAPTURE(size, aad_size);
      const Bytes plaintext = pattern(size, 3 + static_cast<unsigned>(size));
      const Bytes aad = pattern(aad_size, 4);
      const Bytes sealed = seal(crypto, key, nonce, aad, plaintext);
      if (size >= 16) CHECK(Bytes(sealed.begin(), sealed.begin() + 16) != Bytes(plaintext.begin(), plaintext.begin() + 16));
      const Opened opened = open_sealed(crypto, key, nonce, aad, sealed, size);
      REQUIRE(opened.status == Status());
      CHECK(opened.size == size);
      CHECK(opened.out == plaintext);
    }
  }
}

void aead_open_fails_with_data_loss_on_any_flipped_bit(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = from_hex(kGcmKey);
  const Bytes nonce = from_hex(kGcmIv);
  const Bytes aad = from_hex(kGcmAad16);
  const Bytes sealed = seal(crypto, key, nonce, aad, from_hex(kGcmPlaintext16));
  REQUIRE(open_sealed(crypto, key, nonce, aad, sealed, 60).status == Status());

  int failures = 0;
  auto expect_refused = [&](const Opened& opened) {
    if (!is_data_loss(opened.status) || !all_equal(opened.out, 0x00)) ++failures;
  };
  // Ciphertext and tag (the tag is the last 16 bytes of `sealed`).
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    Bytes flipped = sealed;
    flipped[bit / 8] = static_cast<std::uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
    expect_refused(open_sealed(crypto, key, nonce, aad, flipped, 60));
  }
  for (std::size_t bit = 0; bit < aad.size() * 8; ++bit) {
    Bytes flipped = aad;
    flipped[bit / 8] = static_cast<std::uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
    expect_refused(open_sealed(crypto, key, nonce, flipped, sealed, 60));
  }
  for (std::size_t bit = 0; bit < nonce.size() * 8; ++bit) {
    Bytes flipped = nonce;
    flipped[bit / 8] = static_cast<std::uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
    expect_refused(open_sealed(crypto, key, flipped, aad, sealed, 60));
  }
  CHECK(failures == 0);

  // One case checked in full, for a readable failure message.
  Bytes flipped = sealed;
  flipped[0] ^= 0x01;
  const Opened opened = open_sealed(crypto, key, nonce, aad, flipped, 64);
  CHECK(opened.status.code() == StatusCode::kDataLoss);
  CHECK(opened.status.origin() == Origin::kCrypto);
  CHECK(opened.size == 0);
  CHECK(all_equal(opened.out, 0x00));  // the whole buffer, also beyond the plaintext's length
  // AAD present at sealing but left out when opening.
  CHECK(is_data_loss(open_sealed(crypto, key, nonce, Bytes(), sealed, 60).status));
}

void aead_open_fails_with_data_loss_on_a_truncated_or_extended_message(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = pattern(32, 5);
  const Bytes nonce = pattern(12, 6);
  const Bytes sealed = seal(crypto, key, nonce, Bytes(), pattern(40, 7));

  const Bytes shorter(sealed.begin(), sealed.end() - 1);
  Opened opened = open_sealed(crypto, key, nonce, Bytes(), shorter, 64);
  CHECK(is_data_loss(opened.status));
  CHECK(all_equal(opened.out, 0x00));

  Bytes longer = sealed;
  longer.push_back(0);
  opened = open_sealed(crypto, key, nonce, Bytes(), longer, 64);
  CHECK(is_data_loss(opened.status));
  CHECK(all_equal(opened.out, 0x00));

  // Shorter than a tag: cannot be authentic.
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, Crypto::kAeadTagSize - 1}) {
    CAPTURE(size);
    opened = open_sealed(crypto, key, nonce, Bytes(), Bytes(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(size)), 8);
    CHECK(opened.status == Status(StatusCode::kDataLoss, Origin::kCrypto));
    CHECK(all_equal(opened.out, 0x00));
  }
  // Exactly a tag: an empty plaintext, which must verify like any other.
  const Bytes empty_sealed = seal(crypto, key, nonce, Bytes(), Bytes());
  REQUIRE(empty_sealed.size() == Crypto::kAeadTagSize);
  opened = open_sealed(crypto, key, nonce, Bytes(), empty_sealed, 0);
  CHECK(opened.status == Status());
  CHECK(opened.size == 0);
  Bytes bad_tag = empty_sealed;
  bad_tag[15] ^= 0x80;
  CHECK(is_data_loss(open_sealed(crypto, key, nonce, Bytes(), bad_tag, 0).status));
}

void aead_open_fails_with_data_loss_under_another_key(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = pattern(32, 8);
  const Bytes nonce = pattern(12, 9);
  const Bytes sealed = seal(crypto, key, nonce, Bytes(), pattern(33, 10));
  for (std::size_t byte : {std::size_t{0}, std::size_t{17}, std::size_t{31}}) {
    Bytes other = key;
    other[byte] ^= 0x01;
    const Opened opened = open_sealed(crypto, other, nonce, Bytes(), sealed, 33);
    CHECK(is_data_loss(opened.status));
    CHECK(all_equal(opened.out, 0x00));
  }
}

void aead_refuses_an_output_too_small_with_resource_exhausted(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Bytes key = pattern(32, 11);
  const Bytes nonce = pattern(12, 12);
  const Bytes plaintext = pattern(50, 13);
  const Status exhausted(StatusCode::kResourceExhausted, Origin::kCrypto);

  for (std::size_t size : {std::size_t{0}, std::size_t{50}, std::size_t{65}}) {
    CAPTURE(size);
    Bytes out(size, 0xA5);
    CHECK(crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), view(plaintext), span(out)).status() ==
          exhausted);
    CHECK(all_equal(out, 0x00));
  }
  // Exactly large enough works; a larger buffer is written only up to the returned count.
  Bytes out(66 + 10, 0xA5);
  Result<std::size_t> n =
      crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), view(plaintext), span(out));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == 66);
  CHECK(all_equal(out.data() + 66, 10, 0xA5));
  const Bytes sealed(out.begin(), out.begin() + 66);

  for (std::size_t size : {std::size_t{0}, std::size_t{49}}) {
    CAPTURE(size);
    const Opened opened = open_sealed(crypto, key, nonce, Bytes(), sealed, size);
    CHECK(opened.status == exhausted);
    CHECK(all_equal(opened.out, 0x00));
  }
  const Opened opened = open_sealed(crypto, key, nonce, Bytes(), sealed, 50);
  CHECK(opened.status == Status());
  CHECK(opened.out == plaintext);
}

void aead_refuses_keys_and_nonces_of_the_wrong_size(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Status invalid(StatusCode::kInvalidArgument, Origin::kCrypto);
  const Bytes key = pattern(32, 14);
  const Bytes nonce = pattern(12, 15);
  const Bytes plaintext = pattern(20, 16);
  const Bytes sealed = seal(crypto, key, nonce, Bytes(), plaintext);

  const Bytes bad_keys[] = {Bytes(), pattern(16, 17), pattern(24, 18), pattern(31, 19), pattern(33, 20)};
  for (const Bytes& bad_key : bad_keys) {
    CAPTURE(bad_key.size());
    Bytes out(64, 0xA5);
    CHECK(crypto.aead_seal(view(bad_key), view(nonce), Span<const std::uint8_t>(), view(plaintext), span(out))
              .status() == invalid);
    CHECK(all_equal(out, 0x00));
    const Opened opened = open_sealed(crypto, bad_key, nonce, Bytes(), sealed, 64);
    CHECK(opened.status == invalid);
    CHECK(all_equal(opened.out, 0x00));
  }
  const Bytes bad_nonces[] = {Bytes(), pattern(8, 21), pattern(11, 22), pattern(13, 23), pattern(16, 24)};
  for (const Bytes& bad_nonce : bad_nonces) {
    CAPTURE(bad_nonce.size());
    Bytes out(64, 0xA5);
    CHECK(crypto.aead_seal(view(key), view(bad_nonce), Span<const std::uint8_t>(), view(plaintext), span(out))
              .status() == invalid);
    CHECK(all_equal(out, 0x00));
    const Opened opened = open_sealed(crypto, key, bad_nonce, Bytes(), sealed, 64);
    CHECK(opened.status == invalid);
    CHECK(all_equal(opened.out, 0x00));
  }
}

void aead_refuses_a_plaintext_longer_than_gcm_allows(CryptoTarget& target) {
  if (sizeof(std::size_t) < 8) {
    SUCCEED("a 32-bit size_t cannot express a plaintext above the GCM limit");
    return;
  }
  Crypto& crypto = target.crypto();
  const Bytes key = pattern(32, 25);
  const Bytes nonce = pattern(12, 26);
  Bytes out(64, 0xA5);
  // The size is refused before any byte is read: the span only needs an address that does not
  // overlap `out` (past its end), never dereferenced.
  const auto beyond = reinterpret_cast<const std::uint8_t*>(reinterpret_cast<std::uintptr_t>(out.data()) + 4096);
  const auto limit = static_cast<std::size_t>(Crypto::kAeadMaxPlaintextSize);
  const Span<const std::uint8_t> too_long(beyond, limit + 1);
  CHECK(crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), too_long, span(out)).status() ==
        Status(StatusCode::kOutOfRange, Origin::kCrypto));
  CHECK(all_equal(out, 0x00));
  std::fill(out.begin(), out.end(), 0xA5);
  const Span<const std::uint8_t> too_long_sealed(beyond, limit + 1 + Crypto::kAeadTagSize);
  CHECK(crypto.aead_open(view(key), view(nonce), Span<const std::uint8_t>(), too_long_sealed, span(out)).status() ==
        Status(StatusCode::kOutOfRange, Origin::kCrypto));
  CHECK(all_equal(out, 0x00));
}

void aead_refuses_an_output_that_overlaps_an_input_as_a_contract_violation(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  const Status invalid(StatusCode::kInvalidArgument, Origin::kCrypto);
  const Bytes key = pattern(32, 27);
  const Bytes nonce = pattern(12, 28);
  const Bytes plaintext = pattern(40, 29);
  const Bytes sealed = seal(crypto, key, nonce, Bytes(), plaintext);

  // In place, and overlapping by one byte: both refused, nothing written.
  Bytes buffer = plaintext;
  buffer.resize(plaintext.size() + 16 + 8);
  const Bytes before = buffer;
  test::ContractCounter contracts;
  Span<const std::uint8_t> in(buffer.data(), plaintext.size());
  CHECK(crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), in, Span<std::uint8_t>(buffer.data(), 56))
            .status() == invalid);
  CHECK(crypto.aead_seal(view(key), view(nonce), Span<const std::uint8_t>(), in,
                         Span<std::uint8_t>(buffer.data() + 39, buffer.size() - 39))
            .status() == invalid);
  CHECK(contracts.count() == 2);
  CHECK(buffer == before);

  // The output overlapping the key, the nonce or the AAD.
  Bytes block(32 + 12 + 10 + 80, 0x5A);
  const Span<const std::uint8_t> key_in(block.data(), 32);
  const Span<const std::uint8_t> nonce_in(block.data() + 32, 12);
  const Span<const std::uint8_t> aad_in(block.data() + 44, 10);
  const Bytes block_before = block;
  CHECK(crypto.aead_seal(key_in, nonce_in, aad_in, view(plaintext), Span<std::uint8_t>(block.data() + 20, 60))
            .status() == invalid);
  CHECK(crypto.aead_seal(key_in, nonce_in, aad_in, view(plaintext), Span<std::uint8_t>(block.data() + 40, 60))
            .status() == invalid);
  CHECK(crypto.aead_seal(key_in, nonce_in, aad_in, view(plaintext), Span<std::uint8_t>(block.data() + 53, 60))
            .status() == invalid);
  CHECK(contracts.count() == 5);
  CHECK(block == block_before);

  // aead_open, in place.
  Bytes opened = sealed;
  const Bytes opened_before = opened;
  CHECK(crypto.aead_open(view(key), view(nonce), Span<const std::uint8_t>(), view(opened),
                         Span<std::uint8_t>(opened.data(), 40))
            .status() == invalid);
  CHECK(contracts.count() == 6);
  CHECK(opened == opened_before);

  // Adjacent but not overlapping: fine.
  CHECK(crypto.aead_seal(key_in, nonce_in, aad_in, view(plaintext), Span<std::uint8_t>(block.data() + 54, 56))
            .status() == Status());
  CHECK(contracts.count() == 6);
}

void random_fills_the_whole_buffer_and_differs_between_calls(CryptoTarget& target) {
  Crypto& crypto = target.crypto();
  // Two draws of a key's size differ.
  Bytes a(32, 0);
  Bytes b(32, 0);
  REQUIRE(crypto.random(span(a)) == Status());
  REQUIRE(crypto.random(span(b)) == Status());
  CHECK(a != b);

  // Every byte is written: a byte left alone keeps its fill value in every draw; a written one keeps
  // it in all four draws with probability 2^-32. 3000 bytes: more than one 1024-byte DRBG request.
  const std::size_t size = 3000;
  const std::uint8_t fills[] = {0x00, 0xFF, 0x5A, 0xA5};
  std::vector<int> kept(size, 0);
  std::set<std::uint8_t> values;
  for (std::uint8_t fill : fills) {
    Bytes out(size + 8, fill);
    REQUIRE(crypto.random(Span<std::uint8_t>(out.data(), size)) == Status());
    for (std::size_t i = 0; i < size; ++i) {
      if (out[i] == fill) ++kept[i];
      values.insert(out[i]);
    }
    CHECK(all_equal(out.data() + size, 8, fill));  // nothing beyond the span
  }
  std::size_t never_written = 0;
  for (int k : kept) {
    if (k == 4) ++never_written;
  }
  CHECK(never_written == 0);
  CHECK(values.size() > 200);  // 12000 random bytes take nearly all 256 values

  // Small and empty requests.
  Bytes one(1, 0);
  CHECK(crypto.random(span(one)) == Status());
  CHECK(crypto.random(Span<std::uint8_t>()) == Status());
}

}  // namespace tether::conformance
