// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The line parsers of tether::port_linux, with both byte orders and hostile input.

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "tether/port/linux/proc_parse.hpp"

namespace tether::port {
namespace {

metrics::IpAddress addr(std::string_view text) {
  auto parsed = metrics::parse_address(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

}  // namespace

TEST_CASE("an IPv4 address field reads as the byte order of the host that wrote it") {
  metrics::IpAddress out;
  REQUIRE(parse_proc_net_address("0100007F", ByteOrder::kLittle, out));
  CHECK(out == addr("127.0.0.1"));
  REQUIRE(parse_proc_net_address("7F000001", ByteOrder::kBig, out));
  CHECK(out == addr("127.0.0.1"));
  REQUIRE(parse_proc_net_address("0200000A", ByteOrder::kLittle, out));
  CHECK(out == addr("10.0.0.2"));
  // The same text means another address on the other kind of host.
  REQUIRE(parse_proc_net_address("0200000A", ByteOrder::kBig, out));
  CHECK(out == addr("2.0.0.10"));
  REQUIRE(parse_proc_net_address("c0a8010a", ByteOrder::kBig, out));  // lower-case hex
  CHECK(out == addr("192.168.1.10"));
}

TEST_CASE("an IPv6 address field is four words each in the host's byte order") {
  metrics::IpAddress out;
  REQUIRE(parse_proc_net_address("000080FE00000000FF0F5C026B0312FE", ByteOrder::kLittle, out));
  CHECK(out == addr("fe80::25c:fff:fe12:36b"));
  REQUIRE(parse_proc_net_address("FE80000000000000025C0FFFFE12036B", ByteOrder::kBig, out));
  CHECK(out == addr("fe80::25c:fff:fe12:36b"));
  REQUIRE(parse_proc_net_address("00000000000000000000000001000000", ByteOrder::kLittle, out));
  CHECK(out == addr("::1"));
  REQUIRE(parse_proc_net_address("00000000000000000000000000000001", ByteOrder::kBig, out));
  CHECK(out == addr("::1"));
  REQUIRE(parse_proc_net_address("0000000000000000FFFF00000100007F", ByteOrder::kLittle, out));
  CHECK(out.family == metrics::IpAddress::Family::kV6);
  CHECK(out.unmapped() == addr("127.0.0.1"));
  REQUIRE(parse_proc_net_address("000000000000000000000000FFFF7F000001", ByteOrder::kBig, out) == false);
  REQUIRE(parse_proc_net_address("00000000000000000000FFFF7F000001", ByteOrder::kBig, out));
  CHECK(out.unmapped() == addr("127.0.0.1"));
}

TEST_CASE("address fields of the wrong length or with non-hex digits are refused") {
  metrics::IpAddress out;
  for (const char* bad : {"", "0100007", "0100007F0", "0100007G", "-100007F", " 100007F", "0x00007F",
                          "0000000000000000000000000100000", "0000000000000000000000000100000Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_proc_net_address(bad, ByteOrder::kLittle, out));
  }
}

TEST_CASE("a tcp socket line gives addresses, ports and the state in either byte order") {
  ProcNetSocket s;
  REQUIRE(parse_proc_net_socket(
      "   4: 0200000A:0016 6400000A:D431 01 00000000:00000000 02:0009A2E1 00000000     0        0 20544 2 "
      "0000000000000000 20 4 31 10 -1",
      ByteOrder::kLittle, s));
  CHECK(s.local == addr("10.0.0.2"));
  CHECK(s.local_port == 22);
  CHECK(s.remote == addr("10.0.0.100"));
  CHECK(s.remote_port == 54321);
  CHECK(s.state == kSocketEstablished);

  REQUIRE(parse_proc_net_socket(
      "   0: 0A000002:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 18841 1 "
      "0000000000000000 100 0 0 10 0",
      ByteOrder::kBig, s));
  CHECK(s.local == addr("10.0.0.2"));
  CHECK(s.local_port == 8080);
  CHECK(s.remote.is_unspecified());
  CHECK(s.state == kSocketListen);
}

TEST_CASE("malformed socket lines are refused") {
  ProcNetSocket s;
  const char* const bad[] = {
      "",
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:0277 00000000:0000 0A",                                       // fields missing
      "   0: 0100007F:02",                                                          // cut short
      "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0",  // no inode
      "   0: 0100007F:00277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
      "   0: 0100007F0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
      "   0: 0100007F:0277 00000000:0000 A 00000000:00000000 00:00000000 00000000 0 0 1",
      "   0: 0100007F:0277 00000000:0000 0AB 00000000:00000000 00:00000000 00000000 0 0 1",
      "   x: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
      "0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 2",
      "   0: 0100007F:0277 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 1",  // mixed families
      "   0: :0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
  };
  for (const char* line : bad) {
    INFO(line);
    CHECK_FALSE(parse_proc_net_socket(line, ByteOrder::kLittle, s));
  }
  CHECK(parse_proc_net_socket("   0: 0100007F:0277 00000000:0000 0A 0:0 0:0 0 0 0 1", ByteOrder::kLittle, s));
}

TEST_CASE("a /proc/net/dev line gives the name and 64-bit counters, header lines are refused") {
  ProcNetDevLine dev;
  REQUIRE(parse_proc_net_dev("  eth0: 98765432101 12345678    0    2    0     0          0        12 5000000000  "
                             "7654321    0    0    0     0       0          0",
                             dev));
  CHECK(dev.name == "eth0");
  CHECK(dev.rx_bytes == 98765432101ULL);
  CHECK(dev.rx_packets == 12345678);
  CHECK(dev.tx_bytes == 5000000000ULL);
  CHECK(dev.tx_packets == 7654321);
  // Old kernels printed large counters right after the colon.
  REQUIRE(parse_proc_net_dev("eth1:18446744073709551615 1 0 0 0 0 0 0 2 3 0 0 0 0 0 0", dev));
  CHECK(dev.name == "eth1");
  CHECK(dev.rx_bytes == 18446744073709551615ULL);
  CHECK(dev.tx_packets == 3);

  for (const char* bad : {"Inter-|   Receive                                                |  Transmit",
                          " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets",
                          "  eth0: 1 2 3", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
                          "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x",
                          "  eth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                          "abcdefghijklmnop: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"}) {
    INFO(bad);
    CHECK_FALSE(parse_proc_net_dev(bad, dev));
  }
}

TEST_CASE("a meminfo line gives its value in bytes") {
  std::string_view name;
  std::uint64_t bytes = 0;
  REQUIRE(parse_meminfo("MemTotal:        8056380 kB", name, bytes));
  CHECK(name == "MemTotal");
  CHECK(bytes == 8056380ULL * 1024);
  REQUIRE(parse_meminfo("HugePages_Total:       0", name, bytes));
  CHECK(bytes == 0);
  for (const char* bad : {"MemTotal:", "MemTotal: abc kB", "MemTotal: 12 MB", "MemTotal 12 kB", ": 12 kB",
                          "MemTotal: 12 kB extra", "MemTotal: 18014398509481984 kB"}) {
    INFO(bad);
    CHECK_FALSE(parse_meminfo(bad, name, bytes));
  }
}

TEST_CASE("sysfs flags are hex after 0x, sysfs integers decimal within 32 bits") {
  std::uint32_t flags = 0;
  REQUIRE(parse_sysfs_flags("0x1003", flags));
  CHECK(flags == 0x1003);
  REQUIRE(parse_sysfs_flags("0xffffffff", flags));
  CHECK(flags == 0xFFFFFFFF);
  for (const char* bad : {"", "0x", "1003", "0x1g", "0x100000000", "0x1003 "}) {
    INFO(bad);
    CHECK_FALSE(parse_sysfs_flags(bad, flags));
  }
  std::int32_t value = 0;
  REQUIRE(parse_sysfs_int("45000", value));
  CHECK(value == 45000);
  REQUIRE(parse_sysfs_int("-2147483648", value));
  CHECK(value == -2147483647 - 1);
  REQUIRE(parse_sysfs_int("2147483647", value));
  CHECK(value == 2147483647);
  for (const char* bad : {"", "-", "2147483648", "-2147483649", "45.0", "+45", "99999999999999999999", "4 5"}) {
    INFO(bad);
    CHECK_FALSE(parse_sysfs_int(bad, value));
  }
}

TEST_CASE("random bytes and mutated lines never crash the parsers") {
  std::mt19937_64 rng(20261122);
  const std::string good =
      "   4: 0200000A:0016 6400000A:D431 01 00000000:00000000 02:0009A2E1 00000000     0        0 20544 2";
  const std::string alphabet = "0123456789ABCDEFabcdefxX:| \t-\n\r";
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string line = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (line.size() + 1);
      switch (rng() % 3) {
        case 0: line.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < line.size()) line.erase(at, 1); break;
        default: if (at < line.size()) line[at] = static_cast<char>(rng() & 0xFF); break;
      }
    }
    ProcNetSocket s;
    ProcNetDevLine dev;
    std::string_view name;
    std::uint64_t bytes = 0;
    accepted += parse_proc_net_socket(line, ByteOrder::kLittle, s) ? 1 : 0;
    (void)parse_proc_net_dev(line, dev);
    (void)parse_meminfo(line, name, bytes);
  }
  // Some mutations keep the line valid (a changed uid digit), most do not.
  CHECK(accepted > 0);
  CHECK(accepted < 20000);
}

}  // namespace tether::port

TEST_CASE("loadavg: three load averages in thousandths, anything else refused") {
  std::uint32_t milli[3] = {7, 7, 7};
  REQUIRE(tether::port::parse_loadavg("0.52 0.58 12.05 1/467 12345", milli));
  CHECK(milli[0] == 520);
  CHECK(milli[1] == 580);
  CHECK(milli[2] == 12050);
  REQUIRE(tether::port::parse_loadavg("1.5 0.125 0.00 2/3 4", milli));
  CHECK(milli[0] == 1500);
  CHECK(milli[1] == 125);
  CHECK(milli[2] == 0);
  for (const char* bad : {"", "0.52 0.58", "0.52 0.58 0.59", "1 2 3 1/2 3", "0.52 x.58 0.59 1/2 3", ".5 0.5 0.5 1/2 3",
                          "0.5000 0.5 0.5 1/2 3", "99999999.00 0.5 0.5 1/2 3"}) {
    INFO(bad);
    CHECK_FALSE(tether::port::parse_loadavg(bad, milli));
  }
  CHECK(milli[0] == 1500);  // untouched by a refusal
}
