// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/testing/memory_kv_store.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tether/contract.hpp"
#include "tether/crc32c.hpp"

namespace tether::testing {

namespace {
// errno ENOSPC on Linux and newlib; spelled out so the fake reports the same detail everywhere.
constexpr std::uint16_t kEnospc = 28;

Status store_error(StatusCode code, std::size_t detail = 0) {
  return Status(code, Origin::kStore, static_cast<std::uint16_t>(std::min<std::size_t>(detail, 0xFFFF)));
}
Status powered_off_error() { return store_error(StatusCode::kUnavailable); }

// A well-mixed bit of the seed (MurmurHash3's finaliser), so neighbouring seeds differ.
bool seed_bit(std::uint32_t seed) {
  seed ^= seed >> 16;
  seed *= 0x85EBCA6Bu;
  seed ^= seed >> 13;
  seed *= 0xC2B2AE35u;
  seed ^= seed >> 16;
  return (seed & 1u) != 0;
}
}  // namespace

MemoryKvStore::MemoryKvStore(std::size_t max_value_size) : max_value_size_(max_value_size) {}

// --- faults -------------------------------------------------------------------------------------

bool MemoryKvStore::corrupt(std::string_view key, std::size_t offset, std::uint8_t xor_mask) {
  TETHER_EXPECTS(xor_mask != 0);
  const auto live = live_.find(key);
  if (live == live_.end() || offset >= live->second.value.size()) return false;
  live->second.value[offset] = static_cast<std::uint8_t>(live->second.value[offset] ^ xor_mask);
  const auto durable = durable_.find(key);
  if (durable != durable_.end() && offset < durable->second.value.size()) {
    durable->second.value[offset] = static_cast<std::uint8_t>(durable->second.value[offset] ^ xor_mask);
  }
  return true;
}

// --- power cuts -----------------------------------------------------------------------------------

void MemoryKvStore::power_cut() {
  powered_off_ = true;
  cut_armed_ = false;
}

void MemoryKvStore::arm_power_cut(std::uint64_t after_ops, std::uint32_t seed) {
  cut_armed_ = true;
  cut_countdown_ = after_ops;
  cut_seed_ = seed;
}

void MemoryKvStore::reboot() {
  powered_off_ = false;
  live_ = durable_;
}

bool MemoryKvStore::cut_fires() {
  ++write_ops_;
  if (!cut_armed_) return false;
  if (cut_countdown_ > 0) {
    --cut_countdown_;
    return false;
  }
  return true;
}

// A put (`new_entry`) or remove (`new_entry` null) of `key` loses power. If it could have changed
// something (`possible`), the seed decides whether the change reached the durable image.
Status MemoryKvStore::cut_during_write(std::string_view key, bool possible, const Entry* new_entry) {
  interrupted_op_applied_ = possible && seed_bit(cut_seed_);
  if (interrupted_op_applied_) {
    if (new_entry != nullptr) {
      durable_[std::string(key)] = *new_entry;
    } else if (const auto it = durable_.find(key); it != durable_.end()) {
      durable_.erase(it);
    }
  }
  power_cut();
  return powered_off_error();
}

// --- the port -------------------------------------------------------------------------------------

// The live entry of `key` after the power, key and injection checks, with its CRC checked.
Result<const MemoryKvStore::Entry*> MemoryKvStore::find_checked(std::string_view key, Op op) {
  if (powered_off_) return powered_off_error();
  TETHER_RETURN_IF_ERROR(validate_kv_key(key));
  TETHER_RETURN_IF_ERROR(failures_.take(static_cast<std::size_t>(op)));
  const auto it = live_.find(key);
  if (it == live_.end()) return store_error(StatusCode::kNotFound);
  const Entry& entry = it->second;
  if (crc32c(Span<const std::uint8_t>(entry.value.data(), entry.value.size())) != entry.crc) {
    return store_error(StatusCode::kDataLoss);
  }
  return &entry;
}

Result<std::size_t> MemoryKvStore::do_get(std::string_view key, Span<std::uint8_t> out) {
  TETHER_ASSIGN_OR_RETURN(const Entry* entry, find_checked(key, Op::kGet));
  const std::size_t length = entry->value.size();
  if (out.size() < length) return store_error(StatusCode::kResourceExhausted, length);
  if (length > 0) std::memcpy(out.data(), entry->value.data(), length);
  return length;
}

Result<std::size_t> MemoryKvStore::do_size(std::string_view key) {
  TETHER_ASSIGN_OR_RETURN(const Entry* entry, find_checked(key, Op::kSize));
  return entry->value.size();
}

Status MemoryKvStore::do_put(std::string_view key, Span<const std::uint8_t> value) {
  if (powered_off_) return powered_off_error();
  const bool cut = cut_fires();
  const Status key_status = validate_kv_key(key);
  const bool fits = value.size() <= max_value_size_;
  Entry entry;
  if (key_status.ok() && fits) {
    entry.value.assign(value.begin(), value.end());
    entry.crc = crc32c(value);
  }
  if (cut) return cut_during_write(key, key_status.ok() && fits && !medium_full_, &entry);
  TETHER_RETURN_IF_ERROR(key_status);
  if (!fits) return store_error(StatusCode::kOutOfRange, value.size());
  TETHER_RETURN_IF_ERROR(failures_.take(static_cast<std::size_t>(Op::kPut)));
  if (medium_full_) return store_error(StatusCode::kResourceExhausted, kEnospc);
  durable_[std::string(key)] = entry;
  live_[std::string(key)] = std::move(entry);
  ++put_count_;
  return Status();
}

Status MemoryKvStore::do_remove(std::string_view key) {
  if (powered_off_) return powered_off_error();
  const bool cut = cut_fires();
  const Status key_status = validate_kv_key(key);
  if (cut) return cut_during_write(key, key_status.ok(), nullptr);
  TETHER_RETURN_IF_ERROR(key_status);
  TETHER_RETURN_IF_ERROR(failures_.take(static_cast<std::size_t>(Op::kRemove)));
  const auto it = live_.find(key);
  if (it == live_.end()) return store_error(StatusCode::kNotFound);
  live_.erase(it);
  durable_.erase(std::string(key));
  ++remove_count_;
  return Status();
}

}  // namespace tether::testing
