// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The LogStore conformance suite against MemoryLogStore (with both erased values), and the tests of
// the fake's own fault injection: failures, a full medium, process crashes and power cuts.
#include <catch2/catch.hpp>

#include <optional>
#include <set>
#include <vector>

#include "log_store_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/testing/memory_log_store.hpp"

using namespace tether;
using testing::MemoryLogStore;
using Op = MemoryLogStore::Op;
using TornWrite = MemoryLogStore::TornWrite;

namespace {

// Reopen = power cut that keeps nothing unsynced, then a new process: the suite may rely only on
// what the contract makes durable.
template <std::uint8_t kErased>
class MemoryTarget final : public conformance::LogStoreTarget {
 public:
  port::LogStore& create(std::uint32_t segment_capacity, std::size_t max_segments) override {
    store_.emplace(segment_capacity, max_segments, kErased);
    return *store_;
  }
  port::LogStore& reopen() override {
    store_->power_cut_now(TornWrite::kNone, 0);
    store_->reboot();
    return *store_;
  }
  std::uint8_t erased_value() const override { return kErased; }

 private:
  std::optional<MemoryLogStore> store_;
};
using MemoryTargetErased00 = MemoryTarget<0x00>;
using MemoryTargetErasedFF = MemoryTarget<0xFF>;

using conformance::all_equal;
using conformance::Bytes;
using conformance::pattern;
using conformance::read_bytes;
using conformance::view;

// bytes[begin, end) all equal `value` (no temporary vector: GCC 12 -O2 warns falsely on one).
bool all_equal_in(const Bytes& bytes, std::size_t begin, std::size_t end, std::uint8_t value) {
  for (std::size_t i = begin; i < end; ++i) {
    if (bytes[i] != value) return false;
  }
  return true;
}

bool equal_at(const Bytes& bytes, std::size_t begin, const Bytes& expected) {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (bytes[begin + i] != expected[i]) return false;
  }
  return true;
}

std::uint32_t append_ok(port::LogStore& store, const Bytes& bytes) {
  Result<std::uint32_t> offset = store.append(view(bytes));
  REQUIRE(offset.status() == Status());
  return *offset;
}

const Status kUnavailableStore(StatusCode::kUnavailable, Origin::kStore);
const Status kInjected(StatusCode::kUnavailable, Origin::kStore, 5);

}  // namespace

TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (memory, erased 0x00)", MemoryTargetErased00)
TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (memory, erased 0xff)", MemoryTargetErasedFF)

// --- the fake's own behaviour ------------------------------------------------------------------------

TEST_CASE("memory log store: a full medium refuses roll with ENOSPC and free space counts only the active segment") {
  MemoryLogStore store(100, 4);
  REQUIRE(store.open() == Status());
  append_ok(store, pattern(30, 1));
  store.set_medium_full(true);
  CHECK(store.free_space().value_or(0) == 70);
  CHECK(store.roll().status() == Status(StatusCode::kResourceExhausted, Origin::kStore, 28));
  CHECK(store.segment_count() == 1);
  CHECK(append_ok(store, pattern(10, 2)) == 30);
  store.set_medium_full(false);
  REQUIRE(store.roll().ok());
  CHECK(store.free_space().value_or(0) == 100 + 2 * 100);
}

TEST_CASE("memory log store: fail_next makes the next count calls of an op fail and change nothing") {
  MemoryLogStore store(64, 3);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  const Bytes a = pattern(16, 3);
  append_ok(store, a);
  std::uint8_t buf[16];

  const Status data_loss(StatusCode::kDataLoss, Origin::kStore, 5);
  store.fail_next(Op::kRead, data_loss, 2);
  CHECK(store.read(id, 0, buf).status() == data_loss);
  CHECK(store.read(id, 0, buf).status() == data_loss);
  CHECK(read_bytes(store, id, 0, 16) == a);

  store.fail_next(Op::kRoll, kInjected);
  CHECK(store.roll().status() == kInjected);
  CHECK(store.segment_count() == 1);
  CHECK(append_ok(store, pattern(4, 4)) == 16);  // a failed roll leaves the active segment usable
  REQUIRE(store.roll().ok());
  CHECK(store.segment_count() == 2);

  store.fail_next(Op::kDropHead, kInjected);
  CHECK(store.drop_head() == kInjected);
  CHECK(store.segment_count() == 2);
  REQUIRE(store.drop_head() == Status());
  CHECK(store.segment_count() == 1);

  REQUIRE(store.sync() == Status());
  store.crash_process();
  REQUIRE(store.open() == Status());
  store.fail_next(Op::kSetWritePosition, kInjected);
  CHECK(store.set_write_position(0) == kInjected);
  CHECK(store.append(view(a)).status().code() == StatusCode::kFailedPrecondition);  // position still unknown
  REQUIRE(store.set_write_position(0) == Status());
  CHECK(append_ok(store, a) == 0);
}

TEST_CASE("memory log store: an injected append failure writes nothing and appends are refused until roll") {
  MemoryLogStore store(64, 3);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  const Bytes a = pattern(10, 5);
  append_ok(store, a);

  store.fail_next(Op::kAppend, kInjected);
  CHECK(store.append(view(pattern(8, 6))).status() == kInjected);
  CHECK(store.write_position() == 10);
  CHECK(all_equal(read_bytes(store, id, 10, 54), 0x00));
  CHECK(store.append(view(pattern(8, 6))).status().code() == StatusCode::kFailedPrecondition);
  CHECK(store.free_space().value_or(1) == 2 * 64);  // nothing more goes into the damaged segment

  REQUIRE(store.roll().ok());
  CHECK(append_ok(store, pattern(8, 6)) == 0);

  // kOutOfRange writes nothing by contract: no roll needed after it.
  store.fail_next(Op::kAppend, Status(StatusCode::kOutOfRange, Origin::kStore));
  CHECK(store.append(view(pattern(1, 7))).status().code() == StatusCode::kOutOfRange);
  CHECK(append_ok(store, pattern(1, 7)) == 8);
}

TEST_CASE("memory log store: bytes covered by a failed sync stay non-durable even after a later successful sync") {
  MemoryLogStore store(64, 3);
  REQUIRE(store.open() == Status());
  const SegmentId first = store.segment_id(0);
  const Bytes a = pattern(10, 8);
  const Bytes b = pattern(12, 9);
  const Bytes c = pattern(6, 10);
  append_ok(store, a);
  REQUIRE(store.sync() == Status());
  append_ok(store, b);

  const Status failed(StatusCode::kDataLoss, Origin::kStore, 5);
  store.fail_next(Op::kSync, failed);
  CHECK(store.sync() == failed);
  CHECK(read_bytes(store, first, 10, 12) == b);  // still in the page cache
  CHECK(store.append(view(c)).status().code() == StatusCode::kFailedPrecondition);
  Result<SegmentId> second = store.roll();
  REQUIRE(second.ok());
  append_ok(store, c);
  REQUIRE(store.sync() == Status());
  CHECK(store.syncs() == 2);

  store.power_cut_now(TornWrite::kNone, 0);
  store.reboot();
  REQUIRE(store.open() == Status());
  CHECK(read_bytes(store, first, 0, 10) == a);
  CHECK(all_equal(read_bytes(store, first, 10, 54), 0x00));
  CHECK(read_bytes(store, *second, 0, 6) == c);
}

TEST_CASE("memory log store: a power cut in every torn-write mode keeps synced bytes and changes nothing before the last sync") {
  const TornWrite modes[] = {TornWrite::kNone, TornWrite::kPrefix, TornWrite::kPrefixGarbage, TornWrite::kAll};
  const Bytes a = pattern(40, 11);
  const Bytes b = pattern(30, 12);
  for (TornWrite mode : modes) {
    std::set<std::size_t> prefix_lengths;
    bool garbage_seen = false;
    for (std::uint32_t seed = 0; seed < 64; ++seed) {
      CAPTURE(static_cast<int>(mode), seed);
      MemoryLogStore store(256, 2, 0xFF);
      REQUIRE(store.open() == Status());
      const SegmentId id = store.segment_id(0);
      append_ok(store, a);
      REQUIRE(store.sync() == Status());
      append_ok(store, b);
      store.power_cut_now(mode, seed);
      CHECK(store.powered_off());
      store.reboot();
      CHECK_FALSE(store.powered_off());
      REQUIRE(store.open() == Status());

      const Bytes all = read_bytes(store, id, 0, 256);
      CHECK(equal_at(all, 0, a));
      std::size_t prefix = 0;
      while (prefix < b.size() && all[40 + prefix] == b[prefix]) ++prefix;
      prefix_lengths.insert(prefix);
      switch (mode) {
        case TornWrite::kNone:
          CHECK(all_equal_in(all, 40, 256, 0xFF));
          break;
        case TornWrite::kAll:
          CHECK(prefix == b.size());
          CHECK(all_equal_in(all, 70, 256, 0xFF));
          break;
        case TornWrite::kPrefix:
          CHECK(all_equal_in(all, 40 + prefix, 256, 0xFF));
          break;
        case TornWrite::kPrefixGarbage:
          // The kept prefix is shorter than b and at most 64 garbage bytes follow it.
          CHECK(all_equal_in(all, 40 + 29 + 64, 256, 0xFF));
          if (!all_equal_in(all, 40 + prefix, 256, 0xFF)) garbage_seen = true;
          break;
      }
    }
    if (mode == TornWrite::kPrefix || mode == TornWrite::kPrefixGarbage) {
      CHECK(prefix_lengths.size() > 5);  // the seed chooses where the tail tears
    }
    if (mode == TornWrite::kPrefixGarbage) CHECK(garbage_seen);
  }
}

namespace {
// A scenario of every kind of write; records what a successful sync made durable, so a power cut at
// any write point can be checked against it. Stops at the first failed call.
struct Written {
  SegmentId id;
  std::uint32_t offset;
  Bytes bytes;
};
struct ScenarioLog {
  std::vector<Written> synced;    // durable: a sync returned ok after they were appended
  std::vector<Written> unsynced;  // appended since the last successful sync
  bool dropping_head = false;     // the failed call was drop_head: the head may or may not be gone
  Status failure;
};

bool run_scenario(MemoryLogStore& store, ScenarioLog& log) {
  auto check = [&](Status status) {
    log.failure = status;
    return status.ok();
  };
  auto append = [&](std::size_t size, unsigned seed) {
    const Bytes bytes = pattern(size, seed);
    Result<std::uint32_t> offset = store.append(view(bytes));
    if (!check(offset.status())) return false;
    log.unsynced.push_back(Written{store.segment_id(store.segment_count() - 1), *offset, bytes});
    return true;
  };
  auto sync = [&] {
    if (!check(store.sync())) return false;
    log.synced.insert(log.synced.end(), log.unsynced.begin(), log.unsynced.end());
    log.unsynced.clear();
    return true;
  };
  auto roll = [&] { return check(store.roll().status()); };
  auto drop_head = [&] {
    const SegmentId head = store.segment_id(0);
    log.dropping_head = true;
    if (!check(store.drop_head())) return false;
    log.dropping_head = false;
    std::vector<Written> kept;
    for (const Written& w : log.synced) {
      if (w.id != head) kept.push_back(w);
    }
    log.synced = kept;
    return true;
  };
  return check(store.open()) && check(store.set_write_position(0)) && append(30, 1) && append(20, 2) && sync() &&
         append(25, 3) && roll() && append(40, 4) && sync() && drop_head() && append(10, 5) && sync() &&
         append(7, 6);
}
}  // namespace

TEST_CASE("memory log store: a power cut armed at any write point fails that call and every later one, and reboot keeps every synced byte") {
  std::uint64_t write_points = 0;
  {
    MemoryLogStore clean(128, 4);
    ScenarioLog log;
    REQUIRE(run_scenario(clean, log));
    write_points = clean.write_ops();
  }
  REQUIRE(write_points == 13);  // open's first segment, set_write_position, 6 appends, 3 syncs, roll, drop_head

  const TornWrite modes[] = {TornWrite::kNone, TornWrite::kPrefix, TornWrite::kPrefixGarbage, TornWrite::kAll};
  for (TornWrite mode : modes) {
    for (std::uint64_t k = 0; k < write_points; ++k) {
      CAPTURE(static_cast<int>(mode), k);
      MemoryLogStore store(128, 4);
      store.arm_power_cut(k, mode, static_cast<std::uint32_t>(k * 7 + 1));
      ScenarioLog log;
      CHECK_FALSE(run_scenario(store, log));
      CHECK(log.failure == kUnavailableStore);
      CHECK(store.powered_off());
      CHECK(store.write_ops() == k + 1);

      // Everything fails while the power is off, reads included.
      std::uint8_t buf[4];
      CHECK(store.read(1, 0, buf).status() == kUnavailableStore);
      CHECK(store.append(view(pattern(1, 9))).status() == kUnavailableStore);
      CHECK(store.sync() == kUnavailableStore);
      CHECK(store.free_space().status() == kUnavailableStore);
      CHECK(store.open() == kUnavailableStore);
      CHECK(store.write_ops() == k + 1);  // calls without power are not write points

      store.reboot();
      REQUIRE(store.open() == Status());
      REQUIRE(store.segment_count() >= 1);
      std::set<SegmentId> present;
      for (std::size_t i = 0; i < store.segment_count(); ++i) present.insert(store.segment_id(i));
      for (const Written& w : log.synced) {
        if (present.count(w.id) == 0) {
          CHECK(log.dropping_head);  // only an interrupted drop_head may have taken synced bytes away
          continue;
        }
        CHECK(read_bytes(store, w.id, w.offset, w.bytes.size()) == w.bytes);
      }
      // The recovered store works.
      REQUIRE(store.set_write_position(store.segment_capacity()) == Status());
      REQUIRE(store.roll().ok());
      CHECK(append_ok(store, pattern(5, 10)) == 0);
    }
  }
}

TEST_CASE("memory log store: after crash_process every appended byte is readable, yet a later power cut can still lose the unsynced ones") {
  MemoryLogStore store(64, 2);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  const Bytes a = pattern(10, 13);
  const Bytes b = pattern(10, 14);
  append_ok(store, a);
  REQUIRE(store.sync() == Status());
  append_ok(store, b);

  store.crash_process();
  CHECK_FALSE(store.powered_off());
  CHECK(store.append(view(b)).status().code() == StatusCode::kFailedPrecondition);  // not open
  REQUIRE(store.open() == Status());
  CHECK(read_bytes(store, id, 0, 10) == a);
  CHECK(read_bytes(store, id, 10, 10) == b);

  store.power_cut_now(TornWrite::kNone, 0);
  store.reboot();
  REQUIRE(store.open() == Status());
  CHECK(read_bytes(store, id, 0, 10) == a);
  CHECK(all_equal(read_bytes(store, id, 10, 54), 0x00));
}

TEST_CASE("memory log store: after reopening, append is refused until set_write_position") {
  MemoryLogStore store(64, 2);
  REQUIRE(store.open() == Status());
  append_ok(store, pattern(10, 15));
  REQUIRE(store.sync() == Status());
  store.reboot();
  CHECK(store.open() == Status());
  CHECK(store.write_position() == 0);
  CHECK(store.append(view(pattern(3, 16))).status().code() == StatusCode::kFailedPrecondition);
  REQUIRE(store.set_write_position(10) == Status());
  CHECK(append_ok(store, pattern(3, 16)) == 10);
}

TEST_CASE("memory log store: corrupt flips bits in what reads see and in what survives a power cut") {
  MemoryLogStore store(64, 2);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  const Bytes a = pattern(10, 17);
  append_ok(store, a);
  REQUIRE(store.sync() == Status());

  CHECK(store.corrupt(id, 3, 0x10));
  CHECK_FALSE(store.corrupt(id + 1, 3, 0x10));
  CHECK_FALSE(store.corrupt(id, 64, 0x10));
  Bytes expected = a;
  expected[3] = static_cast<std::uint8_t>(expected[3] ^ 0x10);
  CHECK(read_bytes(store, id, 0, 10) == expected);

  store.power_cut_now(TornWrite::kAll, 1);
  store.reboot();
  REQUIRE(store.open() == Status());
  CHECK(read_bytes(store, id, 0, 10) == expected);
}

TEST_CASE("memory log store: counters count successful appends, bytes and syncs, and write_ops counts every mutating call") {
  MemoryLogStore store(64, 2);
  CHECK(store.write_ops() == 0);
  REQUIRE(store.open() == Status());
  CHECK(store.write_ops() == 1);  // the first segment
  append_ok(store, pattern(10, 18));
  append_ok(store, pattern(5, 19));
  REQUIRE(store.sync() == Status());
  CHECK(store.append(view(pattern(60, 20))).status().code() == StatusCode::kOutOfRange);
  REQUIRE(store.roll().ok());
  REQUIRE(store.drop_head() == Status());
  CHECK(store.set_write_position(0).code() == StatusCode::kFailedPrecondition);
  REQUIRE(store.sync() == Status());

  CHECK(store.appends() == 2);
  CHECK(store.bytes_appended() == 15);
  CHECK(store.syncs() == 2);
  CHECK(store.write_ops() == 9);

  std::uint8_t buf[4];
  CHECK(store.read(store.segment_id(0), 0, buf).ok());
  CHECK(store.write_ops() == 9);  // reads are not write points
  store.reboot();
  CHECK(store.appends() == 2);  // counters belong to the test, not the process
}
