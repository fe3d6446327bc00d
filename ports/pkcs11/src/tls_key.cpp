// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// enable_pkcs11_tls_key: OpenSSL's pkcs11-provider loaded in-process, a key PEM naming the URI.
#include "tether/port/pkcs11/tls_key.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::port {

namespace {

constexpr std::string_view kUriPemName = "PKCS#11 PROVIDER URI";
constexpr std::string_view kUriPemVersion = "PKCS#11 Provider URI v1.0";
constexpr std::size_t kMaxPublicKeyDer = 1024;

Status key_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kKey, detail); }
Status tls_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kTls, detail); }
std::uint16_t errno_detail(int err) { return err > 0 && err <= 0xFFFF ? static_cast<std::uint16_t>(err) : 0; }

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct ConfFree {
  void operator()(CONF* conf) const { NCONF_free(conf); }
};
using ConfPtr = std::unique_ptr<CONF, ConfFree>;

// The reasons OpenSSL queued, oldest first, "; "-separated (and the queue emptied).
std::string take_openssl_errors() {
  std::string text;
  unsigned long code = 0;
  const char* data = nullptr;
  int flags = 0;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      text += " (";
      text += data;
      text += ")";
    }
  }
  return text.empty() ? std::string("no reason given") : text;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool contains_pin_attribute(std::string_view uri) {
  std::string lower(uri);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower.find("pin-value") != std::string::npos || lower.find("pin-source") != std::string::npos;
}

// A configuration value with every character that is not a letter or digit backslash-escaped
// (OpenSSL's NCONF reads "\x" as x): paths and PINs cannot end the value, start a comment ('#')
// or expand a variable ('$').
std::string conf_value(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!plain) out += '\\';
    out += c;
  }
  return out;
}

// DER length octets.
void der_length(std::size_t n, std::vector<unsigned char>* out) {
  if (n < 0x80) {
    out->push_back(static_cast<unsigned char>(n));
  } else if (n <= 0xFF) {
    out->push_back(0x81);
    out->push_back(static_cast<unsigned char>(n));
  } else {
    out->push_back(0x82);
    out->push_back(static_cast<unsigned char>(n >> 8));
    out->push_back(static_cast<unsigned char>(n & 0xFF));
  }
}

void der_string(unsigned char tag, std::string_view text, std::vector<unsigned char>* out) {
  out->push_back(tag);
  der_length(text.size(), out);
  out->insert(out->end(), text.begin(), text.end());
}

Status read_certificate(const std::string& path, X509Ptr* cert, ErrorText* error) {
  if (path.empty()) {
    set_error_text(error, "pkcs11 tls: no certificate file given (cert_file)");
    return tls_status(StatusCode::kInvalidArgument);
  }
  errno = 0;
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    const int err = errno;
    ERR_clear_error();
    set_error_text(error, "pkcs11 tls: certificate file '%s': %s", path.c_str(),
                   err != 0 ? std::strerror(err) : "cannot be opened");
    return tls_status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kInvalidArgument, errno_detail(err));
  }
  cert->reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!*cert) {
    const std::string why = take_openssl_errors();
    set_error_text(error, "pkcs11 tls: certificate file '%s' is not a PEM certificate: %s", path.c_str(),
                   why.c_str());
    return tls_status(StatusCode::kInvalidArgument);
  }
  return ok_status();
}

// Logs in with Pkcs11KeyStore (clear errors for the PIN and the key), compares the public keys.
// The store is gone (module finalized) when this returns, before the provider loads the module.
Status check_key_against_certificate(const Pkcs11TlsKeySettings& settings, X509* cert, KeyInfo* key,
                                     ErrorText* error) {
  Pkcs11KeyStore store(settings.token);
  Result<KeyInfo> info = store.find_key(settings.key_uri);
  if (!info.ok()) {
    set_error_text(error, "pkcs11 tls: key %s: %s", settings.key_uri.c_str(), store.last_error());
    return info.status();
  }
  std::array<std::uint8_t, kMaxPublicKeyDer> token_public{};
  Result<std::size_t> token_len = store.public_key_der(settings.key_uri, token_public);
  if (!token_len.ok()) {
    set_error_text(error, "pkcs11 tls: public half of key %s: %s", settings.key_uri.c_str(), store.last_error());
    return token_len.status();
  }
  unsigned char* cert_public = nullptr;
  const int cert_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &cert_public);
  const bool same = cert_len > 0 && static_cast<std::size_t>(cert_len) == *token_len &&
                    std::memcmp(cert_public, token_public.data(), *token_len) == 0;
  OPENSSL_free(cert_public);
  if (!same) {
    set_error_text(error, "pkcs11 tls: the certificate '%s' is not for key %s (its public key differs)",
                   settings.cert_file.c_str(), settings.key_uri.c_str());
    return key_status(StatusCode::kInvalidArgument);
  }
  if (key != nullptr) *key = *info;
  return ok_status();
}

// Process-wide: which module the provider was loaded for.
std::mutex g_mutex;
std::string g_loaded;  // "<provider>\n<module>" once loaded

Status load_provider(const Pkcs11TlsKeySettings& settings, const std::string& provider, ErrorText* error) {
  const std::string identity = provider + "\n" + settings.token.module_path;
  if (!g_loaded.empty()) {
    if (g_loaded == identity) return ok_status();
    set_error_text(error,
                   "pkcs11 tls: OpenSSL's PKCS#11 provider is loaded for another module in this process already "
                   "(one module per process); not loading it for '%s'",
                   settings.token.module_path.c_str());
    return tls_status(StatusCode::kFailedPrecondition);
  }

  std::string pin_line;
  if (!settings.token.pin_file.empty()) {
    pin_line = "file:" + settings.token.pin_file;
  } else {
    const char* pin = std::getenv(settings.token.pin_env.c_str());
    if (pin == nullptr || *pin == '\0') {
      set_error_text(error, "pkcs11 tls: the PIN variable %s is not set or empty", settings.token.pin_env.c_str());
      return key_status(StatusCode::kInvalidArgument);
    }
    pin_line = pin;
  }
  std::string text =
      "openssl_conf = tether_openssl_init\n"
      "[tether_openssl_init]\n"
      "providers = tether_providers\n"
      "[tether_providers]\n"
      "default = tether_default_provider\n"
      "pkcs11 = tether_pkcs11_provider\n"
      "[tether_default_provider]\n"
      "activate = 1\n"
      "[tether_pkcs11_provider]\n"
      "module = " +
      conf_value(provider) + "\npkcs11-module-path = " + conf_value(settings.token.module_path) +
      "\npkcs11-module-token-pin = " + conf_value(pin_line) +
      "\npkcs11-module-quirks = no-deinit\n"
      "activate = 1\n";
  OPENSSL_cleanse(pin_line.data(), pin_line.size());

  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  ConfPtr conf(NCONF_new(nullptr));
  long bad_line = 0;
  bool loaded = bio && conf && NCONF_load_bio(conf.get(), bio.get(), &bad_line) == 1 &&
                CONF_modules_load(conf.get(), nullptr, 0) > 0;
  conf.reset();
  OPENSSL_cleanse(text.data(), text.size());
  if (!loaded) {
    const std::string why = take_openssl_errors();
    set_error_text(error, "pkcs11 tls: OpenSSL cannot load its PKCS#11 provider '%s' for module '%s': %s",
                   provider.c_str(), settings.token.module_path.c_str(), why.c_str());
    return tls_status(StatusCode::kUnavailable);
  }
  g_loaded = identity;
  return ok_status();
}

// Reads the PEM back the way a TLS stack does and checks it against the certificate.
Status check_through_openssl(const Pkcs11TlsKeySettings& settings, X509* cert, ErrorText* error) {
  ERR_clear_error();
  BioPtr bio(BIO_new_file(settings.key_pem_path.c_str(), "r"));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    const std::string why = take_openssl_errors();
    set_error_text(error, "pkcs11 tls: OpenSSL cannot use key %s through its PKCS#11 provider: %s",
                   settings.key_uri.c_str(), why.c_str());
    return tls_status(StatusCode::kUnavailable);
  }
  if (X509_check_private_key(cert, key.get()) != 1) {
    const std::string why = take_openssl_errors();
    set_error_text(error, "pkcs11 tls: OpenSSL says the certificate '%s' is not for key %s: %s",
                   settings.cert_file.c_str(), settings.key_uri.c_str(), why.c_str());
    return key_status(StatusCode::kInvalidArgument);
  }
  return ok_status();
}

}  // namespace

Pkcs11TlsKeySettings pkcs11_tls_settings(const AgentConfig& config, std::string key_pem_path) {
  Pkcs11TlsKeySettings settings;
  settings.token.module_path = std::string(config.pkcs11.module.view());
  settings.token.pin_file = std::string(config.pkcs11.pin_file.view());
  settings.token.pin_env = std::string(config.pkcs11.pin_env.view());
  settings.token.token_uri = std::string(config.pkcs11.token.view());
  settings.key_uri = std::string(config.broker.key.view());
  settings.cert_file = std::string(config.broker.cert_file.view());
  settings.key_pem_path = std::move(key_pem_path);
  settings.provider_module = std::string(config.pkcs11.provider.view());
  return settings;
}

bool is_pkcs11_key(const BrokerSettings& broker) { return starts_with(broker.key.view(), "pkcs11:"); }

Status write_file_atomically(const std::string& path, std::string_view text, unsigned mode, ErrorText* error) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : path.substr(0, slash);
  std::string temp = (slash == std::string::npos ? std::string("./") : path.substr(0, slash + 1)) + "." +
                     path.substr(slash == std::string::npos ? 0 : slash + 1) + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());  // 0600, O_EXCL: never a file someone else prepared
  int err = 0;
  const char* step = "create a temporary file for";
  if (fd < 0) {
    err = errno;
  } else {
    step = "write";
    std::size_t done = 0;
    while (err == 0 && done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err = errno;
      } else {
        done += static_cast<std::size_t>(n);
      }
    }
    if (err == 0 && ::fchmod(fd, static_cast<mode_t>(mode)) != 0) err = errno;
    if (err == 0 && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0) step = "rename over";
    if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) ::unlink(temp.c_str());
  }
  if (err == 0) {
    // The rename is durable once the directory is synced.
    step = "sync the directory of";
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::fsync(dir_fd) != 0) err = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    if (err == 0) return ok_status();
  }
  set_error_text(error, "cannot %s '%s': %s", step, path.c_str(), std::strerror(err));
  const StatusCode code = err == EACCES || err == EPERM || err == EROFS ? StatusCode::kPermissionDenied
                          : err == ENOSPC || err == EDQUOT           ? StatusCode::kResourceExhausted
                          : err == ENOENT                            ? StatusCode::kNotFound
                                                                     : StatusCode::kUnavailable;
  return Status(code, Origin::kOs, errno_detail(err));
}

std::string default_pkcs11_provider_path() {
  const char* dir = OPENSSL_info(OPENSSL_INFO_MODULES_DIR);
  return std::string(dir != nullptr ? dir : "") + "/pkcs11.so";
}

Status pkcs11_uri_pem(const std::string& uri, std::string* pem) {
  if (uri.empty() || uri.size() > kMaxKeyUri || !starts_with(uri, "pkcs11:")) {
    return key_status(StatusCode::kInvalidArgument);
  }
  std::vector<unsigned char> body;
  der_string(0x1A, kUriPemVersion, &body);  // VisibleString
  der_string(0x0C, uri, &body);             // UTF8String
  std::vector<unsigned char> der;
  der.push_back(0x30);  // SEQUENCE
  der_length(body.size(), &der);
  der.insert(der.end(), body.begin(), body.end());

  BioPtr bio(BIO_new(BIO_s_mem()));
  const std::string name(kUriPemName);
  if (!bio || PEM_write_bio(bio.get(), name.c_str(), "", der.data(), static_cast<long>(der.size())) <= 0) {
    ERR_clear_error();
    return key_status(StatusCode::kResourceExhausted);
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  pem->assign(data, static_cast<std::size_t>(len > 0 ? len : 0));
  return ok_status();
}

Status enable_pkcs11_tls_key(const Pkcs11TlsKeySettings& settings, KeyInfo* key, ErrorText* error) {
  if (!starts_with(settings.key_uri, "pkcs11:")) {
    set_error_text(error, "pkcs11 tls: the key must be a pkcs11: URI");
    return key_status(StatusCode::kInvalidArgument);
  }
  if (contains_pin_attribute(settings.key_uri)) {
    // Never echo the URI: it carries a PIN.
    set_error_text(error, "pkcs11 tls: a key URI with pin-value or pin-source is refused (the PIN comes from the "
                          "pin file or variable)");
    return key_status(StatusCode::kInvalidArgument);
  }
  if (settings.key_pem_path.empty()) {
    set_error_text(error, "pkcs11 tls: no path for the key file given (key_pem_path)");
    return tls_status(StatusCode::kInvalidArgument);
  }
  std::string pem;
  if (!pkcs11_uri_pem(settings.key_uri, &pem).ok()) {
    set_error_text(error, "pkcs11 tls: the key URI is longer than %zu bytes", kMaxKeyUri);
    return key_status(StatusCode::kInvalidArgument);
  }

  const std::string provider =
      settings.provider_module.empty() ? default_pkcs11_provider_path() : settings.provider_module;
  if (::access(provider.c_str(), R_OK) != 0) {
    const int err = errno;
    set_error_text(error,
                   "pkcs11 tls: OpenSSL's PKCS#11 provider '%s' is missing (%s): install the Debian package "
                   "pkcs11-provider (Debian 12: from bookworm-backports; scripts/install-deps.sh adds it)",
                   provider.c_str(), std::strerror(err));
    return tls_status(StatusCode::kUnavailable, errno_detail(err));
  }

  X509Ptr cert;
  TETHER_RETURN_IF_ERROR(read_certificate(settings.cert_file, &cert, error));

  std::lock_guard<std::mutex> lock(g_mutex);
  // Before the provider holds the module: afterwards this store's C_Finalize would end its sessions.
  if (g_loaded.empty()) TETHER_RETURN_IF_ERROR(check_key_against_certificate(settings, cert.get(), key, error));
  TETHER_RETURN_IF_ERROR(load_provider(settings, provider, error));
  TETHER_RETURN_IF_ERROR(write_file_atomically(settings.key_pem_path, pem, 0600, error));
  return check_through_openssl(settings, cert.get(), error);
}

}  // namespace tether::port
