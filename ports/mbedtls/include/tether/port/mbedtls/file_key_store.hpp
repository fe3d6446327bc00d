// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// FileKeyStore: the KeyStore port (tether/port/key_store.hpp) over files in a directory, with
/// mbedTLS 2.28 doing the key generation and the signing. **For development only.**
///
/// ## Not for production
/// The private key is a file. Anyone who can read the file as this user (or as root, or from a
/// backup or the raw disk) has the device's identity, and nothing stops a copy: keys are reported
/// as `sensitive = false, extractable = true`. Use a PKCS#11 token, a secure element or a TPM
/// (`tether::port::Pkcs11KeyStore`) on devices. open() logs kWarning at warn level through the
/// settings' logger; warning() returns it for the application to show.
///
/// ## Files and URIs
/// `file:<name>` names the key in `<directory>/<name>.key.pem` (the private key, PEM: SEC1
/// `EC PRIVATE KEY` as generated here; a PKCS#8 or PKCS#1 PEM put there by hand works too);
/// `file:<name>.crt` names a certificate in `<directory>/<name>.crt.der` (DER). A name is 1 to 64
/// of `A-Z a-z 0-9 _ -` (so no path, no dot, no hidden file); anything else, and any other URI
/// scheme, is kInvalidArgument.
/// - The directory must exist, be owned by this user and not be writable by group or others
///   (checked on every call: kPermissionDenied otherwise, detail = its mode bits).
/// - Key files are created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, written, fsync'ed, and the
///   directory fsync'ed; a key file that is accessible by group or others, or is a symbolic link, is
///   refused (kPermissionDenied) before it is read. Certificates are created the same way (0644).
/// - A key read for a call is parsed, used and wiped; nothing stays in memory between calls except
///   the random generator.
///
/// ## Calls
/// `generate_key()`: EC P-256 only (RSA: kUnimplemented), `KeySpec::label` is the name, `KeySpec::id`
/// must be empty; a name in use is kAlreadyExists. `find_key()` reads the key's type (EC P-256 or RSA
/// 2048; others kUnimplemented). `public_key_der()`: DER SubjectPublicKeyInfo. `sign_digest()`:
/// ECDSA (DER ECDSA-Sig-Value, deterministic nonces per RFC 6979 with blinding from the generator)
/// or RSA PKCS#1 v1.5 with the SHA-256 DigestInfo. `store_certificate(key_uri, der, label)` writes
/// `<label>.crt.der` and returns `file:<label>.crt`. `delete_object()` unlinks the file (no
/// overwriting: on journaling file systems and flash it would not reach the old blocks).
///
/// ## Errors (origin kKey)
/// kInvalidArgument (a URI or label as above; a digest that is not 32 bytes; a non-empty id; an empty
/// certificate), kNotFound (no such key, certificate or directory; detail errno), kAlreadyExists (the
/// file exists), kPermissionDenied (the directory's or the key file's mode or owner, a symbolic link,
/// EACCES; detail = the mode bits or errno), kResourceExhausted (`out` too small: detail = the size
/// needed; ENOSPC), kDataLoss (a key file that does not parse: detail = the negated mbedTLS code),
/// kUnimplemented (RSA generation, an unsupported key type in a file), kUnavailable (the random
/// generator cannot be seeded, or another I/O error: detail errno), kInternal (another mbedTLS
/// failure). last_error() names the file and the step, never key bytes.
///
/// ## Resources
/// A Linux port: allocates (std::string paths, the mbedTLS entropy and CTR_DRBG contexts, about
/// 38 KB, on the heap; mbedTLS's own allocations while a key is in use). Not thread-safe, like the
/// port. Not built for bare metal.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/log.hpp"
#include "tether/port/key_store.hpp"

namespace tether::mbedtls {

struct FileKeyStoreSettings {
  std::string directory;            ///< where the key and certificate files are (see the file comment)
  const Logger* logger = nullptr;   ///< open() logs kWarning here (warn level); null: not logged
};

class FileKeyStore final : public port::KeyStore {
 public:
  /// The warning open() logs and warning() returns.
  static constexpr const char* kWarning =
      "not for production: the private key is a file (FileKeyStore: anyone who can read it has the "
      "device's identity; use a PKCS#11 token, a secure element or a TPM)";

  explicit FileKeyStore(FileKeyStoreSettings settings);
  ~FileKeyStore() override;
  FileKeyStore(const FileKeyStore&) = delete;
  FileKeyStore& operator=(const FileKeyStore&) = delete;

  /// Checks the directory (see the file comment) and logs kWarning the first time it succeeds.
  /// Every other call checks the directory as well. Returns ok, kNotFound or kPermissionDenied.
  Status open();

  /// kWarning: show it wherever a FileKeyStore is in use.
  const char* warning() const { return kWarning; }

  /// What the last failure was, naming the file or directory; empty after a success.
  const char* last_error() const { return last_error_.c_str(); }

  struct Impl;  // the random generator (src/file_key_store.cpp)

 private:
  Result<port::KeyInfo> do_generate_key(const port::KeySpec& spec) override;
  Result<port::KeyInfo> do_find_key(std::string_view uri) override;
  Result<std::size_t> do_public_key_der(std::string_view uri, Span<std::uint8_t> out) override;
  Result<std::size_t> do_sign_digest(std::string_view uri, Span<const std::uint8_t> digest,
                                     Span<std::uint8_t> out) override;
  Result<FixedString<port::kMaxKeyUri>> do_store_certificate(std::string_view key_uri, Span<const std::uint8_t> der,
                                                             std::string_view label) override;
  Result<std::size_t> do_read_certificate(std::string_view uri, Span<std::uint8_t> out) override;
  Status do_delete_object(std::string_view uri) override;

  Status check_directory();

  FileKeyStoreSettings settings_;
  std::unique_ptr<Impl> impl_;
  ErrorText last_error_;
  bool warned_ = false;
};

}  // namespace tether::mbedtls
