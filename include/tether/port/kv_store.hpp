// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// KvStore port: small named records (the shadow replica, the command journal) replaced atomically
/// and power-safely.
///
/// ## Model
/// A flat map from keys to byte values. Keys are 1..kMaxKvKey bytes of `[a-z0-9_.-]` (so every
/// implementation can use them as file names or flash record tags), not starting with `.`. A value
/// is 0..max_value_size() bytes.
///
/// ## Durability and atomicity
/// `put()` and `remove()` are durable when they return ok: after a crash or power cut at any point,
/// `get()` returns either the complete old value (or kNotFound) or the complete new value, never a
/// mix, a prefix or garbage. A `put()` or `remove()` that returns an error leaves the old value in
/// place (the same either/or holds if the power is cut during it). POSIX: write a temporary file,
/// fsync it, rename it over the old one, fsync the directory. Flash: two slots with a sequence
/// number and a CRC, or the RTOS's own power-safe KV (LittleFS, NVS, ...).
///
/// ## Integrity
/// A value whose bytes were damaged at rest (bit rot, a truncated or hand-edited file) is reported
/// as kDataLoss by `get()` and `size()`, never returned: implementations store a checksum with the
/// value (CRC-32C: tether/crc32c.hpp).
///
/// ## Errors (origin kStore)
/// - kInvalidArgument: a key that breaks the rules above (detail = byte offset of the first bad
///   byte, or the key's length when it is empty or too long)
/// - kOutOfRange: a value longer than max_value_size() (detail = min(length, 65535))
/// - kNotFound: get(), size() or remove() of a key that does not exist
/// - kResourceExhausted: get() into a buffer too small (detail = min(value length, 65535); nothing
///   is copied; call size() for the length); put() on a full medium (ENOSPC/EDQUOT)
/// - kDataLoss: the stored value fails its checksum or is truncated, or its framing is damaged
///   (get, size), or the medium reported an I/O error (EIO; every failed fsync)
/// - kPermissionDenied: EACCES, EPERM, EROFS
/// - kUnavailable: any other medium failure (detail = errno, or 0 without errno)
/// - kFailedPrecondition: the implementation is not open: its own open() (if it has one) has not
///   succeeded.
///
/// ## Threading
/// Not thread-safe: one thread (the agent's) makes every call.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

#ifndef TETHER_MAX_KV_KEY
#define TETHER_MAX_KV_KEY 48  ///< longest KvStore key (bytes)
#endif

namespace tether {

inline constexpr std::size_t kMaxKvKey = TETHER_MAX_KV_KEY;

/// Checks a KvStore key against the rules in kv_store.hpp: ok or kInvalidArgument/kStore (detail as
/// documented there). Implementations call it first; the core calls it for keys it builds.
Status validate_kv_key(std::string_view key);

namespace port {

class KvStore {
 public:
  virtual ~KvStore() = default;

  /// Copies the value of `key` into `out` and returns its length. Errors: see the file comment
  /// (kInvalidArgument, kNotFound, kResourceExhausted when `out` is too small, kDataLoss, ...).
  Result<std::size_t> get(std::string_view key, Span<std::uint8_t> out) { return do_get(key, out); }

  /// The length of the value of `key` (without reading it into a caller buffer). Errors as get(),
  /// except kResourceExhausted.
  Result<std::size_t> size(std::string_view key) { return do_size(key); }

  /// Replaces (or creates) the value of `key` atomically and durably. Errors: kInvalidArgument,
  /// kOutOfRange, kResourceExhausted (medium full), kDataLoss (I/O error), kPermissionDenied,
  /// kUnavailable; on every error the old value is kept.
  Status put(std::string_view key, Span<const std::uint8_t> value) { return do_put(key, value); }

  /// Removes `key` durably. Returns ok, kNotFound (no such key), or a medium error as put().
  Status remove(std::string_view key) { return do_remove(key); }

  /// Largest value put() accepts.
  std::size_t max_value_size() const { return do_max_value_size(); }

 private:
  virtual Result<std::size_t> do_get(std::string_view key, Span<std::uint8_t> out) = 0;
  virtual Result<std::size_t> do_size(std::string_view key) = 0;
  virtual Status do_put(std::string_view key, Span<const std::uint8_t> value) = 0;
  virtual Status do_remove(std::string_view key) = 0;
  virtual std::size_t do_max_value_size() const = 0;
};

}  // namespace port
}  // namespace tether
