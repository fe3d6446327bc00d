// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Certificate signing requests (PKCS#10, RFC 2986) for a key that lives in a KeyStore
/// (tether/port/key_store.hpp), built with mbedTLS 2.28's `mbedtls_x509write_csr`.
///
/// The private key never leaves the store: mbedTLS signs through a private-key context whose sign
/// function calls `KeyStore::sign_digest()` (one call per CSR, SHA-256). The public half comes from
/// `KeyStore::public_key_der()`. Key types: EC P-256 (ECDSA with SHA-256) and RSA 2048 to 4096 bits
/// (PKCS#1 v1.5 with SHA-256). Before the signature goes into the CSR it is checked against the
/// public key, so a store that signs with another key than it names, or returns a raw r||s instead
/// of a DER ECDSA-Sig-Value, gives an error instead of a CSR no CA accepts.
///
/// ## Subject
/// `CN=<common_name>[, O=<organization>][, serialNumber=<serial_number>]`. Fields are checked
/// before anything else happens (validate_csr_subject()), so that a value cannot add or change
/// distinguished-name attributes: printable ASCII only, no leading or trailing space, none of the
/// DN-string specials `, = + ; \ " < > #`; common name and organization: letters, digits, space and
/// `' ( ) - . / : ? _ @`; serial number: the PrintableString set (letters, digits, space and
/// `' ( ) - . / : ?`). Lengths (RFC 5280 upper bounds): common name 1 to 64 characters,
/// organization and serial number 0 (absent) to 64.
///
/// ## Output
/// PEM (`-----BEGIN CERTIFICATE REQUEST-----`, base64 at 64 characters a line, `\n` line ends),
/// written to the start of `pem_out` and terminated with a NUL that the returned length does not
/// count. kCsrPemMaxSize is always enough (an RSA 4096 CSR with the longest subject takes about
/// 1.9 KB, an EC P-256 one about 0.65 KB); on any failure `pem_out` is all zero. mbedTLS writes the
/// DER at the end of `pem_out` first and the PEM over it, so all of `pem_out` is scratch space.
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
///
/// ## Errors
/// - kInvalidArgument (kCrypto, 0): a subject field is empty (common name), too long, or holds a
///   character it may not; `*error` says which field, which character and at which offset
/// - the KeyStore's Status, unchanged (origin kKey), when `public_key_der()` or `sign_digest()`
///   fails: kNotFound (no such key), kUnauthenticated (PIN), kInvalidArgument (a URI that does not
///   parse), ...; `*error` says which step
/// - kInvalidArgument (kCrypto, mbedTLS code): the store's public key is not a DER
///   SubjectPublicKeyInfo
/// - kUnimplemented (kCrypto, mbedTLS code or 0): a key type other than EC P-256 or RSA 2048-4096
/// - kInternal (kCrypto, mbedTLS code): the signature from the store does not verify under its
///   public key, or its length is wrong for the key
/// - kResourceExhausted (kCrypto, 0 or mbedTLS code): `pem_out` is too small for the PEM and its
///   NUL (the store has signed by then), or mbedTLS ran out of memory
/// - kInternal (kCrypto, mbedTLS code): any other mbedTLS failure
///
/// ## Threading
/// Not thread-safe towards the KeyStore (one thread uses a store at a time, as the port says);
/// otherwise no shared state.

#include <cstddef>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/port/key_store.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

namespace tether::mbedtls {

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

/// Checks `subject` as build_csr() does (see the file comment). Returns ok, or kInvalidArgument
/// (kCrypto, 0) with `*error` (when not null) naming the field, the character and its offset.
Status validate_csr_subject(const CsrSubject& subject, ErrorText* error = nullptr);

/// Builds a PKCS#10 CSR for the key `key_uri` names in `keys`, signed (SHA-256) by the store, as
/// PEM into `pem_out`; returns the PEM's length (without the terminating NUL). Every Status is
/// listed in the file comment; `*error` (when not null) explains a failure, without secrets, and is
/// empty after a success.
Result<std::size_t> build_csr(port::KeyStore& keys, std::string_view key_uri, const CsrSubject& subject,
                              Span<char> pem_out, ErrorText* error = nullptr);

}  // namespace tether::mbedtls
