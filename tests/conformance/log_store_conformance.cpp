// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "log_store_conformance.hpp"

#include <vector>

#include "test_support.hpp"

namespace tether::conformance {

Bytes read_bytes(const port::LogStore& store, SegmentId id, std::uint32_t offset, std::size_t size) {
  Bytes out(size);
  Result<std::size_t> n = store.read(id, offset, Span<std::uint8_t>(out.data(), out.size()));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == size);
  return out;
}

namespace {

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::uint32_t append_ok(port::LogStore& store, const Bytes& bytes) {
  Result<std::uint32_t> offset = store.append(view(bytes));
  REQUIRE(offset.status() == Status());
  return *offset;
}

SegmentId roll_ok(port::LogStore& store) {
  Result<SegmentId> id = store.roll();
  REQUIRE(id.status() == Status());
  return *id;
}

std::uint64_t free_space_ok(const port::LogStore& store) {
  Result<std::uint64_t> space = store.free_space();
  REQUIRE(space.status() == Status());
  return *space;
}

SegmentId active_id(const port::LogStore& store) { return store.segment_id(store.segment_count() - 1); }

}  // namespace

void open_creates_one_empty_active_segment(LogStoreTarget& target) {
  port::LogStore& store = target.create(256, 4);
  REQUIRE(store.open() == Status());
  CHECK(store.segment_count() == 1);
  CHECK(store.segment_capacity() == 256);
  CHECK(store.max_segments() == 4);
  CHECK(store.write_position() == 0);
  CHECK(all_equal(read_bytes(store, store.segment_id(0), 0, 256), target.erased_value()));
  CHECK(free_space_ok(store) == 4 * 256);

  CHECK(store.open().code() == StatusCode::kFailedPrecondition);
  CHECK(store.segment_count() == 1);
  CHECK(append_ok(store, pattern(8, 1)) == 0);
}

void append_returns_increasing_offsets_and_read_returns_the_bytes(LogStoreTarget& target) {
  port::LogStore& store = target.create(256, 4);
  REQUIRE(store.open() == Status());
  const Bytes a = pattern(10, 1);
  const Bytes b = pattern(20, 2);
  const Bytes c = pattern(1, 3);
  CHECK(append_ok(store, a) == 0);
  CHECK(store.write_position() == 10);
  CHECK(append_ok(store, b) == 10);
  CHECK(append_ok(store, c) == 30);
  CHECK(store.write_position() == 31);

  const SegmentId id = store.segment_id(0);
  CHECK(read_bytes(store, id, 0, 31) == concat(concat(a, b), c));
  CHECK(read_bytes(store, id, 12, 5) == Bytes(b.begin() + 2, b.begin() + 7));

  // Fewer bytes only at the end of the segment's capacity.
  std::uint8_t tail[16] = {};
  Result<std::size_t> n = store.read(id, 250, tail);
  REQUIRE(n.ok());
  CHECK(*n == 6);
  Result<std::size_t> none = store.read(id, 0, Span<std::uint8_t>());
  REQUIRE(none.ok());
  CHECK(*none == 0);
}

void unwritten_bytes_read_as_the_erased_value(LogStoreTarget& target) {
  const std::uint8_t erased = target.erased_value();
  REQUIRE((erased == 0x00 || erased == 0xFF));
  port::LogStore& store = target.create(128, 3);
  REQUIRE(store.open() == Status());
  const SegmentId first = store.segment_id(0);
  const Bytes a = pattern(10, 4);
  append_ok(store, a);
  CHECK(read_bytes(store, first, 0, 10) == a);
  CHECK(all_equal(read_bytes(store, first, 10, 118), erased));

  const SegmentId second = roll_ok(store);
  CHECK(all_equal(read_bytes(store, second, 0, 128), erased));
  CHECK(all_equal(read_bytes(store, first, 10, 118), erased));
}

void append_that_does_not_fit_returns_out_of_range_and_writes_nothing(LogStoreTarget& target) {
  const std::uint8_t erased = target.erased_value();
  port::LogStore& store = target.create(64, 2);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  const Bytes a = pattern(60, 5);
  append_ok(store, a);

  CHECK(store.append(view(pattern(5, 6))).status().code() == StatusCode::kOutOfRange);
  CHECK(store.write_position() == 60);
  CHECK(read_bytes(store, id, 0, 60) == a);
  CHECK(all_equal(read_bytes(store, id, 60, 4), erased));

  // A refused append leaves the store usable: what fits still goes in.
  const Bytes b = pattern(4, 7);
  CHECK(append_ok(store, b) == 60);
  CHECK(store.write_position() == 64);
  CHECK(store.append(view(pattern(1, 8))).status().code() == StatusCode::kOutOfRange);
  CHECK(read_bytes(store, id, 0, 64) == concat(a, b));

  // More than a whole segment never fits; exactly a whole segment does.
  const SegmentId next = roll_ok(store);
  CHECK(store.append(view(pattern(65, 9))).status().code() == StatusCode::kOutOfRange);
  CHECK(store.write_position() == 0);
  CHECK(all_equal(read_bytes(store, next, 0, 64), erased));
  const Bytes whole = pattern(64, 10);
  CHECK(append_ok(store, whole) == 0);
  CHECK(read_bytes(store, next, 0, 64) == whole);
}

void roll_starts_a_new_segment_with_a_larger_id_up_to_max_segments(LogStoreTarget& target) {
  port::LogStore& store = target.create(64, 3);
  REQUIRE(store.open() == Status());
  const SegmentId id0 = store.segment_id(0);
  const Bytes a = pattern(20, 11);
  append_ok(store, a);

  const SegmentId id1 = roll_ok(store);
  CHECK(id1 > id0);
  CHECK(store.segment_count() == 2);
  CHECK(store.segment_id(0) == id0);
  CHECK(store.segment_id(1) == id1);
  CHECK(store.write_position() == 0);
  const Bytes b = pattern(30, 12);
  CHECK(append_ok(store, b) == 0);
  CHECK(read_bytes(store, id0, 0, 20) == a);
  CHECK(read_bytes(store, id1, 0, 30) == b);

  const SegmentId id2 = roll_ok(store);
  CHECK(id2 > id1);
  CHECK(store.segment_count() == 3);

  Result<SegmentId> refused = store.roll();
  CHECK(refused.status() == Status(StatusCode::kResourceExhausted, Origin::kStore, 0));
  CHECK(store.segment_count() == 3);
  CHECK(active_id(store) == id2);
  CHECK(append_ok(store, pattern(5, 13)) == 0);
}

void drop_head_removes_the_oldest_and_refuses_to_drop_the_only_segment(LogStoreTarget& target) {
  port::LogStore& store = target.create(64, 3);
  REQUIRE(store.open() == Status());
  CHECK(store.drop_head().code() == StatusCode::kFailedPrecondition);
  CHECK(store.segment_count() == 1);

  const SegmentId id0 = store.segment_id(0);
  append_ok(store, pattern(10, 14));
  const SegmentId id1 = roll_ok(store);
  const Bytes b = pattern(10, 15);
  append_ok(store, b);
  const SegmentId id2 = roll_ok(store);

  REQUIRE(store.drop_head() == Status());
  CHECK(store.segment_count() == 2);
  CHECK(store.segment_id(0) == id1);
  CHECK(store.segment_id(1) == id2);
  std::uint8_t buf[4];
  CHECK(store.read(id0, 0, buf).status().code() == StatusCode::kNotFound);
  CHECK(read_bytes(store, id1, 0, 10) == b);

  // Ids are never reused.
  const SegmentId id3 = roll_ok(store);
  CHECK(id3 > id2);

  REQUIRE(store.drop_head() == Status());
  REQUIRE(store.drop_head() == Status());
  CHECK(store.segment_count() == 1);
  CHECK(store.segment_id(0) == id3);
  CHECK(store.drop_head().code() == StatusCode::kFailedPrecondition);
  CHECK(store.segment_count() == 1);
}

void reopening_lists_the_same_segments_and_continues_at_the_write_position_set(LogStoreTarget& target) {
  const std::uint8_t erased = target.erased_value();
  {
    port::LogStore& store = target.create(128, 4);
    REQUIRE(store.open() == Status());
    append_ok(store, pattern(40, 16));
    roll_ok(store);
    append_ok(store, pattern(50, 17));
    roll_ok(store);
    append_ok(store, pattern(30, 18));
    REQUIRE(store.drop_head() == Status());
    REQUIRE(store.sync() == Status());
  }
  const Bytes b = pattern(50, 17);
  const Bytes c = pattern(30, 18);

  port::LogStore& store = target.reopen();
  REQUIRE(store.open() == Status());
  REQUIRE(store.segment_count() == 2);
  const SegmentId id1 = store.segment_id(0);
  const SegmentId id2 = store.segment_id(1);
  CHECK(id1 < id2);
  CHECK(read_bytes(store, id1, 0, 50) == b);
  CHECK(read_bytes(store, id2, 0, 30) == c);

  // The core found the last intact record ending at 20: everything after it is erased.
  REQUIRE(store.set_write_position(20) == Status());
  CHECK(store.write_position() == 20);
  CHECK(read_bytes(store, id2, 0, 20) == Bytes(c.begin(), c.begin() + 20));
  CHECK(all_equal(read_bytes(store, id2, 20, 108), erased));
  CHECK(read_bytes(store, id1, 0, 50) == b);
  const Bytes d = pattern(7, 19);
  CHECK(append_ok(store, d) == 20);
  CHECK(store.write_position() == 27);
  REQUIRE(store.sync() == Status());

  // Once more: the erasure and the new bytes were durable.
  port::LogStore& again = target.reopen();
  REQUIRE(again.open() == Status());
  REQUIRE(again.segment_count() == 2);
  CHECK(again.segment_id(0) == id1);
  CHECK(again.segment_id(1) == id2);
  CHECK(read_bytes(again, id2, 0, 27) == concat(Bytes(c.begin(), c.begin() + 20), d));
  CHECK(all_equal(read_bytes(again, id2, 27, 101), erased));
  REQUIRE(again.set_write_position(27) == Status());
  CHECK(append_ok(again, pattern(3, 20)) == 27);
  CHECK(roll_ok(again) > id2);
}

void set_write_position_is_refused_after_an_append_and_beyond_capacity(LogStoreTarget& target) {
  port::LogStore& store = target.create(64, 2);
  REQUIRE(store.open() == Status());
  CHECK(store.set_write_position(65).code() == StatusCode::kOutOfRange);
  REQUIRE(store.set_write_position(0) == Status());  // allowed until the first append
  const Bytes a = pattern(12, 21);
  CHECK(append_ok(store, a) == 0);
  CHECK(store.set_write_position(0).code() == StatusCode::kFailedPrecondition);
  CHECK(store.set_write_position(12).code() == StatusCode::kFailedPrecondition);
  CHECK(store.write_position() == 12);
  CHECK(read_bytes(store, store.segment_id(0), 0, 12) == a);
  REQUIRE(store.sync() == Status());

  port::LogStore& reopened = target.reopen();
  REQUIRE(reopened.open() == Status());
  CHECK(reopened.set_write_position(65).code() == StatusCode::kOutOfRange);
  // The whole segment in use: nothing more fits until roll().
  REQUIRE(reopened.set_write_position(64) == Status());
  CHECK(reopened.write_position() == 64);
  CHECK(reopened.append(view(pattern(1, 22))).status().code() == StatusCode::kOutOfRange);
  roll_ok(reopened);
  CHECK(append_ok(reopened, pattern(1, 22)) == 0);
}

void read_of_an_unknown_segment_is_not_found(LogStoreTarget& target) {
  port::LogStore& store = target.create(64, 2);
  REQUIRE(store.open() == Status());
  const SegmentId id0 = store.segment_id(0);
  std::uint8_t buf[8];
  CHECK(store.read(id0 + 1000, 0, buf).status().code() == StatusCode::kNotFound);
  const SegmentId id1 = roll_ok(store);
  CHECK(store.read(id1 + 1, 0, buf).status().code() == StatusCode::kNotFound);
  REQUIRE(store.drop_head() == Status());
  CHECK(store.read(id0, 0, buf).status().code() == StatusCode::kNotFound);
  CHECK(store.read(id1, 0, buf).ok());
}

void read_at_an_offset_beyond_capacity_is_out_of_range(LogStoreTarget& target) {
  port::LogStore& store = target.create(64, 2);
  REQUIRE(store.open() == Status());
  const SegmentId id = store.segment_id(0);
  std::uint8_t buf[8];
  CHECK(store.read(id, 65, buf).status().code() == StatusCode::kOutOfRange);
  CHECK(store.read(id, 0xFFFFFFFFu, buf).status().code() == StatusCode::kOutOfRange);
  Result<std::size_t> at_end = store.read(id, 64, buf);
  REQUIRE(at_end.ok());
  CHECK(*at_end == 0);
}

void free_space_decreases_with_appends_and_rolls(LogStoreTarget& target) {
  port::LogStore& store = target.create(100, 3);
  REQUIRE(store.open() == Status());
  CHECK(free_space_ok(store) == 300);
  append_ok(store, pattern(10, 23));
  CHECK(free_space_ok(store) == 290);
  append_ok(store, pattern(30, 24));
  CHECK(free_space_ok(store) == 260);
  // Rolling gives up what was left of the old active segment.
  roll_ok(store);
  CHECK(free_space_ok(store) == 200);
  append_ok(store, pattern(100, 25));
  CHECK(free_space_ok(store) == 100);
  roll_ok(store);
  CHECK(free_space_ok(store) == 100);  // no more segments can be added: only the active one is left
  append_ok(store, pattern(1, 26));
  CHECK(free_space_ok(store) == 99);
  REQUIRE(store.drop_head() == Status());
  CHECK(free_space_ok(store) == 199);
}

}  // namespace tether::conformance
