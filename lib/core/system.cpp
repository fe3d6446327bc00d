// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The System port's helpers for implementations: the argument checks of start_process and the
// capture buffer that keeps the most recent output.
#include "tether/port/system.hpp"

#include <cstring>

namespace tether::port {

const char* to_string(ProcessState state) {
  switch (state) {
    case ProcessState::kRunning: return "running";
    case ProcessState::kExited: return "exited";
    case ProcessState::kKilled: return "killed";
  }
  return "?";
}

Status validate_process_request(std::string_view path, Span<const std::string_view> args) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument, Origin::kOs, 0);
  }
  if (args.size() > kMaxProcessArgs) {
    return Status(StatusCode::kInvalidArgument, Origin::kOs, static_cast<std::uint16_t>(kMaxProcessArgs + 1));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].find('\0') != std::string_view::npos) {
      return Status(StatusCode::kInvalidArgument, Origin::kOs, static_cast<std::uint16_t>(i + 1));
    }
  }
  return Status();
}

void OutputTail::append(const char* data, std::size_t size) {
  total_ += size;
  const std::size_t capacity = storage_.size();
  if (capacity == 0) return;
  if (size >= capacity) {  // only the last `capacity` bytes survive
    std::memcpy(storage_.data(), data + (size - capacity), capacity);
    start_ = 0;
    held_ = capacity;
    return;
  }
  const std::size_t overflow = held_ + size > capacity ? held_ + size - capacity : 0;
  start_ = (start_ + overflow) % capacity;
  held_ -= overflow;
  std::size_t end = (start_ + held_) % capacity;
  const std::size_t first = size < capacity - end ? size : capacity - end;
  std::memcpy(storage_.data() + end, data, first);
  std::memcpy(storage_.data(), data + first, size - first);
  held_ += size;
}

std::size_t OutputTail::copy_tail(Span<char> out) const {
  const std::size_t capacity = storage_.size();
  const std::size_t n = out.size() < held_ ? out.size() : held_;
  if (n == 0) return 0;
  const std::size_t from = (start_ + (held_ - n)) % capacity;
  const std::size_t first = n < capacity - from ? n : capacity - from;
  std::memcpy(out.data(), storage_.data() + from, first);
  std::memcpy(out.data() + first, storage_.data(), n - first);
  return n;
}

}  // namespace tether::port
