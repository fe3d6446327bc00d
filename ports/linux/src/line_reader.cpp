// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0

#include "line_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tether::port::detail {

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

int LineReader::open(const char* path) {
  fd_ = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  return fd_ < 0 ? errno : 0;
}

bool LineReader::fill() {
  if (eof_ || error_ != 0 || fd_ < 0) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EINTR) {
      error_ = errno;
      return false;
    }
  }
}

bool LineReader::next(std::string_view& line) {
  overlong_ = false;
  for (;;) {
    const char* start = buf_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (skipping_) {
      if (newline != nullptr) {
        begin_ += static_cast<std::size_t>(newline - start) + 1;
        skipping_ = false;
        continue;
      }
      begin_ = end_ = 0;  // drop what is buffered: still the overlong line
      if (!fill()) return false;
      continue;
    }
    if (newline != nullptr) {
      line = std::string_view(start, static_cast<std::size_t>(newline - start));
      begin_ += line.size() + 1;
      ++line_number_;
      return true;
    }
    if (begin_ == 0 && end_ == buf_.size()) {
      // A full buffer without a newline: hand out its start, skip the rest of the line.
      line = std::string_view(start, end_);
      begin_ = end_;
      overlong_ = true;
      skipping_ = true;
      ++line_number_;
      return true;
    }
    if (!fill()) {
      if (error_ != 0 || begin_ == end_) return false;
      line = std::string_view(buf_.data() + begin_, end_ - begin_);  // the last line, no newline
      begin_ = end_;
      ++line_number_;
      return true;
    }
  }
}

}  // namespace tether::port::detail
