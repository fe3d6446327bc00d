// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The shadow document codec (tether/shadow/document.hpp) against the AWS IoT Device Shadow rules
// (PROTOCOLS.md §1, docs/cloudsim.md "Merge" and "Delta"). Expected merge and delta texts were
// produced once with the emulator's independent model (tools/cloudsim/cloudsim/shadow_model.py:
// merge, compute_delta, same, depth) and pasted here; where the codec departs from that model on
// purpose the test says so.

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/document.hpp"

using namespace tether;
using namespace tether::shadow;

namespace {

// Parses `a` and `b` (both must parse) and calls `check(root_a, root_b)` while both trees live.
template <typename Check>
void with_parsed(std::string_view a, std::string_view b, Check check) {
  const Check* c = &check;
  const std::string_view* other = &b;
  const Status s = json::parse(a, kMaxJsonInput, [c, other](const json::Value& ra) {
    return json::parse(*other, kMaxJsonInput, [c, &ra](const json::Value& rb) {
      (*c)(ra, rb);
      return Status();
    });
  });
  REQUIRE(s.ok());
}

template <typename Check>
void with_parsed(std::string_view a, Check check) {
  with_parsed(a, "null", [&check](const json::Value& ra, const json::Value&) { check(ra); });
}

Result<std::string_view> merge_into(std::string& buffer, std::string_view base, std::string_view patch,
                                    MergeMode mode = MergeMode::kApply) {
  return merge(base, patch, mode, Span<char>(&buffer[0], buffer.size()));
}

// merge() into a roomy buffer; the test fails when it does not succeed.
std::string merged(std::string_view base, std::string_view patch, MergeMode mode = MergeMode::kApply) {
  std::string buffer(4096, '\0');
  const Result<std::string_view> out = merge_into(buffer, base, patch, mode);
  INFO("base " << base << " patch " << patch);
  REQUIRE(out.ok());
  return std::string(*out);
}

Status merge_status(std::string_view base, std::string_view patch, MergeMode mode = MergeMode::kApply) {
  std::string buffer(4096, '\0');
  return merge_into(buffer, base, patch, mode).status();
}

bool json_equal(std::string_view a, std::string_view b) {
  bool result = false;
  with_parsed(a, b, [&result](const json::Value& ra, const json::Value& rb) { result = equal(ra, rb); });
  return result;
}

// write_diff(local, remote) as text, or nullopt when it reported no difference (then the writer
// must still be empty: finish() reports that nothing was written).
std::optional<std::string> diff(std::string_view local, std::string_view remote) {
  std::optional<std::string> out;
  with_parsed(local, remote, [&out](const json::Value& l, const json::Value& r) {
    char buf[1024];
    json::Writer writer(Span<char>(buf, sizeof buf));
    const bool any = write_diff(writer, l, r);
    const Result<std::string_view> text = writer.finish();
    if (any) {
      REQUIRE(text.ok());
      out = std::string(*text);
    } else {
      CHECK(text.status() == Status(StatusCode::kFailedPrecondition, Origin::kJson));
    }
  });
  return out;
}

std::string find_text(std::string_view doc, std::string_view path) {
  std::string out = "<invalid>";
  with_parsed(doc, [&out, path](const json::Value& root) {
    const json::Value v = find(root, path);
    if (!v.valid()) return;
    char buf[256];
    json::Writer writer(Span<char>(buf, sizeof buf));
    write_value(writer, v);
    out = std::string(writer.finish().value_or("<unwritable>"));
  });
  return out;
}

Status key_path_status(std::string_view path, std::string* why_out = nullptr) {
  ErrorText why;
  const Status s = validate_key_path(path, &why);
  if (why_out != nullptr) *why_out = std::string(why.view());
  CHECK(s.ok() == why.empty());
  return s;
}

Status invalid_path_at(std::size_t offset) {
  return Status(StatusCode::kInvalidArgument, Origin::kShadow, static_cast<std::uint16_t>(offset));
}

Shape shape_text(std::string_view doc) {
  Shape out;
  with_parsed(doc, [&out](const json::Value& root) { out = shape_of(root); });
  return out;
}

Status section_status(std::string_view doc, std::string* why_out = nullptr) {
  Status s;
  with_parsed(doc, [&s, why_out](const json::Value& root) {
    ErrorText why;
    s = check_section(root, &why);
    if (why_out != nullptr) *why_out = std::string(why.view());
    CHECK(s.ok() == why.empty());
  });
  return s;
}

struct Fields {
  Status status;
  std::string client_token;
  std::int64_t version = -2;
  std::int64_t timestamp = -2;
  std::int64_t code = -2;
  std::string message;
  std::string why;
};

Fields response_fields(std::string_view doc) {
  Fields f;
  with_parsed(doc, [&f](const json::Value& root) {
    ResponseFields out;
    ErrorText why;
    f.status = read_response_fields(root, out, &why);
    f.client_token = std::string(out.client_token);
    f.version = out.version;
    f.timestamp = out.timestamp;
    f.code = out.code;
    f.message = std::string(out.message);
    f.why = std::string(why.view());
  });
  return f;
}

Status shadow_field_error(StatusCode code, std::uint16_t field) { return Status(code, Origin::kShadow, field); }

std::string path_patch(std::string_view path) {
  char buf[256];
  json::Writer writer(Span<char>(buf, sizeof buf));
  write_path_patch(writer, path, [](json::Writer& w) { w.number(std::int64_t{7}); });
  return std::string(writer.finish().value_or("<error>"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// merge, kApply (what the service does)

TEST_CASE("merge applies a patch recursively and appends new members after the base's") {
  CHECK(merged(R"({"a":{"b":1,"c":2},"d":3})", R"({"a":{"b":5,"e":{"f":1}}})") ==
        R"({"a":{"b":5,"c":2,"e":{"f":1}},"d":3})");
}

TEST_CASE("merge deletes a member set to null and ignores null for a member that is not there") {
  CHECK(merged(R"({"a":1,"b":2})", R"({"a":null,"zz":null})") == R"({"b":2})");
}

TEST_CASE("merge removes objects left empty by deletions at every level") {
  CHECK(merged(R"({"a":{"b":{"c":1}},"x":1})", R"({"a":{"b":{"c":null}}})") == R"({"x":1})");
  CHECK(merged(R"({"a":{"b":{"c":1},"k":2}})", R"({"a":{"b":{"c":null}}})") == R"({"a":{"k":2}})");
}

TEST_CASE("merge yields an empty object when every member was deleted") {
  CHECK(merged(R"({"a":{"b":1}})", R"({"a":{"b":null}})") == "{}");
  CHECK(merged(R"({"a":1})", R"({"a":null})") == "{}");
  CHECK(merged("", "{}") == "{}");
}

TEST_CASE("merge does not store empty objects from the patch but keeps a base object the patch only touches") {
  CHECK(merged("{}", R"({"a":{},"b":{"c":{}}})") == "{}");
  CHECK(merged(R"({"a":{"y":1}})", R"({"a":{"x":{}}})") == R"({"a":{"y":1}})");
  CHECK(merged(R"({"a":{"x":1}})", R"({"a":{}})") == R"({"a":{"x":1}})");
}

TEST_CASE("merge replaces arrays and scalars whole, whatever the base held") {
  CHECK(merged(R"({"a":[1,2,3],"o":{"x":1},"s":"t","n":[1]})",
               R"({"a":[4],"o":[1],"s":{"y":2},"n":{"z":[null,{}]}})") ==
        R"({"a":[4],"o":[1],"s":{"y":2},"n":{"z":[null,{}]}})");
  CHECK(merged(R"({"a":{"x":1,"y":2}})", R"({"a":7})") == R"({"a":7})");
}

TEST_CASE("merge removes a scalar whose patch is an object that deletes everything") {
  // The patch object is merged into nothing (a scalar is not an object) and comes out empty.
  CHECK(merged(R"({"a":1,"k":true})", R"({"a":{"b":null}})") == R"({"k":true})");
}

TEST_CASE("merge with an empty base text starts from an empty object") {
  CHECK(merged("", R"({"a":1,"b":null,"c":{"d":null}})") == R"({"a":1})");
}

TEST_CASE("write_merged treats a missing or non-object base as an empty object") {
  with_parsed("[1,2]", R"({"a":1,"b":null})", [](const json::Value& base, const json::Value& patch) {
    char buf[128];
    json::Writer writer(Span<char>(buf, sizeof buf));
    CHECK(write_merged(writer, base, patch, MergeMode::kApply));
    CHECK(writer.finish().value_or("") == R"({"a":1})");

    json::Writer from_nothing(Span<char>(buf, sizeof buf));
    CHECK(write_merged(from_nothing, json::Value(), patch, MergeMode::kApply));
    CHECK(from_nothing.finish().value_or("") == R"({"a":1})");
  });
}

TEST_CASE("write_merged writes nothing and returns false when kApply would leave an empty object") {
  with_parsed(R"({"a":1})", R"({"a":null,"b":{}})", [](const json::Value& base, const json::Value& patch) {
    char buf[128];
    json::Writer writer(Span<char>(buf, sizeof buf));
    writer.begin_object().key("state");
    CHECK_FALSE(write_merged(writer, base, patch, MergeMode::kApply));
    writer.null();  // the key still needs a value: proves nothing was written for it
    writer.end_object();
    CHECK(writer.finish().value_or("") == R"({"state":null})");
  });
}

TEST_CASE("merge refuses a base or patch that is not an object") {
  const Status not_object(StatusCode::kInvalidArgument, Origin::kJson);
  CHECK(merge_status("[1]", "{}") == not_object);
  CHECK(merge_status("1", "{}") == not_object);
  CHECK(merge_status("null", "{}") == not_object);
  CHECK(merge_status("{}", "[]") == not_object);
  CHECK(merge_status("{}", "\"x\"") == not_object);
  CHECK(merge_status("{}", "null") == not_object);
  CHECK(merge_status("", "true", MergeMode::kAccumulate) == not_object);
}

TEST_CASE("merge passes on the parse error of either text") {
  CHECK(merge_status(R"({"a":})", "{}") == Status(StatusCode::kInvalidArgument, Origin::kJson, 5));
  CHECK(merge_status("{}", R"({"a" 1})") == Status(StatusCode::kInvalidArgument, Origin::kJson, 5));
  CHECK(merge_status("{}", "") == Status(StatusCode::kInvalidArgument, Origin::kJson, 0));
}

TEST_CASE("merge into a buffer that is too small reports kResourceExhausted and one of the exact size works") {
  const std::string base = R"({"a":{"b":1,"c":[1,2,3]},"s":"text"})";
  const std::string patch = R"({"a":{"b":2},"n":null})";
  const std::string expected = R"({"a":{"b":2,"c":[1,2,3]},"s":"text"})";
  REQUIRE(merged(base, patch) == expected);

  std::string exact(expected.size(), '\0');
  CHECK(merge_into(exact, base, patch).value_or("") == expected);

  std::string short_one(expected.size() - 1, '\0');
  CHECK(merge_into(short_one, base, patch).status().code() == StatusCode::kResourceExhausted);
  CHECK(merge_into(short_one, base, patch).status().origin() == Origin::kJson);

  std::string tiny(1, '\0');
  CHECK(merge_into(tiny, "", "{}").status().code() == StatusCode::kResourceExhausted);
}

TEST_CASE("merge keeps the first of duplicate keys and never writes a key twice") {
  CHECK(merged("{}", R"({"a":1,"a":2})") == R"({"a":1})");
  CHECK(merged(R"({"k":1,"k":2})", "{}") == R"({"k":1})");
  CHECK(merged(R"({"k":{"x":1},"k":5})", R"({"k":{"y":2},"k":null})") == R"({"k":{"x":1,"y":2}})");
  CHECK(merged(R"({"k":1})", R"({"k":null,"k":3})") == "{}");
  CHECK(merged(R"({"o":{"d":1,"d":2}})", R"({"o":{"e":3}})") == R"({"o":{"d":1,"e":3}})");
}

TEST_CASE("merge writes integers as integers and other numbers so that they read back the same") {
  CHECK(merged("", R"({"i":42,"n":-7,"e":1e2,"f":1.0,"max":9007199254740991})") ==
        R"({"i":42,"n":-7,"e":100,"f":1,"max":9007199254740991})");
  CHECK(merged("", R"({"x":1.5})") == R"({"x":1.5})");
  CHECK(merged("", R"({"x":-0.25})") == R"({"x":-0.25})");
  CHECK(merged("", R"({"x":0.1})") == R"({"x":0.1})");

  const std::string big = merged("", R"({"x":1e300})");
  CHECK(big.find('.') == std::string::npos);  // not a 301-digit integer either
  CHECK(big.size() < 16);
  CHECK(json_equal(big, R"({"x":1e300})"));

  // -0 is the integer 0 (JSON equality does not tell them apart).
  CHECK(merged("", R"({"z":-0,"zf":-0.0})") == R"({"z":0,"zf":0})");
  CHECK(json_equal(R"({"z":-0})", R"({"z":0})"));
}

TEST_CASE("merge refuses a number beyond the range of a double instead of writing another one") {
  // 1e999 parses (as_double says kOutOfRange) but cannot be written back; it used to become 0.
  CHECK(merge_status("", R"({"x":1e999})") == Status(StatusCode::kInvalidArgument, Origin::kJson));
  CHECK(merge_status(R"({"x":-1e999})", R"({"y":1})") == Status(StatusCode::kInvalidArgument, Origin::kJson));
  CHECK(merged(R"({"x":-1e999})", R"({"x":null})") == "{}");  // deleting it is fine
}

TEST_CASE("merge round-trips strings with escapes and UTF-8") {
  const std::string doc = R"({"q\"k":"a\"b\\c\/d\n\t\u0001","u":"\u00e9\u20ac\ud83d\ude00","raw":"é€😀"})";
  const std::string out = merged("", doc);
  CHECK(out == R"({"q\"k":"a\"b\\c/d\n\t\u0001","u":"é€😀","raw":"é€😀"})");
  CHECK(json_equal(out, doc));
}

// ---------------------------------------------------------------------------------------------
// merge, kAccumulate (coalescing two patches)

TEST_CASE("kAccumulate keeps nulls so that a coalesced patch still deletes") {
  CHECK(merged(R"({"a":1,"b":{"c":2}})", R"({"a":null,"b":{"c":null,"d":3}})", MergeMode::kAccumulate) ==
        R"({"a":null,"b":{"c":null,"d":3}})");
  CHECK(merged("", R"({"gone":null})", MergeMode::kAccumulate) == R"({"gone":null})");
  CHECK(merged("", "{}", MergeMode::kAccumulate) == "{}");
}

TEST_CASE("kAccumulate lets the later patch win") {
  CHECK(merged(R"({"a":null,"b":1,"c":{"x":1}})", R"({"a":5,"b":null,"c":7})", MergeMode::kAccumulate) ==
        R"({"a":5,"b":null,"c":7})");
  CHECK(merged(R"({"a":{"x":1,"y":2}})", R"({"a":{"x":null,"z":3}})", MergeMode::kAccumulate) ==
        R"({"a":{"x":null,"y":2,"z":3}})");
}

TEST_CASE("kAccumulate keeps an empty object from the patch") {
  CHECK(merged(R"({"a":1})", R"({"b":{}})", MergeMode::kAccumulate) == R"({"a":1,"b":{}})");
}

// ---------------------------------------------------------------------------------------------
// equal

TEST_CASE("equal follows JSON equality: true is not 1, 1 is 1.0") {
  CHECK_FALSE(json_equal("[true]", "[1]"));
  CHECK_FALSE(json_equal("[false]", "[0]"));
  CHECK(json_equal("[1]", "[1.0]"));
  CHECK(json_equal("[100]", "[1e2]"));
  CHECK_FALSE(json_equal("[1]", "[\"1\"]"));
  CHECK_FALSE(json_equal("[1]", "[1.0000001]"));
  CHECK(json_equal(R"(["é"])", R"(["\u00e9"])"));
  CHECK(json_equal("null", "null"));
  CHECK(equal(json::Value(), json::Value()));
}

TEST_CASE("equal ignores member order but not array order") {
  CHECK(json_equal(R"({"a":1,"b":{"c":[1,2],"d":null}})", R"({"b":{"d":null,"c":[1,2]},"a":1.0})"));
  CHECK_FALSE(json_equal("[1,2]", "[2,1]"));
  CHECK_FALSE(json_equal("[1,2]", "[1,2,3]"));
  CHECK_FALSE(json_equal(R"({"a":[{"x":1}]})", R"({"a":[{"x":2}]})"));
}

TEST_CASE("equal tells a missing member from a null one and counts members") {
  CHECK_FALSE(json_equal(R"({"a":null})", "{}"));
  CHECK_FALSE(json_equal("{}", R"({"a":null})"));
  CHECK_FALSE(json_equal(R"({"a":1})", R"({"a":1,"b":2})"));
  CHECK_FALSE(json_equal(R"({"a":1,"b":2})", R"({"a":1,"c":2})"));
  CHECK_FALSE(json_equal("{}", "[]"));
}

TEST_CASE("equal reads duplicate keys as their first occurrence") {
  CHECK(json_equal(R"({"a":1,"a":2})", R"({"a":1})"));
  CHECK_FALSE(json_equal(R"({"a":1,"a":2})", R"({"a":2})"));
}

TEST_CASE("equal never calls a number beyond the range of a double equal to a number") {
  CHECK_FALSE(json_equal("[1e999]", "[0]"));
  CHECK_FALSE(json_equal("[1e999]", "[-1e999]"));
  CHECK_FALSE(json_equal("[1e999]", "[1e999]"));  // its value is unknown, not even to itself
}

// ---------------------------------------------------------------------------------------------
// write_diff

TEST_CASE("write_diff writes only the members that differ, keeping nested paths") {
  CHECK(diff(R"({"a":1,"b":{"c":1,"d":[1,2]},"e":"x"})", R"({"a":1,"b":{"c":2,"d":[1,2]},"e":"x"})") ==
        R"({"b":{"c":1}})");
  CHECK(diff(R"({"a":{"b":{"c":1,"d":2}}})", R"({"a":{"b":{"c":1}}})") == R"({"a":{"b":{"d":2}}})");
}

TEST_CASE("write_diff compares arrays whole and by JSON equality") {
  CHECK(diff(R"({"a":[1,2],"b":true,"c":1})", R"({"a":[2,1],"b":1,"c":1.0})") == R"({"a":[1,2],"b":true})");
  CHECK(diff(R"({"a":[1,{"x":2}]})", R"({"a":[1,{"x":3}]})") == R"({"a":[1,{"x":2}]})");
}

TEST_CASE("write_diff copies a local object whole where the remote has no object") {
  CHECK(diff(R"({"a":{"b":1}})", R"({"a":5})") == R"({"a":{"b":1}})");
  CHECK(diff(R"({"a":{"b":1}})", "{}") == R"({"a":{"b":1}})");
  CHECK(diff(R"({"a":{"b":{"c":1}}})", "[]") == R"({"a":{"b":{"c":1}}})");
}

TEST_CASE("write_diff writes nothing when local and remote are equal") {
  CHECK_FALSE(diff(R"({"a":1,"b":{"c":2}})", R"({"b":{"c":2},"a":1})").has_value());
  CHECK_FALSE(diff("{}", R"({"x":1})").has_value());  // members only in remote are not a difference
  CHECK_FALSE(diff("[1]", "{}").has_value());         // a local that is not an object has no members
}

TEST_CASE("write_diff does not send a local branch of empty objects") {
  // Departs from the emulator's compute_delta, which copies {"a":{},"b":{"c":{}}}: applied with
  // kApply such a branch changes nothing, so there is nothing to send.
  CHECK(diff(R"({"a":{},"b":{"c":{}},"d":1})", R"({"d":1})") == std::nullopt);
  CHECK(diff(R"({"a":{},"d":2})", R"({"d":1})") == R"({"d":2})");
}

TEST_CASE("write_diff reads duplicate keys as their first occurrence") {
  CHECK(diff(R"({"a":1,"a":2})", R"({"a":1})") == std::nullopt);
  CHECK(diff(R"({"a":2})", R"({"a":1,"a":2})") == R"({"a":2})");
}

// ---------------------------------------------------------------------------------------------
// find, validate_key_path, write_path_patch

TEST_CASE("find follows a dotted path through object members") {
  const char* doc = R"({"a":{"b":{"c":1}},"x":[{"y":2}],"":{"e":3}})";
  CHECK(find_text(doc, "a.b.c") == "1");
  CHECK(find_text(doc, "a.b") == R"({"c":1})");
  CHECK(find_text(doc, "") == R"({"a":{"b":{"c":1}},"x":[{"y":2}],"":{"e":3}})");
  CHECK(find_text(doc, "a.z") == "<invalid>");
  CHECK(find_text(doc, "a.b.c.d") == "<invalid>");  // a member of a scalar
  CHECK(find_text(doc, "x.0") == "<invalid>");      // arrays are not indexed
  CHECK(find_text(doc, "x.y") == "<invalid>");
  CHECK(find_text("[1]", "a") == "<invalid>");
}

TEST_CASE("find reads an empty level as the key \"\" wherever it is") {
  const char* doc = R"({"a":{"b":1},"":{"e":3}})";
  CHECK(find_text(doc, ".e") == "3");
  CHECK(find_text(doc, "a.") == "<invalid>");  // used to return "a" itself
  CHECK(find_text(doc, "a..b") == "<invalid>");
  CHECK(find_text(R"({"a":{"":5}})", "a.") == "5");
}

TEST_CASE("validate_key_path accepts dotted paths of 1 to kMaxKeyPath bytes") {
  CHECK(key_path_status("a").ok());
  CHECK(key_path_status("telemetry.interval_s").ok());
  CHECK(key_path_status("a.b.c.d").ok());
  CHECK(key_path_status("température.é-€ 😀").ok());
  CHECK(key_path_status(std::string(kMaxKeyPath, 'k')).ok());
}

TEST_CASE("validate_key_path refuses empty and over-long paths with the length as detail") {
  std::string why;
  CHECK(key_path_status("", &why) == invalid_path_at(0));
  CHECK(why.find("1..128") != std::string::npos);
  CHECK(key_path_status(std::string(kMaxKeyPath + 1, 'k'), &why) == invalid_path_at(kMaxKeyPath + 1));
  CHECK(why.find("is 129") != std::string::npos);
}

TEST_CASE("validate_key_path refuses empty levels at the byte where they are") {
  std::string why;
  CHECK(key_path_status(".", &why) == invalid_path_at(0));
  CHECK(why.find("empty level") != std::string::npos);
  CHECK(key_path_status(".a") == invalid_path_at(0));
  CHECK(key_path_status("a.") == invalid_path_at(1));
  CHECK(key_path_status("a..b") == invalid_path_at(2));
  CHECK(key_path_status("a.b.") == invalid_path_at(3));
}

TEST_CASE("validate_key_path refuses quotes, backslashes and control characters at their byte") {
  std::string why;
  CHECK(key_path_status("a\"b", &why) == invalid_path_at(1));
  CHECK(why.find("0x22 at byte 1") != std::string::npos);
  CHECK(key_path_status("ab\\") == invalid_path_at(2));
  CHECK(key_path_status(std::string("a\0b", 3)) == invalid_path_at(1));
  CHECK(key_path_status("a.\nb") == invalid_path_at(2));
  CHECK(key_path_status("\x1f") == invalid_path_at(0));
  CHECK(key_path_status("ab\x7f") == invalid_path_at(2));
}

TEST_CASE("validate_key_path refuses ill-formed UTF-8, which no JSON key can hold") {
  std::string why;
  CHECK(key_path_status("ab\xff", &why) == invalid_path_at(2));
  CHECK(why.find("UTF-8") != std::string::npos);
  CHECK(key_path_status("a.\xc3") == invalid_path_at(2));          // cut short
  CHECK(key_path_status("\xed\xa0\x80") == invalid_path_at(0));    // a surrogate
  CHECK(key_path_status("ok.\xc0\xaf") == invalid_path_at(3));     // overlong '/'
}

TEST_CASE("validate_key_path explains an empty level in one printable line") {
  std::string why;
  CHECK(key_path_status("a..\n", &why) == invalid_path_at(2));
  CHECK(why.find('\n') == std::string::npos);
}

TEST_CASE("write_path_patch nests one object per level around the leaf") {
  CHECK(path_patch("a") == R"({"a":7})");
  CHECK(path_patch("telemetry.interval_s") == R"({"telemetry":{"interval_s":7}})");
  CHECK(path_patch("a.b.c") == R"({"a":{"b":{"c":7}}})");
  CHECK(path_patch("q\"") == R"({"q\"":7})");  // keys are escaped by the writer
}

// ---------------------------------------------------------------------------------------------
// shape_of, check_section

TEST_CASE("shape_of counts levels of objects and arrays") {
  CHECK(shape_text("1").depth == 0);
  CHECK(shape_text("{}").depth == 1);
  CHECK(shape_text("[]").depth == 1);
  CHECK(shape_text(R"({"a":{}})").depth == 2);
  CHECK(shape_text(R"({"a":1,"b":[[1],{"c":{}}]})").depth == 4);
  CHECK(shape_text(R"({"a":[{"b":null}]})").depth == 3);
}

TEST_CASE("shape_of finds null in an array but not as an object member") {
  CHECK(shape_text(R"({"a":[null]})").null_in_array);
  CHECK(shape_text(R"({"a":{"b":[1,[2,null]]}})").null_in_array);
  CHECK_FALSE(shape_text(R"({"a":null})").null_in_array);
  CHECK_FALSE(shape_text(R"({"a":[{"b":null}]})").null_in_array);
  CHECK_FALSE(shape_text("null").null_in_array);
}

TEST_CASE("check_section accepts nesting of exactly kMaxStateDepth levels") {
  CHECK(section_status(R"({"a":{"b":{"c":{"d":{"e":{}}}}}})").ok());
  CHECK(section_status(R"({"a":{"b":{"c":{"d":{"e":{"f":1}}}}}})").ok());
  CHECK(section_status(R"({"a":[[[[[1]]]]]})").ok());
  CHECK(section_status("{}").ok());
}

TEST_CASE("check_section refuses nesting deeper than kMaxStateDepth with the depth as detail") {
  std::string why;
  CHECK(section_status(R"({"a":[[[[[[1]]]]]]})", &why) == Status(StatusCode::kOutOfRange, Origin::kShadow, 7));
  CHECK(why.find("7 levels") != std::string::npos);
  CHECK(section_status(R"({"ok":1,"a":{"b":{"c":{"d":{"e":{"f":{"g":{}}}}}}}})") ==
        Status(StatusCode::kOutOfRange, Origin::kShadow, 8));
}

TEST_CASE("check_section refuses null inside an array and allows null as a member") {
  std::string why;
  CHECK(section_status(R"({"a":[1,null]})", &why) == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  CHECK(why.find("null") != std::string::npos);
  CHECK(section_status(R"({"a":null,"b":{"c":null}})").ok());
  CHECK(section_status(R"({"a":[{"b":null}]})").ok());
}

TEST_CASE("check_section refuses a section that is not an object") {
  std::string why;
  CHECK(section_status("[1]", &why) == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  CHECK(why.find("array") != std::string::npos);
  CHECK(section_status("null") == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  CHECK(section_status("5") == Status(StatusCode::kInvalidArgument, Origin::kShadow));
}

// ---------------------------------------------------------------------------------------------
// read_response_fields

TEST_CASE("read_response_fields reads every field of a response") {
  const Fields f = response_fields(
      R"({"clientToken":"tok-1","version":17,"timestamp":1795000000,"code":409,"message":"Version conflict"})");
  CHECK(f.status.ok());
  CHECK(f.why.empty());
  CHECK(f.client_token == "tok-1");
  CHECK(f.version == 17);
  CHECK(f.timestamp == 1795000000);
  CHECK(f.code == 409);
  CHECK(f.message == "Version conflict");
}

TEST_CASE("read_response_fields leaves absent fields at their defaults") {
  const Fields f = response_fields(R"({"state":{"desired":{"a":1}}})");
  CHECK(f.status.ok());
  CHECK(f.client_token.empty());
  CHECK(f.version == -1);
  CHECK(f.timestamp == -1);
  CHECK(f.code == 0);
  CHECK(f.message.empty());
  CHECK(response_fields(R"({"version":0,"timestamp":0})").version == 0);
}

TEST_CASE("read_response_fields names the field of the wrong type in the detail") {
  const StatusCode bad = StatusCode::kInvalidArgument;
  CHECK(response_fields(R"({"clientToken":5})").status == shadow_field_error(bad, 1));
  CHECK(response_fields(R"({"clientToken":null})").status == shadow_field_error(bad, 1));
  CHECK(response_fields(R"({"version":"17"})").status == shadow_field_error(bad, 2));
  CHECK(response_fields(R"({"version":1.5})").status == shadow_field_error(bad, 2));
  CHECK(response_fields(R"({"timestamp":true})").status == shadow_field_error(bad, 3));
  CHECK(response_fields(R"({"code":"409"})").status == shadow_field_error(bad, 4));
  CHECK(response_fields(R"({"message":{"text":"x"}})").status == shadow_field_error(bad, 5));
  const Fields f = response_fields(R"({"message":["x"]})");
  CHECK(f.why.find("\"message\"") != std::string::npos);
}

TEST_CASE("read_response_fields refuses a negative version, timestamp or code as out of range") {
  const StatusCode range = StatusCode::kOutOfRange;
  const Fields v = response_fields(R"({"version":-1})");
  CHECK(v.status == shadow_field_error(range, 2));
  CHECK(v.why.find("negative") != std::string::npos);
  CHECK(response_fields(R"({"timestamp":-5})").status == shadow_field_error(range, 3));
  CHECK(response_fields(R"({"code":-400})").status == shadow_field_error(range, 4));
}

TEST_CASE("read_response_fields refuses a root that is not an object") {
  CHECK(response_fields("[1]").status == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  CHECK(response_fields("\"x\"").status == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  CHECK_FALSE(response_fields("null").why.empty());
}
