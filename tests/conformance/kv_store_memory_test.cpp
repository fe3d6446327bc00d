// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The KvStore conformance suite against MemoryKvStore, and the tests of the fake's own fault
// injection: failures, a full medium, damaged values, power cuts and the counters.
#include <catch2/catch.hpp>

#include <optional>

#include "kv_store_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/testing/memory_kv_store.hpp"

using namespace tether;
using testing::MemoryKvStore;
using Op = MemoryKvStore::Op;

namespace {

// Reopen = a power cut between calls and a new process: the suite may rely only on what the
// contract makes durable.
class MemoryTarget final : public conformance::KvStoreTarget {
 public:
  port::KvStore& create(std::size_t max_value_size) override {
    store_.emplace(max_value_size);
    return *store_;
  }
  port::KvStore& reopen() override {
    store_->power_cut();
    store_->reboot();
    return *store_;
  }

 private:
  std::optional<MemoryKvStore> store_;
};

using conformance::Bytes;
using conformance::get_bytes;
using conformance::pattern;
using conformance::view;

Status store_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kStore, detail); }
const Status kInjected(StatusCode::kUnavailable, Origin::kStore, 5);

}  // namespace

TETHER_KV_STORE_CONFORMANCE_TESTS("kv store conformance (memory)", MemoryTarget)

// --- the fake's own behaviour ------------------------------------------------------------------------

TEST_CASE("memory kv store: an injected failure is returned by the next calls of its operation and changes nothing") {
  MemoryKvStore store;
  REQUIRE(store.put("k", view(pattern(10, 1))) == Status());

  store.fail_next(Op::kPut, kInjected, 2);
  CHECK(store.put("k", view(pattern(20, 2))) == kInjected);
  CHECK(store.put("new", view(pattern(20, 2))) == kInjected);
  CHECK(get_bytes(store, "k") == pattern(10, 1));
  CHECK(store.size("new").status() == store_status(StatusCode::kNotFound));
  CHECK(store.put("k", view(pattern(20, 2))) == Status());  // the script is used up

  store.fail_next(Op::kRemove, kInjected);
  CHECK(store.remove("k") == kInjected);
  CHECK(get_bytes(store, "k") == pattern(20, 2));

  std::uint8_t buf[32];
  store.fail_next(Op::kGet, kInjected);
  CHECK(store.get("k", Span<std::uint8_t>(buf, sizeof buf)).status() == kInjected);
  store.fail_next(Op::kSize, kInjected);
  CHECK(store.size("k").status() == kInjected);
  CHECK(get_bytes(store, "k") == pattern(20, 2));
  CHECK(store.put_count() == 2);
  CHECK(store.remove_count() == 0);
}

TEST_CASE("memory kv store: argument checks come before an injected failure, which waits for a valid call") {
  MemoryKvStore store(100);
  store.fail_next(Op::kPut, kInjected);
  CHECK(store.put("Bad", view(pattern(1, 1))).code() == StatusCode::kInvalidArgument);
  CHECK(store.put("k", view(pattern(101, 1))).code() == StatusCode::kOutOfRange);
  CHECK(store.put("k", view(pattern(100, 1))) == kInjected);
}

TEST_CASE("memory kv store: on a full medium put fails with ENOSPC keeping the old value and remove still works") {
  MemoryKvStore store;
  REQUIRE(store.put("a", view(pattern(10, 1))) == Status());
  REQUIRE(store.put("b", view(pattern(10, 2))) == Status());
  store.set_medium_full(true);
  CHECK(store.put("a", view(pattern(5, 3))) == store_status(StatusCode::kResourceExhausted, 28));
  CHECK(store.put("c", view(pattern(5, 3))) == store_status(StatusCode::kResourceExhausted, 28));
  CHECK(get_bytes(store, "a") == pattern(10, 1));
  CHECK(store.size("c").status() == store_status(StatusCode::kNotFound));
  CHECK(store.remove("b") == Status());
  store.set_medium_full(false);
  CHECK(store.put("a", view(pattern(5, 3))) == Status());
  CHECK(get_bytes(store, "a") == pattern(5, 3));
}

TEST_CASE("memory kv store: a corrupted value is data loss for get and size, also after a reboot, until replaced") {
  MemoryKvStore store;
  REQUIRE(store.put("k", view(pattern(16, 1))) == Status());
  CHECK_FALSE(store.corrupt("missing", 0, 0x01));
  CHECK_FALSE(store.corrupt("k", 16, 0x01));
  REQUIRE(store.corrupt("k", 7, 0x10));

  Bytes out(32, 0xEE);
  CHECK(store.get("k", Span<std::uint8_t>(out.data(), out.size())).status() == store_status(StatusCode::kDataLoss));
  CHECK(conformance::all_equal(out, 0xEE));
  CHECK(store.size("k").status() == store_status(StatusCode::kDataLoss));
  store.power_cut();
  store.reboot();
  CHECK(store.size("k").status() == store_status(StatusCode::kDataLoss));

  CHECK(store.put("k", view(pattern(4, 2))) == Status());
  CHECK(get_bytes(store, "k") == pattern(4, 2));
  // An empty value has no byte to damage.
  REQUIRE(store.put("empty", Span<const std::uint8_t>()) == Status());
  CHECK_FALSE(store.corrupt("empty", 0, 0x01));
}

TEST_CASE("memory kv store: after a power cut every call is unavailable until reboot, and nothing put is lost") {
  MemoryKvStore store;
  REQUIRE(store.put("a", view(pattern(10, 1))) == Status());
  REQUIRE(store.put("b", view(pattern(10, 2))) == Status());
  REQUIRE(store.remove("b") == Status());
  store.power_cut();
  CHECK(store.powered_off());
  const Status off = store_status(StatusCode::kUnavailable);
  std::uint8_t buf[16];
  CHECK(store.get("a", Span<std::uint8_t>(buf, sizeof buf)).status() == off);
  CHECK(store.size("a").status() == off);
  CHECK(store.put("a", view(pattern(3, 3))) == off);
  CHECK(store.remove("a") == off);
  const std::uint64_t ops = store.write_ops();

  store.reboot();
  CHECK_FALSE(store.powered_off());
  CHECK(store.write_ops() == ops);  // calls made without power are not write points
  CHECK(get_bytes(store, "a") == pattern(10, 1));
  CHECK(store.size("b").status() == store_status(StatusCode::kNotFound));
  CHECK(store.key_count() == 1);
}

TEST_CASE("memory kv store: an armed power cut interrupts the chosen put, which leaves the old or the new value by seed") {
  bool saw_old = false;
  bool saw_new = false;
  for (std::uint32_t seed = 0; seed < 16; ++seed) {
    INFO("seed " << seed);
    MemoryKvStore store;
    REQUIRE(store.put("k", view(pattern(10, 1))) == Status());
    store.arm_power_cut(1, seed);
    REQUIRE(store.put("other", view(pattern(5, 9))) == Status());  // the one op let through
    CHECK(store.put("k", view(pattern(20, 2))) == store_status(StatusCode::kUnavailable));
    CHECK(store.powered_off());
    store.reboot();
    CHECK(get_bytes(store, "other") == pattern(5, 9));
    const Bytes value = get_bytes(store, "k");
    if (store.interrupted_op_applied()) {
      CHECK(value == pattern(20, 2));
      saw_new = true;
    } else {
      CHECK(value == pattern(10, 1));
      saw_old = true;
    }
    // The cut has fired: it is not armed any more.
    CHECK(store.put("k", view(pattern(30, 3))) == Status());
  }
  CHECK(saw_old);
  CHECK(saw_new);
}

TEST_CASE("memory kv store: an interrupted remove leaves the value or nothing by seed, and a disarmed cut never fires") {
  bool saw_kept = false;
  bool saw_removed = false;
  for (std::uint32_t seed = 0; seed < 16; ++seed) {
    MemoryKvStore store;
    REQUIRE(store.put("k", view(pattern(10, 1))) == Status());
    store.arm_power_cut(0, seed);
    CHECK(store.remove("k") == store_status(StatusCode::kUnavailable));
    store.reboot();
    const Status size = store.size("k").status();
    if (store.interrupted_op_applied()) {
      CHECK(size == store_status(StatusCode::kNotFound));
      saw_removed = true;
    } else {
      CHECK(size == Status());
      saw_kept = true;
    }
  }
  CHECK(saw_kept);
  CHECK(saw_removed);

  MemoryKvStore store;
  store.arm_power_cut(0, 1);
  store.disarm_power_cut();
  CHECK(store.put("k", view(pattern(1, 1))) == Status());
  CHECK_FALSE(store.powered_off());
}

TEST_CASE("memory kv store: write_ops counts every put and remove made with power, put_count and remove_count the successful ones") {
  MemoryKvStore store(8);
  CHECK(store.put("a", view(pattern(4, 1))) == Status());
  CHECK(store.put("a", view(pattern(4, 2))) == Status());
  CHECK(store.put("a", view(pattern(9, 2))).code() == StatusCode::kOutOfRange);
  CHECK(store.put("A", view(pattern(1, 2))).code() == StatusCode::kInvalidArgument);
  CHECK(store.remove("missing").code() == StatusCode::kNotFound);
  CHECK(store.remove("a") == Status());
  CHECK(store.write_ops() == 6);
  CHECK(store.put_count() == 2);
  CHECK(store.remove_count() == 1);
  CHECK(store.max_value_size() == 8);
}
