// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// A LogStore that forwards every call to another one and adds up the wall time the caller (the
/// agent's thread) spends in each kind of call: where a drain waits on the disk. Two clock reads
/// per call; used in part 2 only.

#include <cstddef>
#include <cstdint>

#include "bench_offline.hpp"
#include "tether/port/log_store.hpp"

namespace tether::bench_offline {

class TimedLogStore final : public port::LogStore {
 public:
  explicit TimedLogStore(port::LogStore& inner) : inner_(inner) {}
  const StoreTimes& totals() const { return totals_; }
  void reset() { totals_ = StoreTimes{}; }

 private:
  template <typename F>
  auto timed(StoreTime& op, F&& call) const {
    const double start = now_seconds();
    auto result = call();
    op.seconds += now_seconds() - start;
    ++op.calls;
    return result;
  }

  Status do_open() override { return inner_.open(); }
  std::size_t do_segment_count() const override { return inner_.segment_count(); }
  SegmentId do_segment_id(std::size_t index) const override { return inner_.segment_id(index); }
  std::uint32_t do_segment_capacity() const override { return inner_.segment_capacity(); }
  std::size_t do_max_segments() const override { return inner_.max_segments(); }
  std::uint32_t do_write_position() const override { return inner_.write_position(); }
  Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const override {
    return timed(totals_.read, [&] { return inner_.read(id, offset, out); });
  }
  Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) override {
    return timed(totals_.append, [&] { return inner_.append(bytes); });
  }
  Status do_sync() override {
    return timed(totals_.sync, [&] { return inner_.sync(); });
  }
  Result<SegmentId> do_roll() override {
    return timed(totals_.roll, [&] { return inner_.roll(); });
  }
  Status do_drop_head() override {
    return timed(totals_.drop_head, [&] { return inner_.drop_head(); });
  }
  Status do_set_write_position(std::uint32_t offset) override { return inner_.set_write_position(offset); }
  Result<std::uint64_t> do_free_space() const override { return inner_.free_space(); }

  port::LogStore& inner_;
  mutable StoreTimes totals_;
};

}  // namespace tether::bench_offline
