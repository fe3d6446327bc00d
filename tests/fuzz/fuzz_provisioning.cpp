// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the Fleet Provisioning answers a device receives (tether::provisioning decode_*)
// and the RegisterThing request built from service-provided data.
//
// The first input byte picks the decoder, the rest is the document. Invariants checked:
// - every decode returns ok or a documented code: kInvalidArgument/kOutOfRange with origin
//   kProvisioning, or json::parse's own errors (origin kJson);
// - a failed decode_certificate_issued leaves every field empty (no half-read token);
// - what decodes successfully is within the documented limits (certificate PEM, thing name valid
//   for AWS, at most kMaxEntries configuration entries, rejection status 0..999, texts valid UTF-8)
//   and round-trips: written again with json::Writer and decoded, it gives the same values;
// - encode_register_thing with the decoded token and entries as parameters either fails with a
//   documented code or yields JSON that parses back to the same token and parameters.

#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tether/json.hpp"
#include "tether/provisioning/fleet_provisioning.hpp"
#include "tether/topics.hpp"

namespace {

using namespace tether;
using namespace tether::provisioning;

bool documented(Status s) {
  if (s.ok()) return true;
  if (s.origin() == Origin::kJson) return true;
  return s.origin() == Origin::kProvisioning &&
         (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kOutOfRange);
}

bool valid_utf8(std::string_view s) {
  return fuzz::check_utf8(s, [](std::uint32_t, std::size_t) {}) == std::string_view::npos;
}

void check_issued(std::string_view text) {
  CertificateIssued out;
  ErrorText why;
  const Status s = decode_certificate_issued(text, out, &why);
  TETHER_FUZZ_CHECK(documented(s));
  if (!s.ok()) {
    TETHER_FUZZ_CHECK(out.certificate_id.empty() && out.ownership_token.empty() && out.certificate_pem.empty());
    TETHER_FUZZ_CHECK(!why.empty());
    return;
  }
  TETHER_FUZZ_CHECK(!out.certificate_id.empty() && !out.ownership_token.empty());
  TETHER_FUZZ_CHECK(out.certificate_pem.view().substr(0, 27) == "-----BEGIN CERTIFICATE-----");
  std::vector<char> buf(kMaxCertificatePem * 2 + kMaxOwnershipToken * 2 + 1024);
  json::Writer w(Span<char>(buf.data(), buf.size()));
  w.begin_object()
      .key("certificateId")
      .string(out.certificate_id.view())
      .key("certificateOwnershipToken")
      .string(out.ownership_token.view())
      .key("certificatePem")
      .string(out.certificate_pem.view())
      .end_object();
  Result<std::string_view> again = w.finish();
  TETHER_FUZZ_CHECK(again.ok());
  CertificateIssued back;
  TETHER_FUZZ_CHECK(decode_certificate_issued(*again, back).ok());
  TETHER_FUZZ_CHECK(back.certificate_id == out.certificate_id.view());
  TETHER_FUZZ_CHECK(back.ownership_token == out.ownership_token.view());
  TETHER_FUZZ_CHECK(back.certificate_pem == out.certificate_pem.view());
}

void check_registered(std::string_view text) {
  ThingRegistered out;
  ErrorText why;
  const Status s = decode_thing_registered(text, out, &why);
  TETHER_FUZZ_CHECK(documented(s));
  if (!s.ok()) {
    TETHER_FUZZ_CHECK(!why.empty());
    return;
  }
  TETHER_FUZZ_CHECK(validate_thing_name(out.thing_name.view(), TopicProfile::kAws).ok());
  TETHER_FUZZ_CHECK(out.config_count <= kMaxEntries);
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < out.config_count; ++i) {
    TETHER_FUZZ_CHECK(!out.config_keys[i].empty());
    TETHER_FUZZ_CHECK(valid_utf8(out.config_values[i].view()));
    entries.push_back(Entry{out.config_keys[i].view(), out.config_values[i].view()});
  }
  std::vector<char> buf(16384);
  json::Writer w(Span<char>(buf.data(), buf.size()));
  w.begin_object().key("thingName").string(out.thing_name.view()).key("deviceConfiguration").begin_object();
  for (const Entry& e : entries) w.key(e.key).string(e.value);
  w.end_object().end_object();
  Result<std::string_view> again = w.finish();
  TETHER_FUZZ_CHECK(again.ok());
  ThingRegistered back;
  TETHER_FUZZ_CHECK(decode_thing_registered(*again, back).ok());
  TETHER_FUZZ_CHECK(back.thing_name == out.thing_name.view());
  // Duplicate keys in the input may both be kept; the first one is what config() finds, both ways.
  TETHER_FUZZ_CHECK(back.config_count == out.config_count && back.config_dropped == 0);
  for (const Entry& e : entries) {
    const auto* a = out.config(e.key);
    const auto* b = back.config(e.key);
    TETHER_FUZZ_CHECK(a != nullptr && b != nullptr && *b == a->view());
  }

  // The same data as RegisterThing parameters: encoded or refused, never anything else.
  std::vector<char> req(32768);
  const Result<std::string_view> body =
      encode_register_thing(out.thing_name.view(), Span<const Entry>(entries.data(), entries.size()),
                            Span<char>(req.data(), req.size()));
  TETHER_FUZZ_CHECK(documented(body.status()));
  if (body.ok()) {
    const Status parsed = json::parse(*body, 65536, [&](const json::Value& root) -> Status {
      TETHER_FUZZ_CHECK(*root["certificateOwnershipToken"].as_string() == out.thing_name.view());
      TETHER_FUZZ_CHECK(root["parameters"].size() == entries.size());
      for (const Entry& e : entries) TETHER_FUZZ_CHECK(*root["parameters"][e.key].as_string() == e.value);
      return ok_status();
    });
    TETHER_FUZZ_CHECK(parsed.ok());
  }
}

void check_rejection(std::string_view text) {
  Rejection out;
  ErrorText why;
  const Status s = decode_rejection(text, out, &why);
  TETHER_FUZZ_CHECK(documented(s));
  if (!s.ok()) return;
  TETHER_FUZZ_CHECK(out.status_code >= 0 && out.status_code <= 999);
  TETHER_FUZZ_CHECK(valid_utf8(out.error_code.view()) && valid_utf8(out.error_message.view()));
  TETHER_FUZZ_CHECK(out.error_message.size() <= kMaxErrorMessage && out.error_code.size() <= kMaxErrorCode);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: check_issued(text); break;
    case 1: check_registered(text); break;
    default: check_rejection(text); break;
  }
  return 0;
}
