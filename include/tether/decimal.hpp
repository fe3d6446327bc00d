// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `Decimal`: the decimal text of any integer, up to 64 bits, made without printf.
///
/// Tether's texts (error texts, log lines) must print the same on every C library. newlib as
/// Debian and many vendors build it has no C99 printf formats: `%zu`, `%jd` and `PRId64` print the
/// letters and skip the argument, and newlib-nano has no `%lld` either. So the portable code
/// prints sizes with `%lu` and a cast to `unsigned long` (a `size_t` fits on every target), and a
/// value that can need 64 bits as `%s` of a `Decimal`:
///
///     set_error_text(why, "report %s is not positive", Decimal(report_id).c_str());
///
/// The temporary lives until the end of the full expression, so the call sees valid text.
/// `scripts/check-portable-formats.sh` keeps the C99 formats out of `include/` and `lib/`.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace tether {

class Decimal {
 public:
  /// "-9223372036854775808" has 20 characters.
  static constexpr std::size_t kMaxSize = 20;

  /// The digits of `value`, with a leading '-' when it is negative; exactly what printf's `%lld`
  /// (signed types) or `%llu` (unsigned types) prints.
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  explicit Decimal(T value) {
    if constexpr (std::is_signed_v<T>) {
      const auto v = static_cast<std::int64_t>(value);
      // The magnitude as unsigned, so that INT64_MIN does not overflow.
      set(v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v), v < 0);
    } else {
      set(static_cast<std::uint64_t>(value), false);
    }
  }

  /// NUL-terminated; valid as long as this object.
  const char* c_str() const { return text_; }
  std::string_view view() const { return std::string_view(text_, size_); }
  std::size_t size() const { return size_; }

 private:
  void set(std::uint64_t magnitude, bool negative) {
    char digits[kMaxSize];
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    size_ = 0;
    if (negative) text_[size_++] = '-';
    while (n > 0) text_[size_++] = digits[--n];
    text_[size_] = '\0';
  }

  char text_[kMaxSize + 1];
  std::size_t size_;
};

}  // namespace tether
