// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Pkcs11KeyStore: libp11 loads the module, finds keys and signs through the EVP_PKEY it returns;
// p11-kit parses and formats the URIs (both loaded on first use: p11_libraries.hpp); the calls libp11 0.4.12 does not offer (key generation with
// CKA_EXTRACTABLE false, attribute reads, login without libp11 keeping a copy of the PIN, object
// search by URI, deletion) go straight to the module's function list.
#include "tether/port/pkcs11/pkcs11_key_store.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ckr_status.hpp"
#include "p11_libraries.hpp"

namespace tether::port {

using pkcs11_detail::ckr_status;
using pkcs11_detail::p11;

namespace {

constexpr std::size_t kMaxPin = 256;
constexpr std::size_t kMaxIdBytes = 32;
constexpr std::size_t kDerivedIdBytes = 16;
// DER OID prime256v1 (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of a P-256 key.
constexpr std::array<CK_BYTE, 10> kP256Params = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};

Status key_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kKey, detail); }

std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

struct UriFree {
  void operator()(P11KitUri* uri) const { p11().p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

// The PIN lives here only for the C_Login call.
struct PinBuffer {
  std::array<char, kMaxPin> bytes{};
  std::size_t size = 0;
  ~PinBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// Trailing spaces of a CK_TOKEN_INFO text field do not count.
std::string_view padded(const CK_UTF8CHAR* text, std::size_t size) {
  while (size > 0 && text[size - 1] == ' ') --size;
  return std::string_view(reinterpret_cast<const char*>(text), size);
}

bool is_printable_label(std::string_view label) {
  if (label.empty() || label.size() > 64) return false;
  for (char c : label) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Drains OpenSSL's error queue; returns the last CKR_* libp11 put there (CKR_GENERAL_ERROR if none).
CK_RV take_libp11_error() {
  CK_RV rv = CKR_GENERAL_ERROR;
  const int ckr_lib = p11().ERR_get_CKR_code();
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    if (ckr_lib != 0 && ERR_GET_LIB(e) == ckr_lib) rv = static_cast<CK_RV>(ERR_GET_REASON(e));
  }
  return rv;
}

const char* ckr_text(CK_RV rv) {
  const char* text = p11().p11_kit_strerror(rv);
  return text != nullptr ? text : "unknown error";
}

}  // namespace

struct Pkcs11KeyStore::Impl {
  // A token this store uses: libp11's slot and one R/W session of ours, kept open so that the
  // login (which PKCS#11 ends with the application's last session on the token) lasts.
  struct Token {
    PKCS11_SLOT* slot = nullptr;
    CK_SLOT_ID slot_id = 0;
    CK_TOKEN_INFO info{};
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    bool logged_in = false;
    bool libp11_rw = false;  // p11().PKCS11_open_session(slot, 1) done
  };
  // An object a URI named, in its token.
  struct Found {
    Token* token = nullptr;
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    std::string label;
    std::vector<CK_BYTE> id;
  };

  Pkcs11KeyStoreSettings settings;
  ErrorText* error = nullptr;
  PKCS11_CTX* ctx = nullptr;
  PKCS11_SLOT* slots = nullptr;
  unsigned int slot_count = 0;
  void* module = nullptr;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  std::vector<Token> tokens;
  // The module was initialized by someone else in this process already (OpenSSL's pkcs11-provider
  // serving TLS with a token key): C_Logout and C_Finalize would end that user's login and sessions
  // too (PKCS#11 login state and initialization are per process), so this store does neither.
  bool shared = false;

  ~Impl() { close(); }

  // Logs out, closes our sessions and drops libp11's slots (and with them its object lists).
  void release_slots() {
    for (Token& token : tokens) {
      if (token.session != CK_INVALID_HANDLE && fn != nullptr) {
        if (token.logged_in && !shared) fn->C_Logout(token.session);
        fn->C_CloseSession(token.session);
      }
    }
    tokens.clear();
    if (slots != nullptr) p11().PKCS11_release_all_slots(ctx, slots, slot_count);
    slots = nullptr;
    slot_count = 0;
  }

  Status enumerate_slots() {
    if (p11().PKCS11_enumerate_slots(ctx, &slots, &slot_count) != 0) {
      CK_RV rv = take_libp11_error();
      slots = nullptr;
      slot_count = 0;
      set_error_text(error, "pkcs11: listing the slots of '%s' failed: %s", settings.module_path.c_str(), ckr_text(rv));
      return ckr_status(rv);
    }
    return ok_status();
  }

  // libp11 0.4.12 adds the keys it finds to its list but never drops destroyed ones: after a
  // deletion its list would still offer the old key under the label and id. Start libp11 afresh
  // (the next call logs in again).
  Status forget_objects() {
    release_slots();
    return enumerate_slots();
  }

  void close() {
    release_slots();
    if (ctx != nullptr) {
      if (fn != nullptr && !shared) p11().PKCS11_CTX_unload(ctx);
      p11().PKCS11_CTX_free(ctx);
    }
    shared = false;
    ctx = nullptr;
    fn = nullptr;
    if (module != nullptr) dlclose(module);
    module = nullptr;
  }

  // ---- module and settings ----------------------------------------------------------------------

  // True when the module is mapped in this process and initialized by another user (its
  // C_Initialize says CKR_CRYPTOKI_ALREADY_INITIALIZED). A module mapped but not initialized is
  // left as it was found.
  static bool initialized_elsewhere(const char* path) {
    void* handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) return false;
    bool result = false;
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR list = nullptr;
    if (get_list != nullptr && get_list(&list) == CKR_OK && list != nullptr) {
      const CK_RV rv = list->C_Initialize(nullptr);
      if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        result = true;
      } else if (rv == CKR_OK) {
        list->C_Finalize(nullptr);  // ours by accident: undo, libp11 initializes it properly
      }
    }
    dlclose(handle);
    return result;
  }

  // libp11 and p11-kit are loaded on first use (p11_libraries.hpp); every public call starts here.
  Status load_libraries() {
    std::string why;
    if (pkcs11_detail::load_p11_libraries(why) != nullptr) return ok_status();
    set_error_text(error, "pkcs11: %s", why.c_str());
    return key_status(StatusCode::kUnavailable);
  }

  Status open() {
    if (fn != nullptr) return ok_status();
    const bool has_file = !settings.pin_file.empty();
    const bool has_env = !settings.pin_env.empty();
    if (settings.module_path.empty()) {
      set_error_text(error, "pkcs11: no module_path in the settings");
      return key_status(StatusCode::kInvalidArgument);
    }
    if (has_file == has_env) {
      set_error_text(error, "pkcs11: set exactly one of pin_file and pin_env (%s)",
                     has_file ? "both are set" : "neither is set");
      return key_status(StatusCode::kInvalidArgument);
    }
    const char* path = settings.module_path.c_str();
    if (::access(path, R_OK) != 0) {
      int err = errno;
      set_error_text(error, "pkcs11: cannot load the module '%s': %s", path, std::strerror(err));
      return key_status(StatusCode::kUnavailable);
    }
    shared = initialized_elsewhere(path);
    ctx = p11().PKCS11_CTX_new();
    if (ctx == nullptr) {
      set_error_text(error, "pkcs11: out of memory creating the libp11 context");
      return key_status(StatusCode::kResourceExhausted);
    }
    if (p11().PKCS11_CTX_load(ctx, path) != 0) {
      CK_RV rv = take_libp11_error();
      p11().PKCS11_CTX_free(ctx);
      ctx = nullptr;
      set_error_text(error, "pkcs11: cannot load the module '%s' (not a PKCS#11 module, or C_Initialize failed: %s)",
                     path, ckr_text(rv));
      return key_status(StatusCode::kUnavailable, 0);
    }
    // The same mapping libp11 made (RTLD_NOLOAD): its function list, for the calls libp11 lacks.
    module = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    CK_C_GetFunctionList get_list =
        module != nullptr ? reinterpret_cast<CK_C_GetFunctionList>(dlsym(module, "C_GetFunctionList")) : nullptr;
    CK_FUNCTION_LIST_PTR list = nullptr;
    if (get_list == nullptr || get_list(&list) != CKR_OK || list == nullptr) {
      fn = list;  // null: close() must not unload what did not give its functions
      p11().PKCS11_CTX_unload(ctx);
      close();
      set_error_text(error, "pkcs11: the module '%s' gives no C_GetFunctionList", path);
      return key_status(StatusCode::kUnavailable);
    }
    fn = list;
    Status listed = enumerate_slots();
    if (!listed.ok()) close();
    return listed;
  }

  Status read_pin(PinBuffer* pin) {
    if (!settings.pin_env.empty()) {
      const char* value = std::getenv(settings.pin_env.c_str());
      if (value == nullptr) {
        set_error_text(error, "pkcs11: the PIN variable '%s' (pin_env) is not set", settings.pin_env.c_str());
        return key_status(StatusCode::kInvalidArgument);
      }
      std::size_t n = std::strlen(value);
      if (n == 0 || n >= pin->bytes.size()) {
        set_error_text(error, "pkcs11: the PIN variable '%s' is %s", settings.pin_env.c_str(),
                       n == 0 ? "empty" : "too long");
        return key_status(StatusCode::kInvalidArgument);
      }
      std::memcpy(pin->bytes.data(), value, n);
      pin->size = n;
      return ok_status();
    }
    const char* path = settings.pin_file.c_str();
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      set_error_text(error, "pkcs11: cannot open the PIN file '%s': %s", path, std::strerror(err));
      StatusCode code = err == ENOENT ? StatusCode::kNotFound
                        : (err == EACCES || err == EPERM) ? StatusCode::kPermissionDenied
                                                          : StatusCode::kUnavailable;
      return key_status(code, clamp16(static_cast<std::size_t>(err)));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      set_error_text(error, "pkcs11: the PIN file '%s' is not a regular file", path);
      return key_status(StatusCode::kInvalidArgument);
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      ::close(fd);
      set_error_text(error,
                     "pkcs11: the PIN file '%s' is accessible by group or others (mode %04o): refused; "
                     "chmod 600 it",
                     path, static_cast<unsigned>(st.st_mode & 07777));
      return key_status(StatusCode::kPermissionDenied, static_cast<std::uint16_t>(st.st_mode & 07777));
    }
    std::array<char, kMaxPin> raw{};
    ssize_t n = 0;
    do {
      n = ::read(fd, raw.data(), raw.size());
    } while (n < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (n < 0) {
      set_error_text(error, "pkcs11: cannot read the PIN file '%s': %s", path, std::strerror(err));
      return key_status(StatusCode::kUnavailable, clamp16(static_cast<std::size_t>(err)));
    }
    std::size_t len = 0;
    while (len < static_cast<std::size_t>(n) && raw[len] != '\n' && raw[len] != '\r') ++len;
    if (len == 0 || len >= pin->bytes.size()) {
      OPENSSL_cleanse(raw.data(), raw.size());
      set_error_text(error, "pkcs11: the PIN file '%s' holds %s", path, len == 0 ? "no PIN on its first line" : "too long a line");
      return key_status(StatusCode::kInvalidArgument);
    }
    std::memcpy(pin->bytes.data(), raw.data(), len);
    pin->size = len;
    OPENSSL_cleanse(raw.data(), raw.size());
    return ok_status();
  }

  // ---- URIs -------------------------------------------------------------------------------------

  Result<UriPtr> parse_uri(std::string_view text) {
    std::string copy(text);
    UriPtr uri(p11().p11_kit_uri_new());
    if (!uri) {
      set_error_text(error, "pkcs11: out of memory parsing a URI");
      return Status(key_status(StatusCode::kResourceExhausted));
    }
    int rc = p11().p11_kit_uri_parse(copy.c_str(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri.get());
    if (rc != P11_KIT_URI_OK) {
      set_error_text(error, "pkcs11: the URI '%.*s' does not parse: %s", static_cast<int>(text.size() > 120 ? 120 : text.size()),
                     text.data(), p11().p11_kit_uri_message(rc));
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    // Checked on the parsed URI: never echo one that carries a PIN.
    if (p11().p11_kit_uri_get_pin_value(uri.get()) != nullptr || p11().p11_kit_uri_get_pin_source(uri.get()) != nullptr) {
      set_error_text(error, "pkcs11: a URI with pin-value or pin-source is refused (the PIN comes from the settings)");
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    if (p11().p11_kit_uri_any_unrecognized(uri.get())) {
      set_error_text(error, "pkcs11: the URI '%s' has attributes p11-kit does not know", copy.c_str());
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    return uri;
  }

  // CKA_CLASS of a parsed URI; kInvalidArgument when it names none or one not in `allowed`.
  Result<CK_OBJECT_CLASS> uri_class(P11KitUri* uri, std::string_view text, std::initializer_list<CK_OBJECT_CLASS> allowed,
                                    const char* what) {
    CK_ATTRIBUTE* attr = p11().p11_kit_uri_get_attribute(uri, CKA_CLASS);
    if (attr == nullptr || attr->ulValueLen != sizeof(CK_OBJECT_CLASS)) {
      set_error_text(error, "pkcs11: the URI '%.*s' names no object type (add type=%s)",
                     static_cast<int>(text.size() > 160 ? 160 : text.size()), text.data(), what);
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    CK_OBJECT_CLASS cls = 0;
    std::memcpy(&cls, attr->pValue, sizeof cls);
    for (CK_OBJECT_CLASS a : allowed) {
      if (a == cls) return cls;
    }
    set_error_text(error, "pkcs11: the URI '%.*s' names the wrong object type (this call takes type=%s)",
                   static_cast<int>(text.size() > 160 ? 160 : text.size()), text.data(), what);
    return Status(key_status(StatusCode::kInvalidArgument));
  }

  Result<FixedString<kMaxKeyUri>> format_uri(const Token& token, CK_OBJECT_CLASS cls, std::string_view label,
                                             const std::vector<CK_BYTE>& id) {
    UriPtr uri(p11().p11_kit_uri_new());
    if (!uri) return Status(key_status(StatusCode::kResourceExhausted));
    CK_TOKEN_INFO* info = p11().p11_kit_uri_get_token_info(uri.get());
    std::memcpy(info->label, token.info.label, sizeof info->label);
    std::string label_copy(label);
    std::vector<CK_BYTE> id_copy(id);
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_LABEL, label_copy.data(), label_copy.size()},
        {CKA_ID, id_copy.data(), id_copy.size()},
    };
    if (p11().p11_kit_uri_set_attributes(uri.get(), attrs, 3) != P11_KIT_URI_OK) {
      set_error_text(error, "pkcs11: cannot build a URI for '%s'", label_copy.c_str());
      return Status(key_status(StatusCode::kInternal));
    }
    char* text = nullptr;
    if (p11().p11_kit_uri_format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &text) != P11_KIT_URI_OK || text == nullptr) {
      set_error_text(error, "pkcs11: cannot format a URI for '%s'", label_copy.c_str());
      return Status(key_status(StatusCode::kInternal));
    }
    FixedString<kMaxKeyUri> out;
    Status st = out.assign(text);
    std::free(text);
    if (!st.ok()) {
      set_error_text(error, "pkcs11: the URI for '%s' is longer than %zu bytes", label_copy.c_str(), kMaxKeyUri);
      return Status(key_status(StatusCode::kResourceExhausted, clamp16(kMaxKeyUri)));
    }
    return out;
  }

  // ---- tokens and sessions ----------------------------------------------------------------------

  // The token a URI names (one whose CK_TOKEN_INFO matches), opened and logged in.
  Result<Token*> token_for(P11KitUri* uri, std::string_view text, bool require_label) {
    TETHER_RETURN_IF_ERROR(open());
    CK_TOKEN_INFO* wanted = p11().p11_kit_uri_get_token_info(uri);
    if (require_label && wanted->label[0] == 0) {
      set_error_text(error, "pkcs11: the URI '%.*s' names no token (add token=<label>)",
                     static_cast<int>(text.size() > 160 ? 160 : text.size()), text.data());
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    Token* match = nullptr;
    int present = 0;
    int matches = 0;
    for (unsigned int i = 0; i < slot_count; ++i) {
      PKCS11_SLOT* slot = &slots[i];
      if (slot->token == nullptr || !slot->token->initialized) continue;
      ++present;
      CK_SLOT_ID id = static_cast<CK_SLOT_ID>(p11().PKCS11_get_slotid_from_slot(slot));
      CK_TOKEN_INFO info{};
      if (fn->C_GetTokenInfo(id, &info) != CKR_OK) continue;
      if (!p11().p11_kit_uri_match_token_info(uri, &info)) continue;
      ++matches;
      if (match == nullptr) match = cached_token(slot, id, info);
    }
    if (present == 0) {
      set_error_text(error, "pkcs11: no initialized token present in the module '%s'", settings.module_path.c_str());
      return Status(key_status(StatusCode::kUnavailable));
    }
    if (match == nullptr) {
      set_error_text(error, "pkcs11: no token matches '%.*s' in the module '%s'",
                     static_cast<int>(text.size() > 120 ? 120 : text.size()), text.data(), settings.module_path.c_str());
      return Status(key_status(StatusCode::kNotFound));
    }
    if (matches > 1) {
      set_error_text(error, "pkcs11: %d tokens match '%.*s' (add serial=)", matches,
                     static_cast<int>(text.size() > 120 ? 120 : text.size()), text.data());
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    TETHER_RETURN_IF_ERROR(login(match));
    return match;
  }

  Token* cached_token(PKCS11_SLOT* slot, CK_SLOT_ID id, const CK_TOKEN_INFO& info) {
    for (Token& token : tokens) {
      if (token.slot_id == id) return &token;
    }
    tokens.reserve(slot_count);  // pointers into `tokens` stay valid: never more than slot_count
    Token token;
    token.slot = slot;
    token.slot_id = id;
    token.info = info;
    tokens.push_back(token);
    return &tokens.back();
  }

  Status login(Token* token) {
    std::string label(padded(token->info.label, sizeof token->info.label));
    if (!token->libp11_rw) {
      // libp11 writes (certificates) through its own sessions, read-only unless asked for
      // read/write; p11().PKCS11_open_session() closes every session on the slot (C_CloseAllSessions,
      // which also logs out), so it comes before ours.
      if (p11().PKCS11_open_session(token->slot, 1) != 0) {
        CK_RV rv = take_libp11_error();
        set_error_text(error, "pkcs11: libp11 cannot open a read/write session on the token '%s': %s (CKR 0x%lx)",
                       label.c_str(), ckr_text(rv), static_cast<unsigned long>(rv));
        return ckr_status(rv);
      }
      token->libp11_rw = true;
      token->session = CK_INVALID_HANDLE;
      token->logged_in = false;
    }
    if (token->session == CK_INVALID_HANDLE) {
      CK_RV rv = fn->C_OpenSession(token->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &token->session);
      if (rv != CKR_OK) {
        token->session = CK_INVALID_HANDLE;
        set_error_text(error, "pkcs11: C_OpenSession on the token '%s' failed: %s (CKR 0x%lx)", label.c_str(),
                       ckr_text(rv), static_cast<unsigned long>(rv));
        return ckr_status(rv);
      }
    }
    if (token->logged_in) return ok_status();
    PinBuffer pin;
    TETHER_RETURN_IF_ERROR(read_pin(&pin));
    CK_RV rv = fn->C_Login(token->session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.bytes.data()),
                           static_cast<CK_ULONG>(pin.size));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      set_error_text(error, "pkcs11: C_Login on the token '%s' failed: %s (CKR 0x%lx)", label.c_str(), ckr_text(rv),
                     static_cast<unsigned long>(rv));
      return ckr_status(rv);
    }
    token->logged_in = true;
    return ok_status();
  }

  // ---- objects ----------------------------------------------------------------------------------

  CK_RV find_objects(Token* token, std::vector<CK_ATTRIBUTE> tmpl, std::vector<CK_OBJECT_HANDLE>* out) {
    out->clear();
    CK_RV rv = fn->C_FindObjectsInit(token->session, tmpl.data(), static_cast<CK_ULONG>(tmpl.size()));
    if (rv != CKR_OK) return rv;
    for (;;) {
      CK_OBJECT_HANDLE handles[16];
      CK_ULONG n = 0;
      rv = fn->C_FindObjects(token->session, handles, 16, &n);
      if (rv != CKR_OK || n == 0) break;
      out->insert(out->end(), handles, handles + n);
    }
    CK_RV final_rv = fn->C_FindObjectsFinal(token->session);
    return rv != CKR_OK ? rv : final_rv;
  }

  // Reads a variable-length attribute (CKA_LABEL, CKA_ID, CKA_VALUE).
  CK_RV read_bytes(Token* token, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE type, std::vector<CK_BYTE>* out) {
    CK_ATTRIBUTE attr{type, nullptr, 0};
    CK_RV rv = fn->C_GetAttributeValue(token->session, handle, &attr, 1);
    if (rv != CKR_OK) return rv;
    if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return CKR_ATTRIBUTE_TYPE_INVALID;
    out->resize(attr.ulValueLen);
    attr.pValue = out->data();
    return fn->C_GetAttributeValue(token->session, handle, &attr, 1);
  }

  template <typename T>
  CK_RV read_value(Token* token, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE type, T* out) {
    CK_ATTRIBUTE attr{type, out, sizeof(T)};
    return fn->C_GetAttributeValue(token->session, handle, &attr, 1);
  }

  Status object_failure(const char* what, std::string_view text, CK_RV rv) {
    set_error_text(error, "pkcs11: %s for '%.*s' failed: %s (CKR 0x%lx)", what,
                   static_cast<int>(text.size() > 120 ? 120 : text.size()), text.data(), ckr_text(rv),
                   static_cast<unsigned long>(rv));
    return ckr_status(rv);
  }

  // The one object `text` names, of a class in `allowed`.
  Result<Found> find_one(std::string_view text, std::initializer_list<CK_OBJECT_CLASS> allowed, const char* what,
                         CK_OBJECT_CLASS* cls_out = nullptr) {
    TETHER_ASSIGN_OR_RETURN(UriPtr uri, parse_uri(text));
    TETHER_ASSIGN_OR_RETURN(CK_OBJECT_CLASS cls, uri_class(uri.get(), text, allowed, what));
    TETHER_ASSIGN_OR_RETURN(Token * token, token_for(uri.get(), text, true));
    CK_ULONG n = 0;
    CK_ATTRIBUTE* attrs = p11().p11_kit_uri_get_attributes(uri.get(), &n);
    std::vector<CK_ATTRIBUTE> tmpl(attrs, attrs + n);
    std::vector<CK_OBJECT_HANDLE> handles;
    CK_RV rv = find_objects(token, tmpl, &handles);
    if (rv != CKR_OK) return object_failure("C_FindObjects", text, rv);
    if (handles.empty()) {
      set_error_text(error, "pkcs11: no object matches '%.*s'", static_cast<int>(text.size() > 160 ? 160 : text.size()),
                     text.data());
      return Status(key_status(StatusCode::kNotFound));
    }
    if (handles.size() > 1) {
      set_error_text(error, "pkcs11: %zu objects match '%.*s' (add id= or object=)", handles.size(),
                     static_cast<int>(text.size() > 120 ? 120 : text.size()), text.data());
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    Found found;
    found.token = token;
    found.handle = handles[0];
    std::vector<CK_BYTE> label;
    if (read_bytes(token, found.handle, CKA_LABEL, &label) == CKR_OK) found.label.assign(label.begin(), label.end());
    if (read_bytes(token, found.handle, CKA_ID, &found.id) != CKR_OK) found.id.clear();
    if (cls_out != nullptr) *cls_out = cls;
    return found;
  }

  Result<KeyInfo> key_info(const Found& key, std::string_view text) {
    CK_KEY_TYPE type = 0;
    CK_BBOOL sensitive = CK_FALSE;
    CK_BBOOL extractable = CK_TRUE;
    CK_RV rv = read_value(key.token, key.handle, CKA_KEY_TYPE, &type);
    if (rv == CKR_OK) rv = read_value(key.token, key.handle, CKA_SENSITIVE, &sensitive);
    if (rv == CKR_OK) rv = read_value(key.token, key.handle, CKA_EXTRACTABLE, &extractable);
    if (rv != CKR_OK) return object_failure("reading the key's attributes", text, rv);
    KeyInfo info;
    if (type == CKK_EC) {
      info.algorithm = KeyAlgorithm::kEcP256;
      std::vector<CK_BYTE> params;
      rv = read_bytes(key.token, key.handle, CKA_EC_PARAMS, &params);
      if (rv != CKR_OK || params.size() != kP256Params.size() ||
          std::memcmp(params.data(), kP256Params.data(), params.size()) != 0) {
        set_error_text(error, "pkcs11: the key '%s' is an EC key on another curve than P-256", key.label.c_str());
        return Status(key_status(StatusCode::kUnimplemented));
      }
    } else if (type == CKK_RSA) {
      info.algorithm = KeyAlgorithm::kRsa2048;
      std::vector<CK_BYTE> modulus;
      rv = read_bytes(key.token, key.handle, CKA_MODULUS, &modulus);
      if (rv != CKR_OK || modulus.size() != 256) {
        set_error_text(error, "pkcs11: the key '%s' is an RSA key of %zu bits, not 2048", key.label.c_str(),
                       modulus.size() * 8);
        return Status(key_status(StatusCode::kUnimplemented));
      }
    } else {
      set_error_text(error, "pkcs11: the key '%s' is of a type this port does not use (CKK 0x%lx)", key.label.c_str(),
                     static_cast<unsigned long>(type));
      return Status(key_status(StatusCode::kUnimplemented));
    }
    info.sensitive = sensitive == CK_TRUE;
    info.extractable = extractable == CK_TRUE;
    TETHER_ASSIGN_OR_RETURN(info.uri, format_uri(*key.token, CKO_PRIVATE_KEY, key.label, key.id));
    return info;
  }

  // libp11's view of a key pair half (for its EVP_PKEY): same label and id.
  PKCS11_KEY* libp11_key(const Found& key, bool private_half) {
    PKCS11_KEY* keys = nullptr;
    unsigned int n = 0;
    int rc = private_half ? p11().PKCS11_enumerate_keys(key.token->slot->token, &keys, &n)
                          : p11().PKCS11_enumerate_public_keys(key.token->slot->token, &keys, &n);
    if (rc != 0) {
      take_libp11_error();
      return nullptr;
    }
    for (unsigned int i = 0; i < n; ++i) {
      std::string_view label = keys[i].label != nullptr ? std::string_view(keys[i].label) : std::string_view();
      if (label != key.label || keys[i].id_len != key.id.size()) continue;
      if (!key.id.empty() && std::memcmp(keys[i].id, key.id.data(), key.id.size()) != 0) continue;
      return &keys[i];
    }
    return nullptr;
  }

  Result<PkeyPtr> public_pkey(const Found& key, std::string_view text) {
    PKCS11_KEY* pub = libp11_key(key, false);
    EVP_PKEY* pkey = pub != nullptr ? p11().PKCS11_get_public_key(pub) : nullptr;
    if (pkey == nullptr) {
      PKCS11_KEY* priv = libp11_key(key, true);
      pkey = priv != nullptr ? p11().PKCS11_get_public_key(priv) : nullptr;
    }
    if (pkey == nullptr) {
      CK_RV rv = take_libp11_error();
      set_error_text(error, "pkcs11: libp11 gives no public key for '%.*s' (%s)",
                     static_cast<int>(text.size() > 160 ? 160 : text.size()), text.data(), ckr_text(rv));
      return Status(key_status(StatusCode::kNotFound, static_cast<std::uint16_t>(rv & 0xFFFF)));
    }
    return PkeyPtr(pkey);
  }

  // Is a key (either half) with this label or id in the token already?
  Result<bool> key_exists(Token* token, std::string_view label, const std::vector<CK_BYTE>& id) {
    for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      std::string label_copy(label);
      std::vector<CK_BYTE> id_copy(id);
      std::vector<CK_OBJECT_HANDLE> handles;
      CK_RV rv = find_objects(token, {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, label_copy.data(), label_copy.size()}},
                              &handles);
      if (rv == CKR_OK && handles.empty()) {
        rv = find_objects(token, {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, id_copy.data(), id_copy.size()}}, &handles);
      }
      if (rv != CKR_OK) return object_failure("C_FindObjects", label, rv);
      if (!handles.empty()) return true;
    }
    return false;
  }
};

// ---- public API --------------------------------------------------------------------------------

Pkcs11KeyStore::Pkcs11KeyStore(Pkcs11KeyStoreSettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
  impl_->error = &last_error_;
}

Pkcs11KeyStore::~Pkcs11KeyStore() = default;

Status Pkcs11KeyStore::open() {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  return impl_->open();
}

Result<KeyInfo> Pkcs11KeyStore::do_generate_key(const KeySpec& spec) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  Impl& s = *impl_;
  if (!is_printable_label(spec.label)) {
    set_error_text(&last_error_, "pkcs11: a key label is 1..64 printable ASCII characters");
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  std::vector<CK_BYTE> id;
  if (spec.id.empty()) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    if (EVP_Digest(spec.label.data(), spec.label.size(), md.data(), &md_len, EVP_sha256(), nullptr) != 1) {
      set_error_text(&last_error_, "pkcs11: SHA-256 of the label failed");
      return Status(key_status(StatusCode::kInternal));
    }
    id.assign(md.begin(), md.begin() + kDerivedIdBytes);
  } else {
    if (spec.id.size() < 2 || spec.id.size() > 2 * kMaxIdBytes || spec.id.size() % 2 != 0) {
      set_error_text(&last_error_, "pkcs11: a key id is 2..64 hex digits, an even number");
      return Status(key_status(StatusCode::kInvalidArgument));
    }
    for (std::size_t i = 0; i < spec.id.size(); i += 2) {
      int hi = hex_value(spec.id[i]);
      int lo = hex_value(spec.id[i + 1]);
      if (hi < 0 || lo < 0) {
        set_error_text(&last_error_, "pkcs11: a key id is hex digits only");
        return Status(key_status(StatusCode::kInvalidArgument));
      }
      id.push_back(static_cast<CK_BYTE>(hi * 16 + lo));
    }
  }

  TETHER_RETURN_IF_ERROR(s.open());
  const std::string token_text = s.settings.token_uri.empty() ? std::string("pkcs11:") : s.settings.token_uri;
  TETHER_ASSIGN_OR_RETURN(UriPtr token_uri, s.parse_uri(token_text));
  TETHER_ASSIGN_OR_RETURN(Impl::Token * token, s.token_for(token_uri.get(), token_text, false));
  TETHER_ASSIGN_OR_RETURN(bool exists, s.key_exists(token, spec.label, id));
  if (exists) {
    set_error_text(&last_error_, "pkcs11: a key labelled '%.*s' or with its id is in the token already",
                   static_cast<int>(spec.label.size()), spec.label.data());
    return Status(key_status(StatusCode::kAlreadyExists));
  }

  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::string label(spec.label);
  CK_ULONG bits = 2048;
  std::array<CK_BYTE, 3> exponent = {0x01, 0x00, 0x01};
  std::array<CK_BYTE, kP256Params.size()> ec_params = kP256Params;
  std::vector<CK_ATTRIBUTE> pub = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_VERIFY, &yes, sizeof yes},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  std::vector<CK_ATTRIBUTE> priv = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_SIGN, &yes, sizeof yes},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  CK_MECHANISM mechanism{};
  if (spec.algorithm == KeyAlgorithm::kEcP256) {
    mechanism.mechanism = CKM_EC_KEY_PAIR_GEN;
    pub.push_back({CKA_EC_PARAMS, ec_params.data(), ec_params.size()});
  } else if (spec.algorithm == KeyAlgorithm::kRsa2048) {
    mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    pub.push_back({CKA_PUBLIC_EXPONENT, exponent.data(), exponent.size()});
  } else {
    set_error_text(&last_error_, "pkcs11: unknown key algorithm");
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE priv_handle = CK_INVALID_HANDLE;
  CK_RV rv = s.fn->C_GenerateKeyPair(token->session, &mechanism, pub.data(), static_cast<CK_ULONG>(pub.size()),
                                     priv.data(), static_cast<CK_ULONG>(priv.size()), &pub_handle, &priv_handle);
  if (rv != CKR_OK) {
    set_error_text(&last_error_, "pkcs11: C_GenerateKeyPair (%s, '%s') failed: %s (CKR 0x%lx)", to_string(spec.algorithm),
                   label.c_str(), ckr_text(rv), static_cast<unsigned long>(rv));
    return ckr_status(rv);
  }
  Impl::Found found;
  found.token = token;
  found.handle = priv_handle;
  found.label = label;
  found.id = id;
  return s.key_info(found, label);
}

Result<KeyInfo> Pkcs11KeyStore::do_find_key(std::string_view uri) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  TETHER_ASSIGN_OR_RETURN(Impl::Found key, impl_->find_one(uri, {CKO_PRIVATE_KEY}, "private"));
  return impl_->key_info(key, uri);
}

Result<std::size_t> Pkcs11KeyStore::do_public_key_der(std::string_view uri, Span<std::uint8_t> out) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  TETHER_ASSIGN_OR_RETURN(Impl::Found key, impl_->find_one(uri, {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}, "private"));
  TETHER_ASSIGN_OR_RETURN(PkeyPtr pkey, impl_->public_pkey(key, uri));
  int len = i2d_PUBKEY(pkey.get(), nullptr);
  if (len <= 0) {
    set_error_text(&last_error_, "pkcs11: cannot encode the public key of '%s'", key.label.c_str());
    return Status(key_status(StatusCode::kInternal));
  }
  if (out.size() < static_cast<std::size_t>(len)) {
    set_error_text(&last_error_, "pkcs11: the public key of '%s' needs %d bytes, the buffer has %zu", key.label.c_str(),
                   len, out.size());
    return Status(key_status(StatusCode::kResourceExhausted, clamp16(static_cast<std::size_t>(len))));
  }
  unsigned char* p = out.data();
  i2d_PUBKEY(pkey.get(), &p);
  return static_cast<std::size_t>(len);
}

Result<std::size_t> Pkcs11KeyStore::do_sign_digest(std::string_view uri, Span<const std::uint8_t> digest,
                                                   Span<std::uint8_t> out) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  if (digest.size() != 32) {
    set_error_text(&last_error_, "pkcs11: a SHA-256 digest is 32 bytes, not %zu", digest.size());
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  Impl& s = *impl_;
  TETHER_ASSIGN_OR_RETURN(Impl::Found key, s.find_one(uri, {CKO_PRIVATE_KEY}, "private"));
  TETHER_ASSIGN_OR_RETURN(KeyInfo info, s.key_info(key, uri));
  PKCS11_KEY* p11key = s.libp11_key(key, true);
  PkeyPtr pkey(p11key != nullptr ? p11().PKCS11_get_private_key(p11key) : nullptr);
  if (!pkey) {
    CK_RV rv = take_libp11_error();
    set_error_text(&last_error_, "pkcs11: libp11 gives no private key for '%s' (%s)", key.label.c_str(), ckr_text(rv));
    return Status(key_status(StatusCode::kNotFound, static_cast<std::uint16_t>(rv & 0xFFFF)));
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(pkey.get(), nullptr));
  bool setup = ctx && EVP_PKEY_sign_init(ctx.get()) == 1;
  if (setup && info.algorithm == KeyAlgorithm::kRsa2048) {
    setup = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1;
  }
  // RSA: the DigestInfo for SHA-256 goes in front of the digest; ECDSA: the length is checked.
  setup = setup && EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1;
  std::size_t needed = 0;
  if (!setup || EVP_PKEY_sign(ctx.get(), nullptr, &needed, digest.data(), digest.size()) != 1) {
    ERR_clear_error();
    set_error_text(&last_error_, "pkcs11: cannot set up signing with '%s'", key.label.c_str());
    return Status(key_status(StatusCode::kInternal));
  }
  if (out.size() < needed) {
    set_error_text(&last_error_, "pkcs11: a signature with '%s' needs up to %zu bytes, the buffer has %zu",
                   key.label.c_str(), needed, out.size());
    return Status(key_status(StatusCode::kResourceExhausted, clamp16(needed)));
  }
  std::size_t len = out.size();
  if (EVP_PKEY_sign(ctx.get(), out.data(), &len, digest.data(), digest.size()) != 1) {
    CK_RV rv = take_libp11_error();
    set_error_text(&last_error_, "pkcs11: signing with '%s' failed: %s (CKR 0x%lx)", key.label.c_str(), ckr_text(rv),
                   static_cast<unsigned long>(rv));
    return ckr_status(rv);
  }
  return len;
}

Result<FixedString<kMaxKeyUri>> Pkcs11KeyStore::do_store_certificate(std::string_view key_uri,
                                                                     Span<const std::uint8_t> der,
                                                                     std::string_view label) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  Impl& s = *impl_;
  if (!is_printable_label(label)) {
    set_error_text(&last_error_, "pkcs11: a certificate label is 1..64 printable ASCII characters");
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) {
    ERR_clear_error();
    set_error_text(&last_error_, "pkcs11: the certificate for '%.*s' is not one DER X.509 certificate",
                   static_cast<int>(label.size()), label.data());
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  TETHER_ASSIGN_OR_RETURN(Impl::Found key, s.find_one(key_uri, {CKO_PRIVATE_KEY}, "private"));
  TETHER_ASSIGN_OR_RETURN(PkeyPtr pub, s.public_pkey(key, key_uri));
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), pub.get()) != 1) {
    ERR_clear_error();
    set_error_text(&last_error_, "pkcs11: the certificate '%.*s' is not for the key '%s'", static_cast<int>(label.size()),
                   label.data(), key.label.c_str());
    return Status(key_status(StatusCode::kInvalidArgument));
  }
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  std::string label_copy(label);
  std::vector<CK_OBJECT_HANDLE> handles;
  CK_RV rv = s.find_objects(key.token, {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, label_copy.data(), label_copy.size()}},
                            &handles);
  if (rv != CKR_OK) return s.object_failure("C_FindObjects", key_uri, rv);
  if (!handles.empty()) {
    set_error_text(&last_error_, "pkcs11: a certificate labelled '%s' is in the token already", label_copy.c_str());
    return Status(key_status(StatusCode::kAlreadyExists));
  }
  std::vector<CK_BYTE> id = key.id;
  if (p11().PKCS11_store_certificate(key.token->slot->token, cert.get(), label_copy.data(), id.data(), id.size(), nullptr) != 0) {
    rv = take_libp11_error();
    set_error_text(&last_error_, "pkcs11: storing the certificate '%s' failed: %s (CKR 0x%lx)", label_copy.c_str(),
                   ckr_text(rv), static_cast<unsigned long>(rv));
    return ckr_status(rv);
  }
  return s.format_uri(*key.token, CKO_CERTIFICATE, label_copy, id);
}

Result<std::size_t> Pkcs11KeyStore::do_read_certificate(std::string_view uri, Span<std::uint8_t> out) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  Impl& s = *impl_;
  TETHER_ASSIGN_OR_RETURN(Impl::Found cert, s.find_one(uri, {CKO_CERTIFICATE}, "cert"));
  std::vector<CK_BYTE> value;
  CK_RV rv = s.read_bytes(cert.token, cert.handle, CKA_VALUE, &value);
  if (rv != CKR_OK) return s.object_failure("reading CKA_VALUE", uri, rv);
  if (out.size() < value.size()) {
    set_error_text(&last_error_, "pkcs11: the certificate '%s' is %zu bytes, the buffer has %zu", cert.label.c_str(),
                   value.size(), out.size());
    return Status(key_status(StatusCode::kResourceExhausted, clamp16(value.size())));
  }
  if (!value.empty()) std::memcpy(out.data(), value.data(), value.size());
  return value.size();
}

Status Pkcs11KeyStore::do_delete_object(std::string_view uri) {
  last_error_.clear();
  TETHER_RETURN_IF_ERROR(impl_->load_libraries());
  Impl& s = *impl_;
  CK_OBJECT_CLASS cls = 0;
  TETHER_ASSIGN_OR_RETURN(Impl::Found found,
                          s.find_one(uri, {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}, "private", &cls));
  std::vector<CK_OBJECT_HANDLE> victims = {found.handle};
  if (cls != CKO_CERTIFICATE) {
    // The other half of the pair: same label and id.
    CK_OBJECT_CLASS other = cls == CKO_PRIVATE_KEY ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
    std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &other, sizeof other},
                                      {CKA_LABEL, found.label.data(), found.label.size()},
                                      {CKA_ID, found.id.data(), found.id.size()}};
    std::vector<CK_OBJECT_HANDLE> halves;
    CK_RV rv = s.find_objects(found.token, tmpl, &halves);
    if (rv != CKR_OK) return s.object_failure("C_FindObjects", uri, rv);
    victims.insert(victims.end(), halves.begin(), halves.end());
  }
  for (CK_OBJECT_HANDLE handle : victims) {
    CK_RV rv = s.fn->C_DestroyObject(found.token->session, handle);
    if (rv != CKR_OK) {
      Status failed = s.object_failure("C_DestroyObject", uri, rv);
      s.forget_objects().ignore();
      return failed;
    }
  }
  return s.forget_objects();
}

}  // namespace tether::port
