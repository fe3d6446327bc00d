// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/testing/memory_log_store.hpp"

#include <algorithm>
#include <cstring>

#include "tether/contract.hpp"

namespace tether::testing {

namespace {
// errno ENOSPC on Linux and newlib; spelled out so the fake reports the same detail everywhere.
constexpr std::uint16_t kEnospc = 28;

Status store_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kStore, detail); }
Status powered_off_error() { return store_error(StatusCode::kUnavailable); }
Status not_open_error() { return store_error(StatusCode::kFailedPrecondition); }

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

MemoryLogStore::MemoryLogStore(std::uint32_t segment_capacity, std::size_t max_segments, std::uint8_t erased_value)
    : capacity_(segment_capacity), max_segments_(max_segments), erased_(erased_value) {
  TETHER_EXPECTS(segment_capacity >= 1);
  TETHER_EXPECTS(max_segments >= 1);
  if (capacity_ == 0) capacity_ = 1;
  if (max_segments_ == 0) max_segments_ = 1;
}

// --- faults -------------------------------------------------------------------------------------

void MemoryLogStore::fail_next(Op op, Status status, int count) {
  failures_.fail_next(static_cast<std::size_t>(op), status, count);
}

Status MemoryLogStore::take_injected(Op op) const { return failures_.take(static_cast<std::size_t>(op)); }

bool MemoryLogStore::corrupt(SegmentId id, std::uint32_t offset, std::uint8_t xor_mask) {
  for (Segment& segment : segments_) {
    if (segment.id != id) continue;
    if (offset >= capacity_) return false;
    segment.live[offset] = static_cast<std::uint8_t>(segment.live[offset] ^ xor_mask);
    segment.durable[offset] = static_cast<std::uint8_t>(segment.durable[offset] ^ xor_mask);
    return true;
  }
  return false;
}

// --- crashes and power cuts -----------------------------------------------------------------------

void MemoryLogStore::arm_power_cut(std::uint64_t after_ops, TornWrite mode, std::uint32_t seed) {
  cut_armed_ = true;
  cut_countdown_ = after_ops;
  cut_mode_ = mode;
  cut_seed_ = seed;
}

void MemoryLogStore::power_cut_now(TornWrite mode, std::uint32_t seed) {
  if (powered_off_) return;
  cut_mode_ = mode;
  cut_seed_ = seed;
  rng_state_ = seed;
  cut_power().ignore();
}

void MemoryLogStore::crash_process() {
  if (powered_off_) {
    reboot();
    return;
  }
  restart_process();
}

void MemoryLogStore::reboot() {
  powered_off_ = false;
  restart_process();
}

void MemoryLogStore::restart_process() {
  opened_ = false;
  position_known_ = false;
  position_ = 0;
  appended_since_open_ = false;
  needs_roll_ = false;
}

MemoryLogStore::Gate MemoryLogStore::begin_write_op() {
  ++write_ops_;
  if (!cut_armed_) return Gate::kProceed;
  if (cut_countdown_ > 0) {
    --cut_countdown_;
    return Gate::kProceed;
  }
  rng_state_ = cut_seed_;
  return Gate::kCutNow;
}

std::uint32_t MemoryLogStore::next_random() { return static_cast<std::uint32_t>(splitmix64(rng_state_) >> 32); }

bool MemoryLogStore::cut_lets_op_happen() {
  switch (cut_mode_) {
    case TornWrite::kNone:
      return false;
    case TornWrite::kAll:
      return true;
    case TornWrite::kPrefix:
    case TornWrite::kPrefixGarbage:
      break;
  }
  return (next_random() & 1u) != 0;
}

Status MemoryLogStore::cut_power() {
  for (Segment& segment : segments_) {
    const std::uint32_t begin = segment.pending_begin;
    const std::uint32_t end = segment.pending_end;
    if (end > begin) {
      const std::uint32_t length = end - begin;
      std::uint32_t keep = 0;
      std::uint32_t garbage = 0;
      switch (cut_mode_) {
        case TornWrite::kNone:
          break;
        case TornWrite::kAll:
          keep = length;
          break;
        case TornWrite::kPrefix:
          keep = next_random() % (length + 1);
          break;
        case TornWrite::kPrefixGarbage:
          keep = next_random() % length;  // strictly shorter: the garbage starts inside the torn bytes
          garbage = std::min<std::uint32_t>(1 + next_random() % 64, capacity_ - (begin + keep));
          break;
      }
      std::copy(segment.live.begin() + begin, segment.live.begin() + begin + keep, segment.durable.begin() + begin);
      for (std::uint32_t i = 0; i < garbage; ++i) {
        segment.durable[begin + keep + i] = static_cast<std::uint8_t>(next_random());
      }
    }
    segment.live = segment.durable;
    segment.pending_begin = segment.pending_end = 0;
    segment.sync_failed = false;
  }
  powered_off_ = true;
  cut_armed_ = false;
  return powered_off_error();
}

// --- the port -------------------------------------------------------------------------------------

MemoryLogStore::Segment MemoryLogStore::make_segment(SegmentId id) const {
  Segment segment;
  segment.id = id;
  segment.live.assign(capacity_, erased_);
  segment.durable.assign(capacity_, erased_);
  return segment;
}

const MemoryLogStore::Segment* MemoryLogStore::find(SegmentId id) const {
  for (const Segment& segment : segments_) {
    if (segment.id == id) return &segment;
  }
  return nullptr;
}

Status MemoryLogStore::call_precondition() const {
  if (powered_off_) return powered_off_error();
  if (!opened_) return not_open_error();
  return Status();
}

Status MemoryLogStore::do_open() {
  if (powered_off_) return powered_off_error();
  if (opened_) return store_error(StatusCode::kFailedPrecondition);
  if (segments_.empty()) {
    // Creating the first segment is a write point.
    if (begin_write_op() == Gate::kCutNow) {
      if (cut_lets_op_happen()) segments_.push_back(make_segment(1));
      return cut_power();
    }
    segments_.push_back(make_segment(1));
    position_known_ = true;
    position_ = 0;
  } else {
    position_known_ = false;
    position_ = 0;
  }
  opened_ = true;
  appended_since_open_ = false;
  needs_roll_ = false;
  return Status();
}

SegmentId MemoryLogStore::do_segment_id(std::size_t index) const {
  TETHER_EXPECTS(index < segments_.size());
  if (index >= segments_.size()) return 0;
  return segments_[index].id;
}

Result<std::size_t> MemoryLogStore::do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const {
  TETHER_RETURN_IF_ERROR(call_precondition());
  const Segment* segment = find(id);
  if (segment == nullptr) return store_error(StatusCode::kNotFound);
  if (offset > capacity_) return store_error(StatusCode::kOutOfRange);
  TETHER_RETURN_IF_ERROR(take_injected(Op::kRead));
  const std::size_t n = std::min<std::size_t>(out.size(), capacity_ - offset);
  if (n > 0) std::memcpy(out.data(), segment->live.data() + offset, n);
  return n;
}

Result<std::uint32_t> MemoryLogStore::do_append(Span<const std::uint8_t> bytes) {
  if (powered_off_) return powered_off_error();
  const Gate gate = begin_write_op();
  const bool writable = opened_ && position_known_ && !needs_roll_;
  const bool fits = writable && bytes.size() <= capacity_ - position_;
  Segment* active = segments_.empty() ? nullptr : &segments_.back();
  auto write = [&] {
    const std::uint32_t offset = position_;
    const auto n = static_cast<std::uint32_t>(bytes.size());
    if (active->pending_end <= active->pending_begin) {
      active->pending_begin = offset;
      active->sync_failed = false;
    }
    if (n > 0) std::memcpy(active->live.data() + offset, bytes.data(), n);
    active->pending_end = offset + n;
    position_ = offset + n;
  };
  if (gate == Gate::kCutNow) {
    // Power fails while the bytes go out: they join the unsynced bytes the torn mode decides on.
    if (fits && active != nullptr) write();
    return cut_power();
  }
  if (!writable || active == nullptr) return store_error(StatusCode::kFailedPrecondition);
  if (!fits) return store_error(StatusCode::kOutOfRange);
  const Status injected = take_injected(Op::kAppend);
  if (!injected.ok()) {
    if (injected.code() != StatusCode::kOutOfRange && injected.code() != StatusCode::kFailedPrecondition) {
      needs_roll_ = true;
    }
    return injected;
  }
  const std::uint32_t offset = position_;
  write();
  appended_since_open_ = true;
  ++appends_;
  bytes_appended_ += bytes.size();
  return offset;
}

Status MemoryLogStore::do_sync() {
  if (powered_off_) return powered_off_error();
  if (begin_write_op() == Gate::kCutNow) return cut_power();
  if (!opened_) return not_open_error();
  const Status injected = take_injected(Op::kSync);
  if (!injected.ok()) {
    // Like Linux after a failed fsync: the pending bytes may be gone from the medium for good.
    for (Segment& segment : segments_) {
      if (segment.pending_end > segment.pending_begin) segment.sync_failed = true;
    }
    needs_roll_ = true;
    return injected;
  }
  for (Segment& segment : segments_) {
    if (segment.pending_end <= segment.pending_begin || segment.sync_failed) continue;
    std::copy(segment.live.begin() + segment.pending_begin, segment.live.begin() + segment.pending_end,
              segment.durable.begin() + segment.pending_begin);
    segment.pending_begin = segment.pending_end = 0;
  }
  ++syncs_;
  return Status();
}

Result<SegmentId> MemoryLogStore::do_roll() {
  if (powered_off_) return powered_off_error();
  const Gate gate = begin_write_op();
  const bool room = opened_ && segments_.size() < max_segments_ && !medium_full_ && !segments_.empty() &&
                    segments_.back().id != UINT32_MAX;
  if (gate == Gate::kCutNow) {
    if (room && cut_lets_op_happen()) segments_.push_back(make_segment(segments_.back().id + 1));
    return cut_power();
  }
  if (!opened_ || segments_.empty()) return not_open_error();
  if (segments_.size() >= max_segments_) return store_error(StatusCode::kResourceExhausted);
  if (medium_full_) return store_error(StatusCode::kResourceExhausted, kEnospc);
  if (segments_.back().id == UINT32_MAX) return store_error(StatusCode::kResourceExhausted);
  TETHER_RETURN_IF_ERROR(take_injected(Op::kRoll));
  const SegmentId id = segments_.back().id + 1;
  segments_.push_back(make_segment(id));
  position_known_ = true;
  position_ = 0;
  needs_roll_ = false;
  return id;
}

Status MemoryLogStore::do_drop_head() {
  if (powered_off_) return powered_off_error();
  if (begin_write_op() == Gate::kCutNow) {
    if (opened_ && segments_.size() > 1 && cut_lets_op_happen()) segments_.erase(segments_.begin());
    return cut_power();
  }
  if (!opened_) return not_open_error();
  if (segments_.size() <= 1) return store_error(StatusCode::kFailedPrecondition);
  TETHER_RETURN_IF_ERROR(take_injected(Op::kDropHead));
  segments_.erase(segments_.begin());
  return Status();
}

Status MemoryLogStore::do_set_write_position(std::uint32_t offset) {
  if (powered_off_) return powered_off_error();
  const Gate gate = begin_write_op();
  const bool allowed = opened_ && !appended_since_open_ && offset <= capacity_ && !segments_.empty();
  // Erases [offset, offset + length) of the active segment in both images; pending bytes from
  // `offset` on are no longer pending (erased, or left as the durable image has them).
  auto erase = [&](std::uint32_t length) {
    Segment& active = segments_.back();
    std::fill(active.live.begin() + offset, active.live.begin() + offset + length, erased_);
    std::fill(active.durable.begin() + offset, active.durable.begin() + offset + length, erased_);
    if (active.pending_end > offset) active.pending_end = std::max(offset, active.pending_begin);
  };
  if (gate == Gate::kCutNow) {
    if (allowed) {
      const std::uint32_t length = capacity_ - offset;
      switch (cut_mode_) {
        case TornWrite::kNone:
          erase(0);
          break;
        case TornWrite::kAll:
          erase(length);
          break;
        case TornWrite::kPrefix:
        case TornWrite::kPrefixGarbage:
          erase(next_random() % (length + 1));
          break;
      }
    }
    return cut_power();
  }
  if (!opened_ || segments_.empty()) return not_open_error();
  if (appended_since_open_) return store_error(StatusCode::kFailedPrecondition);
  if (offset > capacity_) return store_error(StatusCode::kOutOfRange);
  TETHER_RETURN_IF_ERROR(take_injected(Op::kSetWritePosition));
  erase(capacity_ - offset);
  position_known_ = true;
  position_ = offset;
  return Status();
}

Result<std::uint64_t> MemoryLogStore::do_free_space() const {
  TETHER_RETURN_IF_ERROR(call_precondition());
  std::uint64_t space = position_known_ && !needs_roll_ ? capacity_ - position_ : 0;
  if (!medium_full_ && segments_.size() < max_segments_) {
    space += static_cast<std::uint64_t>(max_segments_ - segments_.size()) * capacity_;
  }
  return space;
}

}  // namespace tether::testing
