// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::InplaceFunction<R(Args...), Size>`: a callable stored inline in `Size` bytes; no heap,
/// no RTTI, no exceptions. A callable that does not fit fails to compile (static_assert), so
/// capture references or a pointer to your context rather than large objects.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "tether/contract.hpp"

namespace tether {

template <typename Signature, std::size_t Size = 4 * sizeof(void*)>
class InplaceFunction;

template <typename R, typename... Args, std::size_t Size>
class InplaceFunction<R(Args...), Size> {
 public:
  InplaceFunction() = default;
  InplaceFunction(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)

  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InplaceFunction>>>
  InplaceFunction(F&& f) {  // NOLINT(google-explicit-constructor)
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= Size, "callable too large for InplaceFunction: capture less");
    static_assert(alignof(Fn) <= alignof(std::max_align_t), "callable over-aligned");
    static_assert(std::is_copy_constructible_v<Fn>, "callable must be copyable");
    new (&storage_) Fn(std::forward<F>(f));
    ops_ = &kOps<Fn>;
  }

  InplaceFunction(const InplaceFunction& other) { copy_from(other); }
  InplaceFunction& operator=(const InplaceFunction& other) {
    if (this != &other) {
      reset();
      copy_from(other);
    }
    return *this;
  }
  ~InplaceFunction() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }

  /// Calls the target. Calling an empty function is a contract violation; it then returns R{}.
  R operator()(Args... args) const {
    TETHER_EXPECTS(ops_ != nullptr);
    if (ops_ == nullptr) {
      if constexpr (std::is_void_v<R>) {
        return;
      } else {
        return R{};
      }
    }
    return ops_->invoke(const_cast<void*>(static_cast<const void*>(&storage_)), std::forward<Args>(args)...);
  }

  void reset() {
    if (ops_ != nullptr) ops_->destroy(&storage_);
    ops_ = nullptr;
  }

 private:
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*copy)(void* dst, const void* src);
    void (*destroy)(void*);
  };
  template <typename Fn>
  static constexpr Ops kOps = {
      [](void* p, Args&&... a) -> R { return (*static_cast<Fn*>(p))(std::forward<Args>(a)...); },
      [](void* dst, const void* src) { new (dst) Fn(*static_cast<const Fn*>(src)); },
      [](void* p) { static_cast<Fn*>(p)->~Fn(); },
  };

  void copy_from(const InplaceFunction& other) {
    if (other.ops_ != nullptr) other.ops_->copy(&storage_, &other.storage_);
    ops_ = other.ops_;
  }

  std::aligned_storage_t<Size, alignof(std::max_align_t)> storage_;
  const Ops* ops_ = nullptr;
};

}  // namespace tether
