// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// MemoryKvStore: an in-memory KvStore that models the port's atomicity and durability contract,
/// with fault injection, for unit and power-loss tests of the code that keeps records in a KvStore
/// (the shadow replica, the command journal) and of integrators' code.
///
/// ## Model
/// Two images of the key → value map: the *live* image (what calls see now) and the *durable* image
/// (what survives a power cut). A put() or remove() that returns ok has changed both (the contract:
/// durable when it returns ok); one that returns an error has changed neither. Each stored value
/// carries the CRC-32C computed when it was put, and get() and size() check it, as a real
/// implementation checks what it reads back.
///
/// ## Faults
/// - fail_next(op, status, count): the next `count` calls of `op` that get past the argument checks
///   (key, value size) return `status` and change nothing (an injected put failure keeps the old
///   value, as the contract says every failed put does).
/// - set_medium_full(true): put() returns kResourceExhausted/kStore/ENOSPC (28) and changes nothing;
///   remove() still works.
/// - corrupt(key, offset, xor_mask): bit rot at rest, in both images: get() and size() of the key
///   then return kDataLoss/kStore.
///
/// ## Power cuts and restart
/// - power_cut(): power is lost between two calls. Nothing is lost (every completed put and remove
///   is durable); from then on powered_off() is true and every call returns kUnavailable/kStore until
///   reboot().
/// - arm_power_cut(after_ops, seed): after `after_ops` more calls of put() or remove(), the next one
///   loses power while it runs: it returns kUnavailable/kStore, and the durable image keeps either
///   the old state of its key or the new one (the new value, or the key removed), chosen by `seed`
///   (`interrupted_op_applied()` says which); then the power is off as after power_cut(). Over
///   several seeds both outcomes occur; a test that interrupts every write point should try both.
/// - reboot(): power comes back and a new process starts: the live image becomes the durable image.
///   Fault scripts (fail_next, medium full, an armed cut that has not fired) and the counters belong
///   to the test and are kept.
///
/// ## Write operations and counters
/// write_ops() counts calls of put() and remove() made while powered, whatever their outcome: the
/// write points a power-loss test interrupts one by one (arm_power_cut(k, seed) for k in
/// [0, write_ops() of a clean run)). put_count() and remove_count() count successful calls (kept
/// across reboots), so tests can check write amplification.
///
/// The store needs no open(). Allocates (std::map, std::string, std::vector): it is a test double,
/// not part of the core; no exceptions, no RTTI, no OS calls. Not thread-safe, like the port.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tether/port/kv_store.hpp"
#include "tether/port/testing/failure_script.hpp"

namespace tether::testing {

class MemoryKvStore final : public port::KvStore {
 public:
  /// The calls fail_next() can make fail.
  enum class Op { kGet, kSize, kPut, kRemove };

  /// A store whose put() accepts values of up to `max_value_size` bytes.
  explicit MemoryKvStore(std::size_t max_value_size = 65536);

  // --- faults ----------------------------------------------------------------------------------
  /// The next `count` calls of `op` return `status` (not ok) without changing anything.
  void fail_next(Op op, Status status, int count = 1) {
    failures_.fail_next(static_cast<std::size_t>(op), status, count);
  }
  /// put() finds the medium full (see the file comment).
  void set_medium_full(bool full) { medium_full_ = full; }
  /// XORs `xor_mask` (not 0) into byte `offset` of the value of `key`, in both images. Returns false
  /// (and does nothing) when there is no such key or byte.
  bool corrupt(std::string_view key, std::size_t offset, std::uint8_t xor_mask);

  // --- power cuts ------------------------------------------------------------------------------
  /// Power is lost now, between calls.
  void power_cut();
  /// The call of put() or remove() after the next `after_ops` ones loses power (see the file comment).
  void arm_power_cut(std::uint64_t after_ops, std::uint32_t seed);
  /// Cancels an armed power cut that has not happened.
  void disarm_power_cut() { cut_armed_ = false; }
  /// True from a power cut until reboot().
  bool powered_off() const { return powered_off_; }
  /// Whether the put() or remove() that the last armed cut interrupted reached the durable image.
  bool interrupted_op_applied() const { return interrupted_op_applied_; }
  /// Power comes back, a new process starts (see the file comment).
  void reboot();

  // --- counters and inspection ------------------------------------------------------------------
  std::uint64_t write_ops() const { return write_ops_; }
  /// Successful put() calls.
  std::uint64_t put_count() const { return put_count_; }
  /// Successful remove() calls.
  std::uint64_t remove_count() const { return remove_count_; }
  /// Keys in the live image.
  std::size_t key_count() const { return live_.size(); }

 private:
  struct Entry {
    std::vector<std::uint8_t> value;
    std::uint32_t crc = 0;  // CRC-32C of `value` when it was put
  };
  using Image = std::map<std::string, Entry, std::less<>>;
  static constexpr std::size_t kOpCount = 4;

  Result<std::size_t> do_get(std::string_view key, Span<std::uint8_t> out) override;
  Result<std::size_t> do_size(std::string_view key) override;
  Status do_put(std::string_view key, Span<const std::uint8_t> value) override;
  Status do_remove(std::string_view key) override;
  std::size_t do_max_value_size() const override { return max_value_size_; }

  Result<const Entry*> find_checked(std::string_view key, Op op);
  // Counts a write point; true when the armed cut fires at this one.
  bool cut_fires();
  // A put (`new_entry`) or remove (null) of `key` loses power; see the .cpp.
  Status cut_during_write(std::string_view key, bool possible, const Entry* new_entry);

  std::size_t max_value_size_;
  Image live_;
  Image durable_;
  detail::FailureScript<kOpCount> failures_;
  bool medium_full_ = false;

  bool powered_off_ = false;
  bool cut_armed_ = false;
  std::uint64_t cut_countdown_ = 0;
  std::uint32_t cut_seed_ = 0;
  bool interrupted_op_applied_ = false;

  std::uint64_t write_ops_ = 0;
  std::uint64_t put_count_ = 0;
  std::uint64_t remove_count_ = 0;
};

}  // namespace tether::testing
