// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/json.hpp"

#include <cjson/cJSON.h>

#include <cmath>
#include <cstring>

#include "tether/decimal.hpp"
#include "tether/limits.hpp"
#include "text_util.hpp"

namespace tether::json {
namespace {

constexpr std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

// cJSON copies a number literal into a 64-byte buffer before strtod: longer literals would be cut.
constexpr std::size_t kMaxNumberLiteral = 63;
// Every integer of magnitude up to 2^53 - 1 is exact in a double (and only those are unambiguous).

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A strict RFC 8259 checker (no tree, no recursion, bounded nesting). It runs before cJSON so that
// cJSON only ever sees a valid document: syntax errors get an exact position and a reason, and a
// cJSON failure afterwards can only mean it ran out of memory.
class Validator {
 public:
  explicit Validator(std::string_view text) : s_(text) {}

  /// True if the text is one JSON value with optional whitespace around it.
  bool run() {
    if (s_.substr(0, 3) == kBom) i_ = 3;  // a byte order mark: skipped (parse() hides it from cJSON)
    skip_ws();
    std::size_t depth = 0;
    bool in_object[kMaxDepth + 1] = {};
    for (;;) {
      // A value starts at i_.
      if (i_ >= s_.size()) return fail(s_.size(), "unexpected end of input");
      const char c = s_[i_];
      if (c == '{' || c == '[') {
        if (depth == kMaxDepth) {
          too_deep_ = true;
          return fail(i_, "nested too deeply");
        }
        ++depth;
        in_object[depth] = c == '{';
        ++i_;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == (c == '{' ? '}' : ']')) {
          ++i_;
          --depth;
        } else {
          if (c == '{' && !member_key()) return false;
          continue;
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == '-' || is_digit(c)) {
        if (!number()) return false;
      } else if (c == 't') {
        if (!literal("true")) return false;
      } else if (c == 'f') {
        if (!literal("false")) return false;
      } else if (c == 'n') {
        if (!literal("null")) return false;
      } else {
        return fail(i_, "expected a value");
      }

      // After a value: close containers until a ',' asks for the next value.
      for (;;) {
        if (depth == 0) {
          value_end_ = i_;
          skip_ws();
          if (i_ != s_.size()) return fail(i_, "unexpected content after the document");
          return true;
        }
        skip_ws();
        if (i_ >= s_.size()) return fail(s_.size(), "unexpected end of input");
        const char d = s_[i_];
        if (d == ',') {
          ++i_;
          skip_ws();
          if (in_object[depth] && !member_key()) return false;
          break;
        }
        if (d == (in_object[depth] ? '}' : ']')) {
          ++i_;
          --depth;
          continue;
        }
        return fail(i_, in_object[depth] ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  }

  std::size_t error_offset() const { return error_offset_; }
  const char* reason() const { return reason_; }
  bool too_deep() const { return too_deep_; }
  std::size_t value_end() const { return value_end_; }

 private:
  bool fail(std::size_t offset, const char* reason) {
    error_offset_ = offset;
    reason_ = reason;
    return false;
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  // `"key"` `:` and the whitespace after it.
  bool member_key() {
    if (i_ >= s_.size()) return fail(s_.size(), "unexpected end of input");
    if (s_[i_] != '"') return fail(i_, "expected a string key");
    if (!string()) return false;
    skip_ws();
    if (i_ >= s_.size()) return fail(s_.size(), "unexpected end of input");
    if (s_[i_] != ':') return fail(i_, "expected ':'");
    ++i_;
    skip_ws();
    return true;
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail(i_, "expected a value");
    i_ += word.size();
    return true;
  }

  bool number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !is_digit(s_[i_])) return fail(i_, "invalid number");
    if (s_[i_] == '0') {
      ++i_;
      if (i_ < s_.size() && is_digit(s_[i_])) return fail(i_, "invalid number (leading zero)");
    } else {
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !is_digit(s_[i_])) return fail(i_, "invalid number");
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !is_digit(s_[i_])) return fail(i_, "invalid number");
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ - start > kMaxNumberLiteral) return fail(start, "number literal longer than 63 bytes");
    return true;
  }

  // Four hex digits at `pos`, or -1.
  long hex4(std::size_t pos) const {
    if (pos > s_.size() || s_.size() - pos < 4) return -1;
    long v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int h = hex_value(s_[pos + k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  bool string() {
    ++i_;  // opening quote
    for (;;) {
      if (i_ >= s_.size()) return fail(s_.size(), "unterminated string");
      const auto b = static_cast<std::uint8_t>(s_[i_]);
      if (b == '"') {
        ++i_;
        return true;
      }
      if (b == '\\') {
        if (i_ + 1 >= s_.size()) return fail(s_.size(), "unterminated string");
        switch (s_[i_ + 1]) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            i_ += 2;
            continue;
          case 'u': break;
          default: return fail(i_, "invalid escape");
        }
        const long cp = hex4(i_ + 2);
        if (cp < 0) return fail(i_, "invalid \\u escape");
        if (cp == 0) return fail(i_, "\\u0000 is not supported");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(i_, "unpaired UTF-16 surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          const bool low_follows = s_.substr(i_ + 6, 2) == "\\u";
          const long low = low_follows ? hex4(i_ + 8) : -1;
          if (low < 0xDC00 || low > 0xDFFF) return fail(i_, "unpaired UTF-16 surrogate");
          i_ += 12;
        } else {
          i_ += 6;
        }
        continue;
      }
      if (b < 0x20) return fail(i_, "control character in string");
      if (b >= 0x80) {
        std::uint32_t cp = 0;
        const std::size_t len = detail::decode_utf8(s_, i_, &cp);
        if (len == 0) return fail(i_, "invalid UTF-8");
        i_ += len;
        continue;
      }
      ++i_;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::size_t error_offset_ = 0;
  const char* reason_ = "";
  bool too_deep_ = false;
  std::size_t value_end_ = 0;
};

void line_column(std::string_view text, std::size_t offset, std::size_t* line, std::size_t* column) {
  std::size_t l = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++l;
      line_start = i + 1;
    }
  }
  *line = l;
  *column = offset - line_start + 1;
}

// Frees the tree when parse() returns, whichever way.
class TreeGuard {
 public:
  explicit TreeGuard(cJSON* root) : root_(root) {}
  ~TreeGuard() { cJSON_Delete(root_); }
  TreeGuard(const TreeGuard&) = delete;
  TreeGuard& operator=(const TreeGuard&) = delete;

 private:
  cJSON* root_;
};

Status type_mismatch() { return Status(StatusCode::kInvalidArgument, Origin::kJson); }

}  // namespace

const char* to_string(Type type) {
  switch (type) {
    case Type::kInvalid: return "invalid";
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "invalid_type";
}

Type Value::type() const {
  if (node_ == nullptr) return Type::kInvalid;
  switch (node_->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return Type::kBool;
    case cJSON_NULL: return Type::kNull;
    case cJSON_Number: return Type::kNumber;
    case cJSON_String: return Type::kString;
    case cJSON_Array: return Type::kArray;
    case cJSON_Object: return Type::kObject;
    default: return Type::kInvalid;
  }
}

Value Value::operator[](std::string_view key) const {
  if (!is_object()) return Value();
  for (const cJSON* child = node_->child; child != nullptr; child = child->next) {
    if (child->string != nullptr && std::string_view(child->string) == key) return Value(child);
  }
  return Value();
}

Value Value::at(std::size_t index) const {
  if (!is_array()) return Value();
  for (const cJSON* child = node_->child; child != nullptr; child = child->next) {
    if (index-- == 0) return Value(child);
  }
  return Value();
}

std::size_t Value::size() const {
  if (!is_array() && !is_object()) return 0;
  std::size_t n = 0;
  for (const cJSON* child = node_->child; child != nullptr; child = child->next) ++n;
  return n;
}

std::string_view Value::key() const {
  if (node_ == nullptr || node_->string == nullptr) return {};
  return std::string_view(node_->string);
}

Value Value::first_child() const {
  if (!is_array() && !is_object()) return Value();
  return Value(node_->child);
}

Value Value::next() const { return node_ == nullptr ? Value() : Value(node_->next); }

Result<std::string_view> Value::as_string() const {
  if (!is_string() || node_->valuestring == nullptr) return type_mismatch();
  return std::string_view(node_->valuestring);
}

Result<bool> Value::as_bool() const {
  if (!is_bool()) return type_mismatch();
  return (node_->type & 0xFF) == cJSON_True;
}

Result<double> Value::as_double() const {
  if (!is_number()) return type_mismatch();
  if (!std::isfinite(node_->valuedouble)) return Status(StatusCode::kOutOfRange, Origin::kJson);
  return node_->valuedouble;
}

Result<std::int64_t> Value::as_int() const {
  if (!is_number()) return type_mismatch();
  const double d = node_->valuedouble;
  if (!std::isfinite(d)) return Status(StatusCode::kOutOfRange, Origin::kJson);
  if (std::fabs(d) > kMaxSafeInteger) return Status(StatusCode::kOutOfRange, Origin::kJson);
  if (!whole_number_within(d, kMaxSafeInteger)) return Status(StatusCode::kInvalidArgument, Origin::kJson);
  return static_cast<std::int64_t>(d);
}

Status parse(std::string_view text, std::size_t max_bytes, const Visitor& visit, ErrorText* why) {
  const std::size_t limit = max_bytes < kMaxJsonInput ? max_bytes : kMaxJsonInput;
  if (text.size() > limit) {
    set_error_text(why, "JSON input too large (%lu bytes, at most %lu)", static_cast<unsigned long>(text.size()),
                   static_cast<unsigned long>(limit));
    return Status(StatusCode::kOutOfRange, Origin::kJson);
  }

  Validator validator(text);
  if (!validator.run()) {
    std::size_t line = 0;
    std::size_t column = 0;
    line_column(text, validator.error_offset(), &line, &column);
    if (validator.too_deep()) {
      set_error_text(why, "JSON nested deeper than %lu levels at line %lu column %lu",
                     static_cast<unsigned long>(kMaxDepth), static_cast<unsigned long>(line),
                     static_cast<unsigned long>(column));
      return Status(StatusCode::kOutOfRange, Origin::kJson, clamp16(validator.error_offset()));
    }
    set_error_text(why, "invalid JSON at line %lu column %lu: %s", static_cast<unsigned long>(line),
                   static_cast<unsigned long>(column), validator.reason());
    return Status(StatusCode::kInvalidArgument, Origin::kJson, clamp16(validator.error_offset()));
  }

  // Length-bounded: `text` need not be NUL-terminated, so cJSON must not look for a terminator.
  // cJSON skips a byte order mark only in inputs of 5 bytes or more: remove it here instead.
  const std::string_view body = text.substr(0, kBom.size()) == kBom ? text.substr(kBom.size()) : text;
  const char* end = nullptr;
  cJSON* root = cJSON_ParseWithLengthOpts(body.data(), body.size(), &end, 0);
  if (root == nullptr) {
    set_error_text(why, "out of memory while parsing JSON (%lu bytes)", static_cast<unsigned long>(text.size()));
    return Status(StatusCode::kResourceExhausted, Origin::kJson);
  }
  TreeGuard guard(root);
  const std::size_t end_offset = end == nullptr ? 0 : static_cast<std::size_t>(end - text.data());
  if (end_offset != validator.value_end()) {
    set_error_text(why, "JSON parser disagreement: cJSON stopped at byte %lu, expected %lu",
                   static_cast<unsigned long>(end_offset), static_cast<unsigned long>(validator.value_end()));
    return Status(StatusCode::kInternal, Origin::kJson, clamp16(end_offset));
  }
  return visit(Value(root));
}

// ---------------------------------------------------------------------------------------------
// Writer

void Writer::fail(StatusCode code, std::uint16_t detail) {
  if (error_.ok()) error_ = Status(code, Origin::kJson, detail);
}

void Writer::put(std::string_view s) {
  if (!error_.ok()) return;
  if (s.size() > out_.size() - used_) {
    fail(StatusCode::kResourceExhausted);
    return;
  }
  if (!s.empty()) std::memcpy(out_.data() + used_, s.data(), s.size());
  used_ += s.size();
}

void Writer::put(char c) { put(std::string_view(&c, 1)); }

void Writer::put_string(std::string_view s) {
  // Validate first so that an invalid string writes nothing.
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = detail::decode_utf8(s, i, &cp);
    if (len == 0) {
      fail(StatusCode::kInvalidArgument, clamp16(i));
      return;
    }
    i += len;
  }
  put('"');
  std::size_t run = 0;  // start of the pending run of bytes copied as they are
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<std::uint8_t>(s[i]);
    if (b >= 0x20 && b != '"' && b != '\\') continue;
    put(s.substr(run, i - run));
    run = i + 1;
    switch (b) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\b': put("\\b"); break;
      case '\f': put("\\f"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
        put(std::string_view(esc, sizeof esc));
        break;
      }
    }
  }
  put(s.substr(run));
  put('"');
}

bool Writer::begin_value() {
  if (!error_.ok()) return false;
  if (depth_ == 0) {
    if (need_comma_[0]) {  // a second top-level value
      fail(StatusCode::kFailedPrecondition);
      return false;
    }
    need_comma_[0] = true;
    return true;
  }
  if (is_object_[depth_]) {
    if (!after_key_) {
      fail(StatusCode::kFailedPrecondition);
      return false;
    }
    after_key_ = false;
    return true;
  }
  if (need_comma_[depth_]) put(',');
  need_comma_[depth_] = true;
  return true;
}

Writer& Writer::begin_object() {
  if (!begin_value()) return *this;
  if (depth_ == kMaxDepth) {
    fail(StatusCode::kResourceExhausted);
    return *this;
  }
  put('{');
  ++depth_;
  is_object_[depth_] = true;
  need_comma_[depth_] = false;
  return *this;
}

Writer& Writer::begin_array() {
  if (!begin_value()) return *this;
  if (depth_ == kMaxDepth) {
    fail(StatusCode::kResourceExhausted);
    return *this;
  }
  put('[');
  ++depth_;
  is_object_[depth_] = false;
  need_comma_[depth_] = false;
  return *this;
}

Writer& Writer::end_object() {
  if (!error_.ok()) return *this;
  if (depth_ == 0 || !is_object_[depth_] || after_key_) {
    fail(StatusCode::kFailedPrecondition);
    return *this;
  }
  put('}');
  --depth_;
  return *this;
}

Writer& Writer::end_array() {
  if (!error_.ok()) return *this;
  if (depth_ == 0 || is_object_[depth_]) {
    fail(StatusCode::kFailedPrecondition);
    return *this;
  }
  put(']');
  --depth_;
  return *this;
}

Writer& Writer::key(std::string_view name) {
  if (!error_.ok()) return *this;
  if (depth_ == 0 || !is_object_[depth_] || after_key_) {
    fail(StatusCode::kFailedPrecondition);
    return *this;
  }
  if (need_comma_[depth_]) put(',');
  need_comma_[depth_] = true;
  put_string(name);
  put(':');
  after_key_ = true;
  return *this;
}

Writer& Writer::string(std::string_view value) {
  if (begin_value()) put_string(value);
  return *this;
}

Writer& Writer::number(std::int64_t value) {
  if (begin_value()) put(Decimal(value).view());
  return *this;
}

Writer& Writer::number(double value) {
  if (!std::isfinite(value)) {  // JSON has no NaN or infinity
    fail(StatusCode::kInvalidArgument);
    return *this;
  }
  char text[32];
  const std::size_t len = detail::format_double(value, text);
  if (len == 0) {  // a C library without floating point in printf
    fail(StatusCode::kUnimplemented);
    return *this;
  }
  if (begin_value()) put(std::string_view(text, len));
  return *this;
}

Writer& Writer::boolean(bool value) {
  if (begin_value()) put(value ? "true" : "false");
  return *this;
}

Writer& Writer::null() {
  if (begin_value()) put("null");
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  if (json.empty()) {
    fail(StatusCode::kInvalidArgument);
    return *this;
  }
  if (begin_value()) put(json);
  return *this;
}

Result<std::string_view> Writer::finish() {
  if (!error_.ok()) return error_;
  if (depth_ != 0 || after_key_ || !need_comma_[0]) return Status(StatusCode::kFailedPrecondition, Origin::kJson);
  return std::string_view(out_.data(), used_);
}

}  // namespace tether::json
