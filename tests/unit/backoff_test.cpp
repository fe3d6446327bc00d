// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "tether/backoff.hpp"

using namespace tether;
using std::chrono::milliseconds;

TEST_CASE("transient backoff doubles its ceiling up to the cap and jitters over the full range") {
  BackoffSettings settings;
  settings.initial = milliseconds(1000);
  settings.max = milliseconds(8000);
  // Over many seeds, the n-th delay stays within [0, min(max, initial*2^n)] and spreads widely.
  const long long ceilings[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (int i = 0; i < 6; ++i) {
    long long lo = 1 << 30, hi = -1;
    for (std::uint64_t seed = 1; seed <= 400; ++seed) {
      Backoff b(settings, seed);
      milliseconds d{0};
      for (int k = 0; k <= i; ++k) d = b.next_delay(FailureClass::kTransient);
      lo = std::min<long long>(lo, d.count());
      hi = std::max<long long>(hi, d.count());
    }
    INFO("attempt " << i);
    CHECK(lo >= 0);
    CHECK(hi <= ceilings[i]);
    CHECK(lo < ceilings[i] / 10);      // full jitter: some retries come early
    CHECK(hi > ceilings[i] * 9 / 10);  // ... and some late
  }
}

TEST_CASE("fatal-class backoff is long, never shorter than half its step, and capped") {
  BackoffSettings settings;
  settings.fatal_initial = milliseconds(300000);
  settings.fatal_max = milliseconds(3600000);
  Backoff b(settings, 42);
  const long long steps[] = {300000, 600000, 1200000, 2400000, 3600000, 3600000};
  for (long long step : steps) {
    const auto d = b.next_delay(FailureClass::kFatal).count();
    CHECK(d >= step / 2);
    CHECK(d <= step);
  }
}

TEST_CASE("reset starts the backoff over after a successful connection") {
  BackoffSettings settings;
  settings.initial = milliseconds(100);
  settings.max = milliseconds(100000);
  Backoff b(settings, 7);
  for (int i = 0; i < 10; ++i) (void)b.next_delay(FailureClass::kTransient);
  CHECK(b.consecutive_failures() == 10);
  b.reset();
  CHECK(b.consecutive_failures() == 0);
  CHECK(b.next_delay(FailureClass::kTransient).count() <= 100);
}

TEST_CASE("identity, authorization and client-id conflicts are fatal-class failures, network errors are not") {
  CHECK(classify_failure(Status(StatusCode::kUnauthenticated, Origin::kTls)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kUnauthenticated, Origin::kMqtt, 0x86)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kAborted, Origin::kMqtt, 0x8E)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kUnavailable, Origin::kMqtt, 0x85)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kInvalidArgument, Origin::kTls, 2)) == FailureClass::kFatal);
  CHECK(classify_failure(Status(StatusCode::kUnavailable, Origin::kSocket, 111)) == FailureClass::kTransient);
  CHECK(classify_failure(Status(StatusCode::kUnavailable, Origin::kMqtt, 0x8B)) == FailureClass::kTransient);
  CHECK(classify_failure(Status(StatusCode::kDeadlineExceeded, Origin::kAgent)) == FailureClass::kTransient);
}

TEST_CASE("Prng::uniform stays within its inclusive bound") {
  Prng p(1);
  bool saw_bound = false;
  for (int i = 0; i < 2000; ++i) {
    auto v = p.uniform(3);
    CHECK(v <= 3);
    saw_bound = saw_bound || v == 3;
  }
  CHECK(saw_bound);
  CHECK(p.uniform(0) == 0);
}
