// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the shadow codecs (tether/shadow/document.hpp, tether/shadow/topics.hpp), which read
// documents and topics the service (or anyone who can publish to the device) sends.
//
// Input: `first line \n rest`. The first line is the base document, and also a key path and a
// shadow name; the rest is the patch document, and also a topic. Either may be anything.
//
// Invariants checked:
// - merge never fails on two objects except for lack of room or an unwritable number (1e999), and
//   its output parses as an object; a base or patch that is not an object is kInvalidArgument/kJson;
// - with B = the base as the service would store it (merged into `{}` with kApply: no null
//   members, no empty objects) and M = merge(B, patch, kApply):
//   - M is what a reference written from the merge rules expects, member by member (first of
//     duplicate keys, no key twice);
//   - M holds no null member and no empty object except a `{}` root (arrays are values, copied
//     whole: what they hold is not looked at);
//   - merging the same patch again changes nothing: merge(M, patch) equal() M;
//   - the patch copied with kAccumulate (merge("", patch, kAccumulate)) applies like the patch;
//   - D = write_diff(local M, remote B) brought to B with kApply gives back everything M holds
//     (write_diff(M, merge(B, D)) writes nothing), and gives exactly M (equal()) when the patch
//     deleted nothing from B. A diff names only what local holds, so it cannot express a member
//     that local lost (a deletion, or an object that a patch emptied); that case is only checked
//     one way;
// - equal() of a successful merge's output with itself holds;
// - read_response_fields and check_section on either document never crash, report an error with
//   origin kShadow and a documented detail, explained on one printable line, and agree with
//   shape_of / the document;
// - validate_key_path on the first line: a path it accepts (at most kMaxDepth levels) gives a
//   write_path_patch document in which find() reaches the leaf;
// - ShadowTopics::match over arbitrary topic bytes (the rest, and the rest under this shadow's
//   prefix) never crashes, and a topic it matches is exactly the one build() gives; init() with the
//   first line as shadow name either succeeds (every topic built matches back) or explains why on
//   one printable line.

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/topics.hpp"

namespace {

namespace json = tether::json;
namespace shadow = tether::shadow;
using shadow::MergeMode;
using tether::ErrorText;
using tether::Origin;
using tether::Result;
using tether::Status;
using tether::StatusCode;

constexpr std::size_t kNpos = std::string_view::npos;

// Parses `text` and calls `f(root)`; false when it does not parse.
template <typename F>
bool with_tree(std::string_view text, F f) {
  F* fp = &f;
  return json::parse(text, tether::kMaxJsonInput, [fp](const json::Value& root) {
           (*fp)(root);
           return Status();
         }).ok();
}

// Both texts parsed (they must parse: they are merge outputs).
template <typename F>
void with_trees(std::string_view a, std::string_view b, F f) {
  const bool parsed = with_tree(a, [&](const json::Value& ra) {
    TETHER_FUZZ_CHECK(with_tree(b, [&](const json::Value& rb) { f(ra, rb); }));
  });
  TETHER_FUZZ_CHECK(parsed);
}

bool is_object_text(std::string_view text) {
  bool object = false;
  return with_tree(text, [&](const json::Value& root) { object = root.is_object(); }) && object;
}

// merge() into a buffer that is big enough for any result (numbers grow at most from `1e15` to
// 16 digits; escapes never grow).
struct Merged {
  std::vector<char> buffer;
  Result<std::string_view> text = Status(StatusCode::kUnknown, Origin::kNone);
  std::string str() const { return std::string(text.value_or("")); }
};

Merged merge(std::string_view base, std::string_view patch, MergeMode mode) {
  Merged m;
  m.buffer.resize(8 * (base.size() + patch.size()) + 64);
  m.text = shadow::merge(base, patch, mode, tether::Span<char>(m.buffer.data(), m.buffer.size()));
  return m;
}

// A merge of two objects fails only on a number it cannot write back (such a literal has an
// exponent: number literals are at most 63 bytes), and never for lack of room here.
void check_merge_outcome(const Merged& m, std::string_view base, std::string_view patch) {
  if (m.text.ok()) {
    TETHER_FUZZ_CHECK(is_object_text(*m.text));
    return;
  }
  TETHER_FUZZ_CHECK(m.text.status() == Status(StatusCode::kInvalidArgument, Origin::kJson));
  const auto has_exponent = [](std::string_view s) { return s.find_first_of("eE") != kNpos; };
  TETHER_FUZZ_CHECK(has_exponent(base) || has_exponent(patch));
}

// No null member and no `{}` below the root, outside arrays.
bool clean(const json::Value& object, bool root) {
  if (!root && object.size() == 0) return false;
  for (json::Value m = object.first_child(); m.valid(); m = m.next()) {
    if (m.is_null()) return false;
    if (m.is_object() && !clean(m, false)) return false;
  }
  return true;
}

// Whether `after` lost a member of `before` (recursively through objects on both sides).
bool lost_member(const json::Value& before, const json::Value& after) {
  for (json::Value m = before.first_child(); m.valid(); m = m.next()) {
    const json::Value a = after[m.key()];
    if (!a.valid()) return true;
    if (m.is_object() && a.is_object() && lost_member(m, a)) return true;
  }
  return false;
}

// Reference for kApply, written from the rules in document.hpp: whether applying the object `p` to
// `b` (an object; anything else counts as `{}`) leaves at least one member.
bool ref_nonempty(const json::Value& b, const json::Value& p) {
  if (b.is_object()) {
    for (json::Value bm = b.first_child(); bm.valid(); bm = bm.next()) {
      const json::Value pm = p[bm.key()];
      if (!pm.valid() || (!pm.is_null() && !pm.is_object()) || (pm.is_object() && ref_nonempty(bm, pm))) return true;
    }
  }
  for (json::Value pm = p.first_child(); pm.valid(); pm = pm.next()) {
    if ((b.is_object() && b[pm.key()].valid()) || pm.is_null()) continue;
    if (!pm.is_object() || ref_nonempty(json::Value(), pm)) return true;
  }
  return false;
}

// `m` is `p` applied to `b` (kApply): every member of `m` comes from one of them; a member of the
// patch (its first occurrence) is deleted by null, merged when it is an object (and dropped when
// that leaves nothing), copied whole otherwise; a member only `b` has is kept as it is.
void check_applied(const json::Value& b, const json::Value& p, const json::Value& m) {
  const json::Value base = b.is_object() ? b : json::Value();
  for (json::Value mm = m.first_child(); mm.valid(); mm = mm.next()) {
    TETHER_FUZZ_CHECK(m[mm.key()].is(mm));  // no duplicate keys
    TETHER_FUZZ_CHECK(p[mm.key()].valid() || base[mm.key()].valid());
  }
  for (json::Value bm = base.first_child(); bm.valid(); bm = bm.next()) {
    if (!p[bm.key()].valid()) TETHER_FUZZ_CHECK(shadow::equal(m[bm.key()], bm));
  }
  for (json::Value pm = p.first_child(); pm.valid(); pm = pm.next()) {
    if (!p[pm.key()].is(pm)) continue;  // a later duplicate: the first one counts
    const json::Value mm = m[pm.key()];
    if (pm.is_null()) {
      TETHER_FUZZ_CHECK(!mm.valid());
    } else if (pm.is_object()) {
      TETHER_FUZZ_CHECK(mm.valid() == ref_nonempty(base[pm.key()], pm));
      if (mm.valid()) {
        TETHER_FUZZ_CHECK(mm.is_object());
        check_applied(base[pm.key()], pm, mm);
      }
    } else {
      TETHER_FUZZ_CHECK(shadow::equal(mm, pm));
    }
  }
}

// write_diff(local, remote) as text; empty when it reported no difference.
std::string diff(std::string_view local, std::string_view remote) {
  std::string out;
  with_trees(local, remote, [&](const json::Value& l, const json::Value& r) {
    std::vector<char> buf(2 * local.size() + 64);
    json::Writer writer(tether::Span<char>(buf.data(), buf.size()));
    const bool any = shadow::write_diff(writer, l, r);
    const Result<std::string_view> text = writer.finish();
    if (!any) {
      TETHER_FUZZ_CHECK(text.status().code() == StatusCode::kFailedPrecondition);  // nothing written
      return;
    }
    TETHER_FUZZ_CHECK(text.ok() && !text->empty());
    out = std::string(*text);
  });
  return out;
}

bool equal_texts(std::string_view a, std::string_view b) {
  bool same = false;
  with_trees(a, b, [&](const json::Value& ra, const json::Value& rb) { same = shadow::equal(ra, rb); });
  return same;
}

void check_documents(std::string_view base, std::string_view patch) {
  const bool base_object = base.empty() || is_object_text(base);  // merge reads empty text as {}
  const bool patch_object = is_object_text(patch);
  for (MergeMode mode : {MergeMode::kApply, MergeMode::kAccumulate}) {
    const Merged raw = merge(base, patch, mode);
    if (base_object && patch_object) {
      check_merge_outcome(raw, base, patch);
    } else {
      TETHER_FUZZ_CHECK(!raw.text.ok());
    }
  }
  if (!base_object || !patch_object) return;

  const Merged stored = merge("", base, MergeMode::kApply);
  if (!stored.text.ok()) return;  // an unwritable number: checked above
  const std::string b = stored.str();
  const Merged merged = merge(b, patch, MergeMode::kApply);
  if (!merged.text.ok()) return;
  const std::string m = merged.str();

  bool nothing_lost = false;
  with_trees(b, m, [&](const json::Value& rb, const json::Value& rm) {
    TETHER_FUZZ_CHECK(clean(rb, true));
    TETHER_FUZZ_CHECK(clean(rm, true));
    TETHER_FUZZ_CHECK(shadow::equal(rm, rm));
    nothing_lost = !lost_member(rb, rm);
    TETHER_FUZZ_CHECK(with_tree(patch, [&](const json::Value& rp) { check_applied(rb, rp, rm); }));
  });

  // Idempotent.
  const Merged again = merge(m, patch, MergeMode::kApply);
  TETHER_FUZZ_CHECK(again.text.ok());
  TETHER_FUZZ_CHECK(equal_texts(*again.text, m));

  // A patch copied with kAccumulate keeps its meaning.
  const Merged copied = merge("", patch, MergeMode::kAccumulate);
  TETHER_FUZZ_CHECK(copied.text.ok());
  const Merged via_copy = merge(b, *copied.text, MergeMode::kApply);
  TETHER_FUZZ_CHECK(via_copy.text.ok());
  TETHER_FUZZ_CHECK(equal_texts(*via_copy.text, m));

  // The diff from B to M, applied to B.
  const std::string d = diff(m, b);
  const Merged applied = merge(b, d.empty() ? std::string_view("{}") : std::string_view(d), MergeMode::kApply);
  TETHER_FUZZ_CHECK(applied.text.ok());
  TETHER_FUZZ_CHECK(diff(m, *applied.text).empty());
  if (nothing_lost) TETHER_FUZZ_CHECK(equal_texts(*applied.text, m));
  if (d.empty() && nothing_lost) TETHER_FUZZ_CHECK(equal_texts(b, m));
}

void check_explained(Status s, const ErrorText& why) {
  TETHER_FUZZ_CHECK(s.ok() == why.empty());
  TETHER_FUZZ_CHECK(tether::fuzz::is_printable_line(why.view()));
}

void check_response(const json::Value& root) {
  shadow::ResponseFields f;
  ErrorText why;
  const Status s = shadow::read_response_fields(root, f, &why);
  check_explained(s, why);
  if (s.ok()) {
    TETHER_FUZZ_CHECK(root.is_object());
    TETHER_FUZZ_CHECK(f.version >= -1 && f.timestamp >= -1 && f.code >= 0);
    TETHER_FUZZ_CHECK((f.version == -1) == !root["version"].valid());
    TETHER_FUZZ_CHECK(f.client_token == root["clientToken"].as_string().value_or(""));
    TETHER_FUZZ_CHECK(f.message == root["message"].as_string().value_or(""));
    return;
  }
  TETHER_FUZZ_CHECK(s.origin() == Origin::kShadow);
  TETHER_FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kOutOfRange);
  TETHER_FUZZ_CHECK(s.detail() <= 5);
  TETHER_FUZZ_CHECK(root.is_object() == (s.detail() != 0));
}

void check_section(const json::Value& root) {
  ErrorText why;
  const Status s = shadow::check_section(root, &why);
  check_explained(s, why);
  const shadow::Shape shape = shadow::shape_of(root);
  if (!root.is_object()) {
    TETHER_FUZZ_CHECK(s == Status(StatusCode::kInvalidArgument, Origin::kShadow));
  } else if (shape.depth > shadow::kMaxStateDepth) {
    TETHER_FUZZ_CHECK(s == Status(StatusCode::kOutOfRange, Origin::kShadow, static_cast<std::uint16_t>(shape.depth)));
  } else {
    TETHER_FUZZ_CHECK(s.ok() != shape.null_in_array);
  }
  TETHER_FUZZ_CHECK(shape.depth <= json::kMaxDepth);
}

void check_key_path(std::string_view path) {
  ErrorText why;
  const Status s = shadow::validate_key_path(path, &why);
  check_explained(s, why);
  if (!s.ok()) {
    TETHER_FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument && s.origin() == Origin::kShadow);
    const bool bad_length = path.empty() || path.size() > shadow::kMaxKeyPath;
    TETHER_FUZZ_CHECK(s.detail() <= (bad_length ? path.size() : path.size() - 1));  // a length or an offset
    return;
  }
  TETHER_FUZZ_CHECK(tether::fuzz::is_utf8(path));
  std::size_t levels = 1;
  for (char c : path) levels += c == '.' ? 1 : 0;
  char buf[4 * shadow::kMaxKeyPath + 64];
  json::Writer writer(tether::Span<char>(buf, sizeof buf));
  shadow::write_path_patch(writer, path, [](json::Writer& w) { w.string("leaf"); });
  const Result<std::string_view> patch = writer.finish();
  if (levels > json::kMaxDepth) {
    TETHER_FUZZ_CHECK(patch.status() == Status(StatusCode::kResourceExhausted, Origin::kJson));
    return;
  }
  TETHER_FUZZ_CHECK(patch.ok());
  TETHER_FUZZ_CHECK(with_tree(*patch, [&](const json::Value& root) {
    TETHER_FUZZ_CHECK(shadow::find(root, path).as_string().value_or("") == "leaf");
    TETHER_FUZZ_CHECK(shadow::find(root, "").is(root));
  }));
}

void check_match(const shadow::ShadowTopics& topics, std::string_view topic) {
  shadow::Topic which = shadow::Topic::kGet;
  if (!topics.match(topic, which)) return;
  tether::FixedString<tether::kMaxTopic> built;
  TETHER_FUZZ_CHECK(topics.build(which, built) == topic);
}

void check_topics(std::string_view name, std::string_view topic) {
  for (tether::TopicProfile profile : {tether::TopicProfile::kAws, tether::TopicProfile::kNeutral}) {
    const tether::TopicScheme scheme(profile, "dev-1");
    shadow::ShadowTopics topics;
    ErrorText why;
    const Status s = topics.init(scheme, name, &why);
    check_explained(s, why);
    if (!s.ok()) {
      TETHER_FUZZ_CHECK(s.origin() == Origin::kTopic);
      TETHER_FUZZ_CHECK(topics.prefix().empty());
      shadow::Topic which = shadow::Topic::kGet;
      TETHER_FUZZ_CHECK(!topics.match(topic, which));
      continue;
    }
    for (std::size_t i = 0; i < shadow::kTopicCount; ++i) {
      const auto t = static_cast<shadow::Topic>(i);
      tether::FixedString<tether::kMaxTopic> built;
      const std::string_view full = topics.build(t, built);
      TETHER_FUZZ_CHECK(tether::validate_topic_name(full, profile).ok());
      shadow::Topic which = shadow::Topic::kGet;
      TETHER_FUZZ_CHECK(topics.match(full, which) && which == t);
    }
    check_match(topics, topic);
    check_match(topics, std::string(topics.prefix()) + "/" + std::string(topic));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tether::fuzz::as_text(data, size);
  const std::size_t nl = input.find('\n');
  const std::string_view first = input.substr(0, nl);
  const std::string_view rest = nl == kNpos ? std::string_view() : input.substr(nl + 1);

  check_documents(first, rest);
  for (std::string_view text : {first, rest}) {
    with_tree(text, [](const json::Value& root) {
      check_response(root);
      check_section(root);
    });
  }
  check_key_path(first);
  check_topics(first, rest);
  check_topics("", input);
  return 0;
}
