// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// AWS IoT Fleet Provisioning by CSR (MQTT API, PROTOCOLS.md §5): topics and the JSON documents of
/// CreateCertificateFromCsr and RegisterThing. Pure functions, no I/O, no heap (the JSON tree lives
/// only inside json::parse); the session that runs them is FleetProvisioner (provisioner.hpp).
///
/// | step | publish to | answer on `.../accepted` | or `.../rejected` |
/// |---|---|---|---|
/// | CreateCertificateFromCsr | `$aws/certificates/create-from-csr/json` `{"certificateSigningRequest": PEM}` | `{certificateOwnershipToken, certificateId, certificatePem}` | `{statusCode, errorCode, errorMessage}` |
/// | RegisterThing | `$aws/provisioning-templates/<template>/provision/json` `{"certificateOwnershipToken", "parameters": {k: v}}` | `{thingName, deviceConfiguration: {k: v}}` | as above |
///
/// The key never leaves the device: only the CSR goes out (build it with the key inside the token:
/// tether::mbedtls::build_csr). CBOR (`/cbor` topics) is not spoken yet.
///
/// Errors: kInvalidArgument/kProvisioning with `why` naming the field (`"certificatePem" is missing`,
/// `template name: ...`), kOutOfRange/kProvisioning for a value longer than its limit below (detail =
/// the limit, clamped), JSON syntax and size errors from json::parse unchanged (kJson), and
/// kResourceExhausted/kJson when an encode buffer is too small. `why` is one printable line that never
/// contains the ownership token, the certificate or the CSR.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/limits.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

#ifndef TETHER_PROVISIONING_MAX_TOKEN
#define TETHER_PROVISIONING_MAX_TOKEN 2048  ///< bytes of a certificateOwnershipToken
#endif
#ifndef TETHER_PROVISIONING_MAX_CERT_PEM
#define TETHER_PROVISIONING_MAX_CERT_PEM 4096  ///< bytes of the certificatePem answered
#endif
#ifndef TETHER_PROVISIONING_MAX_ENTRIES
#define TETHER_PROVISIONING_MAX_ENTRIES 8  ///< parameters sent, deviceConfiguration entries kept
#endif

namespace tether::provisioning {

/// Provisioning template names: 1..36 characters of `[A-Za-z0-9_-]`.
inline constexpr std::size_t kMaxTemplateName = 36;
inline constexpr std::size_t kMaxOwnershipToken = TETHER_PROVISIONING_MAX_TOKEN;
inline constexpr std::size_t kMaxCertificatePem = TETHER_PROVISIONING_MAX_CERT_PEM;
/// certificateId: AWS uses 64 hex digits (the SHA-256 of the certificate).
inline constexpr std::size_t kMaxCertificateId = 64;
/// The CSR sent: a PEM of at most this many bytes (tether::mbedtls::kCsrPemMaxSize).
inline constexpr std::size_t kMaxCsrPem = 4096;
inline constexpr std::size_t kMaxEntries = TETHER_PROVISIONING_MAX_ENTRIES;
/// Keys and values of template parameters and of deviceConfiguration entries.
inline constexpr std::size_t kMaxEntryKey = 64;
inline constexpr std::size_t kMaxEntryValue = 256;
/// errorCode and errorMessage of a rejection (a longer message is cut at a UTF-8 boundary).
inline constexpr std::size_t kMaxErrorCode = 64;
inline constexpr std::size_t kMaxErrorMessage = 256;

/// Checks a template name (see kMaxTemplateName); kInvalidArgument/kProvisioning with `why`.
Status validate_template_name(std::string_view name, ErrorText* why = nullptr);

// ---- topics ------------------------------------------------------------------------------------

enum class Api : std::uint8_t { kCreateCertificateFromCsr, kRegisterThing };
enum class Answer : std::uint8_t { kRequest, kAccepted, kRejected };

/// The topic of `api` (the request, or its accepted/rejected answer) into `out`; `template_name`
/// is used by kRegisterThing only (validated). Returns a view into `out`; kResourceExhausted/kTopic
/// when `out` is too small.
Result<std::string_view> topic(Api api, Answer answer, std::string_view template_name, Span<char> out);

// ---- documents ---------------------------------------------------------------------------------

/// One template parameter (RegisterThing) or deviceConfiguration entry.
struct Entry {
  std::string_view key;
  std::string_view value;
};

/// `{"certificateSigningRequest": "<csr_pem>"}` into `out`. The CSR must look like a PEM
/// certificate request (`-----BEGIN CERTIFICATE REQUEST-----`), at most kMaxCsrPem bytes.
Result<std::string_view> encode_create_from_csr(std::string_view csr_pem, Span<char> out, ErrorText* why = nullptr);

/// `{"certificateOwnershipToken": "...", "parameters": {k: v, ...}}` into `out`. Keys 1..64 bytes,
/// values 0..256 bytes (valid UTF-8), no key twice, at most kMaxEntries.
Result<std::string_view> encode_register_thing(std::string_view ownership_token, Span<const Entry> parameters,
                                               Span<char> out, ErrorText* why = nullptr);

/// What CreateCertificateFromCsr accepted.
struct CertificateIssued {
  FixedString<kMaxCertificateId> certificate_id;
  FixedString<kMaxOwnershipToken> ownership_token;
  FixedString<kMaxCertificatePem> certificate_pem;  ///< `-----BEGIN CERTIFICATE-----...`
};
/// Reads an accepted answer of CreateCertificateFromCsr: all three fields are required non-empty
/// strings; the PEM must hold a certificate; a field over its limit is kOutOfRange (never cut).
Status decode_certificate_issued(std::string_view json, CertificateIssued& out, ErrorText* why = nullptr);

/// What RegisterThing accepted.
struct ThingRegistered {
  FixedString<kMaxThingName> thing_name;
  FixedString<kMaxEntryKey> config_keys[kMaxEntries];
  FixedString<kMaxEntryValue> config_values[kMaxEntries];
  std::size_t config_count = 0;
  /// deviceConfiguration entries not kept: beyond kMaxEntries, over the key/value limits, or
  /// values that are not strings. Counted and reported by FleetProvisioner's log, never silent.
  std::size_t config_dropped = 0;

  /// The value of deviceConfiguration[key], or null.
  const FixedString<kMaxEntryValue>* config(std::string_view key) const;
};
/// Reads an accepted answer of RegisterThing: `thingName` required (a valid AWS thing name: 1..128
/// of `[a-zA-Z0-9:_-]`); `deviceConfiguration` optional (an object of strings).
Status decode_thing_registered(std::string_view json, ThingRegistered& out, ErrorText* why = nullptr);

/// A `.../rejected` answer.
struct Rejection {
  std::int32_t status_code = 0;               ///< HTTP-style, e.g. 400, 403, 404, 500
  FixedString<kMaxErrorCode> error_code;      ///< e.g. "InvalidCSR", "ResourceNotFound"
  FixedString<kMaxErrorMessage> error_message;  ///< cut at a UTF-8 boundary when longer
};
/// Reads a rejection; every field is optional (missing: 0 / empty) but must have its type.
Status decode_rejection(std::string_view json, Rejection& out, ErrorText* why = nullptr);

}  // namespace tether::provisioning
