// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::FixedString<N>`: up to N bytes of text stored inline, always NUL-terminated.
/// Assignment never truncates silently: a value that does not fit is refused with kOutOfRange.

#include <cstddef>
#include <cstring>
#include <string_view>

#include "tether/status.hpp"

namespace tether {

template <std::size_t N>
class FixedString {
 public:
  static constexpr std::size_t kCapacity = N;

  constexpr FixedString() = default;

  /// Stores `text`. Returns kOutOfRange (origin kCore, detail = N clamped) and leaves the string
  /// unchanged if `text` is longer than N bytes.
  Status assign(std::string_view text) {
    if (text.size() > N) return Status(StatusCode::kOutOfRange, Origin::kCore, clamp_detail(N));
    if (!text.empty()) std::memmove(data_, text.data(), text.size());
    size_ = text.size();
    data_[size_] = '\0';
    return ok_status();
  }

  /// Appends `text`; kOutOfRange (string unchanged) if the result would exceed N bytes.
  Status append(std::string_view text) {
    if (text.size() > N - size_) return Status(StatusCode::kOutOfRange, Origin::kCore, clamp_detail(N));
    if (!text.empty()) std::memmove(data_ + size_, text.data(), text.size());
    size_ += text.size();
    data_[size_] = '\0';
    return ok_status();
  }

  void clear() {
    size_ = 0;
    data_[0] = '\0';
  }

  std::string_view view() const { return std::string_view(data_, size_); }
  const char* c_str() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  static constexpr std::size_t capacity() { return N; }

  friend bool operator==(const FixedString& a, std::string_view b) { return a.view() == b; }
  friend bool operator!=(const FixedString& a, std::string_view b) { return a.view() != b; }

 private:
  static constexpr std::uint16_t clamp_detail(std::size_t n) {
    return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n);
  }
  char data_[N + 1] = {};
  std::size_t size_ = 0;
};

}  // namespace tether
