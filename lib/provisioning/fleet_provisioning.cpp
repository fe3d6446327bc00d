// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/provisioning/fleet_provisioning.hpp"

#include <cstring>

#include "tether/json.hpp"
#include "tether/topics.hpp"
#include "tether/utf8.hpp"

namespace tether::provisioning {

namespace {

constexpr std::string_view kCsrBegin = "-----BEGIN CERTIFICATE REQUEST-----";
constexpr std::string_view kCertBegin = "-----BEGIN CERTIFICATE-----";
// An answer is at most a certificate, a token and some framing.
constexpr std::size_t kMaxAnswerJson = kMaxCertificatePem * 2 + kMaxOwnershipToken * 2 + 4096;

// `"<field>" <problem>`.
Status invalid(ErrorText* why, const char* problem, const char* field) {
  set_error_text(why, "\"%s\" %s", field, problem);
  return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
}

std::uint16_t clamp16(std::size_t n) { return n > 0xFFFF ? 0xFFFF : static_cast<std::uint16_t>(n); }

Status too_long(ErrorText* why, const char* field, std::size_t size, std::size_t limit) {
  set_error_text(why, "\"%s\" is %lu bytes, at most %lu", field, static_cast<unsigned long>(size),
                 static_cast<unsigned long>(limit));
  return Status(StatusCode::kOutOfRange, Origin::kProvisioning, clamp16(limit));
}

bool template_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// A required, non-empty string field copied into `out` (never cut).
template <std::size_t N>
Status read_string(const json::Value& root, const char* field, FixedString<N>& out, ErrorText* why) {
  const json::Value v = root[field];
  if (!v.valid()) return invalid(why, "is missing", field);
  Result<std::string_view> s = v.as_string();
  if (!s.ok()) {
    set_error_text(why, "\"%s\" is not a string (is %s)", field, json::to_string(v.type()));
    return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
  }
  if (s->empty()) return invalid(why, "is empty", field);
  if (s->size() > N) return too_long(why, field, s->size(), N);
  return out.assign(*s);
}

Status expect_object(const json::Value& root, ErrorText* why) {
  if (root.is_object()) return ok_status();
  set_error_text(why, "the answer is not a JSON object (is %s)", json::to_string(root.type()));
  return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
}

}  // namespace

Status validate_template_name(std::string_view name, ErrorText* why) {
  if (name.empty() || name.size() > kMaxTemplateName) {
    set_error_text(why, "template name: must be 1..%lu characters, got %lu",
                   static_cast<unsigned long>(kMaxTemplateName), static_cast<unsigned long>(name.size()));
    return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!template_char(name[i])) {
      set_error_text(why, "template name: character %lu is not one of A-Z a-z 0-9 _ -", static_cast<unsigned long>(i));
      return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, clamp16(i));
    }
  }
  return ok_status();
}

Result<std::string_view> topic(Api api, Answer answer, std::string_view template_name, Span<char> out) {
  std::string_view base;
  std::string_view tail;
  if (api == Api::kCreateCertificateFromCsr) {
    base = "$aws/certificates/create-from-csr/json";
  } else {
    TETHER_RETURN_IF_ERROR(validate_template_name(template_name));
    base = "$aws/provisioning-templates/";
    tail = "/provision/json";
  }
  const std::string_view suffix = answer == Answer::kAccepted   ? "/accepted"
                                  : answer == Answer::kRejected ? "/rejected"
                                                                : "";
  const std::string_view middle = api == Api::kRegisterThing ? template_name : std::string_view();
  const std::size_t size = base.size() + middle.size() + tail.size() + suffix.size();
  if (size > out.size()) return Status(StatusCode::kResourceExhausted, Origin::kTopic, clamp16(size));
  char* p = out.data();
  for (std::string_view part : {base, middle, tail, suffix}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  return std::string_view(out.data(), size);
}

Result<std::string_view> encode_create_from_csr(std::string_view csr_pem, Span<char> out, ErrorText* why) {
  if (csr_pem.size() > kMaxCsrPem) return too_long(why, "certificateSigningRequest", csr_pem.size(), kMaxCsrPem);
  if (csr_pem.substr(0, kCsrBegin.size()) != kCsrBegin) {
    return invalid(why, "is not a PEM certificate request", "certificateSigningRequest");
  }
  json::Writer w(out);
  w.begin_object().key("certificateSigningRequest").string(csr_pem).end_object();
  return w.finish();
}

Result<std::string_view> encode_register_thing(std::string_view ownership_token, Span<const Entry> parameters,
                                               Span<char> out, ErrorText* why) {
  if (ownership_token.empty()) return invalid(why, "is empty", "certificateOwnershipToken");
  if (ownership_token.size() > kMaxOwnershipToken) {
    return too_long(why, "certificateOwnershipToken", ownership_token.size(), kMaxOwnershipToken);
  }
  if (parameters.size() > kMaxEntries) {
    set_error_text(why, "\"parameters\" has %lu entries, at most %lu", static_cast<unsigned long>(parameters.size()),
                   static_cast<unsigned long>(kMaxEntries));
    return Status(StatusCode::kOutOfRange, Origin::kProvisioning, clamp16(kMaxEntries));
  }
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const Entry& e = parameters[i];
    if (e.key.empty() || e.key.size() > kMaxEntryKey || e.value.size() > kMaxEntryValue ||
        utf8::first_invalid(e.key) != std::string_view::npos ||
        utf8::first_invalid(e.value) != std::string_view::npos) {
      set_error_text(why, "parameter %lu: key must be 1..%lu bytes and value 0..%lu bytes of UTF-8",
                     static_cast<unsigned long>(i), static_cast<unsigned long>(kMaxEntryKey),
                     static_cast<unsigned long>(kMaxEntryValue));
      return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, clamp16(i));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (parameters[j].key == e.key) {
        set_error_text(why, "parameter %lu: key given twice (also parameter %lu)", static_cast<unsigned long>(i),
                       static_cast<unsigned long>(j));
        return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, clamp16(i));
      }
    }
  }
  json::Writer w(out);
  w.begin_object().key("certificateOwnershipToken").string(ownership_token).key("parameters").begin_object();
  for (const Entry& e : parameters) w.key(e.key).string(e.value);
  w.end_object().end_object();
  return w.finish();
}

Status decode_certificate_issued(std::string_view json, CertificateIssued& out, ErrorText* why) {
  out.certificate_id.clear();
  out.ownership_token.clear();
  out.certificate_pem.clear();
  const Status status = json::parse(
      json, kMaxAnswerJson,
      [&](const json::Value& root) -> Status {
        TETHER_RETURN_IF_ERROR(expect_object(root, why));
        TETHER_RETURN_IF_ERROR(read_string(root, "certificateId", out.certificate_id, why));
        TETHER_RETURN_IF_ERROR(read_string(root, "certificateOwnershipToken", out.ownership_token, why));
        TETHER_RETURN_IF_ERROR(read_string(root, "certificatePem", out.certificate_pem, why));
        if (out.certificate_pem.view().substr(0, kCertBegin.size()) != kCertBegin) {
          return invalid(why, "is not a PEM certificate", "certificatePem");
        }
        return ok_status();
      },
      why);
  if (!status.ok()) {
    // Nothing half-read stays behind (the token is a credential).
    out.ownership_token.clear();
    out.certificate_pem.clear();
    out.certificate_id.clear();
  }
  return status;
}

const FixedString<kMaxEntryValue>* ThingRegistered::config(std::string_view key) const {
  for (std::size_t i = 0; i < config_count && i < kMaxEntries; ++i) {
    if (config_keys[i] == key) return &config_values[i];
  }
  return nullptr;
}

Status decode_thing_registered(std::string_view json, ThingRegistered& out, ErrorText* why) {
  out.thing_name.clear();
  out.config_count = 0;
  out.config_dropped = 0;
  return json::parse(
      json, kMaxAnswerJson,
      [&](const json::Value& root) -> Status {
        TETHER_RETURN_IF_ERROR(expect_object(root, why));
        TETHER_RETURN_IF_ERROR(read_string(root, "thingName", out.thing_name, why));
        ErrorText name_why;
        if (!validate_thing_name(out.thing_name.view(), TopicProfile::kAws, &name_why).ok()) {
          set_error_text(why, "\"thingName\" is not a valid thing name: %s", name_why.c_str());
          out.thing_name.clear();
          return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
        }
        const json::Value config = root["deviceConfiguration"];
        if (!config.valid() || config.is_null()) return ok_status();
        if (!config.is_object()) {
          set_error_text(why, "\"deviceConfiguration\" is not an object (is %s)", json::to_string(config.type()));
          return Status(StatusCode::kInvalidArgument, Origin::kProvisioning, 0);
        }
        for (json::Value e = config.first_child(); e.valid(); e = e.next()) {
          Result<std::string_view> value = e.as_string();
          if (out.config_count == kMaxEntries || !value.ok() || e.key().empty() || e.key().size() > kMaxEntryKey ||
              value->size() > kMaxEntryValue) {
            ++out.config_dropped;
            continue;
          }
          out.config_keys[out.config_count].assign(e.key()).ignore();
          out.config_values[out.config_count].assign(*value).ignore();
          ++out.config_count;
        }
        return ok_status();
      },
      why);
}

Status decode_rejection(std::string_view json, Rejection& out, ErrorText* why) {
  out = Rejection();
  return json::parse(
      json, kMaxAnswerJson,
      [&](const json::Value& root) -> Status {
        TETHER_RETURN_IF_ERROR(expect_object(root, why));
        const json::Value code = root["statusCode"];
        if (code.valid()) {
          Result<std::int64_t> n = code.as_int();
          if (!n.ok() || *n < 0 || *n > 999) return invalid(why, "is not an integer 0..999", "statusCode");
          out.status_code = static_cast<std::int32_t>(*n);
        }
        const json::Value error_code = root["errorCode"];
        if (error_code.valid()) {
          Result<std::string_view> s = error_code.as_string();
          if (!s.ok()) return invalid(why, "is not a string", "errorCode");
          out.error_code.assign(utf8::prefix_bytes(*s, kMaxErrorCode)).ignore();
        }
        const json::Value message = root["errorMessage"];
        if (message.valid()) {
          Result<std::string_view> s = message.as_string();
          if (!s.ok()) return invalid(why, "is not a string", "errorMessage");
          out.error_message.assign(utf8::prefix_bytes(*s, kMaxErrorMessage)).ignore();
        }
        return ok_status();
      },
      why);
}

}  // namespace tether::provisioning
