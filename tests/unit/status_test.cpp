// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "test_support.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/inplace_function.hpp"
#include "tether/limits.hpp"
#include "tether/log.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/result.hpp"

using namespace tether;

namespace {
Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Status(StatusCode::kInvalidArgument, Origin::kCore, static_cast<std::uint16_t>(c));
  return c - '0';
}
Result<int> sum_digits(char a, char b) {
  TETHER_ASSIGN_OR_RETURN(int x, parse_digit(a));
  TETHER_ASSIGN_OR_RETURN(int y, parse_digit(b));
  return x + y;
}
}  // namespace

TEST_CASE("a default Status is ok and formats with code, origin and detail") {
  Status s;
  CHECK(s.ok());
  Status e(StatusCode::kUnauthenticated, Origin::kMqtt, 134);
  CHECK_FALSE(e.ok());
  char buf[64];
  CHECK(std::string(format_status(e, buf, sizeof buf)) == "unauthenticated/mqtt/134");
  CHECK(e == Status(StatusCode::kUnauthenticated, Origin::kMqtt, 134));
  CHECK(e != Status(StatusCode::kUnauthenticated, Origin::kMqtt, 135));
  CHECK(sizeof(Status) == 4);
}

TEST_CASE("Result carries a value or the first error and TETHER_ASSIGN_OR_RETURN propagates it") {
  Result<int> ok = sum_digits('3', '4');
  REQUIRE(ok.ok());
  CHECK(*ok == 7);
  Result<int> bad = sum_digits('3', 'x');
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status() == Status(StatusCode::kInvalidArgument, Origin::kCore, 'x'));
  CHECK(bad.value_or(-1) == -1);
}

TEST_CASE("reading the value of a failed Result is a contract violation reported to the handler") {
  test::ContractCounter counter;
  Result<int> bad = Status(StatusCode::kNotFound, Origin::kCore);
  (void)bad.value_or(0);
  CHECK(counter.count() == 0);
  Result<int> ok_from_ok_status = Status();  // an ok Status cannot make a Result
  CHECK(counter.count() == 1);
  CHECK_FALSE(ok_from_ok_status.ok());
  CHECK(ok_from_ok_status.status().code() == StatusCode::kInternal);
}

TEST_CASE("FixedString refuses text longer than its capacity and keeps the old value") {
  FixedString<4> s;
  REQUIRE(s.assign("abcd").ok());
  CHECK(s == "abcd");
  Status st = s.assign("abcde");
  CHECK(st.code() == StatusCode::kOutOfRange);
  CHECK(s == "abcd");
  CHECK(std::strlen(s.c_str()) == 4);
  s.clear();
  REQUIRE(s.append("ab").ok());
  CHECK(s.append("abc").code() == StatusCode::kOutOfRange);
  CHECK(s == "ab");
}

TEST_CASE("FixedVector holds at most N elements, keeps order on erase and destroys what it removes") {
  static int live = 0;
  struct Counted {
    int v;
    explicit Counted(int x) : v(x) { ++live; }
    Counted(const Counted& o) : v(o.v) { ++live; }
    Counted& operator=(const Counted& o) = default;
    ~Counted() { --live; }
  };
  {
    FixedVector<Counted, 3> v;
    CHECK(v.emplace_back(1) != nullptr);
    CHECK(v.emplace_back(2) != nullptr);
    CHECK(v.emplace_back(3) != nullptr);
    CHECK(v.emplace_back(4) == nullptr);
    CHECK(v.full());
    v.erase(0);
    REQUIRE(v.size() == 2);
    CHECK(v[0].v == 2);
    CHECK(v[1].v == 3);
    CHECK(live == 2);
  }
  CHECK(live == 0);
}

TEST_CASE("InplaceFunction stores a capturing lambda without heap and copies keep their own state") {
  int calls = 0;
  InplaceFunction<int(int)> f = [&calls, base = 10](int x) {
    ++calls;
    return base + x;
  };
  InplaceFunction<int(int)> g = f;
  CHECK(f(1) == 11);
  CHECK(g(2) == 12);
  CHECK(calls == 2);
  InplaceFunction<int(int)> empty;
  CHECK_FALSE(empty);
  test::ContractCounter counter;
  CHECK(empty(1) == 0);
  CHECK(counter.count() == 1);
}

TEST_CASE("Logger filters by level and cuts over-long lines with an ellipsis") {
  testing::CapturingLogSink sink;
  Logger logger(&sink, LogLevel::kWarn);
  TETHER_LOG_INFO(logger, Origin::kCore, "hidden %d", 1);
  TETHER_LOG_WARN(logger, Origin::kCore, Status(StatusCode::kUnavailable, Origin::kSocket, 111), "shown %d", 2);
  REQUIRE(sink.lines().size() == 1);
  CHECK(sink.lines()[0].message == "shown 2");
  CHECK(sink.lines()[0].status == Status(StatusCode::kUnavailable, Origin::kSocket, 111));
  std::string longtext(kLogLine * 2, 'x');
  TETHER_LOG_ERROR(logger, Origin::kCore, Status(), "%s", longtext.c_str());
  REQUIRE(sink.lines().size() == 2);
  CHECK(sink.lines()[1].message.size() == kLogLine);
  CHECK(sink.lines()[1].message.substr(kLogLine - 3) == "...");
}
