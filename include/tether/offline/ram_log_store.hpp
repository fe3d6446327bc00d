// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// RamLogStore: a LogStore over a caller-provided RAM buffer, for `memory` durability streams and
/// for microcontrollers without flash to spare. Heap-free; nothing survives a reset. `sync()` is a
/// no-op that succeeds (RAM has no durability point to reach). The buffer is split into
/// `max_segments` segments of `buffer.size() / max_segments` bytes; erased bytes read as 0x00.

#include "tether/port/log_store.hpp"

namespace tether::offline {

class RamLogStore final : public port::LogStore {
 public:
  /// Contract: max_segments >= 2 and buffer.size() / max_segments >= 64.
  RamLogStore(Span<std::uint8_t> buffer, std::size_t max_segments);

 private:
  Status do_open() override;
  std::size_t do_segment_count() const override { return count_; }
  SegmentId do_segment_id(std::size_t index) const override { return first_id_ + static_cast<SegmentId>(index); }
  std::uint32_t do_segment_capacity() const override { return capacity_; }
  std::size_t do_max_segments() const override { return max_segments_; }
  std::uint32_t do_write_position() const override { return write_pos_; }
  Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const override;
  Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) override;
  Status do_sync() override { return open_ ? ok_status() : Status(StatusCode::kFailedPrecondition, Origin::kStore); }
  Result<SegmentId> do_roll() override;
  Status do_drop_head() override;
  Status do_set_write_position(std::uint32_t offset) override;
  Result<std::uint64_t> do_free_space() const override;

  std::uint8_t* segment_data(SegmentId id) const;

  Span<std::uint8_t> buffer_;
  std::size_t max_segments_;
  std::uint32_t capacity_;
  SegmentId first_id_ = 1;
  std::size_t count_ = 0;
  std::uint32_t write_pos_ = 0;
  bool open_ = false;
  bool appended_ = false;
};

}  // namespace tether::offline
