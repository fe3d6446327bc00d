// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::FixedVector<T, N>`: a vector with inline storage for at most N elements. Never
/// allocates; a push beyond capacity is refused (returns false), never truncates silently.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "tether/contract.hpp"

namespace tether {

template <typename T, std::size_t N>
class FixedVector {
 public:
  FixedVector() = default;
  FixedVector(const FixedVector& other) {
    for (const T& v : other) (void)push_back(v);
  }
  FixedVector& operator=(const FixedVector& other) {
    if (this != &other) {
      clear();
      for (const T& v : other) (void)push_back(v);
    }
    return *this;
  }
  ~FixedVector() { clear(); }

  /// Appends a copy; false (nothing changed) when full.
  [[nodiscard]] bool push_back(const T& value) { return emplace_back(value) != nullptr; }
  [[nodiscard]] bool push_back(T&& value) { return emplace_back(std::move(value)) != nullptr; }

  /// Constructs in place; returns the new element, or nullptr (nothing changed) when full.
  template <typename... Args>
  [[nodiscard]] T* emplace_back(Args&&... args) {
    if (size_ == N) return nullptr;
    T* p = new (slot(size_)) T(std::forward<Args>(args)...);
    ++size_;
    return p;
  }

  /// Removes the element at `index`, keeping the order of the rest.
  void erase(std::size_t index) {
    TETHER_EXPECTS(index < size_);
    if (index >= size_) return;
    for (std::size_t i = index; i + 1 < size_; ++i) (*this)[i] = std::move((*this)[i + 1]);
    pop_back();
  }

  void pop_back() {
    TETHER_EXPECTS(size_ > 0);
    if (size_ == 0) return;
    --size_;
    slot(size_)->~T();
  }

  void clear() {
    while (size_ > 0) pop_back();
  }

  T& operator[](std::size_t i) { return *slot(i); }
  const T& operator[](std::size_t i) const { return *slot(i); }
  T* begin() { return slot(0); }
  T* end() { return slot(size_); }
  const T* begin() const { return slot(0); }
  const T* end() const { return slot(size_); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == N; }
  static constexpr std::size_t capacity() { return N; }

 private:
  T* slot(std::size_t i) { return std::launder(reinterpret_cast<T*>(&storage_[i])); }
  const T* slot(std::size_t i) const { return std::launder(reinterpret_cast<const T*>(&storage_[i])); }

  std::aligned_storage_t<sizeof(T), alignof(T)> storage_[N > 0 ? N : 1];
  std::size_t size_ = 0;
};

}  // namespace tether
