// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// MetricsSource port: reads a metrics::Snapshot (tether/metrics/snapshot.hpp) off the device.
///
/// `snapshot()` fills every part it can and says what it could not: a part whose source is
/// missing on this device (no thermal zone, say) stays at its empty or zero value and is not an
/// error; a part whose source exists but cannot be read or parsed is. Lists longer than their
/// capacity are sampled (uniformly at random), their `total` exact.
///
/// ## Errors
/// ok, or the first failure (the rest of the snapshot is still filled where possible):
/// kPermissionDenied (a file the process may not read; origin kOs, detail errno), kUnavailable
/// (other read errors; origin kOs, detail errno), kDataLoss/kMetrics (a file whose content does
/// not parse; `last_error()` of the implementation names the file and the line).
///
/// ## Threading
/// Not thread-safe: one thread (the agent's) makes every call. A snapshot must not spawn
/// processes, and should take well under a millisecond on a gateway with a thousand sockets.

#include "tether/metrics/snapshot.hpp"
#include "tether/status.hpp"

namespace tether::port {

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;

  /// Replaces `out` with what the device shows now.
  Status snapshot(metrics::Snapshot& out) { return do_snapshot(out); }

 private:
  virtual Status do_snapshot(metrics::Snapshot& out) = 0;
};

}  // namespace tether::port
