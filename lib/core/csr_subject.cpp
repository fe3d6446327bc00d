// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/csr_subject.hpp"

#include <cstring>

namespace tether {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// PrintableString (X.680 §41.4) without its DN-string specials ',', '=' and '+'.
// (strchr would also find the terminating NUL: c != '\0' keeps NUL out.)
bool printable_string_char(char c) { return is_alnum(c) || (c != '\0' && std::strchr(" '()-./:?", c) != nullptr); }

// Common name and organization go out as UTF8String: '_' and '@' (thing names, e-mail style
// names) are allowed there too.
bool name_char(char c) { return printable_string_char(c) || c == '_' || c == '@'; }

Status check_field(const char* field, std::string_view value, bool required, bool (*allowed)(char),
                   ErrorText* error) {
  const Status invalid(StatusCode::kInvalidArgument, Origin::kCrypto);
  if (value.empty()) {
    if (!required) return ok_status();
    set_error_text(error, "CSR subject: %s is required", field);
    return invalid;
  }
  if (value.size() > kCsrFieldMaxSize) {
    set_error_text(error, "CSR subject: %s is %u characters long, at most %u are allowed", field,
                   static_cast<unsigned>(value.size()), static_cast<unsigned>(kCsrFieldMaxSize));
    return invalid;
  }
  if (value.front() == ' ' || value.back() == ' ') {
    set_error_text(error, "CSR subject: %s starts or ends with a space", field);
    return invalid;
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (allowed(c)) continue;
    const auto byte = static_cast<unsigned>(static_cast<unsigned char>(c));
    if (byte > 0x20 && byte < 0x7F) {
      set_error_text(error, "CSR subject: %s has '%c' at offset %u (letters, digits, space and %s only)", field, c,
                     static_cast<unsigned>(i), allowed == name_char ? "' ( ) - . / : ? _ @" : "' ( ) - . / : ?");
    } else {
      set_error_text(error, "CSR subject: %s has byte 0x%02X at offset %u (printable ASCII only)", field, byte,
                     static_cast<unsigned>(i));
    }
    return invalid;
  }
  return ok_status();
}

}  // namespace

Status validate_csr_subject(const CsrSubject& subject, ErrorText* error) {
  TETHER_RETURN_IF_ERROR(check_field("common name", subject.common_name, true, name_char, error));
  TETHER_RETURN_IF_ERROR(check_field("organization", subject.organization, false, name_char, error));
  return check_field("serial number", subject.serial_number, false, printable_string_char, error);
}

}  // namespace tether
