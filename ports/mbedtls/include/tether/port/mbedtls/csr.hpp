// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// build_csr() with mbedTLS 2.28's `mbedtls_x509write_csr`: the contract of tether/csr_subject.hpp
/// (subject, output, errors; "backend" there is the negated mbedTLS error code, low 16 bits).
///
/// mbedTLS signs through a private-key context whose sign function calls `KeyStore::sign_digest()`.
/// mbedTLS writes the DER at the end of `pem_out` first and the PEM over it, so all of `pem_out` is
/// scratch space.
///
/// ## Memory
/// Heap, through mbedTLS's `mbedtls_calloc` (Debian: `calloc`), all freed before the call returns:
/// the public key twice (parsed, then copied into the signer: an EC key pair with the P-256 group,
/// or an RSA context with its bignums, each under 1.5 KB), the subject's name list (three small
/// nodes), the signature buffer of `mbedtls_x509write_csr_der` (`MBEDTLS_PK_SIGNATURE_MAX_SIZE`,
/// 1 KB in Debian's build), the base64 buffer of `mbedtls_pem_write_buffer` (4/3 of the DER, at
/// most about 1.9 KB) and the bignums of checking the signature. Stack: about 2 KB (1 KB of it for
/// the public key's DER here). Whatever the KeyStore allocates for `sign_digest()`
/// (Pkcs11KeyStore: libp11) comes on top.

#include <cstddef>
#include <string_view>

#include "tether/csr_subject.hpp"
#include "tether/error_text.hpp"
#include "tether/port/key_store.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

namespace tether::mbedtls {

// The subject and its checks are shared with the OpenSSL port (tether/csr_subject.hpp).
using ::tether::CsrSubject;
using ::tether::kCsrFieldMaxSize;
using ::tether::kCsrPemMaxSize;
using ::tether::validate_csr_subject;

/// Builds a PKCS#10 CSR for the key `key_uri` names in `keys`, signed (SHA-256) by the store, as
/// PEM into `pem_out`; returns the PEM's length (without the terminating NUL). See
/// tether/csr_subject.hpp for every Status.
Result<std::size_t> build_csr(port::KeyStore& keys, std::string_view key_uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error = nullptr);

}  // namespace tether::mbedtls
