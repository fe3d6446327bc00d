// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/identity/identity_files.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <vector>

#include "tether/config.hpp"
#include "tether/json.hpp"
#include "tether/shadow/document.hpp"

namespace tether::identity {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

Status invalid(ErrorText* why, const char* text) {
  set_error_text(why, "%s", text);
  return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
}

}  // namespace

Status check_certificate_key(std::string_view cert_pem, Span<const std::uint8_t> public_key_der, ErrorText* why) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  std::unique_ptr<X509, Deleter<X509, X509_free>> cert(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return invalid(why, "the certificate does not parse as PEM X.509");
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  const bool same = length > 0 && static_cast<std::size_t>(length) == public_key_der.size() &&
                    std::memcmp(der, public_key_der.data(), public_key_der.size()) == 0;
  OPENSSL_free(der);
  if (!same) return invalid(why, "the certificate is not for the key (its public key differs)");
  return ok_status();
}

Status identity_config(std::string_view config_text, std::string_view source, std::string_view thing,
                       std::string_view cert_file, std::string_view key_uri, std::string* out, ErrorText* why) {
  std::vector<char> patch(1024 + 2 * (thing.size() + cert_file.size() + key_uri.size()));
  json::Writer w(Span<char>(patch.data(), patch.size()));
  w.begin_object();
  if (!thing.empty()) w.key("thing_name").string(thing).key("client_id").string(thing);
  w.key("tls").begin_object().key("cert_file").string(cert_file).key("key").string(key_uri).end_object();
  w.end_object();
  const Result<std::string_view> patch_text = w.finish();
  if (!patch_text.ok()) {
    set_error_text(why, "the new identity does not encode as JSON");
    return patch_text.status();
  }
  std::vector<char> merged(config_text.size() + patch_text->size() + 4096);
  const Result<std::string_view> text =
      shadow::merge(config_text, *patch_text, shadow::MergeMode::kApply, Span<char>(merged.data(), merged.size()));
  if (!text.ok()) {
    set_error_text(why, "the configuration does not take the new identity (not a JSON object?)");
    return text.status();
  }
  AgentConfig check;
  TETHER_RETURN_IF_ERROR(parse_config(*text, source, check, why));
  out->assign(text->data(), text->size());
  out->push_back('\n');
  return ok_status();
}

}  // namespace tether::identity
