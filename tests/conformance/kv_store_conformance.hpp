// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// KvStore conformance suite: the behaviours every implementation of the KvStore port
/// (include/tether/port/kv_store.hpp) must have, written once and run against each implementation
/// by that implementation's test file:
///
/// ```
/// class MyTarget final : public tether::conformance::KvStoreTarget { ... };
/// TETHER_KV_STORE_CONFORMANCE_TESTS("kv store conformance (mine)", MyTarget)
/// ```
///
/// expands to one TEST_CASE per behaviour, named "<prefix>: <behaviour>", each with a fresh
/// target. After a reopen the suite relies only on what the contract makes durable: every put() and
/// remove() that returned ok. Portable (no OS calls, no exceptions needed): it runs in the
/// no-exception and cross builds too.

#include <catch2/catch.hpp>

#include <cstddef>
#include <string_view>

#include "bytes.hpp"
#include "tether/port/kv_store.hpp"

namespace tether::conformance {

/// The value of `key` (REQUIREs that get() succeeds).
Bytes get_bytes(port::KvStore& store, std::string_view key);

/// What the suite needs from an implementation.
class KvStoreTarget {
 public:
  virtual ~KvStoreTarget() = default;
  /// A new store over empty storage, ready for calls (opened, if the implementation has an open()),
  /// accepting values of up to `max_value_size` bytes (the suite asks for at most 100000), or of
  /// fewer if the implementation cannot hold that much (a flash partition): the suite takes
  /// max_value_size() as the limit and leaves out what needs larger values. The storage must hold
  /// 200 keys of up to 60 bytes. The target owns the store; the reference stays valid until the
  /// next create() or reopen().
  virtual port::KvStore& create(std::size_t max_value_size) = 0;
  /// A new, ready store over the storage of the last one, as a process restarted after a power cut
  /// finds it (the previous instance is gone). Same max_value_size.
  virtual port::KvStore& reopen() = 0;
};

void put_then_get_and_size_return_the_value(KvStoreTarget& target);
void put_replaces_the_whole_value(KvStoreTarget& target);
void an_empty_value_is_a_value(KvStoreTarget& target);
void a_value_of_max_size_is_accepted_and_one_byte_more_is_out_of_range(KvStoreTarget& target);
void bad_keys_are_refused_by_every_call_with_the_offset_or_length(KvStoreTarget& target);
void a_missing_key_is_not_found_for_get_size_and_remove(KvStoreTarget& target);
void get_into_a_small_buffer_is_resource_exhausted_with_the_length_and_copies_nothing(KvStoreTarget& target);
void many_keys_are_kept_apart(KvStoreTarget& target);
void values_and_removals_survive_a_reopen(KvStoreTarget& target);

}  // namespace tether::conformance

#define TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, SENTENCE, FUNCTION) \
  TEST_CASE(PREFIX ": " SENTENCE, "[kv_store][conformance]") {                \
    TARGET target;                                                            \
    ::tether::conformance::FUNCTION(target);                                  \
  }

/// One TEST_CASE per behaviour of the KvStore contract, against `TARGET` (a default-constructible
/// KvStoreTarget), named "PREFIX: <behaviour>" (PREFIX: a string literal).
#define TETHER_KV_STORE_CONFORMANCE_TESTS(PREFIX, TARGET)                                                 \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "put then get and size return the value",           \
                                    put_then_get_and_size_return_the_value)                              \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "put replaces the whole value, longer or shorter",   \
                                    put_replaces_the_whole_value)                                         \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "an empty value is a value, not a missing key",      \
                                    an_empty_value_is_a_value)                                            \
  TETHER_KV_STORE_CONFORMANCE_CASE_(                                                                     \
      PREFIX, TARGET, "a value of max_value_size is accepted and one byte more is out of range, keeping the old", \
      a_value_of_max_size_is_accepted_and_one_byte_more_is_out_of_range)                                 \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET,                                                      \
                                    "bad keys are refused by every call with the offset or the length",  \
                                    bad_keys_are_refused_by_every_call_with_the_offset_or_length)        \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "a missing key is not found for get, size and remove", \
                                    a_missing_key_is_not_found_for_get_size_and_remove)                  \
  TETHER_KV_STORE_CONFORMANCE_CASE_(                                                                     \
      PREFIX, TARGET, "get into a small buffer is resource exhausted with the length and copies nothing", \
      get_into_a_small_buffer_is_resource_exhausted_with_the_length_and_copies_nothing)                  \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "many keys are kept apart", many_keys_are_kept_apart) \
  TETHER_KV_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "values and removals survive a reopen",              \
                                    values_and_removals_survive_a_reopen)
