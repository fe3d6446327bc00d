// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "ckr_status.hpp"

namespace tether::port::pkcs11_detail {

StatusCode code_for_ckr(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return StatusCode::kOk;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return StatusCode::kUnauthenticated;
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_SESSION_READ_ONLY:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
      return StatusCode::kPermissionDenied;
    case CKR_DEVICE_MEMORY:
    case CKR_HOST_MEMORY:
    case CKR_BUFFER_TOO_SMALL:
      return StatusCode::kResourceExhausted;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
      return StatusCode::kUnimplemented;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return StatusCode::kUnavailable;
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_SLOT_ID_INVALID:
      return StatusCode::kNotFound;
    case CKR_ARGUMENTS_BAD:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_ATTRIBUTE_READ_ONLY:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kUnknown;
  }
}

Status ckr_status(CK_RV rv) {
  return Status(code_for_ckr(rv), Origin::kKey, static_cast<std::uint16_t>(rv & 0xFFFFu));
}

}  // namespace tether::port::pkcs11_detail
