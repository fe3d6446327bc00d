// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::Result<T>`: a value or a non-ok Status. No exceptions, no heap.

#include <optional>
#include <utility>

#include "tether/contract.hpp"
#include "tether/status.hpp"

namespace tether {

template <typename T>
class [[nodiscard]] Result {
 public:
  /// A success holding `value`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// A failure. Passing an ok Status is a contract violation (there would be no value).
  Result(Status status) : status_(status) {  // NOLINT(google-explicit-constructor)
    TETHER_EXPECTS(!status.ok());
    if (status_.ok()) status_ = Status(StatusCode::kInternal, Origin::kCore);
  }

  bool ok() const { return status_.ok(); }
  Status status() const { return status_; }

  /// The value. Calling on a failure is a contract violation.
  T& value() & {
    TETHER_EXPECTS(ok());
    return *value_;
  }
  const T& value() const& {
    TETHER_EXPECTS(ok());
    return *value_;
  }
  T&& value() && {
    TETHER_EXPECTS(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  /// The value, or `fallback` on failure.
  T value_or(T fallback) const& { return ok() ? *value_ : fallback; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tether

#define TETHER_CONCAT_INNER_(a, b) a##b
#define TETHER_CONCAT_(a, b) TETHER_CONCAT_INNER_(a, b)

/// `TETHER_ASSIGN_OR_RETURN(auto x, expr)`: evaluates a Result; returns its Status on failure,
/// otherwise binds the value to the declaration `lhs`.
#define TETHER_ASSIGN_OR_RETURN(lhs, expr) \
  TETHER_ASSIGN_OR_RETURN_IMPL_(TETHER_CONCAT_(tether_result_, __LINE__), lhs, expr)
#define TETHER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
