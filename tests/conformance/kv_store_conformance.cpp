// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "kv_store_conformance.hpp"

#include <algorithm>
#include <string>

#include "test_support.hpp"

namespace tether::conformance {

Bytes get_bytes(port::KvStore& store, std::string_view key) {
  Result<std::size_t> size = store.size(key);
  REQUIRE(size.status() == Status());
  Bytes out(*size + 1);  // one spare byte: get() must report the length, not the buffer's size
  Result<std::size_t> n = store.get(key, Span<std::uint8_t>(out.data(), out.size()));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == *size);
  out.resize(*n);
  return out;
}

namespace {

void put_ok(port::KvStore& store, std::string_view key, const Bytes& value) {
  REQUIRE(store.put(key, view(value)) == Status());
}

Status store_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kStore, detail); }

// Every call with `key` is refused with kInvalidArgument/kStore/`detail`, and nothing is stored.
void check_refused_key(port::KvStore& store, std::string_view key, std::uint16_t detail) {
  INFO("key \"" << std::string(key) << "\"");
  const Status refused = store_status(StatusCode::kInvalidArgument, detail);
  std::uint8_t buf[8] = {};
  const Bytes value = pattern(4, 1);
  CHECK(store.put(key, view(value)) == refused);
  CHECK(store.get(key, Span<std::uint8_t>(buf, sizeof buf)).status() == refused);
  CHECK(store.size(key).status() == refused);
  CHECK(store.remove(key) == refused);
}

}  // namespace

void put_then_get_and_size_return_the_value(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  const Bytes value = pattern(100, 1);
  put_ok(store, "shadow", value);
  Result<std::size_t> size = store.size("shadow");
  REQUIRE(size.status() == Status());
  CHECK(*size == 100);

  Bytes out(200, 0xEE);
  Result<std::size_t> n = store.get("shadow", Span<std::uint8_t>(out.data(), out.size()));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == 100);
  CHECK(Bytes(out.begin(), out.begin() + 100) == value);
  CHECK(all_equal(Bytes(out.begin() + 100, out.end()), 0xEE));  // nothing written past the value

  // An exact-size buffer is enough.
  Bytes exact(100);
  n = store.get("shadow", Span<std::uint8_t>(exact.data(), exact.size()));
  REQUIRE(n.status() == Status());
  CHECK(exact == value);
}

void put_replaces_the_whole_value(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  const std::size_t large = std::min<std::size_t>(store.max_value_size(), 1024);
  put_ok(store, "journal", pattern(300, 1));
  put_ok(store, "journal", pattern(40, 2));
  CHECK(get_bytes(store, "journal") == pattern(40, 2));
  put_ok(store, "journal", pattern(large, 3));
  CHECK(get_bytes(store, "journal") == pattern(large, 3));
  put_ok(store, "journal", pattern(large, 3));  // the same value again
  CHECK(get_bytes(store, "journal") == pattern(large, 3));
}

void an_empty_value_is_a_value(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  put_ok(store, "cursor", Bytes{});
  Result<std::size_t> size = store.size("cursor");
  REQUIRE(size.status() == Status());
  CHECK(*size == 0);
  Result<std::size_t> n = store.get("cursor", Span<std::uint8_t>());
  REQUIRE(n.status() == Status());
  CHECK(*n == 0);

  // Empty to non-empty and back.
  put_ok(store, "cursor", pattern(5, 1));
  CHECK(get_bytes(store, "cursor") == pattern(5, 1));
  put_ok(store, "cursor", Bytes{});
  CHECK(get_bytes(store, "cursor").empty());
  CHECK(store.remove("cursor") == Status());
  CHECK(store.size("cursor").status() == store_status(StatusCode::kNotFound));
}

void a_value_of_max_size_is_accepted_and_one_byte_more_is_out_of_range(KvStoreTarget& target) {
  port::KvStore& store = target.create(2000);
  const std::size_t max = store.max_value_size();
  REQUIRE(max > 0);
  REQUIRE(max <= 2000);
  const auto over = static_cast<std::uint16_t>(max + 1);
  put_ok(store, "big", pattern(max, 1));
  CHECK(get_bytes(store, "big") == pattern(max, 1));

  CHECK(store.put("big", view(pattern(max + 1, 2))) == store_status(StatusCode::kOutOfRange, over));
  CHECK(get_bytes(store, "big") == pattern(max, 1));  // the old value is kept
  CHECK(store.put("other", view(pattern(max + 1, 2))) == store_status(StatusCode::kOutOfRange, over));
  CHECK(store.size("other").status() == store_status(StatusCode::kNotFound));

  // The detail saturates at 65535.
  CHECK(store.put("other", view(pattern(70000, 3))) == store_status(StatusCode::kOutOfRange, 0xFFFF));
}

void bad_keys_are_refused_by_every_call_with_the_offset_or_length(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  put_ok(store, "good", pattern(4, 1));
  check_refused_key(store, "", 0);
  check_refused_key(store, std::string(kMaxKvKey + 1, 'a'), static_cast<std::uint16_t>(kMaxKvKey + 1));
  check_refused_key(store, "Shadow", 0);
  check_refused_key(store, "shadoW", 5);
  check_refused_key(store, "a/b", 1);
  check_refused_key(store, "../good", 0);
  check_refused_key(store, ".hidden", 0);
  check_refused_key(store, "sp ace", 2);
  check_refused_key(store, std::string("nul\0", 4), 3);
  // The longest key and every allowed byte work.
  const std::string longest(kMaxKvKey, 'z');
  put_ok(store, longest, pattern(3, 2));
  CHECK(get_bytes(store, longest) == pattern(3, 2));
  put_ok(store, "a-z_0.9", pattern(3, 3));
  CHECK(get_bytes(store, "a-z_0.9") == pattern(3, 3));
  CHECK(get_bytes(store, "good") == pattern(4, 1));
}

void a_missing_key_is_not_found_for_get_size_and_remove(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  const Status not_found = store_status(StatusCode::kNotFound);
  std::uint8_t buf[16] = {};
  CHECK(store.get("missing", Span<std::uint8_t>(buf, sizeof buf)).status() == not_found);
  CHECK(store.size("missing").status() == not_found);
  CHECK(store.remove("missing") == not_found);

  put_ok(store, "present", pattern(8, 1));
  CHECK(store.remove("present") == Status());
  CHECK(store.get("present", Span<std::uint8_t>(buf, sizeof buf)).status() == not_found);
  CHECK(store.size("present").status() == not_found);
  CHECK(store.remove("present") == not_found);
  // A removed key can be put again.
  put_ok(store, "present", pattern(9, 2));
  CHECK(get_bytes(store, "present") == pattern(9, 2));
}

void get_into_a_small_buffer_is_resource_exhausted_with_the_length_and_copies_nothing(KvStoreTarget& target) {
  port::KvStore& store = target.create(100000);
  REQUIRE(store.max_value_size() >= 300);
  put_ok(store, "value", pattern(300, 1));
  Bytes out(299, 0xEE);
  CHECK(store.get("value", Span<std::uint8_t>(out.data(), out.size())).status() ==
        store_status(StatusCode::kResourceExhausted, 300));
  CHECK(all_equal(out, 0xEE));
  CHECK(store.get("value", Span<std::uint8_t>()).status() == store_status(StatusCode::kResourceExhausted, 300));

  // The detail saturates at 65535; size() has the length.
  if (store.max_value_size() < 70000) return;  // a store that cannot hold it
  put_ok(store, "large", pattern(70000, 2));
  CHECK(store.get("large", Span<std::uint8_t>(out.data(), out.size())).status() ==
        store_status(StatusCode::kResourceExhausted, 0xFFFF));
  CHECK(all_equal(out, 0xEE));
  Result<std::size_t> size = store.size("large");
  REQUIRE(size.status() == Status());
  CHECK(*size == 70000);
  CHECK(get_bytes(store, "large") == pattern(70000, 2));
}

void many_keys_are_kept_apart(KvStoreTarget& target) {
  port::KvStore& store = target.create(1024);
  constexpr int kKeys = 200;
  auto key_of = [](int i) { return "key-" + std::to_string(i); };
  for (int i = 0; i < kKeys; ++i) put_ok(store, key_of(i), pattern(static_cast<std::size_t>(i % 50), static_cast<unsigned>(i)));
  for (int i = 0; i < kKeys; i += 3) REQUIRE(store.remove(key_of(i)) == Status());
  for (int i = 1; i < kKeys; i += 3) put_ok(store, key_of(i), pattern(60, static_cast<unsigned>(i + 1000)));
  for (int i = 0; i < kKeys; ++i) {
    INFO(key_of(i));
    if (i % 3 == 0) {
      CHECK(store.size(key_of(i)).status() == store_status(StatusCode::kNotFound));
    } else if (i % 3 == 1) {
      CHECK(get_bytes(store, key_of(i)) == pattern(60, static_cast<unsigned>(i + 1000)));
    } else {
      CHECK(get_bytes(store, key_of(i)) == pattern(static_cast<std::size_t>(i % 50), static_cast<unsigned>(i)));
    }
  }
}

void values_and_removals_survive_a_reopen(KvStoreTarget& target) {
  port::KvStore& first = target.create(4096);
  const std::size_t large = std::min<std::size_t>(first.max_value_size(), 4096);
  put_ok(first, "kept", pattern(large, 1));
  put_ok(first, "replaced", pattern(10, 2));
  put_ok(first, "replaced", pattern(20, 3));
  put_ok(first, "removed", pattern(30, 4));
  REQUIRE(first.remove("removed") == Status());
  put_ok(first, "empty", Bytes{});

  port::KvStore& second = target.reopen();
  CHECK(get_bytes(second, "kept") == pattern(large, 1));
  CHECK(get_bytes(second, "replaced") == pattern(20, 3));
  CHECK(get_bytes(second, "empty").empty());
  CHECK(second.size("removed").status() == store_status(StatusCode::kNotFound));

  // The reopened store goes on working, and a second reopen sees that too.
  put_ok(second, "kept", pattern(7, 5));
  REQUIRE(second.remove("replaced") == Status());
  port::KvStore& third = target.reopen();
  CHECK(get_bytes(third, "kept") == pattern(7, 5));
  CHECK(third.size("replaced").status() == store_status(StatusCode::kNotFound));
  CHECK(get_bytes(third, "empty").empty());
}

}  // namespace tether::conformance
