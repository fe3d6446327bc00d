// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Mutual TLS with a private key that never leaves a PKCS#11 token (an HSM, a secure element,
/// SoftHSM2, a TPM through tpm2-pkcs11), for TLS stacks that take only a key *file*, like Paho.
///
/// `enable_pkcs11_tls_key()` makes OpenSSL 3 in this process able to use the key:
///  1. checks the settings, finds OpenSSL's PKCS#11 provider (Debian package `pkcs11-provider`;
///     `<OpenSSL MODULESDIR>/pkcs11.so` unless `provider_module` names another);
///  2. logs in to the token with Pkcs11KeyStore, finds the key and compares its public half with
///     the certificate's, so a wrong PIN, a missing key or a certificate for another key are clear
///     errors at start instead of a TLS alert later;
///  3. loads the provider into OpenSSL's default library context (an in-memory configuration: no
///     file and no environment variable the user must set; the `default` provider is activated
///     too, so file keys and everything else keep working; the module is never finalized, the
///     `no-deinit` quirk, which SoftHSM2 needs to not crash at exit);
///  4. writes `key_pem_path` (mode 0600, replaced atomically): a PEM block `PKCS#11 PROVIDER URI`
///     holding only the key's URI — no key material and no PIN — and loads it back through OpenSSL
///     exactly as a TLS stack will, checking that it matches the certificate.
/// Then give `key_pem_path` to the TLS stack as its private key file (PahoSettings::key_file).
/// Each handshake signs once inside the token (one C_Sign).
///
/// ## PIN
/// From `token.pin_file` (the provider reads the file itself when it logs in: `file:` form) or
/// `token.pin_env` (read here once and handed to the provider in memory). Never written to disk,
/// never logged, never in an error text.
///
/// ## Process-wide
/// OpenSSL's default library context is process-wide, and so is a PKCS#11 module. The first
/// successful call loads the provider for one module; later calls with the same module and
/// provider only check the key and write its PEM (several keys of one module are fine); a call
/// naming another module is kFailedPrecondition. Call it before starting TLS connections. Not
/// thread-safe against itself (serialised internally) but safe against running TLS connections.
/// A Pkcs11KeyStore of the same module may come and go afterwards (rotation generates the next key
/// while the current one serves TLS): it finds the module initialized and leaves the provider's
/// login and sessions alone.
///
/// ## Errors (the text in `*error` says what and where; never the PIN)
/// kInvalidArgument: settings (key_uri not a `pkcs11:` URI or carrying pin-value/pin-source, no
/// certificate or PEM path), a certificate that does not parse, a certificate whose public key is
/// not the token key's. kNotFound: the certificate file or the key does not exist.
/// kUnauthenticated: the token refused the PIN (CKR_PIN_INCORRECT). kPermissionDenied: PIN locked,
/// a PIN file accessible by others, the PEM cannot be written. kUnavailable: the PKCS#11 module or
/// OpenSSL's provider is missing or does not load (the text names the path and the package), or
/// OpenSSL cannot use the key through the provider. kFailedPrecondition: another module is loaded.
/// Other codes as Pkcs11KeyStore returns them.

#include <string>
#include <string_view>

#include "tether/config.hpp"
#include "tether/error_text.hpp"
#include "tether/port/key_store.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"
#include "tether/status.hpp"

namespace tether::port {

struct Pkcs11TlsKeySettings {
  Pkcs11KeyStoreSettings token;  ///< the module and the PIN source (token_uri is not used)
  std::string key_uri;           ///< the private key, `pkcs11:...;type=private`, without a PIN
  std::string cert_file;         ///< the device certificate (PEM): must carry the key's public half
  std::string key_pem_path;      ///< where the URI PEM is written (0600): the TLS stack's key file
  std::string provider_module;   ///< OpenSSL's pkcs11-provider (.so); empty: OpenSSL's modules dir
};

/// See the file comment. On success `*key` (when given) is what the token says of the key:
/// algorithm, CKA_SENSITIVE, CKA_EXTRACTABLE (warn about an extractable key: it can be copied out).
/// Only the first call in a process reads it (later calls check the key through the provider, and
/// leave `*key` untouched): Pkcs11KeyStore cannot open the module the provider holds.
Status enable_pkcs11_tls_key(const Pkcs11TlsKeySettings& settings, KeyInfo* key, ErrorText* error);

/// Settings from the agent configuration (docs/configuration.md): `tls.key` (the URI),
/// `tls.cert_file`, and the "pkcs11" section (`module`, `pin_file` or `pin_env`, `provider`);
/// `key_pem_path` as given (a private, writable place: the state or runtime directory).
Pkcs11TlsKeySettings pkcs11_tls_settings(const AgentConfig& config, std::string key_pem_path);

/// True when `tls.key` names a key in a token (starts with `pkcs11:`).
bool is_pkcs11_key(const BrokerSettings& broker);

/// Writes `text` to `path` atomically and durably: a temporary file in the same directory
/// (mkstemp: 0600, never one someone else prepared), fsync, `mode` (e.g. 0600 for keys and
/// configurations, 0644 for certificates), rename over `path`, fsync of the directory. On failure
/// before the rename the old file is untouched and the temporary removed: kPermissionDenied,
/// kResourceExhausted (disk full), kNotFound (no such directory), kUnavailable; origin kOs, detail
/// errno; `*error` names the step and the path. A failing directory sync (the new file is in place)
/// is reported the same way.
Status write_file_atomically(const std::string& path, std::string_view text, unsigned mode, ErrorText* error);

/// The provider module enable_pkcs11_tls_key() loads when `provider_module` is empty:
/// `<OpenSSL MODULESDIR>/pkcs11.so`.
std::string default_pkcs11_provider_path();

/// The PEM text (`-----BEGIN PKCS#11 PROVIDER URI-----`) naming `uri`, as pkcs11-provider reads it:
/// base64 of DER `SEQUENCE { VisibleString "PKCS#11 Provider URI v1.0", UTF8String uri }`.
/// kInvalidArgument for a URI that is empty, longer than kMaxKeyUri or not `pkcs11:`.
Status pkcs11_uri_pem(const std::string& uri, std::string* pem);

}  // namespace tether::port
