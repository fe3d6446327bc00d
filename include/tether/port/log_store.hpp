// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// LogStore port: the append-only, segmented byte log under the durable offline queue.
///
/// ## Model
/// A store is an ordered list of at most `max_segments()` segments, each `segment_capacity()` bytes,
/// numbered by increasing SegmentId (ids are never reused while the store exists). Only the newest
/// segment (the *active* one) is written, strictly sequentially, from its write position. Bytes of a
/// segment that were never written read as the *erased value*: all 0x00 (files) or all 0xFF (NOR
/// flash); a reader must accept both. The store knows nothing of records: framing, CRCs, sequence
/// numbers and recovery live in the core (tether/offline/record.hpp), so the same recovery runs on
/// every implementation.
///
/// ## Durability
/// `append()` only buffers (page cache, RAM). `sync()` is the durability point: once it returns ok,
/// every byte appended before it survives a crash or power cut. Bytes appended after the last
/// successful sync may, after a power cut, be entirely present, entirely absent, or present up to an
/// arbitrary byte (a *torn* tail), possibly followed by garbage — never anything else: bytes synced
/// before are not touched. `roll()` makes the new segment's existence durable (on POSIX: file
/// preallocated, file and directory synced) but not the data of the previous one, so after a power
/// cut *any* segment written since the last successful sync may end in a torn tail; recovery must
/// accept that. After a failed `sync()`, `append()` returns kFailedPrecondition until `roll()`, and
/// the bytes appended before the failure never become durable, even if a later sync succeeds (as
/// Linux behaves after a failed fsync).
///
/// ## Reopening
/// After `open()` the active segment's write position is unknown to the store (it does not track
/// it durably: that would cost a second sync per group commit): write_position() reads 0 and
/// append() returns kFailedPrecondition until `set_write_position()`. The core scans the active
/// segment and calls `set_write_position()` with the end of the last intact record; the store erases
/// everything beyond it so a later scan never meets stale bytes. A store reopened with a smaller
/// max_segments() keeps the segments it has (segment_count() may exceed it) and roll() refuses.
///
/// ## Errors
/// Every call other than open() returns kFailedPrecondition (origin kStore) before a successful
/// open(). Medium errors carry the errno as detail and map the same way everywhere: EACCES, EPERM,
/// EROFS → kPermissionDenied; ENOSPC, EDQUOT → kResourceExhausted; EIO → kDataLoss (and every
/// failed sync is kDataLoss); anything else → kUnavailable. Implementations without errno use 0.
///
/// ## Threading
/// Not thread-safe: one thread (the agent's) makes every call.

#include <cstddef>
#include <cstdint>

#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether {

using SegmentId = std::uint32_t;

namespace port {

class LogStore {
 public:
  virtual ~LogStore() = default;

  /// Opens (or creates) the store and lists its segments; must be called once before any other call.
  /// A store with no segment gets one (empty) active segment. Returns ok, or:
  /// - kFailedPrecondition: opened already
  /// - kPermissionDenied (origin kStore, detail errno): the location cannot be created or accessed
  /// - kDataLoss (kStore): the store's layout is damaged beyond a torn tail (a segment of the wrong
  ///   size, an unreadable segment); the detail and the implementation's log say which
  /// - kResourceExhausted (kStore, ENOSPC): no space for the first segment
  /// - kFailedPrecondition (kStore, EWOULDBLOCK): another process holds the store
  /// - kInvalidArgument (kStore): the implementation's settings are unusable
  /// - kUnavailable (kStore, errno): any other medium failure
  Status open() { return do_open(); }

  /// Number of segments, oldest first; at least 1 after a successful open().
  std::size_t segment_count() const { return do_segment_count(); }
  /// Id of segment `index` (0 = oldest, segment_count() - 1 = active). Contract: index in range.
  SegmentId segment_id(std::size_t index) const { return do_segment_id(index); }
  /// Bytes per segment; constant for the store's life.
  std::uint32_t segment_capacity() const { return do_segment_capacity(); }
  /// Most segments the store will hold (roll() fails beyond it).
  std::size_t max_segments() const { return do_max_segments(); }
  /// Write position in the active segment (bytes used), after set_write_position() or appends.
  std::uint32_t write_position() const { return do_write_position(); }

  /// Reads `out.size()` bytes (fewer only at the end of the segment's capacity) of segment `id`
  /// from `offset`. Returns the number of bytes read, or:
  /// - kNotFound: no segment `id`
  /// - kOutOfRange: `offset` > segment_capacity()
  /// - kDataLoss / kUnavailable (kStore, errno): the medium failed to read
  Result<std::size_t> read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const {
    return do_read(id, offset, out);
  }

  /// Appends `bytes` to the active segment at the write position and returns the offset they start
  /// at. Never splits: returns kOutOfRange (nothing written) when they do not fit in what is left of
  /// the active segment (call roll()). Other errors: kFailedPrecondition (not open, or a previous
  /// failure left the active segment in an unknown state: roll() first), kDataLoss/kUnavailable
  /// (kStore, errno: the medium failed; what was written of `bytes` is unknown).
  Result<std::uint32_t> append(Span<const std::uint8_t> bytes) { return do_append(bytes); }

  /// Makes every byte appended so far durable (the group commit). Returns ok, or kDataLoss (kStore,
  /// errno): the medium reported a failure; bytes appended since the previous successful sync may be
  /// lost (they must be treated as not durable).
  Status sync() { return do_sync(); }

  /// Starts a new, empty active segment. Returns its id, or:
  /// - kResourceExhausted (kStore, 0): max_segments() exist already (drop_head() first), or the
  ///   segment ids are used up (after 2^32 - 1 segments)
  /// - kResourceExhausted (kStore, ENOSPC): the medium has no room for another segment
  /// - kUnavailable / kDataLoss (kStore, errno): the medium failed
  Result<SegmentId> roll() { return do_roll(); }

  /// Deletes the oldest segment. Returns ok, kFailedPrecondition (it is the only, active segment),
  /// or a medium error (see Errors). Durable before it returns ok; after an error the segment may be
  /// gone from the medium but not its durability (it is gone from the list either way).
  Status drop_head() { return do_drop_head(); }

  /// After open(): sets the active segment's write position to `offset` and erases the bytes from
  /// there to the end of the segment (durably). Allowed until the first append after open() (also
  /// after a roll() without appends). Returns ok, kOutOfRange (offset > capacity),
  /// kFailedPrecondition (appends were made since open()), or a medium error (see Errors).
  Status set_write_position(std::uint32_t offset) { return do_set_write_position(offset); }

  /// Bytes that could still be appended: what is left of the active segment plus a full segment for
  /// each segment that roll() could still add and the medium has room for (segments are allocated
  /// whole).
  Result<std::uint64_t> free_space() const { return do_free_space(); }

 private:
  virtual Status do_open() = 0;
  virtual std::size_t do_segment_count() const = 0;
  virtual SegmentId do_segment_id(std::size_t index) const = 0;
  virtual std::uint32_t do_segment_capacity() const = 0;
  virtual std::size_t do_max_segments() const = 0;
  virtual std::uint32_t do_write_position() const = 0;
  virtual Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const = 0;
  virtual Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) = 0;
  virtual Status do_sync() = 0;
  virtual Result<SegmentId> do_roll() = 0;
  virtual Status do_drop_head() = 0;
  virtual Status do_set_write_position(std::uint32_t offset) = 0;
  virtual Result<std::uint64_t> do_free_space() const = 0;
};

}  // namespace port
}  // namespace tether
