// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"

using namespace tether;
using namespace std::string_literals;

namespace {

struct ParseOutcome {
  Status status;
  std::string why;
  bool visited = false;
};

// Parses `text`; `check` (optional) runs inside the visitor on the root.
template <typename Check>
ParseOutcome parse_with(std::string_view text, Check check, std::size_t max_bytes = kMaxJsonInput) {
  ParseOutcome out;
  ErrorText why;
  const Check* check_ptr = &check;
  bool* visited = &out.visited;
  out.status = json::parse(
      text, max_bytes,
      [check_ptr, visited](const json::Value& root) {
        *visited = true;
        return (*check_ptr)(root);
      },
      &why);
  out.why = std::string(why.view());
  return out;
}

ParseOutcome parse_only(std::string_view text, std::size_t max_bytes = kMaxJsonInput) {
  return parse_with(text, [](const json::Value&) { return Status(); }, max_bytes);
}

Status syntax_error_at(std::size_t offset) {
  return Status(StatusCode::kInvalidArgument, Origin::kJson, static_cast<std::uint16_t>(offset));
}

// Parses a one-element array and returns as_int of the element.
Result<std::int64_t> int_of(std::string_view literal) {
  const std::string doc = "[" + std::string(literal) + "]";
  Result<std::int64_t> result = Status(StatusCode::kUnknown, Origin::kNone);
  auto* out = &result;
  const ParseOutcome p = parse_with(doc, [out](const json::Value& root) {
    *out = root.at(0).as_int();
    return Status();
  });
  REQUIRE(p.status.ok());
  return result;
}

// Parses `doc` and returns the string at the root.
std::string string_of(std::string_view doc) {
  std::string value;
  auto* out = &value;
  const ParseOutcome p = parse_with(doc, [out](const json::Value& root) {
    Result<std::string_view> s = root.as_string();
    if (!s.ok()) return s.status();
    *out = std::string(*s);
    return Status();
  });
  REQUIRE(p.status.ok());
  return value;
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

TEST_CASE("parse hands the visitor a root whose members and elements can be read") {
  const char* doc = R"({"s": "text", "n": -12, "d": 2.5, "t": true, "f": false, "z": null,
                        "a": [1, "two", {"three": 3}], "o": {"k": "v"}})";
  const ParseOutcome p = parse_with(doc, [](const json::Value& root) {
    CHECK(root.is_object());
    CHECK(root.size() == 8);
    CHECK(root["s"].as_string().value_or("") == "text");
    CHECK(root["n"].as_int().value_or(0) == -12);
    CHECK(root["d"].as_double().value_or(0) == 2.5);
    CHECK(root["t"].as_bool().value_or(false) == true);
    CHECK(root["f"].is_bool());
    CHECK(root["z"].is_null());
    CHECK(root["a"].is_array());
    CHECK(root["a"].size() == 3);
    CHECK(root["a"].at(1).as_string().value_or("") == "two");
    CHECK(root["a"].at(2)["three"].as_int().value_or(0) == 3);
    CHECK(root["o"]["k"].as_string().value_or("") == "v");
    CHECK(root["S"].valid() == false);  // case-sensitive
    return Status();
  });
  CHECK(p.status.ok());
  CHECK(p.visited);
}

TEST_CASE("members are visited in document order with their keys") {
  std::string order;
  auto* out = &order;
  const ParseOutcome p = parse_with(R"({"b": 1, "a": [10, 20], "c": {}})", [out](const json::Value& root) {
    for (json::Value m = root.first_child(); m.valid(); m = m.next()) *out += std::string(m.key()) + ",";
    for (json::Value e = root["a"].first_child(); e.valid(); e = e.next()) {
      *out += std::to_string(e.as_int().value_or(-1)) + ",";
      CHECK(e.key().empty());
    }
    CHECK(root["c"].first_child().valid() == false);
    CHECK(root.key().empty());
    return Status();
  });
  CHECK(p.status.ok());
  CHECK(order == "b,a,c,10,20,");
}

TEST_CASE("a missing member or index gives an invalid value that can be chained") {
  const ParseOutcome p = parse_with(R"({"a": [1], "s": "x"})", [](const json::Value& root) {
    const json::Value missing = root["nope"]["deeper"].at(3);
    CHECK_FALSE(missing.valid());
    CHECK(missing.type() == json::Type::kInvalid);
    CHECK(missing.size() == 0);
    CHECK_FALSE(missing.next().valid());
    CHECK(missing.as_string().status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
    CHECK_FALSE(root["a"].at(1).valid());
    CHECK_FALSE(root["s"]["x"].valid());  // a member of a scalar
    CHECK_FALSE(root["s"].at(0).valid());
    CHECK_FALSE(json::Value().first_child().valid());
    return Status();
  });
  CHECK(p.status.ok());
}

TEST_CASE("the as_ accessors refuse values of another type") {
  const ParseOutcome p = parse_with(R"(["1", 1, true, null])", [](const json::Value& root) {
    const Status mismatch(StatusCode::kInvalidArgument, Origin::kJson);
    CHECK(root.at(0).as_int().status() == mismatch);
    CHECK(root.at(0).as_double().status() == mismatch);
    CHECK(root.at(0).as_bool().status() == mismatch);
    CHECK(root.at(1).as_string().status() == mismatch);
    CHECK(root.at(2).as_int().status() == mismatch);
    CHECK(root.at(3).as_string().status() == mismatch);
    CHECK(root.as_string().status() == mismatch);
    return Status();
  });
  CHECK(p.status.ok());
}

TEST_CASE("whole_number_within tells whole numbers in range from fractions, NaN and infinities") {
  using json::whole_number_within;
  CHECK(whole_number_within(3.0, json::kMaxSafeInteger));
  CHECK(whole_number_within(0.0, json::kMaxSafeInteger));
  CHECK(whole_number_within(-0.0, json::kMaxSafeInteger));
  CHECK(whole_number_within(-42.0, json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(3.5, json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(-0.25, json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(1e-300, json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(std::nan(""), json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(std::numeric_limits<double>::infinity(), json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(-std::numeric_limits<double>::infinity(), json::kMaxInt64Double));
  // The limit is inclusive, on both sides.
  CHECK(whole_number_within(json::kMaxSafeInteger, json::kMaxSafeInteger));
  CHECK(whole_number_within(-json::kMaxSafeInteger, json::kMaxSafeInteger));
  CHECK_FALSE(whole_number_within(json::kMaxSafeInteger + 1, json::kMaxSafeInteger));
  // Up to the largest double below 2^63, which still converts to int64_t; 2^63 does not.
  CHECK(whole_number_within(json::kMaxInt64Double, json::kMaxInt64Double));
  CHECK(whole_number_within(-json::kMaxInt64Double, json::kMaxInt64Double));
  CHECK_FALSE(whole_number_within(9223372036854775808.0, json::kMaxInt64Double));
  CHECK_FALSE(whole_number_within(1e300, json::kMaxInt64Double));
  CHECK(static_cast<std::int64_t>(json::kMaxInt64Double) == INT64_MAX - 1023);
}

TEST_CASE("parse returns what the visitor returns") {
  const Status app_error(StatusCode::kFailedPrecondition, Origin::kApp, 7);
  const ParseOutcome p = parse_with("{}", [app_error](const json::Value&) { return app_error; });
  CHECK(p.status == app_error);
  CHECK(p.visited);
}

TEST_CASE("a syntax error reports line, column and reason and its byte offset in the detail") {
  const ParseOutcome p = parse_only("{\n  \"a\": 1,\n  \"b\" 2\n}");
  CHECK(p.status == syntax_error_at(18));
  CHECK(p.why == "invalid JSON at line 3 column 7: expected ':'");
  CHECK_FALSE(p.visited);
}

TEST_CASE("a truncated document reports the position just past its end") {
  const ParseOutcome p = parse_only("{\"a\": [1, 2");
  CHECK(p.status == syntax_error_at(11));
  CHECK(p.why == "invalid JSON at line 1 column 12: unexpected end of input");
  const ParseOutcome empty = parse_only("");
  CHECK(empty.status == syntax_error_at(0));
  CHECK(empty.why == "invalid JSON at line 1 column 1: unexpected end of input");
  CHECK(parse_only(" \n ").why == "invalid JSON at line 2 column 2: unexpected end of input");
  CHECK(parse_only("\"abc").why == "invalid JSON at line 1 column 5: unterminated string");
}

TEST_CASE("documents that break RFC 8259 are refused at the offending byte") {
  struct Case {
    std::string text;
    std::size_t offset;
    const char* reason;
  };
  const Case cases[] = {
      {"[1,]", 3, "expected a value"},
      {"{\"a\":1,}", 7, "expected a string key"},
      {"{'a':1}", 1, "expected a string key"},
      {"[1 2]", 3, "expected ',' or ']'"},
      {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"},
      {"[01]", 2, "invalid number (leading zero)"},
      {"[1.]", 3, "invalid number"},
      {"[.5]", 1, "expected a value"},
      {"[+1]", 1, "expected a value"},
      {"[-]", 2, "invalid number"},
      {"[1e]", 3, "invalid number"},
      {"[NaN]", 1, "expected a value"},
      {"[tru]", 1, "expected a value"},
      {"[nul]", 1, "expected a value"},
      {"// comment\n{}", 0, "expected a value"},
      {"{} x", 3, "unexpected content after the document"},
      {"{}{}", 2, "unexpected content after the document"},
      {"\x01{}", 0, "expected a value"},   // cJSON alone would skip this as whitespace
      {"[1,\x0B 2]", 3, "expected a value"},  // vertical tab is not JSON whitespace
      {"[\"a\tb\"]", 3, "control character in string"},
      {"[\"a\\x\"]", 3, "invalid escape"},
      {"[\"\\u12G4\"]", 2, "invalid \\u escape"},
      {"[\"\\u0000\"]", 2, "\\u0000 is not supported"},
      {"[\"\\uD800\"]", 2, "unpaired UTF-16 surrogate"},
      {"[\"\\uD800\\u0041\"]", 2, "unpaired UTF-16 surrogate"},
      {"[\"\\uDC00\"]", 2, "unpaired UTF-16 surrogate"},
      {"[\"ab\xC0\xAF\"]", 4, "invalid UTF-8"},
      {"[\"\xED\xA0\x80\"]", 2, "invalid UTF-8"},
      {"[\"\xE2\x82\"]", 2, "invalid UTF-8"},
      {"\xEF\xBB{}", 0, "expected a value"},  // half a byte order mark
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const ParseOutcome p = parse_only(c.text);
    CHECK(p.status == syntax_error_at(c.offset));
    CHECK(p.why == "invalid JSON at line 1 column " + std::to_string(c.offset + 1) + ": " + c.reason);
    CHECK_FALSE(p.visited);
  }
}

TEST_CASE("valid edge cases of RFC 8259 are accepted") {
  CHECK(parse_only("0").status.ok());
  CHECK(parse_only("-0.0e+0").status.ok());
  CHECK(parse_only("\"\"").status.ok());
  CHECK(parse_only("null").status.ok());
  CHECK(parse_only(" \t\r\n[ ] \n").status.ok());
  CHECK(parse_only("\xEF\xBB\xBF{}").status.ok());  // a leading byte order mark is skipped
  CHECK(parse_only("\xEF\xBB\xBF" "0").status.ok());  // even in documents shorter than cJSON expects
  CHECK(parse_only("[1E5, 1e-5, 123.456e+7, -1]").status.ok());
  CHECK(parse_only("{\"\": 1}").status.ok());
  CHECK(parse_only("[\"\x7F\"]").status.ok());  // DEL is not a JSON control character
}

TEST_CASE("string escapes and UTF-8 are decoded") {
  CHECK(string_of(R"("a\"b\\c\/d\b\f\n\r\t")") == "a\"b\\c/d\b\f\n\r\t");
  CHECK(string_of(R"("\u00e9\u20AC\uD83D\uDE00")") == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  CHECK(string_of("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST_CASE("nesting deeper than kMaxDepth is refused as out of range before cJSON recurses") {
  REQUIRE(json::kMaxDepth == 16);
  CHECK(parse_only(nested(json::kMaxDepth)).status.ok());
  const ParseOutcome deep = parse_only(nested(json::kMaxDepth + 1));
  CHECK(deep.status == Status(StatusCode::kOutOfRange, Origin::kJson, 16));
  CHECK(deep.why == "JSON nested deeper than 16 levels at line 1 column 17");
  // A document nested far deeper than cJSON's own limit is refused just the same.
  CHECK(parse_only(std::string(100000, '[')).status.code() == StatusCode::kOutOfRange);
}

TEST_CASE("input larger than max_bytes is refused before parsing") {
  const ParseOutcome p = parse_only("[1, 2, 3]", 8);
  CHECK(p.status == Status(StatusCode::kOutOfRange, Origin::kJson, 0));
  CHECK(p.why == "JSON input too large (9 bytes, at most 8)");
  CHECK_FALSE(p.visited);
  CHECK(parse_only("[1, 2, 3]", 9).status.ok());
  // max_bytes is clamped to kMaxJsonInput.
  const std::string big = "\"" + std::string(kMaxJsonInput - 1, 'x') + "\"";
  CHECK(parse_only(big, static_cast<std::size_t>(-1)).status.code() == StatusCode::kOutOfRange);
  CHECK(parse_only("\"" + std::string(kMaxJsonInput - 2, 'x') + "\"", static_cast<std::size_t>(-1)).status.ok());
}

TEST_CASE("parse does not need a NUL-terminated input") {
  const std::string buffer = "[1][2]";
  const ParseOutcome p = parse_with(std::string_view(buffer).substr(0, 3), [](const json::Value& root) {
    CHECK(root.size() == 1);
    CHECK(root.at(0).as_int().value_or(0) == 1);
    return Status();
  });
  CHECK(p.status.ok());
}

TEST_CASE("a number literal longer than 63 bytes is refused") {
  const std::string ok_literal = "1." + std::string(61, '5');
  CHECK(parse_only("[" + ok_literal + "]").status.ok());
  const ParseOutcome p = parse_only("[1." + std::string(62, '5') + "]");
  CHECK(p.status == syntax_error_at(1));
  CHECK(p.why == "invalid JSON at line 1 column 2: number literal longer than 63 bytes");
}

TEST_CASE("as_int accepts integral values up to 2^53 - 1 and refuses fractions and larger magnitudes") {
  CHECK(int_of("0").value_or(-1) == 0);
  CHECK(int_of("-0").value_or(-1) == 0);
  CHECK(int_of("42").value_or(-1) == 42);
  CHECK(int_of("1.0").value_or(-1) == 1);
  CHECK(int_of("1e2").value_or(-1) == 100);
  CHECK(int_of("-7E0").value_or(0) == -7);
  CHECK(int_of("9007199254740991").value_or(-1) == 9007199254740991LL);
  CHECK(int_of("-9007199254740991").value_or(0) == -9007199254740991LL);
  CHECK(int_of("1.5").status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
  CHECK(int_of("-0.001").status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
  CHECK(int_of("1e-3").status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
  CHECK(int_of("9007199254740992").status() == Status(StatusCode::kOutOfRange, Origin::kJson));
  CHECK(int_of("9007199254740993").status() == Status(StatusCode::kOutOfRange, Origin::kJson));
  CHECK(int_of("-9007199254740992").status() == Status(StatusCode::kOutOfRange, Origin::kJson));
  CHECK(int_of("1e300").status() == Status(StatusCode::kOutOfRange, Origin::kJson));
  CHECK(int_of("1e999").status() == Status(StatusCode::kOutOfRange, Origin::kJson));  // infinite as a double
}

TEST_CASE("as_double refuses literals beyond the range of a double") {
  const ParseOutcome p = parse_with("[1e308, 1e999, -1e999, 5e-324]", [](const json::Value& root) {
    CHECK(root.at(0).as_double().value_or(0) == 1e308);
    CHECK(root.at(1).as_double().status() == Status(StatusCode::kOutOfRange, Origin::kJson));
    CHECK(root.at(2).as_double().status() == Status(StatusCode::kOutOfRange, Origin::kJson));
    CHECK(root.at(3).as_double().value_or(0) == 5e-324);
    return Status();
  });
  CHECK(p.status.ok());
}

TEST_CASE("json types have stable names") {
  CHECK(std::string(json::to_string(json::Type::kInvalid)) == "invalid");
  CHECK(std::string(json::to_string(json::Type::kNull)) == "null");
  CHECK(std::string(json::to_string(json::Type::kBool)) == "boolean");
  CHECK(std::string(json::to_string(json::Type::kNumber)) == "number");
  CHECK(std::string(json::to_string(json::Type::kString)) == "string");
  CHECK(std::string(json::to_string(json::Type::kArray)) == "array");
  CHECK(std::string(json::to_string(json::Type::kObject)) == "object");
}

// ---------------------------------------------------------------------------------------------
// Writer

TEST_CASE("the writer produces a nested document with commas in the right places") {
  char buf[256];
  json::Writer w(buf);
  w.begin_object()
      .key("state").begin_object()
      .key("reported").begin_object()
      .key("temp").number(21.5)
      .key("on").boolean(true)
      .key("mode").string("eco")
      .key("tags").begin_array().string("a").number(std::int64_t{2}).null().begin_array().end_array().end_array()
      .key("empty").begin_object().end_object()
      .end_object()
      .end_object()
      .key("version").number(std::int64_t{17})
      .end_object();
  Result<std::string_view> doc = w.finish();
  REQUIRE(doc.ok());
  CHECK(*doc ==
        R"({"state":{"reported":{"temp":21.5,"on":true,"mode":"eco","tags":["a",2,null,[]],"empty":{}}},"version":17})");
  CHECK(doc->data() == buf);
}

TEST_CASE("the writer escapes quotes, backslashes and control characters and keeps UTF-8") {
  char buf[128];
  json::Writer w(buf);
  w.begin_object().key("k\"ey").string("q\" b\\ n\n t\t r\r b\b f\f \x01\x1F / \x7F caf\xC3\xA9 \xF0\x9F\x98\x80").end_object();
  Result<std::string_view> doc = w.finish();
  REQUIRE(doc.ok());
  CHECK(*doc ==
        "{\"k\\\"ey\":\"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f \\u0001\\u001f / \x7F caf\xC3\xA9 \xF0\x9F\x98\x80\"}");
}

TEST_CASE("the writer escapes an embedded NUL") {
  char buf[32];
  json::Writer w(buf);
  w.string("a\0b"s);
  CHECK(w.finish().value_or("") == "\"a\\u0000b\"");
}

TEST_CASE("what the writer writes parses back to the same values") {
  const std::string tricky = "\"\\/\b\f\n\r\t\x01\x1F caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  const double doubles[] = {0.1, 1.0 / 3.0, -2.5e-300, 1.7976931348623157e308, 5e-324, 123456789.125, -0.0};
  char buf[512];
  json::Writer w(buf);
  w.begin_array().string(tricky).number(std::numeric_limits<std::int64_t>::max())
      .number(std::numeric_limits<std::int64_t>::min()).number(std::int64_t{-9007199254740991});
  for (double d : doubles) w.number(d);
  w.end_array();
  Result<std::string_view> doc = w.finish();
  REQUIRE(doc.ok());
  const double* expected = doubles;
  const std::string* text = &tricky;
  const ParseOutcome p = parse_with(*doc, [expected, text](const json::Value& root) {
    CHECK(root.at(0).as_string().value_or("") == *text);
    CHECK(root.at(3).as_int().value_or(0) == -9007199254740991LL);
    for (std::size_t i = 0; i < 7; ++i) {
      INFO(i);
      CHECK(root.at(4 + i).as_double().value_or(1) == expected[i]);
    }
    return Status();
  });
  CHECK(p.status.ok());
  CHECK(doc->find("9223372036854775807,-9223372036854775808") != std::string_view::npos);
  CHECK(doc->find(",0.1,") != std::string_view::npos);  // the shortest form that reads back
}

TEST_CASE("the writer refuses NaN and infinity with a sticky invalid argument") {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    char buf[64];
    json::Writer w(buf);
    w.begin_array().number(1.0).number(bad).number(2.0).end_array();
    CHECK(w.finish().status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
  }
}

TEST_CASE("the writer refuses strings and keys that are not valid UTF-8") {
  char buf[64];
  json::Writer w(buf);
  w.begin_array().string("ok").string("ab\xC0\xAF").end_array();
  CHECK(w.finish().status() == Status(StatusCode::kInvalidArgument, Origin::kJson, 2));
  json::Writer k(buf);
  k.begin_object().key("\xFF").number(std::int64_t{1}).end_object();
  CHECK(k.finish().status() == Status(StatusCode::kInvalidArgument, Origin::kJson, 0));
}

TEST_CASE("a document that exactly fills the buffer fits and one byte less overflows stickily") {
  const std::string_view expected = R"({"a":[1,true]})";
  char exact[14];
  REQUIRE(sizeof exact == expected.size());
  json::Writer w(exact);
  w.begin_object().key("a").begin_array().number(std::int64_t{1}).boolean(true).end_array().end_object();
  CHECK(w.finish().value_or("") == expected);

  char small[13];
  json::Writer s(small);
  s.begin_object().key("a").begin_array().number(std::int64_t{1}).boolean(true).end_array();
  s.end_object();  // the byte that does not fit
  CHECK(s.finish().status() == Status(StatusCode::kResourceExhausted, Origin::kJson));
  // Sticky: later calls change nothing.
  s.null();
  CHECK(s.finish().status() == Status(StatusCode::kResourceExhausted, Origin::kJson));

  json::Writer none(Span<char>{});
  none.null();
  CHECK(none.finish().status() == Status(StatusCode::kResourceExhausted, Origin::kJson));
}

TEST_CASE("misusing the writer's structure is a failed precondition") {
  const Status misuse(StatusCode::kFailedPrecondition, Origin::kJson);
  char buf[64];
  {
    json::Writer w(buf);  // a value in an object without a key
    w.begin_object().number(std::int64_t{1}).end_object();
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // a key in an array
    w.begin_array().key("k").end_array();
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // two keys in a row
    w.begin_object().key("a").key("b");
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // mismatched end
    w.begin_object().end_array();
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // end without begin
    w.end_object();
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // left open
    w.begin_array().number(std::int64_t{1});
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // a key without its value
    w.begin_object().key("a").end_object();
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // two top-level values
    w.number(std::int64_t{1}).number(std::int64_t{2});
    CHECK(w.finish().status() == misuse);
  }
  {
    json::Writer w(buf);  // nothing at all
    CHECK(w.finish().status() == misuse);
  }
}

TEST_CASE("the writer refuses nesting deeper than kMaxDepth") {
  char buf[64];
  json::Writer ok(buf);
  for (std::size_t i = 0; i < json::kMaxDepth; ++i) ok.begin_array();
  for (std::size_t i = 0; i < json::kMaxDepth; ++i) ok.end_array();
  CHECK(ok.finish().value_or("") == nested(json::kMaxDepth));

  json::Writer deep(buf);
  for (std::size_t i = 0; i <= json::kMaxDepth; ++i) deep.begin_array();
  CHECK(deep.finish().status() == Status(StatusCode::kResourceExhausted, Origin::kJson));
}

TEST_CASE("raw inserts pre-encoded JSON as one value") {
  char buf[64];
  json::Writer w(buf);
  w.begin_object().key("a").raw(R"({"x":[1,2]})").key("b").raw("3").end_object();
  CHECK(w.finish().value_or("") == R"({"a":{"x":[1,2]},"b":3})");
  json::Writer e(buf);
  e.begin_array().raw("").end_array();
  CHECK(e.finish().status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
}
