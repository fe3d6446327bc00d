// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// libp11 and p11-kit, loaded when the first PKCS#11 key store is used (dlopen), not when the
/// program starts. A program that links tether::port_pkcs11 but never opens a token (tether-agent
/// with a key file) then maps neither library nor their dependencies (libffi): about 0.5 MB less
/// resident memory (docs/memory.md). The headers are still the real ones: each entry has exactly
/// the type of the function it stands for.

#include <libp11.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include <string>

namespace tether::port::pkcs11_detail {

// Every libp11 and p11-kit function the port calls: X(library, name).
#define TETHER_P11_FUNCTIONS(X)            \
  X(libp11, ERR_get_CKR_code)              \
  X(libp11, PKCS11_CTX_new)                \
  X(libp11, PKCS11_CTX_load)               \
  X(libp11, PKCS11_CTX_unload)             \
  X(libp11, PKCS11_CTX_free)               \
  X(libp11, PKCS11_enumerate_slots)        \
  X(libp11, PKCS11_release_all_slots)      \
  X(libp11, PKCS11_get_slotid_from_slot)   \
  X(libp11, PKCS11_open_session)           \
  X(libp11, PKCS11_enumerate_keys)         \
  X(libp11, PKCS11_enumerate_public_keys)  \
  X(libp11, PKCS11_get_private_key)        \
  X(libp11, PKCS11_get_public_key)         \
  X(libp11, PKCS11_store_certificate)      \
  X(p11kit, p11_kit_strerror)              \
  X(p11kit, p11_kit_uri_new)               \
  X(p11kit, p11_kit_uri_free)              \
  X(p11kit, p11_kit_uri_parse)             \
  X(p11kit, p11_kit_uri_format)            \
  X(p11kit, p11_kit_uri_message)           \
  X(p11kit, p11_kit_uri_any_unrecognized)  \
  X(p11kit, p11_kit_uri_get_attribute)     \
  X(p11kit, p11_kit_uri_get_attributes)    \
  X(p11kit, p11_kit_uri_set_attributes)    \
  X(p11kit, p11_kit_uri_get_pin_value)     \
  X(p11kit, p11_kit_uri_get_pin_source)    \
  X(p11kit, p11_kit_uri_get_token_info)    \
  X(p11kit, p11_kit_uri_match_token_info)

/// The functions, each typed as its declaration in the library's header.
struct P11Libraries {
#define TETHER_P11_MEMBER(library, name) decltype(&::name) name = nullptr;
  TETHER_P11_FUNCTIONS(TETHER_P11_MEMBER)
#undef TETHER_P11_MEMBER
};

/// Loads both libraries the first time (thread-safe; they stay loaded). nullptr if either library
/// or one of its functions is missing; `error` then says which, and which package provides it.
const P11Libraries* load_p11_libraries(std::string& error);

/// The loaded functions. Only after load_p11_libraries() succeeded.
const P11Libraries& p11();

}  // namespace tether::port::pkcs11_detail
