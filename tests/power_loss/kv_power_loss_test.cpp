// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Power-loss suite for the KvStore contract over MemoryKvStore (label power-loss): a scenario of puts
// and removes is run once cleanly to count its write operations; then, for every write point k and
// for seeds that make the interrupted call land and not land, the scenario runs again with the
// power cut during write k, the device reboots, and the invariants are checked:
//   1. every put() and remove() that returned ok before the cut is durable;
//   2. the interrupted call's key holds its complete old value (or none) or its complete new value
//      (or none, for a remove), nothing else;
//   3. after the reboot the store works: every key can be read, replaced and removed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/port/testing/memory_kv_store.hpp"

using namespace tether;
using testing::MemoryKvStore;

namespace {

using Bytes = std::vector<std::uint8_t>;
using State = std::map<std::string, Bytes>;  // a key absent from the map has no value

struct Step {
  std::string key;
  std::optional<Bytes> value;  // nullopt: remove
};

Bytes value_of(int step, std::size_t size) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(step * 37 + i * 11);
  return bytes;
}

// Puts that create, grow, shrink and empty values, removes of present and missing keys, and a put
// the store refuses (too large), over three keys.
std::vector<Step> scenario() {
  constexpr std::size_t kMax = 512;
  std::vector<Step> steps;
  steps.push_back({"shadow", value_of(0, 100)});
  steps.push_back({"journal", value_of(1, 10)});
  steps.push_back({"shadow", value_of(2, 400)});
  steps.push_back({"cursor", value_of(3, 0)});
  steps.push_back({"shadow", value_of(4, 3)});
  steps.push_back({"journal", std::nullopt});
  steps.push_back({"journal", std::nullopt});        // not found
  steps.push_back({"cursor", value_of(7, kMax + 1)});  // out of range
  steps.push_back({"journal", value_of(8, kMax)});
  steps.push_back({"cursor", value_of(9, 8)});
  steps.push_back({"shadow", std::nullopt});
  steps.push_back({"shadow", value_of(11, 50)});
  return steps;
}

// The state after `step`, if it succeeds, applied to `state`.
State apply(State state, const Step& step, std::size_t max_value_size) {
  if (!step.value) {
    state.erase(step.key);
  } else if (step.value->size() <= max_value_size) {
    state[step.key] = *step.value;
  }
  return state;
}

// What get() gives for `key` now: the value, or nullopt for kNotFound (anything else fails).
std::optional<Bytes> read(MemoryKvStore& store, const std::string& key) {
  Bytes out(store.max_value_size());
  Result<std::size_t> n = store.get(key, Span<std::uint8_t>(out.data(), out.size()));
  if (n.status().code() == StatusCode::kNotFound) return std::nullopt;
  REQUIRE(n.status() == Status());
  out.resize(*n);
  return out;
}

std::optional<Bytes> lookup(const State& state, const std::string& key) {
  const auto it = state.find(key);
  if (it == state.end()) return std::nullopt;
  return it->second;
}

// Runs the steps until one fails with kUnavailable (the power cut). Returns the status of each step
// that ran, the cut one last.
std::vector<Status> run(MemoryKvStore& store, const std::vector<Step>& steps) {
  std::vector<Status> statuses;
  for (const Step& step : steps) {
    const Status status = step.value ? store.put(step.key, Span<const std::uint8_t>(step.value->data(), step.value->size()))
                                     : store.remove(step.key);
    statuses.push_back(status);
    if (status.code() == StatusCode::kUnavailable) break;
  }
  return statuses;
}

}  // namespace

TEST_CASE("kv power loss: a put or remove interrupted at any write point leaves the old or the new value and loses nothing acknowledged") {
  const std::vector<Step> steps = scenario();
  constexpr std::size_t kMax = 512;
  const std::vector<std::string> keys = {"shadow", "journal", "cursor"};

  // The states the scenario passes through: states[i] before step i.
  std::vector<State> states{State{}};
  for (const Step& step : steps) states.push_back(apply(states.back(), step, kMax));

  MemoryKvStore clean(kMax);
  const std::vector<Status> clean_statuses = run(clean, steps);
  REQUIRE(clean_statuses.size() == steps.size());
  const std::uint64_t write_points = clean.write_ops();
  REQUIRE(write_points == steps.size());
  for (const std::string& key : keys) CHECK(read(clean, key) == lookup(states.back(), key));

  int applied = 0;
  int not_applied = 0;
  for (std::uint64_t k = 0; k < write_points; ++k) {
    for (std::uint32_t seed = 0; seed < 8; ++seed) {
      INFO("cut at write " << k << ", seed " << seed);
      MemoryKvStore store(kMax);
      store.arm_power_cut(k, seed);
      const std::vector<Status> statuses = run(store, steps);
      REQUIRE(statuses.size() == k + 1);
      REQUIRE(store.powered_off());
      // Before the cut every call answered as in the clean run.
      CHECK(std::equal(statuses.begin(), statuses.end() - 1, clean_statuses.begin()));
      const std::size_t interrupted = k;
      store.reboot();

      const State& before = states[interrupted];
      const State& after = states[interrupted + 1];
      const std::string& cut_key = steps[interrupted].key;
      for (const std::string& key : keys) {
        INFO("key " << key);
        const std::optional<Bytes> now = read(store, key);
        if (key != cut_key) {
          CHECK(now == lookup(before, key));  // acknowledged before the cut: durable
        } else if (store.interrupted_op_applied()) {
          CHECK(now == lookup(after, key));
        } else {
          CHECK(now == lookup(before, key));
        }
      }
      if (lookup(before, cut_key) != lookup(after, cut_key)) {
        (store.interrupted_op_applied() ? applied : not_applied) += 1;
      }

      // The store works after the reboot.
      for (const std::string& key : keys) {
        const Bytes fresh = value_of(99, 7);
        REQUIRE(store.put(key, Span<const std::uint8_t>(fresh.data(), fresh.size())) == Status());
        CHECK(read(store, key) == fresh);
        REQUIRE(store.remove(key) == Status());
        CHECK(read(store, key) == std::nullopt);
      }
    }
  }
  // Both outcomes of an interrupted call that would change something were exercised.
  CHECK(applied > 0);
  CHECK(not_applied > 0);
}
