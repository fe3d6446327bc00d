#pragma once
#include <string>

namespace smoke {
// Parses {"name": ..., "n": ...} with cJSON; returns "name=<name> n=<n>" or "" on error.
std::string parse_json(const std::string& text);
// OpenSSL's runtime version string (OpenSSL_version(OPENSSL_VERSION)).
std::string openssl_version();
// mbedTLS: hex SHA-256 of the input.
std::string sha256_hex(const std::string& data);
// Creates an mqtt::async_client (no connection) and returns its client id.
std::string make_client_id(const std::string& id);
// libp11: creates and frees a PKCS11_CTX; true on success.
bool p11_ctx_ok();
// "aarch64", "arm", "x86_64", ...
const char* target_arch();
}  // namespace smoke
