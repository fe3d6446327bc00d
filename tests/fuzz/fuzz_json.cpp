// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: tether::json::parse, every json::Value accessor, and json::Writer.
//
// Invariants checked:
// - a failure has a documented code (never kInternal: the strict validator and cJSON disagreeing),
//   origin kJson, a detail within the input and an explanation;
// - in a parsed tree every accessor agrees with type(), strings and keys are valid UTF-8 without
//   NUL, integers are exact, lookups by key and index find what iteration finds, and nesting stays
//   within kMaxDepth;
// - round trip: the tree written with json::Writer parses again to an equal tree unless the writer
//   reported overflow, and writing that tree again gives the same bytes; a buffer of exactly the
//   written size suffices, one byte less is reported as kResourceExhausted (and never overrun);
// - the input bytes as a string (and key) survive Writer -> parse unchanged when they are valid
//   UTF-8 without NUL, and are refused at the first bad byte otherwise; the first 8 bytes as a
//   double and as an int64 survive Writer -> parse.

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "fuzz_support.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"

namespace {

namespace json = tether::json;
using tether::Origin;
using tether::Result;
using tether::Status;
using tether::StatusCode;

constexpr double kMaxSafeInteger = 9007199254740991.0;
// Full accessor checks look at this many members of each container (lookups are linear, and a
// fuzzer input with thousands of members would otherwise spend its time in quadratic checks).
constexpr std::size_t kCheckedMembers = 64;

bool is_type_mismatch(Status s) { return s.code() == StatusCode::kInvalidArgument && s.origin() == Origin::kJson; }

void check_invalid_value(const json::Value& v) {
  TETHER_FUZZ_CHECK(!v.valid());
  TETHER_FUZZ_CHECK(v.type() == json::Type::kInvalid);
  TETHER_FUZZ_CHECK(!v.is_object() && !v.is_array() && !v.is_string() && !v.is_number() && !v.is_bool() &&
                    !v.is_null());
  TETHER_FUZZ_CHECK(v.size() == 0 && v.key().empty());
  TETHER_FUZZ_CHECK(!v.first_child().valid() && !v.next().valid() && !v["a"].valid() && !v.at(0).valid());
  TETHER_FUZZ_CHECK(is_type_mismatch(v.as_string().status()) && is_type_mismatch(v.as_bool().status()) &&
                    is_type_mismatch(v.as_double().status()) && is_type_mismatch(v.as_int().status()));
}

// Structural equality through the public API only.
bool same_tree(const json::Value& a, const json::Value& b) {
  if (a.type() != b.type() || a.key() != b.key() || a.size() != b.size()) return false;
  switch (a.type()) {
    case json::Type::kInvalid:
    case json::Type::kNull: return true;
    case json::Type::kBool: return *a.as_bool() == *b.as_bool();
    case json::Type::kString: return *a.as_string() == *b.as_string();
    case json::Type::kNumber: {
      const Result<double> da = a.as_double();
      const Result<double> db = b.as_double();
      const Result<std::int64_t> ia = a.as_int();
      const Result<std::int64_t> ib = b.as_int();
      if (da.status() != db.status() || ia.status() != ib.status()) return false;
      if (da.ok() && (*da != *db || std::signbit(*da) != std::signbit(*db))) return false;
      return !ia.ok() || *ia == *ib;
    }
    case json::Type::kArray:
    case json::Type::kObject:
      for (json::Value x = a.first_child(), y = b.first_child(); x.valid() || y.valid(); x = x.next(), y = y.next()) {
        if (!same_tree(x, y)) return false;
      }
      return true;
  }
  return false;
}

void check_number(const json::Value& v) {
  const Result<double> d = v.as_double();
  const Result<std::int64_t> i = v.as_int();
  if (d.ok()) {
    TETHER_FUZZ_CHECK(std::isfinite(*d));
  } else {
    TETHER_FUZZ_CHECK(d.status().code() == StatusCode::kOutOfRange && d.status().origin() == Origin::kJson);
  }
  if (i.ok()) {
    TETHER_FUZZ_CHECK(d.ok() && static_cast<double>(*i) == *d);
    TETHER_FUZZ_CHECK(*i >= -9007199254740991LL && *i <= 9007199254740991LL);
  } else if (i.status().code() == StatusCode::kInvalidArgument) {
    TETHER_FUZZ_CHECK(d.ok() && std::trunc(*d) != *d);
  } else {
    TETHER_FUZZ_CHECK(i.status().code() == StatusCode::kOutOfRange);
    TETHER_FUZZ_CHECK(!d.ok() || std::fabs(*d) > kMaxSafeInteger);
  }
  TETHER_FUZZ_CHECK(is_type_mismatch(v.as_string().status()) && is_type_mismatch(v.as_bool().status()));
}

void walk(const json::Value& v, std::size_t level) {
  TETHER_FUZZ_CHECK(v.valid());
  const json::Type type = v.type();
  TETHER_FUZZ_CHECK(type != json::Type::kInvalid);
  TETHER_FUZZ_CHECK(json::to_string(type) != nullptr);
  TETHER_FUZZ_CHECK(v.is_object() == (type == json::Type::kObject) && v.is_array() == (type == json::Type::kArray) &&
                    v.is_string() == (type == json::Type::kString) && v.is_number() == (type == json::Type::kNumber) &&
                    v.is_bool() == (type == json::Type::kBool) && v.is_null() == (type == json::Type::kNull));
  const std::string_view key = v.key();
  TETHER_FUZZ_CHECK(tether::fuzz::is_utf8(key) && !tether::fuzz::contains(key, '\0'));

  switch (type) {
    case json::Type::kNull:
      TETHER_FUZZ_CHECK(is_type_mismatch(v.as_string().status()) && is_type_mismatch(v.as_bool().status()) &&
                        is_type_mismatch(v.as_double().status()) && is_type_mismatch(v.as_int().status()));
      break;
    case json::Type::kBool:
      TETHER_FUZZ_CHECK(v.as_bool().ok());
      TETHER_FUZZ_CHECK(is_type_mismatch(v.as_string().status()) && is_type_mismatch(v.as_double().status()) &&
                        is_type_mismatch(v.as_int().status()));
      break;
    case json::Type::kNumber: check_number(v); break;
    case json::Type::kString: {
      const Result<std::string_view> s = v.as_string();
      TETHER_FUZZ_CHECK(s.ok());
      TETHER_FUZZ_CHECK(tether::fuzz::is_utf8(*s) && !tether::fuzz::contains(*s, '\0'));
      TETHER_FUZZ_CHECK(is_type_mismatch(v.as_bool().status()) && is_type_mismatch(v.as_double().status()) &&
                        is_type_mismatch(v.as_int().status()));
      break;
    }
    case json::Type::kArray:
    case json::Type::kObject: {
      TETHER_FUZZ_CHECK(level + 1 <= json::kMaxDepth);
      TETHER_FUZZ_CHECK(is_type_mismatch(v.as_string().status()) && is_type_mismatch(v.as_bool().status()) &&
                        is_type_mismatch(v.as_double().status()) && is_type_mismatch(v.as_int().status()));
      const bool object = type == json::Type::kObject;
      std::size_t n = 0;
      for (json::Value c = v.first_child(); c.valid(); c = c.next(), ++n) {
        if (n < kCheckedMembers) {
          TETHER_FUZZ_CHECK(same_tree(v.at(n), object ? json::Value() : c));
          if (object) {
            // Lookup by key finds the first member with that key.
            json::Value first = v.first_child();
            while (first.key() != c.key()) first = first.next();
            TETHER_FUZZ_CHECK(same_tree(v[c.key()], first));
          } else {
            TETHER_FUZZ_CHECK(c.key().empty());
            TETHER_FUZZ_CHECK(!v[c.key()].valid());
          }
        }
        walk(c, level + 1);
      }
      TETHER_FUZZ_CHECK(n == v.size());
      check_invalid_value(v.at(n));
      check_invalid_value(v.at(std::numeric_limits<std::size_t>::max()));
      break;
    }
    case json::Type::kInvalid: break;
  }
}

void check_parse_error(std::string_view text, Status status, const tether::ErrorText& why) {
  TETHER_FUZZ_CHECK(status.origin() == Origin::kJson);
  const std::string_view w = why.view();
  TETHER_FUZZ_CHECK(!w.empty() && tether::fuzz::is_printable_line(w));
  const std::size_t max_detail = text.size() < 0xFFFF ? text.size() : 0xFFFF;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      TETHER_FUZZ_CHECK(status.detail() <= max_detail);
      TETHER_FUZZ_CHECK(w.substr(0, 21) == "invalid JSON at line ");
      break;
    case StatusCode::kOutOfRange:
      TETHER_FUZZ_CHECK(status.detail() <= max_detail);
      TETHER_FUZZ_CHECK(w.substr(0, 19) == "JSON nested deeper " || w.substr(0, 20) == "JSON input too large");
      break;
    case StatusCode::kResourceExhausted: break;  // cJSON out of memory
    default:
      std::fprintf(stderr, "unexpected parse status %s: %s\n", tether::to_string(status.code()), why.c_str());
      TETHER_FUZZ_CHECK(!"parse returned an undocumented status");
  }
}

// Writes `root` into a heap block of exactly `capacity` bytes (so ASan sees any overrun).
struct Written {
  std::unique_ptr<char[]> buffer;
  Result<std::string_view> text = Status(StatusCode::kUnknown, Origin::kNone);
};

Written write_exact(const json::Value& root, std::size_t capacity) {
  Written w;
  w.buffer.reset(new char[capacity == 0 ? 1 : capacity]);
  json::Writer writer(tether::Span<char>(w.buffer.get(), capacity));
  tether::fuzz::write_json(writer, root, tether::fuzz::Identity{});
  w.text = writer.finish();
  return w;
}

void check_round_trip(const json::Value& root, std::size_t input_size) {
  const Written first = write_exact(root, 8 * input_size + 64);
  if (!first.text.ok()) {
    TETHER_FUZZ_CHECK(first.text.status().code() == StatusCode::kResourceExhausted);
    return;
  }
  const std::string_view text = *first.text;
  tether::ErrorText why;
  const Status reparsed = json::parse(text, tether::kMaxJsonInput, [&](const json::Value& again) {
    TETHER_FUZZ_CHECK(same_tree(root, again));
    const Written second = write_exact(again, text.size());  // exactly enough
    TETHER_FUZZ_CHECK(second.text.ok());
    TETHER_FUZZ_CHECK(*second.text == text);
    if (!text.empty()) {
      const Written short_one = write_exact(again, text.size() - 1);
      TETHER_FUZZ_CHECK(short_one.text.status().code() == StatusCode::kResourceExhausted);
    }
    return tether::ok_status();
  }, &why);
  if (!reparsed.ok()) {
    std::fprintf(stderr, "written document does not parse (%s): %.*s\n", why.c_str(), static_cast<int>(text.size()),
                 text.data());
  }
  // The writer output can be larger than the parser's input limit; that is its only excuse.
  TETHER_FUZZ_CHECK(reparsed.ok() ||
                    (text.size() > tether::kMaxJsonInput && reparsed.code() == StatusCode::kOutOfRange));
}

// The input bytes as a string value and as a key.
void check_string_round_trip(std::string_view bytes) {
  std::size_t first_bad = tether::fuzz::check_utf8(bytes, [](std::uint32_t, std::size_t) {});
  const std::size_t capacity = 6 * bytes.size() + 16;
  std::unique_ptr<char[]> buf(new char[capacity]);
  for (bool as_key : {false, true}) {
    json::Writer w(tether::Span<char>(buf.get(), capacity));
    if (as_key) {
      w.begin_object().key(bytes).null().end_object();
    } else {
      w.begin_array().string(bytes).end_array();
    }
    const Result<std::string_view> out = w.finish();
    if (first_bad != std::string_view::npos) {
      TETHER_FUZZ_CHECK(!out.ok());
      TETHER_FUZZ_CHECK(out.status().code() == StatusCode::kInvalidArgument);
      TETHER_FUZZ_CHECK(out.status().detail() == (first_bad < 0xFFFF ? first_bad : 0xFFFF));
      continue;
    }
    TETHER_FUZZ_CHECK(out.ok());
    if (tether::fuzz::contains(bytes, '\0')) continue;  // written as \u0000, which parse refuses
    const Status parsed = json::parse(*out, tether::kMaxJsonInput, [&](const json::Value& root) {
      const json::Value v = as_key ? root.first_child() : root.at(0);
      TETHER_FUZZ_CHECK(as_key ? v.key() == bytes : v.as_string().value_or("\x01") == bytes);
      return tether::ok_status();
    });
    TETHER_FUZZ_CHECK(parsed.ok() || out->size() > tether::kMaxJsonInput);
  }
}

void check_number_round_trip(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return;
  double d = 0;
  std::int64_t i = 0;
  std::memcpy(&d, data, sizeof d);
  std::memcpy(&i, data, sizeof i);
  char buf[64];

  json::Writer wd(buf);
  wd.number(d);
  const Result<std::string_view> dtext = wd.finish();
  if (!std::isfinite(d)) {
    TETHER_FUZZ_CHECK(dtext.status().code() == StatusCode::kInvalidArgument);
  } else {
    TETHER_FUZZ_CHECK(dtext.ok());
    const Status s = json::parse(*dtext, sizeof buf, [&](const json::Value& v) {
      const Result<double> back = v.as_double();
      TETHER_FUZZ_CHECK(back.ok() && *back == d && std::signbit(*back) == std::signbit(d));
      return tether::ok_status();
    });
    TETHER_FUZZ_CHECK(s.ok());
  }

  json::Writer wi(buf);
  wi.number(i);
  const Result<std::string_view> itext = wi.finish();
  TETHER_FUZZ_CHECK(itext.ok());
  const Status s = json::parse(*itext, sizeof buf, [&](const json::Value& v) {
    if (i >= -9007199254740991LL && i <= 9007199254740991LL) {
      TETHER_FUZZ_CHECK(v.as_int().ok() && *v.as_int() == i);
    } else {
      TETHER_FUZZ_CHECK(v.as_int().status().code() == StatusCode::kOutOfRange);
      TETHER_FUZZ_CHECK(v.as_double().ok() && *v.as_double() == static_cast<double>(i));
    }
    return tether::ok_status();
  });
  TETHER_FUZZ_CHECK(s.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tether::fuzz::as_text(data, size);
  check_invalid_value(json::Value());

  tether::ErrorText why;
  bool visited = false;
  const Status status = json::parse(text, tether::kMaxJsonInput, [&](const json::Value& root) {
    visited = true;
    TETHER_FUZZ_CHECK(root.key().empty());
    walk(root, 0);
    check_round_trip(root, text.size());
    return Status(StatusCode::kAborted, Origin::kApp, 7);  // parse must hand this back as is
  }, &why);
  if (visited) {
    TETHER_FUZZ_CHECK(status == Status(StatusCode::kAborted, Origin::kApp, 7));
  } else {
    check_parse_error(text, status, why);
  }

  // A limit below the input size is refused before anything else.
  if (size > 0) {
    const Status limited = json::parse(text, size - 1, [](const json::Value&) { return tether::ok_status(); });
    TETHER_FUZZ_CHECK(limited.code() == StatusCode::kOutOfRange && limited.detail() == 0);
  }

  check_string_round_trip(text);
  check_number_round_trip(data, size);
  return 0;
}
