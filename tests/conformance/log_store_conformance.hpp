// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// LogStore conformance suite: the behaviours every implementation of the LogStore port
/// (include/tether/port/log_store.hpp) must have, written once and run against each
/// implementation by that implementation's test file:
///
/// ```
/// class MyTarget final : public tether::conformance::LogStoreTarget { ... };
/// TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (mine)", MyTarget)
/// ```
///
/// expands to one TEST_CASE per behaviour, named "<prefix>: <behaviour>", each with a fresh
/// target. The suite asserts only what the contract promises: it accepts either erased value and
/// relies, after a reopen, only on what sync(), roll() and drop_head() made durable.
/// Portable (no OS calls, no exceptions needed): it runs in the no-exception and cross builds too.

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bytes.hpp"
#include "tether/port/log_store.hpp"

namespace tether::conformance {

// Shared by the suite and the implementations' own tests, with the byte helpers of bytes.hpp.
/// Reads exactly `size` bytes (REQUIREs that the read succeeds and is complete).
Bytes read_bytes(const port::LogStore& store, SegmentId id, std::uint32_t offset, std::size_t size);

/// What the suite needs from an implementation.
class LogStoreTarget {
 public:
  virtual ~LogStoreTarget() = default;
  /// A new, not yet opened store over empty storage. The target owns it; the reference stays valid
  /// until the next create() or reopen().
  virtual port::LogStore& create(std::uint32_t segment_capacity, std::size_t max_segments) = 0;
  /// A new, not yet opened store over the storage of the last one, as a process restarted after a
  /// power cut finds it (the previous instance is gone). Same geometry.
  virtual port::LogStore& reopen() = 0;
  /// The value never-written bytes read as (0x00 or 0xFF).
  virtual std::uint8_t erased_value() const = 0;
};

void open_creates_one_empty_active_segment(LogStoreTarget& target);
void append_returns_increasing_offsets_and_read_returns_the_bytes(LogStoreTarget& target);
void unwritten_bytes_read_as_the_erased_value(LogStoreTarget& target);
void append_that_does_not_fit_returns_out_of_range_and_writes_nothing(LogStoreTarget& target);
void roll_starts_a_new_segment_with_a_larger_id_up_to_max_segments(LogStoreTarget& target);
void drop_head_removes_the_oldest_and_refuses_to_drop_the_only_segment(LogStoreTarget& target);
void reopening_lists_the_same_segments_and_continues_at_the_write_position_set(LogStoreTarget& target);
void set_write_position_is_refused_after_an_append_and_beyond_capacity(LogStoreTarget& target);
void read_of_an_unknown_segment_is_not_found(LogStoreTarget& target);
void read_at_an_offset_beyond_capacity_is_out_of_range(LogStoreTarget& target);
void free_space_decreases_with_appends_and_rolls(LogStoreTarget& target);

}  // namespace tether::conformance

#define TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, SENTENCE, FUNCTION) \
  TEST_CASE(PREFIX ": " SENTENCE, "[log_store][conformance]") {                \
    TARGET target;                                                             \
    ::tether::conformance::FUNCTION(target);                                   \
  }

/// One TEST_CASE per behaviour of the LogStore contract, against `TARGET` (a default-constructible
/// LogStoreTarget), named "PREFIX: <behaviour>" (PREFIX: a string literal).
#define TETHER_LOG_STORE_CONFORMANCE_TESTS(PREFIX, TARGET)                                              \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "open creates one empty active segment",          \
                                     open_creates_one_empty_active_segment)                             \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "append returns increasing offsets and read returns the bytes", \
                                     append_returns_increasing_offsets_and_read_returns_the_bytes)      \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "unwritten bytes read as the erased value",       \
                                     unwritten_bytes_read_as_the_erased_value)                          \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET,                                                    \
                                     "an append that does not fit returns out of range and writes nothing", \
                                     append_that_does_not_fit_returns_out_of_range_and_writes_nothing)  \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET,                                                    \
                                     "roll starts a new segment with a larger id, up to max_segments",  \
                                     roll_starts_a_new_segment_with_a_larger_id_up_to_max_segments)     \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET,                                                    \
                                     "drop_head removes the oldest segment and refuses to drop the only one", \
                                     drop_head_removes_the_oldest_and_refuses_to_drop_the_only_segment) \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(                                                                   \
      PREFIX, TARGET,                                                                                   \
      "a reopened store lists the same segments, erases beyond the write position set and appends there", \
      reopening_lists_the_same_segments_and_continues_at_the_write_position_set)                        \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET,                                                    \
                                     "set_write_position is refused after an append and beyond capacity", \
                                     set_write_position_is_refused_after_an_append_and_beyond_capacity) \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "a read of an unknown segment is not found",      \
                                     read_of_an_unknown_segment_is_not_found)                           \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "a read at an offset beyond capacity is out of range", \
                                     read_at_an_offset_beyond_capacity_is_out_of_range)                 \
  TETHER_LOG_STORE_CONFORMANCE_CASE_(PREFIX, TARGET, "free space decreases with appends and rolls",    \
                                     free_space_decreases_with_appends_and_rolls)
