// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// KeyStore port: the device's private keys and certificates, kept where the key cannot be copied
/// out (a PKCS#11 token: an HSM, a secure element, a TPM through tpm2-pkcs11), or, for development
/// only, in files.
///
/// ## Naming
/// Keys and certificates are named by RFC 7512 PKCS#11 URIs (`pkcs11:token=dev;object=identity;
/// type=private`); a file-backed store accepts `file:` paths instead. URIs never carry the PIN
/// (`pin-value` is refused): the PIN comes from the implementation's settings (a file or an
/// environment variable) and is never logged.
///
/// ## Keys
/// `generate_key()` creates a key pair inside the store: the private half is sensitive and not
/// extractable (CKA_SENSITIVE true, CKA_EXTRACTABLE false on a token) and signs in place; the call
/// returns its URI and the algorithm. `public_key_der()` gives the DER SubjectPublicKeyInfo, which
/// goes into a CSR. `sign_digest()` signs a SHA-256 digest: ECDSA P-256 returns a DER
/// ECDSA-Sig-Value, RSA returns a PKCS#1 v1.5 signature (DigestInfo included).
///
/// ## Certificates
/// `store_certificate()` keeps a DER X.509 certificate next to a key (same CKA_ID, label given);
/// `read_certificate()` returns it. `delete_object()` removes a key pair or certificate (rotation
/// rolls back with it); the key in use by a live TLS session is the caller's to protect.
///
/// ## Errors (origin kKey unless said otherwise; detail = CKR_* low 16 bits where one applies)
/// kInvalidArgument (a URI that does not parse, names no object type, or carries a PIN; a digest
/// that is not 32 bytes), kNotFound (no such token or object), kAlreadyExists (generate_key with a
/// label/id already used), kUnauthenticated (wrong PIN: CKR_PIN_INCORRECT; the PIN is not shown),
/// kPermissionDenied (CKR_PIN_LOCKED, a key not allowed to sign), kResourceExhausted (`out` too
/// small: detail = the size needed, clamped; or the token is full), kUnimplemented (an algorithm
/// the token does not offer), kUnavailable (the module cannot be loaded or the token is absent:
/// the text names the module path). Implementations say which text explains the failure
/// (`last_error()`), always without the PIN.
///
/// ## Threading
/// Not thread-safe: one thread makes every call. TLS handshakes that use the key through OpenSSL
/// (pkcs11-provider) open their own sessions and do not go through this object.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/fixed_string.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether::port {

/// Longest key or certificate URI this port hands out.
inline constexpr std::size_t kMaxKeyUri = 512;

enum class KeyAlgorithm : std::uint8_t {
  kEcP256,   ///< ECDSA on NIST P-256 (prime256v1), the AWS IoT default
  kRsa2048,  ///< RSA 2048, PKCS#1 v1.5 signatures
};
const char* to_string(KeyAlgorithm algorithm);  ///< "ec-p256", "rsa-2048"

struct KeySpec {
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  std::string_view label;  ///< CKA_LABEL (1..64 printable ASCII), unique in the token
  std::string_view id;     ///< CKA_ID as hex (2..64 hex digits, even); empty = derived from the label
};

struct KeyInfo {
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  bool sensitive = true;     ///< CKA_SENSITIVE
  bool extractable = false;  ///< CKA_EXTRACTABLE
  FixedString<kMaxKeyUri> uri;  ///< the private key's URI (`type=private`), without a PIN
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  /// Generates a key pair inside the store. See the file comment.
  Result<KeyInfo> generate_key(const KeySpec& spec) { return do_generate_key(spec); }
  /// Looks a private key up by URI.
  Result<KeyInfo> find_key(std::string_view uri) { return do_find_key(uri); }
  /// DER SubjectPublicKeyInfo of the key `uri` names; returns the length written to `out`.
  Result<std::size_t> public_key_der(std::string_view uri, Span<std::uint8_t> out) {
    return do_public_key_der(uri, out);
  }
  /// Signs a SHA-256 digest (32 bytes) with the private key `uri` names; returns the length.
  Result<std::size_t> sign_digest(std::string_view uri, Span<const std::uint8_t> digest, Span<std::uint8_t> out) {
    return do_sign_digest(uri, digest, out);
  }
  /// Stores a DER certificate next to the key `key_uri` names, with `label`; returns its URI.
  Result<FixedString<kMaxKeyUri>> store_certificate(std::string_view key_uri, Span<const std::uint8_t> der,
                                                    std::string_view label) {
    return do_store_certificate(key_uri, der, label);
  }
  /// Copies the DER certificate `uri` names into `out`; returns the length.
  Result<std::size_t> read_certificate(std::string_view uri, Span<std::uint8_t> out) {
    return do_read_certificate(uri, out);
  }
  /// Deletes the objects `uri` names (a key pair: both halves).
  Status delete_object(std::string_view uri) { return do_delete_object(uri); }

 private:
  virtual Result<KeyInfo> do_generate_key(const KeySpec& spec) = 0;
  virtual Result<KeyInfo> do_find_key(std::string_view uri) = 0;
  virtual Result<std::size_t> do_public_key_der(std::string_view uri, Span<std::uint8_t> out) = 0;
  virtual Result<std::size_t> do_sign_digest(std::string_view uri, Span<const std::uint8_t> digest,
                                             Span<std::uint8_t> out) = 0;
  virtual Result<FixedString<kMaxKeyUri>> do_store_certificate(std::string_view key_uri, Span<const std::uint8_t> der,
                                                               std::string_view label) = 0;
  virtual Result<std::size_t> do_read_certificate(std::string_view uri, Span<std::uint8_t> out) = 0;
  virtual Status do_delete_object(std::string_view uri) = 0;
};

}  // namespace tether::port
