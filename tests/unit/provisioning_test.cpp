// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Fleet Provisioning by CSR: the codec (topics, requests, answers) and FleetProvisioner driven
// against the fake MQTT client (the broker and the service scripted by the test).
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/simulated_clock.hpp"
#include "tether/provisioning/fleet_provisioning.hpp"
#include "tether/provisioning/provisioner.hpp"

namespace {

using namespace tether;
using namespace tether::provisioning;
using Step = FleetProvisioner::Step;

const std::string kCsr =
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIBDzCBtgIBADBUMQswCQYDVQQGEwJVUzEOMAwGA1UECgwFVGV0aGVy\n"
    "-----END CERTIFICATE REQUEST-----\n";
const std::string kCert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
const std::string kToken = "eyJ2ZXJzaW9uIjoiMjAxOS0xMC0wMSIsIm93bmVyc2hpcEtleSI6InNlY3JldC10b2tlbiJ9";
const std::string kCertId = std::string(64, 'a');

std::string text(Result<std::string_view> r) {
  REQUIRE(r.ok());
  return std::string(*r);
}

std::string issued_json(const std::string& token = kToken) {
  return "{\"certificateId\":\"" + kCertId + "\",\"certificateOwnershipToken\":\"" + token +
         "\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIU\\n-----END CERTIFICATE-----\\n\"}";
}

// The string member `key` of a JSON object document.
std::string member(const std::string& doc, const char* key) {
  std::string out;
  REQUIRE(json::parse(doc, 65536, [&](const json::Value& root) -> Status {
            Result<std::string_view> s = root[key].as_string();
            if (s.ok()) out = std::string(*s);
            return ok_status();
          }).ok());
  return out;
}

}  // namespace

TEST_CASE("provisioning codec: topics of both APIs and template names") {
  char buf[128];
  CHECK(text(topic(Api::kCreateCertificateFromCsr, Answer::kRequest, "", Span<char>(buf, sizeof buf))) ==
        "$aws/certificates/create-from-csr/json");
  CHECK(text(topic(Api::kCreateCertificateFromCsr, Answer::kAccepted, "", Span<char>(buf, sizeof buf))) ==
        "$aws/certificates/create-from-csr/json/accepted");
  CHECK(text(topic(Api::kRegisterThing, Answer::kRequest, "Fleet_1-a", Span<char>(buf, sizeof buf))) ==
        "$aws/provisioning-templates/Fleet_1-a/provision/json");
  CHECK(text(topic(Api::kRegisterThing, Answer::kRejected, "Fleet_1-a", Span<char>(buf, sizeof buf))) ==
        "$aws/provisioning-templates/Fleet_1-a/provision/json/rejected");

  ErrorText why;
  CHECK(validate_template_name(std::string(36, 'x'), &why).ok());
  CHECK(validate_template_name(std::string(37, 'x'), &why).code() == StatusCode::kInvalidArgument);
  CHECK(validate_template_name("", &why).code() == StatusCode::kInvalidArgument);
  CHECK(validate_template_name("a/b", &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("character 1") != std::string::npos);
  CHECK(validate_template_name("a+", nullptr).code() == StatusCode::kInvalidArgument);
  CHECK(topic(Api::kRegisterThing, Answer::kRequest, "bad/name", Span<char>(buf, sizeof buf)).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(topic(Api::kRegisterThing, Answer::kAccepted, "t", Span<char>(buf, 20)).status().code() ==
        StatusCode::kResourceExhausted);
}

TEST_CASE("provisioning codec: the CSR request carries the PEM and reads back unchanged") {
  char buf[8192];
  const std::string doc = text(encode_create_from_csr(kCsr, Span<char>(buf, sizeof buf)));
  CHECK(doc.find("\\n") != std::string::npos);  // line ends escaped
  CHECK(member(doc, "certificateSigningRequest") == kCsr);

  ErrorText why;
  CHECK(encode_create_from_csr("not a pem", Span<char>(buf, sizeof buf), &why).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("certificateSigningRequest") != std::string::npos);
  const std::string huge = kCsr + std::string(kMaxCsrPem, 'A');
  CHECK(encode_create_from_csr(huge, Span<char>(buf, sizeof buf)).status().code() == StatusCode::kOutOfRange);
  CHECK(encode_create_from_csr(kCsr, Span<char>(buf, 40)).status().code() == StatusCode::kResourceExhausted);
}

TEST_CASE("provisioning codec: RegisterThing carries the token and the parameters and refuses bad ones") {
  char buf[8192];
  const Entry params[] = {{"SerialNumber", "SN-0042"}, {"Model", "gw\"2\""}};
  const std::string doc = text(encode_register_thing(kToken, Span<const Entry>(params, 2), Span<char>(buf, sizeof buf)));
  CHECK(member(doc, "certificateOwnershipToken") == kToken);
  std::string serial;
  std::string model;
  REQUIRE(json::parse(doc, 65536, [&](const json::Value& root) -> Status {
            serial = std::string(*root["parameters"]["SerialNumber"].as_string());
            model = std::string(*root["parameters"]["Model"].as_string());
            return ok_status();
          }).ok());
  CHECK(serial == "SN-0042");
  CHECK(model == "gw\"2\"");

  ErrorText why;
  CHECK(encode_register_thing("", Span<const Entry>(params, 2), Span<char>(buf, sizeof buf), &why).status().code() ==
        StatusCode::kInvalidArgument);
  const Entry twice[] = {{"SerialNumber", "1"}, {"SerialNumber", "2"}};
  CHECK(encode_register_thing(kToken, Span<const Entry>(twice, 2), Span<char>(buf, sizeof buf), &why).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("twice") != std::string::npos);
  CHECK(std::string(why.c_str()).find(kToken) == std::string::npos);
  const Entry empty_key[] = {{"", "1"}};
  CHECK(encode_register_thing(kToken, Span<const Entry>(empty_key, 1), Span<char>(buf, sizeof buf)).status().code() ==
        StatusCode::kInvalidArgument);
  Entry many[kMaxEntries + 1];
  std::string keys[kMaxEntries + 1];
  for (std::size_t i = 0; i <= kMaxEntries; ++i) {
    keys[i] = "k" + std::to_string(i);
    many[i] = Entry{keys[i], "v"};
  }
  CHECK(encode_register_thing(kToken, Span<const Entry>(many, kMaxEntries + 1), Span<char>(buf, sizeof buf))
            .status()
            .code() == StatusCode::kOutOfRange);
  CHECK(encode_register_thing(kToken, Span<const Entry>(many, kMaxEntries), Span<char>(buf, sizeof buf)).ok());
  CHECK(encode_register_thing(std::string(kMaxOwnershipToken + 1, 't'), Span<const Entry>(), Span<char>(buf, sizeof buf))
            .status()
            .code() == StatusCode::kOutOfRange);
}

TEST_CASE("provisioning codec: an issued certificate is read whole or not at all") {
  CertificateIssued out;
  REQUIRE(decode_certificate_issued(issued_json(), out).ok());
  CHECK(out.certificate_id == kCertId);
  CHECK(out.ownership_token == kToken);
  CHECK(out.certificate_pem == kCert);

  ErrorText why;
  CHECK(decode_certificate_issued("{\"certificateId\":\"x\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\"}", out,
                                  &why)
            .code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()) == "\"certificateOwnershipToken\" is missing");
  CHECK(out.certificate_id.empty());
  CHECK(out.certificate_pem.empty());

  // A token over the limit is refused, never cut (a cut token would only be refused later).
  CHECK(decode_certificate_issued(issued_json(std::string(kMaxOwnershipToken + 1, 't')), out, &why).code() ==
        StatusCode::kOutOfRange);
  CHECK(out.ownership_token.empty());
  CHECK(decode_certificate_issued("{\"certificateId\":\"x\",\"certificateOwnershipToken\":\"t\",\"certificatePem\":"
                                  "\"hello\"}",
                                  out, &why)
            .code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("certificatePem") != std::string::npos);
  CHECK(decode_certificate_issued("{\"certificateId\":7}", out, &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("not a string (is number)") != std::string::npos);
  CHECK(decode_certificate_issued("[1]", out, &why).code() == StatusCode::kInvalidArgument);
  CHECK(decode_certificate_issued("{\"certificateId\":", out, &why).origin() == Origin::kJson);
}

TEST_CASE("provisioning codec: a registered thing with its device configuration, and entries not kept are counted") {
  ThingRegistered out;
  REQUIRE(decode_thing_registered("{\"thingName\":\"dev-SN-0042\",\"deviceConfiguration\":{\"fallbackUrl\":\"https://"
                                  "example.com\",\"level\":3,\"region\":\"eu\"}}",
                                  out)
              .ok());
  CHECK(out.thing_name == "dev-SN-0042");
  CHECK(out.config_count == 2);
  CHECK(out.config_dropped == 1);  // "level" is not a string
  REQUIRE(out.config("region") != nullptr);
  CHECK(*out.config("region") == "eu");
  CHECK(out.config("level") == nullptr);

  std::string many = "{\"thingName\":\"t\",\"deviceConfiguration\":{";
  for (std::size_t i = 0; i < kMaxEntries + 3; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  many += "}}";
  REQUIRE(decode_thing_registered(many, out).ok());
  CHECK(out.config_count == kMaxEntries);
  CHECK(out.config_dropped == 3);

  ErrorText why;
  CHECK(decode_thing_registered("{\"thingName\":\"bad/name\"}", out, &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("thingName") != std::string::npos);
  CHECK(out.thing_name.empty());
  CHECK(decode_thing_registered("{\"thingName\":\"t\",\"deviceConfiguration\":[]}", out, &why).code() ==
        StatusCode::kInvalidArgument);
  CHECK(decode_thing_registered("{\"deviceConfiguration\":{}}", out, &why).code() == StatusCode::kInvalidArgument);
  CHECK(decode_thing_registered("{\"thingName\":\"t\"}", out).ok());
  CHECK(out.config_count == 0);
}

TEST_CASE("provisioning codec: rejections keep code and message, a long message is cut on a character boundary") {
  Rejection out;
  REQUIRE(decode_rejection("{\"statusCode\":400,\"errorCode\":\"InvalidCSR\",\"errorMessage\":\"bad\"}", out).ok());
  CHECK(out.status_code == 400);
  CHECK(out.error_code == "InvalidCSR");
  CHECK(out.error_message == "bad");

  std::string message(kMaxErrorMessage - 1, 'x');
  message += "\xC3\xA9";  // é straddles the limit
  REQUIRE(decode_rejection("{\"errorMessage\":\"" + message + "\"}", out).ok());
  CHECK(out.error_message.size() == kMaxErrorMessage - 1);
  CHECK(out.status_code == 0);
  CHECK(decode_rejection("{\"statusCode\":\"400\"}", out).code() == StatusCode::kInvalidArgument);
  CHECK(decode_rejection("{\"statusCode\":4000}", out).code() == StatusCode::kInvalidArgument);
  CHECK(decode_rejection("{\"errorCode\":false}", out).code() == StatusCode::kInvalidArgument);
}

namespace {

struct Rig {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  FleetProvisioner provisioner{mqtt, clock, &log};
  Entry params[1] = {{"SerialNumber", "SN-0042"}};

  Rig() {
    ConnectOptions options;
    options.client_id = "claim-SN-0042";
    REQUIRE(mqtt.connect(options).ok());
    REQUIRE(mqtt.poll(Milliseconds(0)).ok());
    REQUIRE(mqtt.connected());
  }

  ProvisioningRequest request() const {
    ProvisioningRequest r;
    r.template_name = "FleetTemplate";
    r.csr_pem = kCsr;
    r.parameters = Span<const Entry>(params, 1);
    r.answer_timeout = Milliseconds(5000);
    return r;
  }

  void pump(int rounds = 3) {
    for (int i = 0; i < rounds; ++i) {
      REQUIRE(mqtt.poll(Milliseconds(0)).ok());
      provisioner.step();
    }
  }

  // The last message published to `topic` ("" when none).
  std::string published_to(const std::string& topic) const {
    std::string last;
    for (const auto& m : mqtt.published()) {
      if (m.topic == topic) last = m.payload;
    }
    return last;
  }

  void start_and_issue() {
    REQUIRE(provisioner.start(request()).ok());
    pump();
    REQUIRE(provisioner.current_step() == Step::kCreatingCertificate);
    mqtt.inject_message("$aws/certificates/create-from-csr/json/accepted", issued_json());
    pump();
    REQUIRE(provisioner.current_step() == Step::kRegisteringThing);
  }
};

const char* const kAnswerTopics[] = {"$aws/certificates/create-from-csr/json/accepted",
                                     "$aws/certificates/create-from-csr/json/rejected",
                                     "$aws/provisioning-templates/FleetTemplate/provision/json/accepted",
                                     "$aws/provisioning-templates/FleetTemplate/provision/json/rejected"};

}  // namespace

TEST_CASE("fleet provisioner: subscribes first, sends the CSR, then registers the thing with the token") {
  Rig rig;
  REQUIRE(rig.provisioner.start(rig.request()).ok());
  // Nothing is published before every answer topic is subscribed.
  CHECK(rig.mqtt.published().empty());
  rig.pump();
  for (const char* t : kAnswerTopics) CHECK(rig.mqtt.subscriptions().count(t) == 1);
  const std::string csr_request = rig.published_to("$aws/certificates/create-from-csr/json");
  REQUIRE_FALSE(csr_request.empty());
  CHECK(member(csr_request, "certificateSigningRequest") == kCsr);
  CHECK(rig.provisioner.current_step() == Step::kCreatingCertificate);

  rig.mqtt.inject_message("$aws/certificates/create-from-csr/json/accepted", issued_json());
  rig.pump();
  const std::string register_request = rig.published_to("$aws/provisioning-templates/FleetTemplate/provision/json");
  REQUIRE_FALSE(register_request.empty());
  CHECK(member(register_request, "certificateOwnershipToken") == kToken);
  CHECK(register_request.find("\"SerialNumber\":\"SN-0042\"") != std::string::npos);

  rig.mqtt.inject_message("$aws/provisioning-templates/FleetTemplate/provision/json/accepted",
                          "{\"thingName\":\"dev-SN-0042\",\"deviceConfiguration\":{\"region\":\"eu\"}}");
  rig.pump();
  REQUIRE(rig.provisioner.done());
  CHECK(rig.provisioner.current_step() == Step::kSucceeded);
  CHECK(rig.provisioner.result().ok());
  CHECK(rig.provisioner.thing().thing_name == "dev-SN-0042");
  CHECK(*rig.provisioner.thing().config("region") == "eu");
  CHECK(rig.provisioner.certificate().certificate_pem == kCert);
  CHECK(rig.provisioner.certificate().certificate_id == kCertId);
  CHECK(rig.provisioner.certificate().ownership_token.empty());  // wiped once used
  // Unsubscribed again, and the client handed back without a listener.
  for (const char* t : kAnswerTopics) CHECK(rig.mqtt.subscriptions().count(t) == 0);
  CHECK(rig.log.contains("thing dev-SN-0042 registered"));
  for (const auto& line : rig.log.lines()) CHECK(line.message.find(kToken) == std::string::npos);
}

TEST_CASE("fleet provisioner: a refused CSR fails with the service's code and message") {
  Rig rig;
  REQUIRE(rig.provisioner.start(rig.request()).ok());
  rig.pump();
  rig.mqtt.inject_message("$aws/certificates/create-from-csr/json/rejected",
                          "{\"statusCode\":400,\"errorCode\":\"InvalidCsr\",\"errorMessage\":\"signature\\u0007 does "
                          "not verify\"}");
  rig.pump();
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kInvalidArgument);
  CHECK(rig.provisioner.result().origin() == Origin::kProvisioning);
  CHECK(rig.provisioner.result().detail() == 400);
  CHECK(rig.provisioner.rejection().error_code == "InvalidCsr");
  const std::string error = rig.provisioner.last_error();
  CHECK(error == "fleet provisioning: CreateCertificateFromCsr: refused: 400 InvalidCsr: signature? does not verify");
  // No registration was attempted.
  CHECK(rig.published_to("$aws/provisioning-templates/FleetTemplate/provision/json").empty());
}

TEST_CASE("fleet provisioner: a refused registration maps 403 to permission denied and forgets the token") {
  Rig rig;
  rig.start_and_issue();
  rig.mqtt.inject_message("$aws/provisioning-templates/FleetTemplate/provision/json/rejected",
                          "{\"statusCode\":403,\"errorCode\":\"AccessDenied\",\"errorMessage\":\"hook said no\"}");
  rig.pump();
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kPermissionDenied);
  CHECK(rig.provisioner.result().detail() == 403);
  CHECK(std::string(rig.provisioner.last_error()).find("RegisterThing: refused: 403 AccessDenied") != std::string::npos);
  CHECK(rig.provisioner.certificate().ownership_token.empty());
  for (const char* t : kAnswerTopics) CHECK(rig.mqtt.subscriptions().count(t) == 0);
}

TEST_CASE("fleet provisioner: no answer within the timeout fails the step that waited") {
  Rig rig;
  rig.start_and_issue();
  rig.clock.advance(Milliseconds(4999));
  rig.pump(1);
  CHECK(rig.provisioner.current_step() == Step::kRegisteringThing);
  rig.clock.advance(Milliseconds(1));
  rig.pump(1);
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kDeadlineExceeded);
  CHECK(std::string(rig.provisioner.last_error()) == "fleet provisioning: RegisterThing: no answer within 5000 ms");
}

TEST_CASE("fleet provisioner: a refused subscription stops before anything is published") {
  Rig rig;
  rig.mqtt.refuse_subscription("$aws/certificates/create-from-csr/json/rejected",
                               Status(StatusCode::kPermissionDenied, Origin::kMqtt, 135));
  REQUIRE(rig.provisioner.start(rig.request()).ok());
  rig.pump();
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kPermissionDenied);
  CHECK(std::string(rig.provisioner.last_error()).find("create-from-csr/json/rejected") != std::string::npos);
  CHECK(rig.mqtt.published().empty());
}

TEST_CASE("fleet provisioner: the connection dropping while waiting fails as unavailable") {
  Rig rig;
  rig.start_and_issue();
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kMqtt, 0));
  rig.pump(1);
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kUnavailable);
  CHECK(std::string(rig.provisioner.last_error()).find("connection ended") != std::string::npos);
}

TEST_CASE("fleet provisioner: an accepted answer that does not parse fails and names the field") {
  Rig rig;
  REQUIRE(rig.provisioner.start(rig.request()).ok());
  rig.pump();
  rig.mqtt.inject_message("$aws/certificates/create-from-csr/json/accepted", "{\"certificateId\":\"x\"}");
  rig.pump();
  REQUIRE(rig.provisioner.current_step() == Step::kFailed);
  CHECK(rig.provisioner.result().code() == StatusCode::kInvalidArgument);
  CHECK(std::string(rig.provisioner.last_error()).find("certificateOwnershipToken") != std::string::npos);
}

TEST_CASE("fleet provisioner: bad requests and a disconnected client are refused before anything goes out") {
  Rig rig;
  ProvisioningRequest bad = rig.request();
  bad.template_name = "no/slash";
  CHECK(rig.provisioner.start(bad).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(rig.provisioner.last_error()).find("template name") != std::string::npos);
  bad = rig.request();
  bad.csr_pem = "-----BEGIN PRIVATE KEY-----\n";
  CHECK(rig.provisioner.start(bad).code() == StatusCode::kInvalidArgument);
  CHECK(rig.mqtt.subscribe_calls().empty());

  testing::SimulatedClock clock;
  testing::FakeMqttClient offline{&clock};
  FleetProvisioner provisioner(offline, clock);
  CHECK(provisioner.start(rig.request()).code() == StatusCode::kFailedPrecondition);
  CHECK(std::string(provisioner.last_error()).find("not connected") != std::string::npos);
}

namespace {

// The provisioner over a connected agent (rotation: the device's own identity asks for its next
// certificate without dropping its connection).
struct AgentRig {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<FleetProvisioner> provisioner;  // ~25 KB: never on the stack
  Entry params[1] = {{"ThingName", "device-1"}};
  int app_messages = 0;

  AgentRig() {
    REQUIRE(config.thing_name.assign("device-1").ok());
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 7);
    provisioner = std::make_unique<FleetProvisioner>(*agent, &log);
    REQUIRE(agent->attach(*provisioner).ok());
    REQUIRE(agent->subscribe("things/device-1/inbox", Qos::k1, [this](const InboundMessage&) { ++app_messages; }).ok());
    REQUIRE(agent->start().ok());
    run(Milliseconds(200));
    REQUIRE(agent->connected());
  }
  ~AgentRig() { agent->detach(*provisioner).ignore(); }

  void run(Milliseconds duration) {
    const Milliseconds end = clock.now() + duration;
    while (clock.now() < end) agent->run_once(Milliseconds(50)).ignore();
  }

  ProvisioningRequest request() const {
    ProvisioningRequest r;
    r.template_name = "RotationTemplate";
    r.csr_pem = kCsr;
    r.parameters = Span<const Entry>(params, 1);
    r.answer_timeout = Milliseconds(5000);
    return r;
  }

  std::string published_to(const std::string& topic) const {
    std::string last;
    for (const auto& m : mqtt.published()) {
      if (m.topic == topic) last = m.payload;
    }
    return last;
  }
};

}  // namespace

TEST_CASE("fleet provisioner over an agent: the connection stays up and the application keeps its subscriptions") {
  AgentRig rig;
  REQUIRE(rig.provisioner->start(rig.request()).ok());
  rig.run(Milliseconds(200));
  REQUIRE(rig.provisioner->current_step() == Step::kCreatingCertificate);
  CHECK(member(rig.published_to("$aws/certificates/create-from-csr/json"), "certificateSigningRequest") == kCsr);

  rig.mqtt.inject_message("$aws/certificates/create-from-csr/json/accepted", issued_json());
  rig.run(Milliseconds(200));
  const std::string registration = rig.published_to("$aws/provisioning-templates/RotationTemplate/provision/json");
  CHECK(member(registration, "certificateOwnershipToken") == kToken);
  rig.mqtt.inject_message("$aws/provisioning-templates/RotationTemplate/provision/json/accepted",
                          "{\"thingName\":\"device-1\"}");
  rig.mqtt.inject_message("things/device-1/inbox", "still here");
  rig.run(Milliseconds(200));

  REQUIRE(rig.provisioner->current_step() == Step::kSucceeded);
  CHECK(rig.provisioner->thing().thing_name == "device-1");
  CHECK(rig.provisioner->certificate().certificate_pem == kCert);
  CHECK(rig.agent->connected());
  CHECK(rig.agent->stats().connects == 1);  // never dropped
  CHECK(rig.app_messages == 1);
  for (const char* t : {"$aws/certificates/create-from-csr/json/accepted",
                        "$aws/provisioning-templates/RotationTemplate/provision/json/rejected"}) {
    CHECK(rig.mqtt.subscriptions().count(t) == 0);
  }
  CHECK(rig.mqtt.subscriptions().count("things/device-1/inbox") == 1);

  // A second run works too (the topics were released).
  REQUIRE(rig.provisioner->start(rig.request()).ok());
  rig.run(Milliseconds(200));
  CHECK(rig.provisioner->current_step() == Step::kCreatingCertificate);
}

TEST_CASE("fleet provisioner over an agent: the agent's ticks time a missing answer out") {
  AgentRig rig;
  REQUIRE(rig.provisioner->start(rig.request()).ok());
  rig.run(Milliseconds(4000));
  CHECK(rig.provisioner->current_step() == Step::kCreatingCertificate);
  rig.run(Milliseconds(1500));
  REQUIRE(rig.provisioner->current_step() == Step::kFailed);
  CHECK(rig.provisioner->result().code() == StatusCode::kDeadlineExceeded);
  CHECK(rig.agent->connected());
}

TEST_CASE("fleet provisioner over an agent: a dropped connection ends the run, a refusal keeps the connection") {
  AgentRig rig;
  REQUIRE(rig.provisioner->start(rig.request()).ok());
  rig.run(Milliseconds(200));
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kMqtt, 0));
  rig.run(Milliseconds(100));
  REQUIRE(rig.provisioner->current_step() == Step::kFailed);
  CHECK(rig.provisioner->result().code() == StatusCode::kUnavailable);

  rig.run(Milliseconds(30000));  // the agent reconnects on its own
  REQUIRE(rig.agent->connected());
  REQUIRE(rig.provisioner->start(rig.request()).ok());
  rig.run(Milliseconds(200));
  rig.mqtt.inject_message("$aws/certificates/create-from-csr/json/rejected",
                          "{\"statusCode\":400,\"errorCode\":\"InvalidCsr\",\"errorMessage\":\"no\"}");
  rig.run(Milliseconds(200));
  REQUIRE(rig.provisioner->current_step() == Step::kFailed);
  CHECK(rig.provisioner->result().detail() == 400);
  CHECK(rig.agent->connected());
}

TEST_CASE("fleet provisioner over an agent: not connected is refused") {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  auto agent = std::make_unique<Agent>(mqtt, clock, config);
  auto provisioner = std::make_unique<FleetProvisioner>(*agent);
  ProvisioningRequest r;
  r.template_name = "T";
  r.csr_pem = kCsr;
  CHECK(provisioner->start(r).code() == StatusCode::kFailedPrecondition);
  CHECK(std::string(provisioner->last_error()).find("agent is not connected") != std::string::npos);
}
