// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "pk_key.hpp"

#include <cstddef>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/x509.h>

namespace tether::mbedtls::detail {
namespace {

constexpr std::size_t kMinRsaBits = 2048;
constexpr std::size_t kMaxRsaBits = 4096;

bool unknown_algorithm(int code) {
  return code == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG || code == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE ||
         code == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE || code == MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE;
}

}  // namespace

bool out_of_memory(int code) {
  return code == MBEDTLS_ERR_PK_ALLOC_FAILED || code == MBEDTLS_ERR_ECP_ALLOC_FAILED ||
         code == MBEDTLS_ERR_MPI_ALLOC_FAILED || code == MBEDTLS_ERR_ASN1_ALLOC_FAILED ||
         code == MBEDTLS_ERR_X509_ALLOC_FAILED;
}

Status parse_signing_key(Span<const std::uint8_t> der, mbedtls_pk_context* pk) {
  // mbedtls_pk_parse_subpubkey takes a DER SubjectPublicKeyInfo only (mbedtls_pk_parse_public_key
  // would also take PEM and a bare PKCS#1 RSAPublicKey). It allocates the RSA or EC key and checks
  // that an EC point is on its curve and that an RSA key is consistent.
  auto* p = const_cast<unsigned char*>(der.data());
  const unsigned char* const end = p + der.size();
  const int ret = mbedtls_pk_parse_subpubkey(&p, end, pk);
  if (ret != 0) {
    StatusCode code = StatusCode::kInvalidArgument;  // the key is malformed
    if (any_part(ret, unknown_algorithm)) code = StatusCode::kUnimplemented;
    if (any_part(ret, out_of_memory)) code = StatusCode::kResourceExhausted;
    return Status(code, Origin::kCrypto, detail_of(ret));
  }
  if (p != end) return Status(StatusCode::kInvalidArgument, Origin::kCrypto);

  switch (mbedtls_pk_get_type(pk)) {
    case MBEDTLS_PK_ECKEY:
      if (mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1) return ok_status();
      break;
    case MBEDTLS_PK_RSA: {
      const std::size_t bits = mbedtls_pk_get_bitlen(pk);
      if (bits >= kMinRsaBits && bits <= kMaxRsaBits) return ok_status();
      break;
    }
    default:  // id-ecDH, id-ecMQV, ...: not a signing key type this port offers
      break;
  }
  return Status(StatusCode::kUnimplemented, Origin::kCrypto);
}

}  // namespace tether::mbedtls::detail
