// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the offline queue's record codec (tether/offline/record.hpp), which reads bytes from
// flash or disk that a crash, a power cut or bit rot may have damaged.
//
// Input: arbitrary bytes, used twice.
// 1. As a segment image: scanned like recovery does (decode; on corruption resume at find_magic).
//    Invariants: the scan terminates and stays inside the input; a decoded record lies entirely
//    inside the input, its views point into it, and re-encoding it gives back exactly its bytes
//    (the format is canonical: no two encodings of one record); kNeedMore asks for more than is there.
// 2. As the fields of a record (topic, payload, properties cut from the input): encode succeeds
//    within the limits, decode gives back every field, and the bytes before the CRC are covered by it
//    (flipping the first byte is detected).

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_target.hpp"
#include "tether/offline/record.hpp"

namespace {

using tether::Qos;
using tether::Span;
using tether::UserProperty;
using namespace tether::offline;

bool inside(const std::uint8_t* p, std::size_t n, const std::uint8_t* data, std::size_t size) {
  return n == 0 || (p >= data && p + n <= data + size);
}

void scan(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> reencoded(kMaxRecord);
  std::size_t offset = 0;
  std::size_t steps = 0;
  while (offset < size) {
    TETHER_FUZZ_CHECK(++steps <= size + 1);
    const Span<const std::uint8_t> window(data + offset, size - offset);
    Record rec;
    std::size_t consumed = 0;
    const DecodeOutcome outcome = decode_record(window, &rec, &consumed);
    if (outcome == DecodeOutcome::kErased) break;
    if (outcome == DecodeOutcome::kRecord) {
      TETHER_FUZZ_CHECK(consumed >= kRecordOverhead && consumed <= window.size());
      const auto* base = window.data();
      TETHER_FUZZ_CHECK(inside(reinterpret_cast<const std::uint8_t*>(rec.topic.data()), rec.topic.size(), base, consumed));
      TETHER_FUZZ_CHECK(inside(rec.payload.data(), rec.payload.size(), base, consumed));
      TETHER_FUZZ_CHECK(inside(rec.correlation_data.data(), rec.correlation_data.size(), base, consumed));
      tether::Result<std::size_t> n = encode_record(rec, Span<std::uint8_t>(reencoded.data(), reencoded.size()));
      TETHER_FUZZ_CHECK(n.ok() && *n == consumed);
      TETHER_FUZZ_CHECK(std::memcmp(reencoded.data(), base, consumed) == 0);
      offset += consumed;
      continue;
    }
    if (outcome == DecodeOutcome::kNeedMore) TETHER_FUZZ_CHECK(consumed > window.size());
    const std::size_t next = find_magic(window, 1);
    TETHER_FUZZ_CHECK(next >= 1 && next <= window.size());
    offset += next;
  }
}

void round_trip(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return;
  // Field lengths from the first bytes, contents from the rest.
  const std::size_t topic_len = data[0] % 64;
  const std::size_t ct_len = data[1] % 32;
  const std::size_t nprops = data[2] % 5;
  const std::uint8_t flags = data[3];
  const std::uint8_t* p = data + 8;
  std::size_t left = size - 8;
  auto take = [&](std::size_t n) {
    if (n > left) n = left;
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    left -= n;
    return s;
  };
  const std::string topic = take(topic_len);
  const std::string ct = take(ct_len);
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < nprops; ++i) {
    keys.push_back(take(i + 1));
    values.push_back(take(2 * i));
  }
  const std::string payload = take(left);
  Record in;
  in.type = (flags & 0x80) ? RecordType::kAck : RecordType::kData;
  in.seq = static_cast<std::uint64_t>(data[4]) << 40 | data[5];
  in.boot_id = data[6];
  in.created_ms = data[7];
  in.priority = flags;
  in.qos = (flags & 1) ? Qos::k1 : Qos::k0;
  in.retain = (flags & 2) != 0;
  in.encrypted = (flags & 4) != 0;
  if (flags & 8) in.message_expiry_s = data[5];
  in.topic = topic;
  in.content_type = ct;
  in.payload = Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  for (std::size_t i = 0; i < nprops; ++i) (void)in.user_properties.push_back(UserProperty{keys[i], values[i]});
  std::vector<std::uint8_t> buf(kMaxRecord);
  tether::Result<std::size_t> n = encode_record(in, Span<std::uint8_t>(buf.data(), buf.size()));
  if (!n.ok()) {
    TETHER_FUZZ_CHECK(!encoded_size(in).ok());
    return;
  }
  Record out;
  std::size_t consumed = 0;
  TETHER_FUZZ_CHECK(decode_record(Span<const std::uint8_t>(buf.data(), *n), &out, &consumed) == DecodeOutcome::kRecord);
  TETHER_FUZZ_CHECK(consumed == *n);
  TETHER_FUZZ_CHECK(out.type == in.type && out.seq == in.seq && out.boot_id == in.boot_id);
  TETHER_FUZZ_CHECK(out.created_ms == in.created_ms && out.priority == in.priority && out.qos == in.qos);
  TETHER_FUZZ_CHECK(out.retain == in.retain && out.encrypted == in.encrypted);
  TETHER_FUZZ_CHECK(out.message_expiry_s == in.message_expiry_s);
  TETHER_FUZZ_CHECK(out.topic == in.topic && out.content_type == in.content_type);
  TETHER_FUZZ_CHECK(out.payload.size() == in.payload.size());
  TETHER_FUZZ_CHECK(in.payload.empty() || std::memcmp(out.payload.data(), in.payload.data(), in.payload.size()) == 0);
  TETHER_FUZZ_CHECK(out.user_properties.size() == in.user_properties.size());
  for (std::size_t i = 0; i < out.user_properties.size(); ++i) {
    TETHER_FUZZ_CHECK(out.user_properties[i].key == in.user_properties[i].key);
    TETHER_FUZZ_CHECK(out.user_properties[i].value == in.user_properties[i].value);
  }
  buf[*n - 5] ^= 0x01;  // last byte before the CRC
  TETHER_FUZZ_CHECK(decode_record(Span<const std::uint8_t>(buf.data(), *n), &out, &consumed) != DecodeOutcome::kRecord);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scan(data, size);
  round_trip(data, size);
  return 0;
}
