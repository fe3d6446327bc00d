// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/mbedtls/file_key_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "pk_key.hpp"

namespace tether::mbedtls {
namespace {

constexpr std::string_view kScheme = "file:";
constexpr std::string_view kCertSuffix = ".crt";
constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMaxFileSize = 16 * 1024;  // keys and certificates are far smaller
constexpr std::size_t kSha256Size = 32;
constexpr unsigned char kPersonalization[] = "tether-file-key-store";

enum class Kind { kKey, kCertificate };

Status key_status(StatusCode code, int detail = 0) {
  return Status(code, Origin::kKey, static_cast<std::uint16_t>(static_cast<unsigned>(detail) & 0xFFFFu));
}

Status errno_status(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return key_status(StatusCode::kNotFound, error);
    case EEXIST:
      return key_status(StatusCode::kAlreadyExists, error);
    case EACCES:
    case EPERM:
    case ELOOP:
      return key_status(StatusCode::kPermissionDenied, error);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return key_status(StatusCode::kResourceExhausted, error);
    default:
      return key_status(StatusCode::kUnavailable, error);
  }
}

Status mbedtls_status(StatusCode code, int ret) { return key_status(code, detail::detail_of(ret)); }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Wipes a buffer that held key material and frees it on every path.
class SecretBuffer {
 public:
  explicit SecretBuffer(std::size_t size) : bytes_(size) {}
  ~SecretBuffer() { mbedtls_platform_zeroize(bytes_.data(), bytes_.size()); }
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  std::vector<unsigned char>& bytes() { return bytes_; }

 private:
  std::vector<unsigned char> bytes_;
};

using detail::PkContext;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

struct FileKeyStore::Impl {
  Impl() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Impl() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status seed() {
    if (seeded) return ok_status();
    const int ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, kPersonalization,
                                          sizeof(kPersonalization) - 1);
    if (ret != 0) {
      mbedtls_ctr_drbg_free(&drbg);
      mbedtls_ctr_drbg_init(&drbg);
      return mbedtls_status(StatusCode::kUnavailable, ret);
    }
    seeded = true;
    return ok_status();
  }

  // "file:<name>" (a key) or "file:<name>.crt" (a certificate) -> the path; checks the kind.
  static Status path_of(const std::string& directory, std::string_view uri, Kind kind, std::string* path, ErrorText* error) {
    std::string_view name = uri;
    bool certificate = false;
    if (name.substr(0, kScheme.size()) == kScheme) {
      name.remove_prefix(kScheme.size());
      if (name.size() > kCertSuffix.size() && name.substr(name.size() - kCertSuffix.size()) == kCertSuffix) {
        name.remove_suffix(kCertSuffix.size());
        certificate = true;
      }
      if (valid_name(name) && certificate == (kind == Kind::kCertificate)) {
        *path = directory + "/" + std::string(name) + (certificate ? ".crt.der" : ".key.pem");
        return ok_status();
      }
    }
    set_error_text(error, "FileKeyStore: '%.*s' is not a %s URI (file:<name>%s, name: 1-64 of A-Z a-z 0-9 _ -)",
                   static_cast<int>(std::min<std::size_t>(uri.size(), 100)), uri.data(),
                   kind == Kind::kKey ? "key" : "certificate", kind == Kind::kKey ? "" : ".crt");
    return key_status(StatusCode::kInvalidArgument);
  }

  // Reads a whole file; for a key, refuses one accessible by group or others.
  static Status read_file(const std::string& path, Kind kind, std::vector<unsigned char>* bytes, ErrorText* error) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
      const int e = errno;
      set_error_text(error, "FileKeyStore: cannot open %s: %s", path.c_str(), std::strerror(e));
      return errno_status(e);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      const int e = errno;
      set_error_text(error, "FileKeyStore: cannot stat %s: %s", path.c_str(), std::strerror(e));
      return errno_status(e);
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxFileSize) {
      set_error_text(error, "FileKeyStore: %s is not a regular file of at most %zu bytes", path.c_str(), kMaxFileSize);
      return key_status(StatusCode::kDataLoss);
    }
    if (kind == Kind::kKey && (st.st_mode & 077) != 0) {
      set_error_text(error, "FileKeyStore: the key file %s has mode %03o: it must not be accessible by group or "
                     "others (chmod 600)", path.c_str(), static_cast<unsigned>(st.st_mode & 0777));
      return key_status(StatusCode::kPermissionDenied, static_cast<int>(st.st_mode & 0777));
    }
    bytes->resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes->size()) {
      const ssize_t n = ::read(fd.get(), bytes->data() + done, bytes->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int e = n < 0 ? errno : EIO;
        set_error_text(error, "FileKeyStore: cannot read %s: %s", path.c_str(), std::strerror(e));
        return errno_status(e);
      }
      done += static_cast<std::size_t>(n);
    }
    return ok_status();
  }

  // Creates `path` (which must not exist) with `mode`, writes `bytes`, fsyncs it and the directory.
  static Status write_new_file(const std::string& directory, const std::string& path, const unsigned char* bytes,
                               std::size_t size, mode_t mode, ErrorText* error) {
    Status status;
    {
      Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
      if (fd.get() < 0) {
        const int e = errno;
        set_error_text(error, "FileKeyStore: cannot create %s: %s", path.c_str(), std::strerror(e));
        return errno_status(e);
      }
      std::size_t done = 0;
      while (status.ok() && done < size) {
        const ssize_t n = ::write(fd.get(), bytes + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          const int e = n < 0 ? errno : EIO;
          set_error_text(error, "FileKeyStore: cannot write %s: %s", path.c_str(), std::strerror(e));
          status = errno_status(e);
        } else {
          done += static_cast<std::size_t>(n);
        }
      }
      if (status.ok() && ::fsync(fd.get()) != 0) {
        const int e = errno;
        set_error_text(error, "FileKeyStore: cannot fsync %s: %s", path.c_str(), std::strerror(e));
        status = errno_status(e);
      }
    }
    if (!status.ok()) {
      ::unlink(path.c_str());
      return status;
    }
    Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() >= 0) static_cast<void>(::fsync(dir.get()));  // best effort: the file is complete
    return ok_status();
  }

  // Reads and parses the private key `uri` names into `pk`.
  static Status load_key(const std::string& directory, std::string_view uri, mbedtls_pk_context* pk, ErrorText* error) {
    std::string path;
    TETHER_RETURN_IF_ERROR(path_of(directory, uri, Kind::kKey, &path, error));
    SecretBuffer pem(0);
    pem.bytes().reserve(kMaxFileSize + 1);  // never reallocated: no unwiped copy of the key is left behind
    TETHER_RETURN_IF_ERROR(read_file(path, Kind::kKey, &pem.bytes(), error));
    pem.bytes().push_back('\0');  // mbedtls_pk_parse_key wants PEM NUL-terminated, counted
    const int ret = mbedtls_pk_parse_key(pk, pem.bytes().data(), pem.bytes().size(), nullptr, 0);
    if (ret != 0) {
      set_error_text(error, "FileKeyStore: %s is not a private key mbedTLS can parse (-0x%04X)", path.c_str(),
                     static_cast<unsigned>(detail::detail_of(ret)));
      return mbedtls_status(StatusCode::kDataLoss, ret);
    }
    return ok_status();
  }

  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool seeded = false;
};

namespace {

Result<port::KeyInfo> info_of(mbedtls_pk_context* pk, std::string_view uri, ErrorText* error) {
  port::KeyInfo info;
  info.sensitive = false;  // a file: see the header
  info.extractable = true;
  if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY && mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1) {
    info.algorithm = port::KeyAlgorithm::kEcP256;
  } else if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA && mbedtls_pk_get_bitlen(pk) == 2048) {
    info.algorithm = port::KeyAlgorithm::kRsa2048;
  } else {
    set_error_text(error, "FileKeyStore: the key %.*s is a %s key of %zu bits; EC P-256 and RSA 2048 are supported",
                   static_cast<int>(uri.size()), uri.data(), mbedtls_pk_get_name(pk), mbedtls_pk_get_bitlen(pk));
    return key_status(StatusCode::kUnimplemented);
  }
  if (!info.uri.assign(uri).ok()) return key_status(StatusCode::kInvalidArgument);
  return info;
}

Result<std::size_t> copy_out(const unsigned char* bytes, std::size_t size, Span<std::uint8_t> out, ErrorText* error) {
  if (out.size() < size) {
    set_error_text(error, "FileKeyStore: the output needs %zu bytes, %zu given", size, out.size());
    return key_status(StatusCode::kResourceExhausted, static_cast<int>(std::min<std::size_t>(size, 0xFFFF)));
  }
  std::copy(bytes, bytes + size, out.begin());
  return size;
}

}  // namespace

FileKeyStore::FileKeyStore(FileKeyStoreSettings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {}

FileKeyStore::~FileKeyStore() = default;

Status FileKeyStore::check_directory() {
  last_error_.clear();
  struct stat st {};
  if (::stat(settings_.directory.c_str(), &st) != 0) {
    const int e = errno;
    set_error_text(&last_error_, "FileKeyStore: the key directory '%s': %s", settings_.directory.c_str(),
                   std::strerror(e));
    return errno_status(e);
  }
  if (!S_ISDIR(st.st_mode)) {
    set_error_text(&last_error_, "FileKeyStore: '%s' is not a directory", settings_.directory.c_str());
    return key_status(StatusCode::kNotFound, ENOTDIR);
  }
  if ((st.st_mode & 022) != 0 || st.st_uid != ::geteuid()) {
    set_error_text(&last_error_,
                   "FileKeyStore: the key directory '%s' (mode %03o, owner %u) must be owned by this user (%u) and "
                   "not writable by group or others",
                   settings_.directory.c_str(), static_cast<unsigned>(st.st_mode & 0777),
                   static_cast<unsigned>(st.st_uid), static_cast<unsigned>(::geteuid()));
    return key_status(StatusCode::kPermissionDenied, static_cast<int>(st.st_mode & 0777));
  }
  return ok_status();
}

Status FileKeyStore::open() {
  TETHER_RETURN_IF_ERROR(check_directory());
  if (!warned_ && settings_.logger != nullptr) {
    TETHER_LOG_WARN(*settings_.logger, Origin::kKey, Status(), "%s; keys in %s", kWarning,
                    settings_.directory.c_str());
  }
  warned_ = true;
  return ok_status();
}

Result<port::KeyInfo> FileKeyStore::do_generate_key(const port::KeySpec& spec) {
  TETHER_RETURN_IF_ERROR(open());
  if (!valid_name(spec.label) || !spec.id.empty()) {
    set_error_text(&last_error_, "FileKeyStore: a key needs a label of 1-64 of A-Z a-z 0-9 _ - and no id");
    return key_status(StatusCode::kInvalidArgument);
  }
  if (spec.algorithm != port::KeyAlgorithm::kEcP256) {
    set_error_text(&last_error_, "FileKeyStore: generates EC P-256 keys only, not %s", port::to_string(spec.algorithm));
    return key_status(StatusCode::kUnimplemented);
  }
  const std::string uri = std::string(kScheme) + std::string(spec.label);
  std::string path;
  TETHER_RETURN_IF_ERROR(Impl::path_of(settings_.directory, uri, Kind::kKey, &path, &last_error_));
  TETHER_RETURN_IF_ERROR(impl_->seed());

  PkContext pk;
  int ret = mbedtls_pk_setup(pk.get(), mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0) {
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk.get()), mbedtls_ctr_drbg_random,
                              &impl_->drbg);
  }
  SecretBuffer pem(1024);
  if (ret == 0) ret = mbedtls_pk_write_key_pem(pk.get(), pem.bytes().data(), pem.bytes().size());
  if (ret != 0) {
    set_error_text(&last_error_, "FileKeyStore: generating an EC P-256 key failed (-0x%04X)",
                   static_cast<unsigned>(detail::detail_of(ret)));
    return mbedtls_status(StatusCode::kInternal, ret);
  }
  const std::size_t size = std::strlen(reinterpret_cast<const char*>(pem.bytes().data()));
  TETHER_RETURN_IF_ERROR(
      Impl::write_new_file(settings_.directory, path, pem.bytes().data(), size, 0600, &last_error_));
  return info_of(pk.get(), uri, &last_error_);
}

Result<port::KeyInfo> FileKeyStore::do_find_key(std::string_view uri) {
  TETHER_RETURN_IF_ERROR(open());
  PkContext pk;
  TETHER_RETURN_IF_ERROR(Impl::load_key(settings_.directory, uri, pk.get(), &last_error_));
  return info_of(pk.get(), uri, &last_error_);
}

Result<std::size_t> FileKeyStore::do_public_key_der(std::string_view uri, Span<std::uint8_t> out) {
  TETHER_RETURN_IF_ERROR(open());
  PkContext pk;
  TETHER_RETURN_IF_ERROR(Impl::load_key(settings_.directory, uri, pk.get(), &last_error_));
  unsigned char der[1024];
  const int ret = mbedtls_pk_write_pubkey_der(pk.get(), der, sizeof der);  // at the end of `der`
  if (ret < 0) {
    set_error_text(&last_error_, "FileKeyStore: writing the public key failed (-0x%04X)",
                   static_cast<unsigned>(detail::detail_of(ret)));
    return mbedtls_status(StatusCode::kInternal, ret);
  }
  const auto size = static_cast<std::size_t>(ret);
  return copy_out(der + sizeof der - size, size, out, &last_error_);
}

Result<std::size_t> FileKeyStore::do_sign_digest(std::string_view uri, Span<const std::uint8_t> digest,
                                                 Span<std::uint8_t> out) {
  TETHER_RETURN_IF_ERROR(open());
  if (digest.size() != kSha256Size) {
    set_error_text(&last_error_, "FileKeyStore: a SHA-256 digest is 32 bytes, not %zu", digest.size());
    return key_status(StatusCode::kInvalidArgument);
  }
  PkContext pk;
  TETHER_RETURN_IF_ERROR(Impl::load_key(settings_.directory, uri, pk.get(), &last_error_));
  if (!info_of(pk.get(), uri, &last_error_).ok()) return key_status(StatusCode::kUnimplemented);
  TETHER_RETURN_IF_ERROR(impl_->seed());
  unsigned char signature[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  std::size_t size = 0;
  // RSA contexts parsed from a file use PKCS#1 v1.5, and mbedTLS adds the SHA-256 DigestInfo.
  const int ret = mbedtls_pk_sign(pk.get(), MBEDTLS_MD_SHA256, digest.data(), digest.size(), signature, &size,
                                  mbedtls_ctr_drbg_random, &impl_->drbg);
  if (ret != 0) {
    set_error_text(&last_error_, "FileKeyStore: signing failed (-0x%04X)", static_cast<unsigned>(detail::detail_of(ret)));
    return mbedtls_status(StatusCode::kInternal, ret);
  }
  return copy_out(signature, size, out, &last_error_);
}

Result<FixedString<port::kMaxKeyUri>> FileKeyStore::do_store_certificate(std::string_view key_uri,
                                                                         Span<const std::uint8_t> der,
                                                                         std::string_view label) {
  TETHER_RETURN_IF_ERROR(open());
  PkContext pk;
  TETHER_RETURN_IF_ERROR(Impl::load_key(settings_.directory, key_uri, pk.get(), &last_error_));
  const std::string uri = std::string(kScheme) + std::string(label) + std::string(kCertSuffix);
  std::string path;
  TETHER_RETURN_IF_ERROR(Impl::path_of(settings_.directory, uri, Kind::kCertificate, &path, &last_error_));
  if (der.empty()) {
    set_error_text(&last_error_, "FileKeyStore: an empty certificate");
    return key_status(StatusCode::kInvalidArgument);
  }
  TETHER_RETURN_IF_ERROR(Impl::write_new_file(settings_.directory, path, der.data(), der.size(), 0644, &last_error_));
  FixedString<port::kMaxKeyUri> result;
  if (!result.assign(uri).ok()) return key_status(StatusCode::kInternal);
  return result;
}

Result<std::size_t> FileKeyStore::do_read_certificate(std::string_view uri, Span<std::uint8_t> out) {
  TETHER_RETURN_IF_ERROR(open());
  std::string path;
  TETHER_RETURN_IF_ERROR(Impl::path_of(settings_.directory, uri, Kind::kCertificate, &path, &last_error_));
  std::vector<unsigned char> der;
  TETHER_RETURN_IF_ERROR(Impl::read_file(path, Kind::kCertificate, &der, &last_error_));
  return copy_out(der.data(), der.size(), out, &last_error_);
}

Status FileKeyStore::do_delete_object(std::string_view uri) {
  TETHER_RETURN_IF_ERROR(open());
  std::string path;
  const bool certificate = uri.size() > kCertSuffix.size() && uri.substr(uri.size() - kCertSuffix.size()) == kCertSuffix;
  TETHER_RETURN_IF_ERROR(Impl::path_of(settings_.directory, uri, certificate ? Kind::kCertificate : Kind::kKey,
                                        &path, &last_error_));
  if (::unlink(path.c_str()) != 0) {
    const int e = errno;
    set_error_text(&last_error_, "FileKeyStore: cannot delete %s: %s", path.c_str(), std::strerror(e));
    return errno_status(e);
  }
  return ok_status();
}

}  // namespace tether::mbedtls
