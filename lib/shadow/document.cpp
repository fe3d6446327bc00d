// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/shadow/document.hpp"

#include <cmath>
#include <limits>

#include "tether/limits.hpp"

namespace tether::shadow {
namespace {

using json::Type;
using json::Value;


// A member of an object that an earlier member with the same key shadows (JSON allows duplicate
// keys; lookups find the first, so every function here uses the first and skips the others).
bool shadowed(const Value& object, const Value& member) { return !object[member.key()].is(member); }

bool is_object(const Value& v) { return v.type() == Type::kObject; }

// Whether merging `patch` into `base` (kApply) leaves at least one member.
bool merged_nonempty(const Value& base, const Value& patch) {
  const Value b = is_object(base) ? base : Value();
  for (Value m = b.first_child(); m.valid(); m = m.next()) {
    if (shadowed(b, m)) continue;
    const Value p = patch[m.key()];
    if (!p.valid()) return true;
    if (p.is_null()) continue;
    if (!is_object(p) || merged_nonempty(m, p)) return true;
  }
  for (Value m = patch.first_child(); m.valid(); m = m.next()) {
    if (shadowed(patch, m) || b[m.key()].valid() || m.is_null()) continue;
    if (!is_object(m) || merged_nonempty(Value(), m)) return true;
  }
  return false;
}

// The merged value of one member present in the patch (`base_member` may be invalid).
void write_patched_member(json::Writer& writer, std::string_view key, const Value& base_member, const Value& p,
                          MergeMode mode) {
  if (p.is_null()) {
    if (mode == MergeMode::kAccumulate) writer.key(key).null();
    return;
  }
  if (!is_object(p)) {
    writer.key(key);
    write_value(writer, p);
    return;
  }
  const Value base_object = is_object(base_member) ? base_member : Value();
  if (mode == MergeMode::kApply && !merged_nonempty(base_object, p)) return;
  writer.key(key);
  write_merged(writer, base_object, p, mode);
}

bool diff_nonempty(const Value& local, const Value& remote) {
  for (Value m = local.first_child(); m.valid(); m = m.next()) {
    if (shadowed(local, m)) continue;
    const Value r = remote[m.key()];
    if (is_object(m)) {
      if (diff_nonempty(m, is_object(r) ? r : Value())) return true;
    } else if (!r.valid() || !equal(m, r)) {
      return true;
    }
  }
  return false;
}

// Offset of the first ill-formed UTF-8 sequence in `text`, or npos. The JSON writer is the one
// UTF-8 check of the public API: it refuses a string that is not valid UTF-8 with the offset as
// detail. Sized for a key path (at most kMaxKeyPath bytes) without escapes; one that needs them
// overflows and reads as npos, and validate_key_path refuses the characters needing them anyway.
std::size_t first_bad_utf8(std::string_view text) {
  char buf[kMaxKeyPath + 2];
  json::Writer writer(Span<char>(buf, sizeof buf));
  writer.string(text);
  const Status s = writer.finish().status();
  return s.code() == StatusCode::kInvalidArgument ? s.detail() : std::string_view::npos;
}

void shape(const Value& v, bool in_array, std::size_t level, Shape& out) {
  const Type t = v.type();
  if (t == Type::kNull && in_array) out.null_in_array = true;
  if (t != Type::kObject && t != Type::kArray) return;
  if (level + 1 > out.depth) out.depth = level + 1;
  for (Value m = v.first_child(); m.valid(); m = m.next()) shape(m, t == Type::kArray, level + 1, out);
}

}  // namespace

bool equal(const Value& a, const Value& b) {
  const Type t = a.type();
  if (t != b.type()) return false;
  switch (t) {
    case Type::kInvalid:
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.as_bool().value_or(false) == b.as_bool().value_or(false);
    case Type::kNumber: {
      // A literal beyond the range of a double (1e999) has no known value (as_double refuses it
      // and does not say its sign), so it equals no number, itself included.
      const Result<double> x = a.as_double();
      const Result<double> y = b.as_double();
      return x.ok() && y.ok() && x.value() == y.value();
    }
    case Type::kString:
      return a.as_string().value_or({}) == b.as_string().value_or({});
    case Type::kArray: {
      if (a.size() != b.size()) return false;
      Value y = b.first_child();
      for (Value x = a.first_child(); x.valid(); x = x.next(), y = y.next()) {
        if (!equal(x, y)) return false;
      }
      return true;
    }
    case Type::kObject: {
      std::size_t members = 0;
      for (Value m = a.first_child(); m.valid(); m = m.next()) {
        if (shadowed(a, m)) continue;
        ++members;
        if (!equal(m, b[m.key()])) return false;
      }
      std::size_t other = 0;
      for (Value m = b.first_child(); m.valid(); m = m.next()) other += shadowed(b, m) ? 0 : 1;
      return members == other;
    }
  }
  return false;
}

Value find(const Value& root, std::string_view path) {
  if (path.empty()) return root;
  Value v = root;
  for (;;) {  // every level, an empty one after a trailing '.' included, names a member
    const std::size_t dot = path.find('.');
    v = is_object(v) ? v[path.substr(0, dot)] : Value();
    if (dot == std::string_view::npos || !v.valid()) return v;
    path.remove_prefix(dot + 1);
  }
}

Status validate_key_path(std::string_view path, ErrorText* why) {
  if (path.empty() || path.size() > kMaxKeyPath) {
    set_error_text(why, "key path must be 1..%u bytes (is %u)", static_cast<unsigned>(kMaxKeyPath),
                   static_cast<unsigned>(path.size()));
    return Status(StatusCode::kInvalidArgument, Origin::kShadow, static_cast<std::uint16_t>(path.size()));
  }
  const std::size_t bad_utf8 = first_bad_utf8(path);
  bool level_start = true;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (i == bad_utf8) {
      set_error_text(why, "invalid UTF-8 at byte %u of a key path", static_cast<unsigned>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kShadow, static_cast<std::uint16_t>(i));
    }
    const bool bad_char = c < 0x20 || c == 0x7F || c == '"' || c == '\\';
    if (bad_char) {
      set_error_text(why, "character 0x%02x at byte %u is not allowed in a key path", c, static_cast<unsigned>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kShadow, static_cast<std::uint16_t>(i));
    }
    if ((c == '.' && level_start) || (i + 1 == path.size() && c == '.')) {
      // The path is not quoted: the bytes after this one have not been checked.
      set_error_text(why, "empty level at byte %u of a key path", static_cast<unsigned>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kShadow, static_cast<std::uint16_t>(i));
    }
    level_start = c == '.';
  }
  return Status();
}

void write_value(json::Writer& writer, const Value& value) {
  switch (value.type()) {
    case Type::kInvalid:
    case Type::kNull:
      writer.null();
      return;
    case Type::kBool:
      writer.boolean(value.as_bool().value_or(false));
      return;
    case Type::kNumber: {
      // A literal beyond the range of a double (1e999) cannot be written back: infinity makes the
      // writer fail (kInvalidArgument/kJson) rather than write some other number.
      const double d = value.as_double().value_or(std::numeric_limits<double>::infinity());
      if (json::whole_number_within(d, json::kMaxSafeInteger)) {
        writer.number(static_cast<std::int64_t>(d));
      } else {
        writer.number(d);
      }
      return;
    }
    case Type::kString:
      writer.string(value.as_string().value_or({}));
      return;
    case Type::kArray:
      writer.begin_array();
      for (Value m = value.first_child(); m.valid(); m = m.next()) write_value(writer, m);
      writer.end_array();
      return;
    case Type::kObject:
      writer.begin_object();
      for (Value m = value.first_child(); m.valid(); m = m.next()) {
        if (shadowed(value, m)) continue;
        writer.key(m.key());
        write_value(writer, m);
      }
      writer.end_object();
      return;
  }
}

bool write_merged(json::Writer& writer, const Value& base, const Value& patch, MergeMode mode) {
  const Value b = is_object(base) ? base : Value();
  const Value p = is_object(patch) ? patch : Value();
  if (mode == MergeMode::kApply && !merged_nonempty(b, p)) return false;
  writer.begin_object();
  for (Value m = b.first_child(); m.valid(); m = m.next()) {
    if (shadowed(b, m)) continue;
    const Value pm = p[m.key()];
    if (pm.valid()) {
      write_patched_member(writer, m.key(), m, pm, mode);
    } else {
      writer.key(m.key());
      write_value(writer, m);
    }
  }
  for (Value m = p.first_child(); m.valid(); m = m.next()) {
    if (shadowed(p, m) || b[m.key()].valid()) continue;
    write_patched_member(writer, m.key(), Value(), m, mode);
  }
  writer.end_object();
  return true;
}

Result<std::string_view> merge(std::string_view base, std::string_view patch, MergeMode mode, Span<char> out) {
  json::Writer writer(out);
  const auto with_base = [&](const Value& base_root) -> Status {
    if (!is_object(base_root)) return Status(StatusCode::kInvalidArgument, Origin::kJson);
    return json::parse(patch, kMaxJsonInput, [&](const Value& patch_root) -> Status {
      if (!is_object(patch_root)) return Status(StatusCode::kInvalidArgument, Origin::kJson);
      if (!write_merged(writer, base_root, patch_root, mode)) writer.begin_object().end_object();
      return Status();
    });
  };
  const Status parsed = base.empty() ? json::parse("{}", 2, with_base) : json::parse(base, kMaxJsonInput, with_base);
  if (!parsed.ok()) return parsed;
  return writer.finish();
}

bool write_diff(json::Writer& writer, const Value& local, const Value& remote) {
  const Value r = is_object(remote) ? remote : Value();
  if (!is_object(local) || !diff_nonempty(local, r)) return false;
  writer.begin_object();
  for (Value m = local.first_child(); m.valid(); m = m.next()) {
    if (shadowed(local, m)) continue;
    const Value rm = r[m.key()];
    if (is_object(m)) {
      const Value sub = is_object(rm) ? rm : Value();
      if (!diff_nonempty(m, sub)) continue;
      writer.key(m.key());
      write_diff(writer, m, sub);
    } else if (!rm.valid() || !equal(m, rm)) {
      writer.key(m.key());
      write_value(writer, m);
    }
  }
  writer.end_object();
  return true;
}

Shape shape_of(const Value& value) {
  Shape out;
  shape(value, false, 0, out);
  return out;
}

Status check_section(const Value& section, ErrorText* why) {
  if (!is_object(section)) {
    set_error_text(why, "a state section must be a JSON object (is %s)", json::to_string(section.type()));
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  const Shape s = shape_of(section);
  if (s.depth > kMaxStateDepth) {
    set_error_text(why, "state nested %u levels deep (the shadow service allows %u)", static_cast<unsigned>(s.depth),
                   static_cast<unsigned>(kMaxStateDepth));
    return Status(StatusCode::kOutOfRange, Origin::kShadow, static_cast<std::uint16_t>(s.depth));
  }
  if (s.null_in_array) {
    set_error_text(why, "an array in the state holds null (the shadow service refuses it)");
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  return Status();
}

Status read_response_fields(const Value& root, ResponseFields& out, ErrorText* why) {
  out = ResponseFields{};
  if (!is_object(root)) {
    set_error_text(why, "shadow response is not a JSON object");
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  struct IntField {
    const char* name;
    std::int64_t* target;
    std::uint16_t detail;
  };
  const IntField ints[] = {{"version", &out.version, 2}, {"timestamp", &out.timestamp, 3}, {"code", &out.code, 4}};
  for (const IntField& f : ints) {
    const Value v = root[f.name];
    if (!v.valid()) continue;
    Result<std::int64_t> n = v.as_int();
    if (!n.ok()) {
      set_error_text(why, "shadow response field \"%s\" is not an integer", f.name);
      return Status(StatusCode::kInvalidArgument, Origin::kShadow, f.detail);
    }
    if (n.value() < 0) {
      set_error_text(why, "shadow response field \"%s\" is negative", f.name);
      return Status(StatusCode::kOutOfRange, Origin::kShadow, f.detail);
    }
    *f.target = n.value();
  }
  struct StringField {
    const char* name;
    std::string_view* target;
    std::uint16_t detail;
  };
  const StringField strings[] = {{"clientToken", &out.client_token, 1}, {"message", &out.message, 5}};
  for (const StringField& f : strings) {
    const Value v = root[f.name];
    if (!v.valid()) continue;
    Result<std::string_view> s = v.as_string();
    if (!s.ok()) {
      set_error_text(why, "shadow response field \"%s\" is not a string", f.name);
      return Status(StatusCode::kInvalidArgument, Origin::kShadow, f.detail);
    }
    *f.target = s.value();
  }
  return Status();
}

}  // namespace tether::shadow
