// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Certificate signing requests: the subject, its checks, and the contract every CSR builder keeps
/// (`build_csr()` of tether/port/mbedtls/csr.hpp and of tether/port/openssl/csr.hpp).
///
/// ## What a builder does
/// A PKCS#10 CSR (RFC 2986) for a key that lives in a KeyStore (tether/port/key_store.hpp). The
/// private key never leaves the store: it signs the SHA-256 digest (`KeyStore::sign_digest()`, one
/// call per CSR); the public half comes from `KeyStore::public_key_der()`. Key types: EC P-256
/// (ecdsa-with-SHA256) and RSA 2048 to 4096 bits (sha256WithRSAEncryption, PKCS#1 v1.5). The
/// signature is checked against the public key before it goes into the CSR, so a store that signs
/// with another key than it names, or returns a raw r||s instead of a DER ECDSA-Sig-Value, gives an
/// error instead of a CSR no CA accepts.
///
/// ## Subject
/// `CN=<common_name>[, O=<organization>][, serialNumber=<serial_number>]`. Fields are checked before
/// anything else happens (validate_csr_subject()), so that a value cannot add or change
/// distinguished-name attributes: printable ASCII only, no leading or trailing space, none of the
/// DN-string specials `, = + ; \ " < > #`; common name and organization: letters, digits, space and
/// `' ( ) - . / : ? _ @` (they go out as UTF8String); serial number: the PrintableString set
/// (letters, digits, space and `' ( ) - . / : ?`). Lengths (RFC 5280 upper bounds): common name 1
/// to 64 characters, organization and serial number 0 (absent) to 64.
///
/// ## Output
/// PEM (`-----BEGIN CERTIFICATE REQUEST-----`, base64 at 64 characters a line, `\n` line ends) at the
/// start of `pem_out`, followed by a NUL the returned length does not count. kCsrPemMaxSize is
/// always enough (an RSA 4096 CSR with the longest subject takes about 1.9 KB, an EC P-256 one
/// about 0.65 KB); on any failure `pem_out` is all zero. `*error` (when not null) explains a
/// failure, without secrets, and is empty after a success.
///
/// ## Errors (the detail named "backend" is the crypto library's code: see each builder)
/// - kInvalidArgument (kCrypto, 0): a subject field is empty (common name), too long, or holds a
///   character it may not; `*error` says which field, which character and at which offset
/// - the KeyStore's Status, unchanged (origin kKey), when `public_key_der()` or `sign_digest()`
///   fails: kNotFound (no such key), kUnauthenticated (PIN), kInvalidArgument (a URI that does not
///   parse), ...; `*error` says which step
/// - kInvalidArgument (kCrypto, backend): the store's public key is not a DER SubjectPublicKeyInfo
/// - kUnimplemented (kCrypto, backend or 0): a key type other than EC P-256 or RSA 2048-4096
/// - kInternal (kCrypto, backend): the signature from the store does not verify under its public
///   key, or its length is wrong for the key; any other failure of the crypto library
/// - kResourceExhausted (kCrypto, 0 or backend): `pem_out` is too small for the PEM and its NUL
///   (the store has signed by then), or the crypto library ran out of memory
///
/// ## Threading
/// Not thread-safe towards the KeyStore (one thread uses a store at a time, as the port says);
/// otherwise no shared state.

#include <cstddef>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/status.hpp"

namespace tether {

/// A PEM CSR buffer of this size always suffices (more than twice what the largest CSR takes).
inline constexpr std::size_t kCsrPemMaxSize = 4096;
/// Longest common name, organization and serial number (RFC 5280's ub-common-name and friends).
inline constexpr std::size_t kCsrFieldMaxSize = 64;

/// The subject of a CSR. Views: they must stay valid during the call that takes them.
struct CsrSubject {
  std::string_view common_name;    ///< CN, required (a thing name, a device serial, ...)
  std::string_view organization;   ///< O, optional (empty: absent)
  std::string_view serial_number;  ///< serialNumber (2.5.4.5), optional (empty: absent)
};

/// Checks `subject` (see the file comment). Returns ok, or kInvalidArgument (kCrypto, 0) with
/// `*error` (when not null) naming the field, the character and its offset.
Status validate_csr_subject(const CsrSubject& subject, ErrorText* error = nullptr);

}  // namespace tether
