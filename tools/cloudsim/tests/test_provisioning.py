"""Integration tests: Fleet Provisioning by CSR through the real TLS broker as the `claim`
identity (CreateCertificateFromCsr, RegisterThing, JSON and CBOR); the issued certificate then
connects to mosquitto as the new thing. Also the service alone (no broker) for what needs no
broker: no signing CA, CBOR decoding errors."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from typing import Any, List, Tuple

import cbor2

from harness import CLOUDSIM_DIR, PYTHON, THING, BrokerTestCase, Device, Doc, http

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
            cert_path, key_path = os.path.join(tmp, "dev.crt"), os.path.join(tmp, "dev.key")
            with open(cert_path, "w", encoding="ascii") as f:
                f.write(created["certificatePem"])
            with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(key_pem)
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
