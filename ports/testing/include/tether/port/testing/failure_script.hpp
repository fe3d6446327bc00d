// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// The fakes' scripted failures (what their fail_next() keeps): for each operation, a status that
/// its next calls return. Used by MemoryLogStore and MemoryKvStore.

#include <cstddef>

#include "tether/contract.hpp"
#include "tether/status.hpp"

namespace tether::testing::detail {

template <std::size_t kOps>
class FailureScript {
 public:
  /// The next `count` calls of operation `op` (< kOps) return `status` (not ok); a count of 0 or
  /// less cancels the script of `op`.
  void fail_next(std::size_t op, Status status, int count) {
    TETHER_EXPECTS(!status.ok());
    TETHER_EXPECTS(op < kOps);
    if (op >= kOps || status.ok()) return;
    entries_[op] = Entry{status, count > 0 ? count : 0};
  }

  /// What the call of `op` being made returns: the scripted status (using one up), or ok.
  Status take(std::size_t op) {
    Entry& entry = entries_[op];
    if (entry.remaining <= 0) return Status();
    --entry.remaining;
    return entry.status;
  }

 private:
  struct Entry {
    Status status;
    int remaining = 0;
  };
  Entry entries_[kOps];
};

}  // namespace tether::testing::detail
