// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// DESIGN.md §2.5: steady-state operation does not touch the heap. This file replaces the global
// operator new of the unit-test binary with one that counts calls while a window is open, and
// drives the agent through its steady-state work over an MqttClient that itself never allocates.

// ASan and TSan bring their own operator new; replacing it under them mixes allocators. The
// dev, noexcept and cross builds run this file; the sanitizer builds leave it out.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TETHER_TEST_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TETHER_TEST_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef TETHER_TEST_COUNT_ALLOCATIONS
#define TETHER_TEST_COUNT_ALLOCATIONS 1
#endif

#if TETHER_TEST_COUNT_ALLOCATIONS
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/ram_log_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

namespace {
bool g_counting = false;
long g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();  // no exceptions in this binary's allocator: out of memory is fatal
}
// These are the replacements of the global operators, so malloc behind new and free behind delete
// is the match. GCC 12 at -Os (the cross presets) inlines a make_unique's new and delete into one
// function, sees malloc and free across the operators and calls it a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace tether;
using std::chrono::milliseconds;

// An MqttClient with fixed storage: connects on the first poll, acknowledges every publish on the
// next poll, and delivers one queued inbound message per poll.
class StaticMqttClient final : public port::MqttClient {
 public:
  char inbound_topic[64] = {};
  char inbound_payload[64] = {};
  bool inbound_pending = false;
  long publishes = 0;

 private:
  void do_set_listener(port::MqttListener* listener) override { listener_ = listener; }
  Status do_connect(const ConnectOptions&) override {
    connect_pending_ = true;
    return Status();
  }
  Status do_disconnect() override {
    connected_ = false;
    return Status();
  }
  Result<PacketToken> do_publish(const OutgoingMessage&) override {
    ++publishes;
    if (ack_count_ == 8) return Status(StatusCode::kResourceExhausted, Origin::kMqtt);  // window full
    acks_[ack_count_++] = ++token_;
    return token_;
  }
  Result<PacketToken> do_subscribe(std::string_view, Qos) override { return ++token_; }
  Result<PacketToken> do_unsubscribe(std::string_view) override { return ++token_; }
  Status do_poll(Milliseconds) override {
    if (listener_ == nullptr) return Status();
    if (connect_pending_) {
      connect_pending_ = false;
      connected_ = true;
      ConnectionEvent e;
      e.state = ConnectionState::kConnected;
      listener_->on_connection(e);
    }
    // Snapshot: a completion handler may publish again (the offline queue refills its window).
    PacketToken due[8];
    const std::size_t n = ack_count_ < 8 ? ack_count_ : 8;
    for (std::size_t i = 0; i < n; ++i) due[i] = acks_[i];
    for (std::size_t i = n; i < ack_count_ && i < 8; ++i) acks_[i - n] = acks_[i];
    ack_count_ -= n;
    for (std::size_t i = 0; i < n; ++i) listener_->on_publish_complete(due[i], Status());
    if (inbound_pending) {
      inbound_pending = false;
      InboundMessage m;
      m.topic = inbound_topic;
      m.payload = as_bytes(inbound_payload);
      m.qos = Qos::k1;
      listener_->on_message(m);
    }
    return Status();
  }
  void do_wake() override {}
  bool do_connected() const override { return connected_; }

  port::MqttListener* listener_ = nullptr;
  bool connect_pending_ = false;
  bool connected_ = false;
  PacketToken token_ = 0;
  PacketToken acks_[8] = {};
  std::size_t ack_count_ = 0;
};

}  // namespace

TEST_CASE("the agent publishes, dispatches messages and fires timers without heap allocations") {
  testing::SimulatedClock clock;
  StaticMqttClient mqtt;
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  Agent agent(mqtt, clock, config, nullptr, 1);
  long received = 0;
  long ticks = 0;
  REQUIRE(agent.subscribe("dt/device-1/inbox", Qos::k1, [&received](const InboundMessage&) { ++received; }).ok());
  REQUIRE(agent.start_timer(milliseconds(10), [&ticks] { ++ticks; }).ok());
  REQUIRE(agent.start().ok());
  REQUIRE(agent.run_once(milliseconds(0)).ok());
  REQUIRE(agent.connected());

  std::strcpy(mqtt.inbound_topic, "dt/device-1/inbox");
  std::strcpy(mqtt.inbound_payload, "{\"led\":true}");
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 1000; ++i) {
    char doc[64];
    json::Writer w(doc);
    w.begin_object().key("seq").number(static_cast<std::int64_t>(i)).end_object();
    Result<std::string_view> text = w.finish();
    if (!text.ok()) break;
    if (!agent.publish("dt/device-1/telemetry", as_bytes(*text)).ok()) break;
    mqtt.inbound_pending = true;
    clock.advance(milliseconds(5));
    if (!agent.run_once(milliseconds(0)).ok()) break;
  }
  g_counting = false;
  CHECK(g_allocations == 0);
  CHECK(mqtt.publishes == 1000);
  CHECK(received == 1000);
  CHECK(ticks >= 400);
}

TEST_CASE("the offline queue stores, replays, delivers and deletes segments without heap allocations") {
  testing::SimulatedClock clock;
  clock.set_wall_time_ms(1795000000000);
  StaticMqttClient mqtt;
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  Agent agent(mqtt, clock, config, nullptr, 1);
  static std::uint8_t ram[16 * 1024];
  offline::RamLogStore store(Span<std::uint8_t>(ram, sizeof(ram)), 8);
  QueueSettings qs;
  qs.boot_id = 7;
  qs.max_inflight = 8;
  // 48 KiB of buffers: on the heap (allocated before the counting starts), not the test's stack;
  // destroyed before the agent it is attached to.
  auto queue_owner = std::make_unique<OfflineQueue>(agent, qs);
  OfflineQueue& queue = *queue_owner;
  StreamSettings st;
  st.ttl = std::chrono::seconds(3600);
  st.bundle_max_bytes = 512;
  const Result<StreamId> stream = queue.add_stream(st, store);
  REQUIRE(stream.ok());
  g_allocations = 0;
  g_counting = true;
  long accepted = 0;
  // Offline backlog (rolls and drop-oldest), then delivery, then live publishing.
  for (int i = 0; i < 400; ++i) {
    char doc[64];
    json::Writer w(doc);
    w.begin_object().key("seq").number(static_cast<std::int64_t>(i)).end_object();
    Result<std::string_view> text = w.finish();
    if (!text.ok()) break;
    if (queue.publish(*stream, "dt/device-1/telemetry", as_bytes(*text)).ok()) ++accepted;
  }
  REQUIRE(agent.start().ok());
  for (int i = 0; i < 2000; ++i) {
    char doc[64];
    json::Writer w(doc);
    w.begin_object().key("seq").number(static_cast<std::int64_t>(i)).end_object();
    Result<std::string_view> text = w.finish();
    if (!text.ok()) break;
    if (queue.publish(*stream, "dt/device-1/telemetry", as_bytes(*text)).ok()) ++accepted;
    clock.advance(milliseconds(5));
    if (!agent.run_once(milliseconds(0)).ok()) break;
  }
  for (int i = 0; i < 50 && !queue.drained(); ++i) agent.run_once(milliseconds(0)).ignore();
  g_counting = false;
  CHECK(g_allocations == 0);
  CHECK(accepted == 2400);
  CHECK(queue.drained());
  CHECK(queue.stats(*stream).delivered + queue.stats(*stream).dropped_overflow == 2400);
  CHECK(queue.stats(*stream).dropped_overflow > 0);
}

TEST_CASE("the allocation counter sees allocations (the check above can fail)") {
  g_allocations = 0;
  g_counting = true;
  void* volatile p = ::operator new(16);  // a direct call: the optimiser may not elide it
  g_counting = false;
  ::operator delete(p);
  CHECK(g_allocations == 1);
}

#endif  // TETHER_TEST_COUNT_ALLOCATIONS
