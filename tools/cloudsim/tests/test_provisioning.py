"""Integration tests: Fleet Provisioning by CSR through the real TLS broker as the `claim`
identity (CreateCertificateFromCsr, RegisterThing, JSON and CBOR); the issued certificate then
connects to mosquitto as the new thing. Also the service alone (no broker) for what needs no
broker: no signing CA, CBOR decoding errors."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from typing import Any, Dict, List, Tuple

import cbor2

from harness import CLOUDSIM_DIR, PYTHON, THING, WAIT_S, BrokerTestCase, Device, Doc, http

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
except ImportError as exc:  # fail loudly, do not skip
    raise RuntimeError("python3-cryptography is required for Fleet Provisioning: "
                       "apt-get install -y python3-cryptography") from exc

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from cloudsim import provisioning_model as pm  # noqa: E402
from cloudsim.provisioning_service import ProvisioningService  # noqa: E402
from cloudsim.store import ProvisioningStore  # noqa: E402

CSR_TOPIC = "$aws/certificates/create-from-csr"
TEMPLATE = "tether-fleet"
TEMPLATE_BODY = {"thingName": "dev-{SerialNumber}", "requiredParameters": ["Model"],
                 "deviceConfiguration": {"fleet": "test", "serial": "{SerialNumber}"},
                 "preProvisioningHook": {"parameter": "SerialNumber", "deny": ["banned"]}}
CLAIM_FILTERS = [f"{CSR_TOPIC}/json/accepted", f"{CSR_TOPIC}/json/rejected",
                 f"{CSR_TOPIC}/cbor/accepted", f"{CSR_TOPIC}/cbor/rejected",
                 "$aws/provisioning-templates/+/provision/json/accepted",
                 "$aws/provisioning-templates/+/provision/json/rejected",
                 "$aws/provisioning-templates/+/provision/cbor/accepted",
                 "$aws/provisioning-templates/+/provision/cbor/rejected"]


def key_and_csr(cn: str) -> Tuple[bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def register_topic(template: str = TEMPLATE, fmt: str = "json") -> str:
    return f"$aws/provisioning-templates/{template}/provision/{fmt}"


def write_identity(directory: str, cert_pem: str, key_pem: bytes) -> Tuple[str, str]:
    """(certificate path, key path) of PEM files in `directory` (the key 0600)."""
    cert_path, key_path = os.path.join(directory, "dev.crt"), os.path.join(directory, "dev.key")
    with open(cert_path, "w", encoding="ascii") as f:
        f.write(cert_pem)
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(key_pem)
    return cert_path, key_path


def utc_now() -> datetime.datetime:
    """Naive UTC, as cryptography 38 returns certificate dates."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def mqtt_connect_packet(client_id: str) -> bytes:
    """An MQTT 3.1.1 CONNECT (clean session, keep-alive 60 s)."""
    cid = client_id.encode("ascii")
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body


def broker_verdict(broker: Dict[str, str], cert_pem: str, key_pem: bytes) -> str:
    """What the test broker makes of a client identity: "accepted" (CONNACK 0 to an MQTT
    CONNECT over mutual TLS), else why not: the client's own key check ("key mismatch"), the
    broker's TLS alert (OpenSSL's reason, e.g. "TLSV1_ALERT_UNKNOWN_CA"), or what it answered."""
    host, port = broker["TETHER_BROKER_HOST"], int(broker["TETHER_BROKER_PORT"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(os.path.join(broker["TETHER_BROKER_DIR"], "ca.crt"))
    # TLS 1.2: the broker judges our certificate inside the handshake. Under TLS 1.3 its alert
    # comes after our side is done, and a reset can overtake it.
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            context.load_cert_chain(*write_identity(tmp, cert_pem, key_pem))
        except ssl.SSLError as err:
            return "key mismatch" if "KEY_VALUES_MISMATCH" in str(err) else str(err)
    try:
        with socket.create_connection((host, port), timeout=WAIT_S) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(mqtt_connect_packet("verdict-" + uuid.uuid4().hex[:8]))
                answer = tls.recv(4)
    except ssl.SSLError as err:
        return err.reason or str(err)
    except OSError as err:  # the broker closed the connection without an alert
        return f"connection closed: {err}"
    return "accepted" if answer == b"\x20\x02\x00\x00" else f"answered {answer.hex()}"


class ProvisioningCase(BrokerTestCase):
    claim: Device

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        try:
            cls.claim = Device(cls.broker, CLAIM_FILTERS, name="claim")
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        if getattr(cls, "claim", None) is not None:
            cls.claim.close()
        super().tearDownClass()

    def call(self, topic: str, payload: Any, fmt: str = "json") -> Tuple[str, Doc]:
        """Publishes as the claim; returns ("accepted"|"rejected", document)."""
        self.claim.drain()
        data = payload if isinstance(payload, bytes) else (
            cbor2.dumps(payload) if fmt == "cbor" else json.dumps(payload).encode())
        self.claim.publish(topic, data)
        got, doc = self.claim.expect([topic + "/accepted", topic + "/rejected"],
                                     decode=cbor2.loads if fmt == "cbor" else json.loads)
        return got.rsplit("/", 1)[1], doc

    def create(self, cn: str, fmt: str = "json") -> Tuple[bytes, Doc]:
        key_pem, csr = key_and_csr(cn)
        kind, doc = self.call(f"{CSR_TOPIC}/{fmt}", {"certificateSigningRequest": csr}, fmt)
        self.assertEqual(kind, "accepted", doc)
        return key_pem, doc

    def certificate(self, certificate_id: str) -> Doc:
        status, doc = http(self.emulator.api, "GET", f"/certificates/{certificate_id}")
        self.assertEqual(status, 200, doc)
        return doc

    def rejected(self, topic: str, payload: Any, status: int, code: str,
                 fmt: str = "json") -> Doc:
        kind, doc = self.call(topic, payload, fmt)
        self.assertEqual((kind, doc.get("statusCode"), doc.get("errorCode")),
                         ("rejected", status, code), doc)
        self.assertIsInstance(doc.get("errorMessage"), str)
        return doc


class ProvisioningServiceTest(ProvisioningCase):
    EMULATOR_ARGS = ["--signing-ca-key", "$BROKER_DIR/ca.key", "--cert-days", "2"]

    def setUp(self) -> None:
        status, doc = http(self.emulator.api, "PUT", f"/provisioning-templates/{TEMPLATE}",
                           TEMPLATE_BODY)
        self.assertEqual(status, 200, doc)

    def test_csr_register_and_connect_as_the_new_thing(self) -> None:
        serial = uuid.uuid4().hex[:8]
        thing = f"dev-{serial}"
        key_pem, created = self.create(thing)
        self.assertEqual(set(created), {"certificateOwnershipToken", "certificateId",
                                        "certificatePem"})
        issued = x509.load_pem_x509_certificate(created["certificatePem"].encode())
        self.assertEqual(created["certificateId"], hashlib.sha256(
            issued.public_bytes(serialization.Encoding.DER)).hexdigest())
        life = issued.not_valid_after - issued.not_valid_before
        self.assertAlmostEqual(life.total_seconds(), 2 * 86400 + 60, delta=5)  # --cert-days 2
        cert = self.certificate(created["certificateId"])
        self.assertEqual((cert["status"], cert["thingName"], cert["certificatePem"]),
                         ("PENDING_ACTIVATION", None, created["certificatePem"]))
        self.assertNotIn(created["certificateOwnershipToken"], json.dumps(cert))

        kind, out = self.call(register_topic(), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"SerialNumber": serial, "Model": "m1"}})
        self.assertEqual((kind, out), ("accepted", {
            "thingName": thing, "deviceConfiguration": {"fleet": "test", "serial": serial}}))
        cert = self.certificate(created["certificateId"])
        self.assertEqual((cert["status"], cert["thingName"], cert["templateName"]),
                         ("ACTIVE", thing, TEMPLATE))
        status, listing = http(self.emulator.api, "GET", f"/certificates?thing={thing}")
        self.assertEqual((status, [c["certificateId"] for c in listing["certificates"]]),
                         (200, [created["certificateId"]]))
        self.assertEqual(listing["certificates"][0]["notAfter"],
                         int(issued.not_valid_after.replace(
                             tzinfo=datetime.timezone.utc).timestamp()))

        # The new certificate is a real identity at the broker: its own shadow answers.
        with tempfile.TemporaryDirectory() as tmp:
            cert_path, key_path = write_identity(tmp, created["certificatePem"], key_pem)
            device = Device(self.broker, [f"$aws/things/{thing}/shadow/get/+"], name=thing,
                            certfile=cert_path, keyfile=key_path)
            try:
                device.publish(f"$aws/things/{thing}/shadow/get", b"")
                topic, doc = device.expect([f"$aws/things/{thing}/shadow/get/rejected",
                                            f"$aws/things/{thing}/shadow/get/accepted"])
                self.assertEqual((topic.rsplit("/", 1)[1], doc.get("code")), ("rejected", 404))
            finally:
                device.close()

        # The token is single-use; a revoked certificate shows as such.
        self.rejected(register_topic(), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"SerialNumber": serial, "Model": "m1"}},
            400, "InvalidCertificateOwnershipToken")
        status, doc = http(self.emulator.api, "POST",
                           f"/certificates/{created['certificateId']}/revoke", b"")
        self.assertEqual((status, doc["status"]), (200, "REVOKED"))
        self.assertEqual(self.certificate(created["certificateId"])["status"], "REVOKED")

    def test_rejections(self) -> None:
        self.rejected(f"{CSR_TOPIC}/json", b"{not json", 400, "InvalidPayload")
        self.rejected(f"{CSR_TOPIC}/json", {"certificateSigningRequest": 1}, 400,
                      "InvalidPayload")
        self.rejected(f"{CSR_TOPIC}/json", {"certificateSigningRequest": "-----BEGIN x"}, 400,
                      "InvalidCsr")
        _, created = self.create("dev-rejections")
        token = created["certificateOwnershipToken"]
        self.rejected(register_topic("no-such-template"),
                      {"certificateOwnershipToken": token, "parameters": {}},
                      404, "ResourceNotFound")
        self.rejected(register_topic(), {"certificateOwnershipToken": "nope",
                                         "parameters": {"SerialNumber": "1", "Model": "m"}},
                      400, "InvalidCertificateOwnershipToken")
        self.rejected(register_topic(), {"parameters": {}}, 400,
                      "InvalidCertificateOwnershipToken")
        doc = self.rejected(register_topic(), {"certificateOwnershipToken": token,
                                               "parameters": {"SerialNumber": "1"}},
                            400, "InvalidParameters")
        self.assertIn("Model", doc["errorMessage"])
        self.rejected(register_topic(), {"certificateOwnershipToken": token,
                                         "parameters": {"SerialNumber": "banned", "Model": "m"}},
                      403, "AccessDenied")
        # none of that used up the token
        self.assertEqual(self.certificate(created["certificateId"])["status"],
                         "PENDING_ACTIVATION")
        kind, _ = self.call(register_topic(), {"certificateOwnershipToken": token,
                                               "parameters": {"SerialNumber": "ok", "Model": "m"}})
        self.assertEqual(kind, "accepted")

    def test_cbor(self) -> None:
        _, created = self.create("dev-cbor", fmt="cbor")
        self.assertRegex(created["certificateId"], r"^[0-9a-f]{64}$")
        kind, out = self.call(register_topic(fmt="cbor"), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"SerialNumber": "cbor", "Model": "m"}}, fmt="cbor")
        self.assertEqual((kind, out["thingName"]), ("accepted", "dev-cbor"))
        self.rejected(f"{CSR_TOPIC}/cbor", b"\xff\x00", 400, "InvalidPayload", fmt="cbor")

    def test_only_the_claim_may_use_the_provisioning_topics(self) -> None:
        # mosquitto may grant the subscriptions; its ACL filters what is delivered and dropped
        snoop = Device(self.broker, [f"{CSR_TOPIC}/json/accepted",
                                     register_topic() + "/accepted"], name="device-2")
        claim_snoop = Device(self.broker, [f"$aws/things/{THING}/shadow/get/+"], name="claim",
                             client_id="claim-snoop")
        try:
            _, created = self.create("dev-acl")
            kind, _ = self.call(register_topic(), {
                "certificateOwnershipToken": created["certificateOwnershipToken"],
                "parameters": {"SerialNumber": "acl", "Model": "m"}})
            self.assertEqual(kind, "accepted")
            self.device.request("get")  # device-1's shadow answer must not reach the claim
            # a device's own CSR goes nowhere: the broker drops it, nothing is issued
            status, before = http(self.emulator.api, "GET", "/certificates")
            self.device.publish(f"{CSR_TOPIC}/json",
                                {"certificateSigningRequest": key_and_csr("sneaky")[1]})
            time.sleep(0.5)
            status, after = http(self.emulator.api, "GET", "/certificates")
            self.assertEqual(len(after["certificates"]), len(before["certificates"]))
            self.assertEqual(snoop.collect([f"{CSR_TOPIC}/json/accepted",
                                            register_topic() + "/accepted"], 0.2), [])
            self.assertEqual(claim_snoop.collect([f"$aws/things/{THING}/shadow/get/accepted",
                                                  f"$aws/things/{THING}/shadow/get/rejected"],
                                                 0.2), [])
        finally:
            snoop.close()
            claim_snoop.close()

    def test_operator_api_and_cli(self) -> None:
        for body in ({"thingName": ""}, {"thingName": "x", "bogus": 1}, []):
            status, _ = http(self.emulator.api, "PUT", "/provisioning-templates/bad", body)
            self.assertEqual(status, 400, body)
        status, _ = http(self.emulator.api, "GET", "/provisioning-templates/none")
        self.assertEqual(status, 404)
        status, _ = http(self.emulator.api, "GET", "/certificates/none")
        self.assertEqual(status, 404)
        status, _ = http(self.emulator.api, "POST", "/certificates/none/revoke", b"")
        self.assertEqual(status, 404)
        status, _ = http(self.emulator.api, "DELETE", "/certificates")
        self.assertEqual(status, 405)
        env = dict(os.environ, PYTHONPATH=CLOUDSIM_DIR, CLOUDSIM_API=self.emulator.api)

        def cli(*args: str) -> Doc:
            out = subprocess.run([PYTHON, "-m", "cloudsim", "provisioning", *args], env=env,
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout)

        doc = cli("template", "cli-tpl", '{"thingName": "{Name}"}')
        self.assertEqual(doc["template"]["thingName"], "{Name}")
        self.assertIn("cli-tpl", [t["templateName"] for t in cli("templates")["templates"]])
        _, created = self.create("dev-cli")
        listed = cli("certificates", "--status", "PENDING_ACTIVATION")["certificates"]
        self.assertIn(created["certificateId"], [c["certificateId"] for c in listed])
        self.assertEqual(cli("revoke", created["certificateId"])["status"], "REVOKED")
        self.assertEqual(cli("certificate", created["certificateId"])["status"], "REVOKED")
        self.rejected(register_topic("cli-tpl"), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"Name": "x"}}, 400, "InvalidCertificateOwnershipToken")
        self.assertEqual(cli("delete-template", "cli-tpl")["deleted"], True)


class ProvisioningIssueModeTest(ProvisioningCase):
    """The issue-mode test knob: certificates a device must refuse to rotate to."""

    EMULATOR_ARGS = ["--signing-ca-key", "$BROKER_DIR/ca.key",
                     "--provisioning-template", f"{TEMPLATE}={json.dumps(TEMPLATE_BODY)}"]

    def set_mode(self, mode: str) -> None:
        status, doc = http(self.emulator.api, "PUT", "/provisioning/issue-mode", {"mode": mode})
        self.assertEqual((status, doc["mode"]), (200, mode), doc)

    def issue(self, cn: str) -> Tuple[Doc, x509.Certificate, bytes]:
        """(accepted document, the certificate, the CSR's private key PEM)."""
        key_pem, created = self.create(cn)
        return created, x509.load_pem_x509_certificate(created["certificatePem"].encode()), key_pem

    def broker_ca(self) -> x509.Certificate:
        with open(os.path.join(self.broker["TETHER_BROKER_DIR"], "ca.crt"), "rb") as f:
            return x509.load_pem_x509_certificate(f.read())

    @staticmethod
    def public_der(key: Any) -> bytes:
        return key.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)

    def tearDown(self) -> None:
        self.set_mode("normal")
        super().tearDown()

    def test_mode_is_read_and_set_through_the_api_and_refused_when_unknown(self) -> None:
        status, doc = http(self.emulator.api, "GET", "/provisioning/issue-mode")
        self.assertEqual((status, doc), (200, {"mode": "normal", "modes": [
            "normal", "untrusted-ca", "wrong-key", "expired"]}))
        for body in ({"mode": "sloppy"}, {}, ["expired"], b"{no json"):
            status, doc = http(self.emulator.api, "PUT", "/provisioning/issue-mode", body)
            self.assertEqual(status, 400, body)
        self.assertEqual(http(self.emulator.api, "GET", "/provisioning/issue-mode")[1]["mode"],
                         "normal")
        self.assertEqual(http(self.emulator.api, "DELETE", "/provisioning/issue-mode")[0], 405)
        self.assertEqual(http(self.emulator.api, "GET", "/provisioning/other")[0], 404)
        env = dict(os.environ, PYTHONPATH=CLOUDSIM_DIR, CLOUDSIM_API=self.emulator.api)
        for args, mode in ((["expired"], "expired"), ([], "expired"), (["normal"], "normal")):
            out = subprocess.run([PYTHON, "-m", "cloudsim", "provisioning", "issue-mode", *args],
                                 env=env, capture_output=True, text=True, timeout=20)
            self.assertEqual((out.returncode, json.loads(out.stdout)["mode"]), (0, mode),
                             out.stderr)
        out = subprocess.run([PYTHON, "-m", "cloudsim", "provisioning", "issue-mode", "sloppy"],
                             env=env, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(out.returncode, 0)

    def test_untrusted_ca_certificate_is_refused_by_the_broker(self) -> None:
        self.set_mode("untrusted-ca")
        created, issued, key_pem = self.issue("dev-untrusted")
        _, again, _ = self.issue("dev-untrusted-2")
        ca = self.broker_ca()
        self.assertNotEqual(issued.issuer, ca.subject)
        self.assertEqual(issued.issuer, again.issuer)  # one throwaway CA per process
        self.assertEqual(
            issued.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value,
            again.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value)
        with self.assertRaises(Exception):  # InvalidSignature: not the broker CA's
            ca.public_key().verify(issued.signature, issued.tbs_certificate_bytes,
                                   ec.ECDSA(hashes.SHA256()))
        self.assertEqual(self.certificate(created["certificateId"])["issueMode"], "untrusted-ca")
        self.assertEqual(broker_verdict(self.broker, created["certificatePem"], key_pem),
                         "TLSV1_ALERT_UNKNOWN_CA")
        # everything else as in normal mode: the token registers the thing
        kind, out = self.call(register_topic(), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"SerialNumber": "untrusted", "Model": "m"}})
        self.assertEqual((kind, out.get("thingName")), ("accepted", "dev-untrusted"), out)
        self.assertEqual(self.certificate(created["certificateId"])["status"], "ACTIVE")

    def test_wrong_key_certificate_does_not_match_the_csr_key(self) -> None:
        self.set_mode("wrong-key")
        created, issued, key_pem = self.issue("dev-wrong-key")
        csr_key = serialization.load_pem_private_key(key_pem, password=None).public_key()
        self.assertNotEqual(self.public_der(issued.public_key()), self.public_der(csr_key))
        self.assertEqual(issued.issuer, self.broker_ca().subject)
        self.assertEqual(broker_verdict(self.broker, created["certificatePem"], key_pem),
                         "key mismatch")

    def test_expired_certificate_ended_yesterday_and_is_refused(self) -> None:
        self.set_mode("expired")
        created, issued, key_pem = self.issue("dev-expired")
        yesterday = utc_now() - datetime.timedelta(days=1)
        self.assertAlmostEqual(issued.not_valid_after, yesterday,
                               delta=datetime.timedelta(seconds=30))
        self.assertLess(issued.not_valid_before, issued.not_valid_after)
        self.assertEqual(broker_verdict(self.broker, created["certificatePem"], key_pem),
                         "SSLV3_ALERT_CERTIFICATE_EXPIRED")

    def test_normal_again_issues_a_certificate_that_connects(self) -> None:
        self.set_mode("expired")
        self.issue("dev-before")
        self.set_mode("normal")
        created, issued, key_pem = self.issue("dev-normal")
        csr_key = serialization.load_pem_private_key(key_pem, password=None).public_key()
        self.assertEqual(self.public_der(issued.public_key()), self.public_der(csr_key))
        self.assertEqual(issued.issuer, self.broker_ca().subject)
        self.assertGreater(issued.not_valid_after, utc_now())
        self.assertEqual(self.certificate(created["certificateId"])["issueMode"], "normal")
        self.assertEqual(broker_verdict(self.broker, created["certificatePem"], key_pem),
                         "accepted")


class ProvisioningExpiryTest(ProvisioningCase):
    """Templates from the command line; ownership tokens that expire after 1 s."""

    EMULATOR_ARGS = ["--signing-ca-key", "$BROKER_DIR/ca.key", "--token-ttl", "1",
                     "--provisioning-template", "quick=" + json.dumps({"thingName": "{Serial}"})]

    def test_expired_token_is_refused_and_the_certificate_deleted(self) -> None:
        _, created = self.create("fast-1")
        time.sleep(1.2)
        self.rejected(register_topic("quick"), {"certificateOwnershipToken":
                                                created["certificateOwnershipToken"],
                                                "parameters": {"Serial": "fast-1"}},
                      400, "InvalidCertificateOwnershipToken")
        status, listing = http(self.emulator.api, "GET", "/certificates")
        self.assertEqual(status, 200)
        self.assertNotIn(created["certificateId"],
                         [c["certificateId"] for c in listing["certificates"]])
        status, _ = http(self.emulator.api, "GET", f"/certificates/{created['certificateId']}")
        self.assertEqual(status, 404)

    def test_template_from_the_command_line(self) -> None:
        _, created = self.create("fast-2")
        kind, out = self.call(register_topic("quick"), {
            "certificateOwnershipToken": created["certificateOwnershipToken"],
            "parameters": {"Serial": "fast-2"}})
        self.assertEqual((kind, out), ("accepted", {"thingName": "fast-2",
                                                    "deviceConfiguration": {}}))


class ServiceWithoutBrokerTest(unittest.TestCase):
    """ProvisioningService alone, publishing into a list."""

    def setUp(self) -> None:
        self.sent: List[Tuple[str, bytes]] = []
        self.store = ProvisioningStore(":memory:")
        self.addCleanup(self.store.close)

    def test_no_signing_ca_means_service_unavailable(self) -> None:
        service = ProvisioningService(self.store, lambda t, p: self.sent.append((t, p)), None)
        service.handle_message(f"{CSR_TOPIC}/json",
                               json.dumps({"certificateSigningRequest": key_and_csr("x")[1]})
                               .encode())
        self.assertEqual(len(self.sent), 1)
        topic, payload = self.sent[0]
        self.assertEqual(topic, f"{CSR_TOPIC}/json/rejected")
        self.assertEqual((json.loads(payload)["statusCode"], json.loads(payload)["errorCode"]),
                         (503, pm.SERVICE_UNAVAILABLE))
        # other topics are not answered
        service.handle_message("$aws/provisioning-templates/t/provision/xml", b"{}")
        self.assertEqual(len(self.sent), 1)


if __name__ == "__main__":
    unittest.main()
