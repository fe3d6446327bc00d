// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// What first boot (examples/provision) and rotation (CertificateRotation) both do with a new
/// identity before trusting it: check the issued certificate against the key, and build the agent
/// configuration that names it. Writing the files: tether::port::write_file_atomically
/// (tether/port/pkcs11/tls_key.hpp).

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether::identity {

/// Whether the PEM certificate carries exactly the DER SubjectPublicKeyInfo `public_key_der` (the
/// key's, from KeyStore::public_key_der). ok; kInvalidArgument/kProvisioning with `*why` when the
/// PEM does not parse or the public key differs.
Status check_certificate_key(std::string_view cert_pem, Span<const std::uint8_t> public_key_der, ErrorText* why);

/// `config_text` (an agent configuration) with the identity replaced: `tls.cert_file` and `tls.key`,
/// and `thing_name` and `client_id` when `thing` is not empty; everything else as it was (JSON
/// merge). The result must load as the agent loads it (parse_config, `source` names it in errors).
/// ok with `*out`; the merge's or the parser's error with `*why`.
Status identity_config(std::string_view config_text, std::string_view source, std::string_view thing,
                       std::string_view cert_file, std::string_view key_uri, std::string* out, ErrorText* why);

}  // namespace tether::identity
