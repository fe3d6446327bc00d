// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Pkcs11KeyStore: the KeyStore port (tether/port/key_store.hpp) over a PKCS#11 module (an HSM, a
/// secure element, SoftHSM2, a TPM through tpm2-pkcs11), through libp11 and p11-kit.
///
/// ## Settings
/// `module_path` names the module's shared object; `token_uri` the token generate_key() uses. The user PIN comes from exactly one of
/// `pin_file` (the file's first line, without the line end; the file must not be accessible by
/// group or others: mode 0600 or 0400) or `pin_env` (the name of an environment variable). The PIN
/// is read when the store logs in to a token (once per token), kept only for the C_Login call and
/// wiped; it never appears in a URI, a Status or last_error().
///
/// ## URIs (RFC 7512, parsed by p11-kit)
/// Every URI names a token (`token=`, and optionally `manufacturer=`, `model=`, `serial=`) and the
/// object by `object=` (CKA_LABEL) and/or `id=` (CKA_ID) with a `type=`: `private` for keys (the
/// public half is found by the same label and id), `cert` for certificates; `public_key_der()` also
/// takes `type=public`. `delete_object()` takes `private` or `public` (both halves of the pair go)
/// or `cert`. A URI with `pin-value` or `pin-source`, an attribute p11-kit does not know, no type,
/// or a type the call does not take is kInvalidArgument; one that matches more than one object is
/// kInvalidArgument as well (add `id=`). URIs handed out look like
/// `pkcs11:token=dev;id=%01%02;object=identity;type=private`.
///
/// ## Keys
/// `generate_key()` calls C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN on prime256v1, or
/// CKM_RSA_PKCS_KEY_PAIR_GEN with 2048 bits and exponent 65537) with CKA_TOKEN, CKA_PRIVATE,
/// CKA_SENSITIVE and CKA_SIGN true and CKA_EXTRACTABLE false on the private half. An empty
/// `KeySpec::id` becomes the first 16 bytes of SHA-256(label). A label or id used by a key already
/// in the token is kAlreadyExists. `find_key()` reads CKA_KEY_TYPE, CKA_SENSITIVE and
/// CKA_EXTRACTABLE back from the token. `sign_digest()` signs through the EVP_PKEY libp11 returns
/// (ECDSA: CKM_ECDSA, DER ECDSA-Sig-Value out; RSA: CKM_RSA_PKCS over the SHA-256 DigestInfo).
///
/// ## Errors
/// As the port, origin kKey; detail = the CKR_* value (low 16 bits) where the module returned one.
/// CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE → kUnauthenticated; CKR_PIN_LOCKED,
/// CKR_PIN_EXPIRED, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_TOKEN_WRITE_PROTECTED, CKR_SESSION_READ_ONLY,
/// CKR_USER_NOT_LOGGED_IN → kPermissionDenied; CKR_DEVICE_MEMORY, CKR_HOST_MEMORY →
/// kResourceExhausted; CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_DOMAIN_PARAMS_INVALID,
/// CKR_FUNCTION_NOT_SUPPORTED → kUnimplemented; CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED,
/// CKR_DEVICE_ERROR, CKR_SESSION_CLOSED → kUnavailable; CKR_OBJECT_HANDLE_INVALID,
/// CKR_KEY_HANDLE_INVALID → kNotFound; CKR_ARGUMENTS_BAD, CKR_TEMPLATE_*, CKR_ATTRIBUTE_* →
/// kInvalidArgument; anything else → kUnknown. Besides: a module that does not load, or no token
/// present in any slot → kUnavailable (detail 0, the text names the module path); bad settings (no
/// module path, not exactly one PIN source, an unset variable, an empty PIN) → kInvalidArgument; a
/// PIN file that cannot be read → kPermissionDenied or kNotFound (detail errno); a PIN file
/// accessible by group or others → kPermissionDenied (detail = its mode bits); `out` too small →
/// kResourceExhausted (detail = the size needed, clamped). last_error() explains the last failure
/// (and names the module, the PIN file or the URI), never with the PIN.
///
/// ## Resources
/// A Linux port: allocates (libp11 and p11-kit allocate, the settings are std::string). The module is
/// loaded on the first call (or by open()) and stays loaded, logged in to each token the store has
/// used, until the object is destroyed (C_Finalize). delete_object() also drops libp11's object
/// lists and the logins (libp11 0.4.12 would keep offering a destroyed key): the next call reads the
/// PIN and logs in again. Keep one Pkcs11KeyStore per module in a
/// process: PKCS#11 modules are process-wide. A module that another user in the process has
/// initialized already (OpenSSL's pkcs11-provider serving TLS with a token key, see tls_key.hpp) is
/// shared: the store then never calls C_Logout or C_Finalize, which would end that user's login
/// and sessions too. Not thread-safe, like the port.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/port/key_store.hpp"

namespace tether::port {

struct Pkcs11KeyStoreSettings {
  std::string module_path;  ///< the PKCS#11 module (.so)
  std::string pin_file;     ///< a file whose first line is the user PIN (mode 0600/0400); or
  std::string pin_env;      ///< the name of an environment variable holding the user PIN
  /// The token generate_key() creates keys in: a URI naming only a token (`pkcs11:token=dev`);
  /// empty: the one token present (more than one is kInvalidArgument).
  std::string token_uri;
};

class Pkcs11KeyStore final : public KeyStore {
 public:
  explicit Pkcs11KeyStore(Pkcs11KeyStoreSettings settings);
  ~Pkcs11KeyStore() override;
  Pkcs11KeyStore(const Pkcs11KeyStore&) = delete;
  Pkcs11KeyStore& operator=(const Pkcs11KeyStore&) = delete;

  /// Checks the settings and loads the module (every other call does it on first use). kOk when it
  /// is loaded already; kInvalidArgument (settings) or kUnavailable (the module does not load).
  Status open();

  /// What the last failure was, naming the module, file or URI involved; never the PIN. Empty
  /// after a success.
  const char* last_error() const { return last_error_.c_str(); }

  struct Impl;  // libp11 and p11-kit state (src/pkcs11_key_store.cpp)

 private:
  Result<KeyInfo> do_generate_key(const KeySpec& spec) override;
  Result<KeyInfo> do_find_key(std::string_view uri) override;
  Result<std::size_t> do_public_key_der(std::string_view uri, Span<std::uint8_t> out) override;
  Result<std::size_t> do_sign_digest(std::string_view uri, Span<const std::uint8_t> digest,
                                     Span<std::uint8_t> out) override;
  Result<FixedString<kMaxKeyUri>> do_store_certificate(std::string_view key_uri, Span<const std::uint8_t> der,
                                                       std::string_view label) override;
  Result<std::size_t> do_read_certificate(std::string_view uri, Span<std::uint8_t> out) override;
  Status do_delete_object(std::string_view uri) override;

  std::unique_ptr<Impl> impl_;
  ErrorText last_error_;
};

}  // namespace tether::port
