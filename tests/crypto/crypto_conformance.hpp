// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Crypto conformance suite: the behaviours every implementation of the Crypto port
/// (include/tether/port/crypto.hpp) must have, written once and run against each implementation
/// by that implementation's test file:
///
/// ```
/// class MyTarget final : public tether::conformance::CryptoTarget { ... };
/// TETHER_CRYPTO_CONFORMANCE_TESTS("crypto conformance (mine)", MyTarget)
/// ```
///
/// expands to one TEST_CASE per behaviour, named "<prefix>: <behaviour>", each with a fresh
/// target. Known-answer tests use published vectors: FIPS 180-2 appendix B / NIST examples
/// (SHA-256), RFC 4231 §4 (HMAC-SHA-256) and the GCM specification of McGrew and Viega, appendix B,
/// test cases 13 to 16 (AES-256-GCM). The suite checks codes and origins, never backend details.
/// Portable (no OS calls, no exceptions needed).

#include <catch2/catch.hpp>

#include "tether/port/crypto.hpp"

namespace tether::conformance {

/// What the suite needs from an implementation.
class CryptoTarget {
 public:
  virtual ~CryptoTarget() = default;
  /// The implementation under test, ready for use; the target owns it.
  virtual port::Crypto& crypto() = 0;
};

void sha256_matches_the_nist_test_vectors(CryptoTarget& target);
void sha256_refuses_a_digest_buffer_of_the_wrong_size(CryptoTarget& target);
void hmac_sha256_matches_the_rfc_4231_test_vectors(CryptoTarget& target);
void hmac_sha256_refuses_a_mac_buffer_of_the_wrong_size(CryptoTarget& target);
void aead_seal_matches_the_gcm_spec_test_vectors(CryptoTarget& target);
void aead_open_recovers_the_gcm_spec_test_case_16_plaintext(CryptoTarget& target);
void aead_seal_then_open_round_trips_every_size(CryptoTarget& target);
void aead_open_fails_with_data_loss_on_any_flipped_bit(CryptoTarget& target);
void aead_open_fails_with_data_loss_on_a_truncated_or_extended_message(CryptoTarget& target);
void aead_open_fails_with_data_loss_under_another_key(CryptoTarget& target);
void aead_refuses_an_output_too_small_with_resource_exhausted(CryptoTarget& target);
void aead_refuses_keys_and_nonces_of_the_wrong_size(CryptoTarget& target);
void aead_refuses_a_plaintext_longer_than_gcm_allows(CryptoTarget& target);
void aead_refuses_an_output_that_overlaps_an_input_as_a_contract_violation(CryptoTarget& target);
void random_fills_the_whole_buffer_and_differs_between_calls(CryptoTarget& target);

}  // namespace tether::conformance

#define TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, SENTENCE, FUNCTION) \
  TEST_CASE(PREFIX ": " SENTENCE, "[crypto][conformance]") {                \
    TARGET target;                                                          \
    ::tether::conformance::FUNCTION(target);                                \
  }

/// One TEST_CASE per behaviour of the Crypto contract, against `TARGET` (a default-constructible
/// CryptoTarget), named "PREFIX: <behaviour>" (PREFIX: a string literal).
#define TETHER_CRYPTO_CONFORMANCE_TESTS(PREFIX, TARGET)                                                      \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "sha256 matches the NIST test vectors",                   \
                                  sha256_matches_the_nist_test_vectors)                                      \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "sha256 refuses a digest buffer of the wrong size",       \
                                  sha256_refuses_a_digest_buffer_of_the_wrong_size)                          \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "hmac_sha256 matches the RFC 4231 test vectors",          \
                                  hmac_sha256_matches_the_rfc_4231_test_vectors)                             \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "hmac_sha256 refuses a mac buffer of the wrong size",     \
                                  hmac_sha256_refuses_a_mac_buffer_of_the_wrong_size)                        \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead_seal matches the GCM spec test cases 13 to 16",     \
                                  aead_seal_matches_the_gcm_spec_test_vectors)                               \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead_open recovers the GCM spec test case 16 plaintext", \
                                  aead_open_recovers_the_gcm_spec_test_case_16_plaintext)                    \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead_seal then aead_open round-trips every size",        \
                                  aead_seal_then_open_round_trips_every_size)                                \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET,                                                            \
                                  "aead_open fails with data loss and zeroes out when any bit of ciphertext, tag, aad or nonce is flipped", \
                                  aead_open_fails_with_data_loss_on_any_flipped_bit)                         \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET,                                                            \
                                  "aead_open fails with data loss on a truncated or extended message",       \
                                  aead_open_fails_with_data_loss_on_a_truncated_or_extended_message)         \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead_open fails with data loss under another key",       \
                                  aead_open_fails_with_data_loss_under_another_key)                          \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET,                                                            \
                                  "aead refuses an output too small with resource exhausted and zeroes it",  \
                                  aead_refuses_an_output_too_small_with_resource_exhausted)                  \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead refuses keys and nonces of the wrong size",         \
                                  aead_refuses_keys_and_nonces_of_the_wrong_size)                            \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "aead refuses a plaintext longer than GCM allows",        \
                                  aead_refuses_a_plaintext_longer_than_gcm_allows)                           \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET,                                                            \
                                  "aead refuses an output that overlaps an input as a contract violation",   \
                                  aead_refuses_an_output_that_overlaps_an_input_as_a_contract_violation)     \
  TETHER_CRYPTO_CONFORMANCE_CASE_(PREFIX, TARGET, "random fills the whole buffer and differs between calls", \
                                  random_fills_the_whole_buffer_and_differs_between_calls)
