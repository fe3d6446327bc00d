// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/offline/ram_log_store.hpp"

#include <cstring>

#include "tether/contract.hpp"

namespace tether::offline {

RamLogStore::RamLogStore(Span<std::uint8_t> buffer, std::size_t max_segments)
    : buffer_(buffer),
      max_segments_(max_segments),
      capacity_(max_segments == 0 ? 0 : static_cast<std::uint32_t>(buffer.size() / max_segments)) {
  TETHER_EXPECTS(max_segments >= 2 && capacity_ >= 64);
}

// Segments live in the buffer as a ring: segment id N occupies slot N % max_segments.
std::uint8_t* RamLogStore::segment_data(SegmentId id) const {
  return buffer_.data() + static_cast<std::size_t>(id % max_segments_) * capacity_;
}

Status RamLogStore::do_open() {
  if (open_) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  if (max_segments_ < 2 || capacity_ < 64) return Status(StatusCode::kInvalidArgument, Origin::kStore);
  std::memset(buffer_.data(), 0, buffer_.size());
  count_ = 1;
  write_pos_ = 0;
  open_ = true;
  return ok_status();
}

Result<std::size_t> RamLogStore::do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const {
  if (!open_ || id < first_id_ || id - first_id_ >= count_) return Status(StatusCode::kNotFound, Origin::kStore);
  if (offset > capacity_) return Status(StatusCode::kOutOfRange, Origin::kStore);
  std::size_t n = capacity_ - offset;
  if (n > out.size()) n = out.size();
  if (n != 0) std::memcpy(out.data(), segment_data(id) + offset, n);
  return n;
}

Result<std::uint32_t> RamLogStore::do_append(Span<const std::uint8_t> bytes) {
  if (!open_) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  if (bytes.size() > capacity_ - write_pos_) return Status(StatusCode::kOutOfRange, Origin::kStore);
  const std::uint32_t at = write_pos_;
  if (!bytes.empty()) std::memcpy(segment_data(first_id_ + static_cast<SegmentId>(count_ - 1)) + at, bytes.data(), bytes.size());
  write_pos_ += static_cast<std::uint32_t>(bytes.size());
  appended_ = true;
  return at;
}

Result<SegmentId> RamLogStore::do_roll() {
  if (!open_) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  if (count_ >= max_segments_) return Status(StatusCode::kResourceExhausted, Origin::kStore);
  const SegmentId id = first_id_ + static_cast<SegmentId>(count_);
  std::memset(segment_data(id), 0, capacity_);
  ++count_;
  write_pos_ = 0;
  return id;
}

Status RamLogStore::do_drop_head() {
  if (!open_ || count_ <= 1) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  ++first_id_;
  --count_;
  return ok_status();
}

Status RamLogStore::do_set_write_position(std::uint32_t offset) {
  if (!open_ || appended_) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  if (offset > capacity_) return Status(StatusCode::kOutOfRange, Origin::kStore);
  std::memset(segment_data(first_id_ + static_cast<SegmentId>(count_ - 1)) + offset, 0, capacity_ - offset);
  write_pos_ = offset;
  return ok_status();
}

Result<std::uint64_t> RamLogStore::do_free_space() const {
  if (!open_) return Status(StatusCode::kFailedPrecondition, Origin::kStore);
  return static_cast<std::uint64_t>(capacity_ - write_pos_) +
         static_cast<std::uint64_t>(max_segments_ - count_) * capacity_;
}

}  // namespace tether::offline
