// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// validate_kv_key: the KvStore key rules (include/tether/port/kv_store.hpp) and the detail of each
// refusal.
#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"
#include "tether/port/kv_store.hpp"

using namespace tether;

namespace {

Status bad_key(std::uint16_t detail) { return Status(StatusCode::kInvalidArgument, Origin::kStore, detail); }

}  // namespace

TEST_CASE("kv keys of lowercase letters, digits, underscore, dot and dash are accepted") {
  CHECK(validate_kv_key("a") == Status());
  CHECK(validate_kv_key("shadow.classic") == Status());
  CHECK(validate_kv_key("jobs_journal-2") == Status());
  CHECK(validate_kv_key("0") == Status());
  CHECK(validate_kv_key("-") == Status());
  CHECK(validate_kv_key("_x.") == Status());
  CHECK(validate_kv_key("abcdefghijklmnopqrstuvwxyz0123456789_.-") == Status());
}

TEST_CASE("a kv key of exactly kMaxKvKey bytes is accepted and one byte longer is refused with its length") {
  const std::string longest(kMaxKvKey, 'k');
  CHECK(validate_kv_key(longest) == Status());
  CHECK(validate_kv_key(longest + "k") == bad_key(static_cast<std::uint16_t>(kMaxKvKey + 1)));
  CHECK(validate_kv_key(std::string(70000, 'k')) == bad_key(0xFFFF));
}

TEST_CASE("an empty kv key is refused with detail 0") { CHECK(validate_kv_key("") == bad_key(0)); }

TEST_CASE("a kv key starting with a dot is refused at offset 0, a dot elsewhere is fine") {
  CHECK(validate_kv_key(".hidden") == bad_key(0));
  CHECK(validate_kv_key(".") == bad_key(0));
  CHECK(validate_kv_key("..") == bad_key(0));
  CHECK(validate_kv_key("a..b") == Status());
}

TEST_CASE("a kv key with a byte outside the alphabet is refused with the offset of the first one") {
  CHECK(validate_kv_key("Shadow") == bad_key(0));
  CHECK(validate_kv_key("shaDoW") == bad_key(3));
  CHECK(validate_kv_key("a/b") == bad_key(1));
  CHECK(validate_kv_key("../etc") == bad_key(0));
  CHECK(validate_kv_key("ok/../x") == bad_key(2));
  CHECK(validate_kv_key("with space") == bad_key(4));
  CHECK(validate_kv_key("tab\t") == bad_key(3));
  CHECK(validate_kv_key(std::string("nul\0x", 5)) == bad_key(3));
  CHECK(validate_kv_key("back\\slash") == bad_key(4));
  CHECK(validate_kv_key("colon:") == bad_key(5));
  CHECK(validate_kv_key("plus+") == bad_key(4));
  CHECK(validate_kv_key("caf\xc3\xa9") == bad_key(3));
  CHECK(validate_kv_key("\xff") == bad_key(0));
}

TEST_CASE("a kv key that is too long is refused for its length even when it also has a bad byte") {
  CHECK(validate_kv_key(std::string(kMaxKvKey + 1, '/')) == bad_key(static_cast<std::uint16_t>(kMaxKvKey + 1)));
}
