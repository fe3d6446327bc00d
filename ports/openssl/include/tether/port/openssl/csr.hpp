// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// build_csr() with OpenSSL 3: the contract of tether/csr_subject.hpp (subject, output, errors;
/// "backend" there is the reason code of OpenSSL's first queued error, 0 when there is none), for
/// programs that link OpenSSL anyway.
///
/// The request's to-be-signed part (`i2d_re_X509_REQ_tbs`) is hashed here and signed by the store;
/// the subject's CN and O go out as UTF8String, serialNumber as PrintableString. Allocates
/// (OpenSSL's objects, freed before the call returns).

#include <cstddef>
#include <string_view>

#include "tether/csr_subject.hpp"
#include "tether/error_text.hpp"
#include "tether/port/key_store.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

namespace tether::openssl {

using ::tether::CsrSubject;
using ::tether::kCsrFieldMaxSize;
using ::tether::kCsrPemMaxSize;
using ::tether::validate_csr_subject;

/// Builds a PKCS#10 CSR for the key `key_uri` names in `keys`, signed (SHA-256) by the store, as
/// PEM into `pem_out`; returns the PEM's length (without the terminating NUL). See
/// tether/csr_subject.hpp for every Status.
Result<std::size_t> build_csr(port::KeyStore& keys, std::string_view key_uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error = nullptr);

}  // namespace tether::openssl
