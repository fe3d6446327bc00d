// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// MemoryLogStore: an in-memory LogStore that models the port's durability contract exactly, with
/// fault injection, for unit and power-loss tests of the offline queue (and of integrators' code).
///
/// ## Model
/// Each segment has two byte images: the *live* image (what reads see now: the page cache) and the
/// *durable* image (what survives a power cut). Appends change only the live image; a successful
/// sync() copies what was appended into the durable image. roll() and drop_head() change the list
/// of segments durably at once; set_write_position() erases durably. The erased value (0x00 for
/// files, 0xFF for NOR flash) is a constructor argument so tests can check that readers accept both.
///
/// ## Faults
/// - fail_next(op, status, count): the next `count` calls of `op` return `status` and change
///   nothing. An injected append failure (other than kOutOfRange or kFailedPrecondition, which
///   write nothing by contract) leaves the active segment in an unknown state: appends return
///   kFailedPrecondition until roll(). An injected sync failure also does, and the bytes appended
///   since the previous successful sync stay non-durable for good (like Linux after a failed
///   fsync: a later successful sync does not bring them back); a power cut may still keep them.
/// - set_medium_full(true): roll() returns kResourceExhausted/kStore/ENOSPC (28) and free_space()
///   counts only what is left of the active segment.
/// - corrupt(): bit rot, in both images.
///
/// ## Process crash, power cut, restart
/// - crash_process(): the process dies, the machine stays up. Every appended byte is still there
///   (page cache) but unsynced bytes stay non-durable: a later power cut can still lose or tear
///   them. The store is closed as a new process would find it (see "restart" below).
/// - power_cut_now(mode, seed): power is lost between two calls. arm_power_cut(after_ops, mode,
///   seed): power is lost during a later mutating call, for tests that interrupt every write point
///   of a scenario. Either way, what survives in each segment is the durable image plus, for the
///   bytes appended since the last successful sync, what `mode` says (TornWrite). From then on
///   powered_off() is true and every call fails with kUnavailable/kStore (reads too) until
///   reboot().
/// - reboot(): power comes back (if it was cut) and a new process starts: the object is reset in
///   place (tests keep using the same object, as a device keeps its flash). The store is closed:
///   open() must be called; the write position is unknown (write_position() reads 0) and append()
///   returns kFailedPrecondition until set_write_position(). Without a power cut, reboot() is
///   crash_process().
/// Fault scripts (fail_next, an armed cut that has not fired, medium full) and the counters belong
/// to the test, not to the process: restarts keep them.
///
/// ## Write operations
/// write_ops() counts calls of append, sync, roll, drop_head and set_write_position made while
/// powered, whatever their outcome, and open() when it creates the first segment: the write points
/// a power-loss test interrupts one by one (arm_power_cut(k, ...) for k in [0, write_ops of a
/// clean run)).
///
/// Segment ids start at 1. Calls other than open() before a successful open() return
/// kFailedPrecondition/kStore. Allocates (std::vector): it is a test double, not part of the core.
/// Not thread-safe, like the port.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/port/log_store.hpp"
#include "tether/port/testing/failure_script.hpp"

namespace tether::testing {

class MemoryLogStore final : public port::LogStore {
 public:
  /// The calls fail_next() can make fail.
  enum class Op { kAppend, kSync, kRoll, kDropHead, kRead, kSetWritePosition };

  /// What survives of the bytes appended since the last successful sync when power is cut.
  enum class TornWrite {
    kNone,           ///< nothing: they vanish
    kPrefix,         ///< a prefix of them (its length chosen by the seed, possibly 0 or all)
    kPrefixGarbage,  ///< a shorter prefix, then 1 to 64 pseudo-random bytes (seeded) where erased
                     ///< bytes or the rest of them were (never past the segment's end)
    kAll,            ///< all of them
  };

  /// A store of at most `max_segments` segments of `segment_capacity` bytes, reading
  /// `erased_value` where nothing was written. Both sizes must be at least 1 (contract).
  MemoryLogStore(std::uint32_t segment_capacity, std::size_t max_segments, std::uint8_t erased_value = 0x00);

  // --- faults ----------------------------------------------------------------------------------
  /// The next `count` calls of `op` return `status` (not ok) without changing anything.
  void fail_next(Op op, Status status, int count = 1);
  /// The medium has no room for another segment (see the file comment).
  void set_medium_full(bool full) { medium_full_ = full; }
  /// XORs `xor_mask` into byte `offset` of segment `id`, in both images. Returns false (and does
  /// nothing) when there is no such segment or byte.
  bool corrupt(SegmentId id, std::uint32_t offset, std::uint8_t xor_mask);

  // --- crashes and power cuts --------------------------------------------------------------------
  /// Mutating calls so far (see the file comment).
  std::uint64_t write_ops() const { return write_ops_; }
  /// After `after_ops` more mutating calls have run, the next one loses power: it fails with
  /// kUnavailable/kStore, as does every call after it. What that call did durably: an append's
  /// bytes join the unsynced bytes that `mode` tears; a sync is the same as none (`mode` decides
  /// what of the unsynced bytes survives); roll(), drop_head() and open()'s first segment happen
  /// durably or not at all (kNone: not; kAll: yes; the prefix modes: as the seed says);
  /// set_write_position() erases a prefix of its range (none, all, or seeded).
  void arm_power_cut(std::uint64_t after_ops, TornWrite mode, std::uint32_t seed);
  /// Cancels an armed power cut that has not happened.
  void disarm_power_cut() { cut_armed_ = false; }
  /// Power is lost now (between calls).
  void power_cut_now(TornWrite mode, std::uint32_t seed);
  /// True from a power cut until reboot().
  bool powered_off() const { return powered_off_; }
  /// The process dies without power loss (see the file comment).
  void crash_process();
  /// Power comes back, a new process starts (see the file comment).
  void reboot();

  // --- counters (successful calls; kept across restarts) -----------------------------------------
  std::uint64_t syncs() const { return syncs_; }
  std::uint64_t appends() const { return appends_; }
  std::uint64_t bytes_appended() const { return bytes_appended_; }

  std::uint8_t erased_value() const { return erased_; }

 private:
  struct Segment {
    SegmentId id = 0;
    std::vector<std::uint8_t> live;     // what reads see now
    std::vector<std::uint8_t> durable;  // what survives a power cut
    // Bytes appended since the last successful sync: [pending_begin, pending_end) of `live`.
    std::uint32_t pending_begin = 0;
    std::uint32_t pending_end = 0;
    // A sync failed over the pending bytes: no later sync makes them durable.
    bool sync_failed = false;
  };
  static constexpr std::size_t kOpCount = 6;
  // Outcome of the bookkeeping done at the start of a mutating call.
  enum class Gate { kProceed, kCutNow };

  Status do_open() override;
  std::size_t do_segment_count() const override { return segments_.size(); }
  SegmentId do_segment_id(std::size_t index) const override;
  std::uint32_t do_segment_capacity() const override { return capacity_; }
  std::size_t do_max_segments() const override { return max_segments_; }
  std::uint32_t do_write_position() const override { return position_known_ ? position_ : 0; }
  Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const override;
  Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) override;
  Status do_sync() override;
  Result<SegmentId> do_roll() override;
  Status do_drop_head() override;
  Status do_set_write_position(std::uint32_t offset) override;
  Result<std::uint64_t> do_free_space() const override;

  Gate begin_write_op();
  Status take_injected(Op op) const;
  Status call_precondition() const;
  Segment make_segment(SegmentId id) const;
  const Segment* find(SegmentId id) const;
  // Applies the torn-write mode and switches the power off; returns the status the cut call gets.
  Status cut_power();
  bool cut_lets_op_happen();
  std::uint32_t next_random();
  void restart_process();

  std::uint32_t capacity_;
  std::size_t max_segments_;
  std::uint8_t erased_;
  std::vector<Segment> segments_;
  bool opened_ = false;
  bool position_known_ = false;
  std::uint32_t position_ = 0;
  bool appended_since_open_ = false;
  bool needs_roll_ = false;
  bool medium_full_ = false;
  mutable detail::FailureScript<kOpCount> failures_;

  bool powered_off_ = false;
  bool cut_armed_ = false;
  std::uint64_t cut_countdown_ = 0;
  TornWrite cut_mode_ = TornWrite::kNone;
  std::uint32_t cut_seed_ = 0;
  std::uint64_t rng_state_ = 0;

  std::uint64_t write_ops_ = 0;
  std::uint64_t syncs_ = 0;
  std::uint64_t appends_ = 0;
  std::uint64_t bytes_appended_ = 0;
};

}  // namespace tether::testing
