// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// LineReader: the lines of a file read with read(2) in chunks into a caller's fixed buffer; no
// heap, no iostreams. A line longer than the buffer is returned cut and marked overlong, and the
// rest of it is skipped. A last line without a newline is returned as it is.

#include <cstddef>
#include <string_view>

#include "tether/span.hpp"

namespace tether::port::detail {

class LineReader {
 public:
  explicit LineReader(Span<char> buffer) : buf_(buffer) {}
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Opens `path` read-only; 0 or errno.
  int open(const char* path);
  /// The next line without its newline; false at the end of the file or on a read error (error()).
  bool next(std::string_view& line);
  /// The line next() returned was longer than the buffer: what it holds is only its start.
  bool overlong() const { return overlong_; }
  /// errno of a failed read, 0 if none.
  int error() const { return error_; }
  /// 1-based number of the line next() returned.
  std::size_t line_number() const { return line_number_; }

 private:
  bool fill();  // reads more after end_; false at the end of the file or on an error

  Span<char> buf_;
  int fd_ = -1;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t line_number_ = 0;
  int error_ = 0;
  bool eof_ = false;
  bool overlong_ = false;
  bool skipping_ = false;  // discarding the rest of an overlong line
};

}  // namespace tether::port::detail
