// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The offline queue's encryption at rest, with the mbedTLS Crypto port: what is stored is sealed,
// what is delivered is the plaintext, a wrong key or altered bytes are refused, never delivered.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/record.hpp"
#include "tether/port/mbedtls/mbed_crypto.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_log_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using std::chrono::milliseconds;
using testing::MemoryLogStore;

namespace {

// Large: the entropy context of Debian's mbedTLS is 32 KiB.
mbedtls::MbedCrypto& crypto() {
  static mbedtls::MbedCrypto instance;
  return instance;
}

std::vector<std::uint8_t> key_of(std::uint8_t fill) { return std::vector<std::uint8_t>(32, fill); }

struct Process {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<OfflineQueue> queue;
  StreamId stream = 0;
  Status add_status;

  Process(MemoryLogStore& store, const std::vector<std::uint8_t>& key, std::uint32_t bundle = 0) {
    REQUIRE(config.thing_name.assign("device-1").ok());
    clock.set_wall_time_ms(1795000000000);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 1);
    QueueSettings qs;
    qs.boot_id = 0xB007;
    queue = std::make_unique<OfflineQueue>(*agent, qs);
    REQUIRE(queue->set_encryption(crypto(), Span<const std::uint8_t>(key.data(), key.size())).ok());
    StreamSettings st;
    st.encrypt = true;
    st.bundle_max_bytes = bundle;
    Result<StreamId> id = queue->add_stream(st, store);
    add_status = id.status();
    if (id.ok()) stream = *id;
  }
  Result<std::uint64_t> send(int i) {
    const std::string payload = "{\"secret\":\"reading-" + std::to_string(i) + "\"}";
    return queue->publish(stream, "dt/device-1/t", as_bytes(payload));
  }
  void drain() {
    REQUIRE(agent->start().ok());
    for (int k = 0; k < 100 && !queue->drained(); ++k) agent->run_once(milliseconds(10)).ignore();
  }
};

std::string stored_bytes(MemoryLogStore& store) {
  std::string all;
  std::vector<std::uint8_t> buf(store.segment_capacity());
  for (std::size_t i = 0; i < store.segment_count(); ++i) {
    Result<std::size_t> n = store.read(store.segment_id(i), 0, Span<std::uint8_t>(buf.data(), buf.size()));
    REQUIRE(n.ok());
    all.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return all;
}

}  // namespace

TEST_CASE("an encrypted stream stores ciphertext and delivers the plaintext") {
  MemoryLogStore store(4096, 8);
  Process p(store, key_of(0x11));
  REQUIRE(p.add_status.ok());
  for (int i = 0; i < 5; ++i) REQUIRE(p.send(i).ok());
  const std::string disk = stored_bytes(store);
  CHECK(disk.find("reading-") == std::string::npos);
  CHECK(disk.find("dt/device-1/t") != std::string::npos);  // topics stay readable (documented)
  p.drain();
  REQUIRE(p.mqtt.published().size() == 5);
  CHECK(p.mqtt.published()[3].payload == "{\"secret\":\"reading-3\"}");
}

TEST_CASE("encrypted records survive a restart with the same key") {
  MemoryLogStore store(4096, 8);
  {
    Process p(store, key_of(0x22));
    for (int i = 0; i < 4; ++i) REQUIRE(p.send(i).ok());
    REQUIRE(p.queue->flush().ok());
  }
  store.reboot();
  Process q(store, key_of(0x22));
  REQUIRE(q.add_status.ok());
  q.drain();
  REQUIRE(q.mqtt.published().size() == 4);
  CHECK(q.mqtt.published()[0].payload == "{\"secret\":\"reading-0\"}");
}

TEST_CASE("with the wrong key nothing is delivered and every record is reported dropped") {
  MemoryLogStore store(4096, 8);
  {
    Process p(store, key_of(0x33));
    for (int i = 0; i < 3; ++i) REQUIRE(p.send(i).ok());
    REQUIRE(p.queue->flush().ok());
  }
  store.reboot();
  Process q(store, key_of(0x34));
  REQUIRE(q.add_status.ok());
  q.drain();
  CHECK(q.mqtt.published().empty());
  CHECK(q.queue->stats(q.stream).dropped_store_error == 3);
  CHECK(q.log.count(LogLevel::kError, "cannot be decrypted") == 3);
  CHECK(q.queue->drained());
}

TEST_CASE("a ciphertext altered on the medium (with a valid CRC) is refused, its neighbours delivered") {
  MemoryLogStore store(4096, 8);
  {
    Process p(store, key_of(0x44));
    for (int i = 0; i < 3; ++i) REQUIRE(p.send(i).ok());
    REQUIRE(p.queue->flush().ok());
  }
  // Rewrite the second record with one ciphertext bit flipped and a correct CRC: only the AEAD
  // tag can tell.
  std::string disk = stored_bytes(store);
  std::vector<std::uint8_t> image(disk.begin(), disk.end());
  offline::Record r;
  std::size_t first_len = 0;
  REQUIRE(offline::decode_record(Span<const std::uint8_t>(image.data(), image.size()), &r, &first_len) ==
          offline::DecodeOutcome::kRecord);
  std::size_t second_len = 0;
  const Span<const std::uint8_t> rest(image.data() + first_len, image.size() - first_len);
  REQUIRE(offline::decode_record(rest, &r, &second_len) == offline::DecodeOutcome::kRecord);
  std::vector<std::uint8_t> altered(r.payload.begin(), r.payload.end());
  altered[2] ^= 0x01;
  r.payload = Span<const std::uint8_t>(altered.data(), altered.size());
  std::vector<std::uint8_t> out(second_len);
  REQUIRE(offline::encode_record(r, Span<std::uint8_t>(out.data(), out.size())).value() == second_len);
  for (std::size_t i = 0; i < second_len; ++i) {
    if (out[i] != image[first_len + i]) {
      REQUIRE(store.corrupt(store.segment_id(0), static_cast<std::uint32_t>(first_len + i),
                            static_cast<std::uint8_t>(out[i] ^ image[first_len + i])));
    }
  }
  store.reboot();
  Process q(store, key_of(0x44));
  REQUIRE(q.add_status.ok());
  CHECK(q.queue->stats(q.stream).corrupt_regions == 0);  // the CRC is fine: only the tag catches it
  q.drain();
  REQUIRE(q.mqtt.published().size() == 2);
  CHECK(q.mqtt.published()[0].payload == "{\"secret\":\"reading-0\"}");
  CHECK(q.mqtt.published()[1].payload == "{\"secret\":\"reading-2\"}");
  CHECK(q.queue->stats(q.stream).dropped_store_error == 1);
}

TEST_CASE("encrypted records are bundled as plaintext JSON") {
  MemoryLogStore store(4096, 8);
  Process p(store, key_of(0x55), 1024);
  for (int i = 0; i < 6; ++i) REQUIRE(p.send(i).ok());
  p.drain();
  REQUIRE(p.mqtt.published().size() == 1);
  CHECK(p.mqtt.published()[0].payload.find("\"secret\":\"reading-5\"") != std::string::npos);
  CHECK(p.queue->stats(p.stream).delivered == 6);
}

TEST_CASE("an encrypting stream without a key is refused at add_stream") {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  Agent agent(mqtt, clock, config);
  QueueSettings qs;
  qs.boot_id = 1;
  OfflineQueue queue(agent, qs);
  MemoryLogStore store(4096, 8);
  StreamSettings st;
  st.encrypt = true;
  CHECK(queue.add_stream(st, store).status().code() == StatusCode::kFailedPrecondition);
  const std::vector<std::uint8_t> short_key(16, 1);
  CHECK(queue.set_encryption(crypto(), Span<const std::uint8_t>(short_key.data(), short_key.size())).code() ==
        StatusCode::kInvalidArgument);
}
