"""Pure tests of the Fleet Provisioning logic (no broker): CSR checks, issued certificates,
ownership tokens and their expiry (time passed in), templates, RegisterThing."""

from __future__ import annotations

import datetime
import hashlib
import os
import sys
import unittest
from typing import Any, Tuple

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as exc:  # fail loudly, do not skip
    raise RuntimeError("python3-cryptography is required for Fleet Provisioning: "
                       "apt-get install -y python3-cryptography") from exc

from cloudsim import provisioning_model as pm  # noqa: E402
from cloudsim.provisioning_model import Config, ProvisioningError, SigningCa  # noqa: E402

NOW = 1_800_000_000.0  # 2027-01-15


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(days: float = 5) -> SigningCa:
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)
                             .replace(tzinfo=None) + datetime.timedelta(days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return SigningCa(cert, key)


def make_csr(key: Any = None, cn: str = "dev-42") -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(name(cn)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


CA = make_ca()
TEMPLATE = pm.validate_template("tpl", {
    "thingName": "dev-{SerialNumber}", "requiredParameters": ["Model"],
    "deviceConfiguration": {"mode": "fleet", "serial": "{SerialNumber}", "n": 3},
    "preProvisioningHook": {"parameter": "SerialNumber", "deny": ["666"]}})


def created(token: str = "tok-1", now: float = NOW,
            cfg: Config = Config()) -> Tuple[pm.Certificate, dict]:
    return pm.create_from_csr({"certificateSigningRequest": make_csr()}, CA, token, now, cfg)


class CsrTest(unittest.TestCase):
    def code(self, pem: str) -> str:
        with self.assertRaises(ProvisioningError) as ctx:
            pm.verify_csr(pem)
        self.assertEqual(ctx.exception.status, 400)
        return ctx.exception.code

    def test_ec_p256_and_rsa_2048_pass(self) -> None:
        self.assertEqual(pm.verify_csr(make_csr()).subject, name("dev-42"))
        pm.verify_csr(make_csr(rsa.generate_private_key(65537, 2048)))

    def test_other_keys_refused(self) -> None:
        self.assertEqual(self.code(make_csr(ec.generate_private_key(ec.SECP384R1()))),
                         pm.INVALID_CSR)
        self.assertEqual(self.code(make_csr(rsa.generate_private_key(65537, 1024))),
                         pm.INVALID_CSR)

    def test_garbage_and_broken_signature_refused(self) -> None:
        self.assertEqual(self.code("not a csr"), pm.INVALID_CSR)
        pem = make_csr()
        der = bytearray(x509.load_pem_x509_csr(pem.encode()).public_bytes(
            serialization.Encoding.DER))
        der[-5] ^= 0x01  # inside the signature
        tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
        self.assertEqual(self.code(tampered.decode()), pm.INVALID_CSR)

    def test_request_shape(self) -> None:
        for doc in ({}, {"certificateSigningRequest": 5}, {"certificateSigningRequest": ""},
                    {"certificateSigningRequest": "x" * (pm.MAX_CSR_CHARS + 1)}):
            with self.assertRaises(ProvisioningError) as ctx:
                pm.create_from_csr(doc, CA, "t", NOW, Config())
            self.assertEqual((ctx.exception.status, ctx.exception.code),
                             (400, pm.INVALID_PAYLOAD), doc)


class IssueTest(unittest.TestCase):
    def test_certificate_signed_by_the_ca_with_the_csr_subject(self) -> None:
        cert, out = created()
        self.assertEqual(set(out), {"certificateOwnershipToken", "certificateId",
                                    "certificatePem"})
        self.assertEqual(out["certificateOwnershipToken"], "tok-1")
        issued = x509.load_pem_x509_certificate(out["certificatePem"].encode())
        der = issued.public_bytes(serialization.Encoding.DER)
        self.assertEqual(out["certificateId"], hashlib.sha256(der).hexdigest())
        self.assertRegex(out["certificateId"], r"^[0-9a-f]{64}$")
        CA.certificate.public_key().verify(issued.signature, issued.tbs_certificate_bytes,
                                           ec.ECDSA(hashes.SHA256()))
        self.assertEqual((issued.subject, issued.issuer), (name("dev-42"), CA.certificate.subject))
        eku = issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertEqual(list(eku), [ExtendedKeyUsageOID.CLIENT_AUTH])
        self.assertFalse(issued.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertEqual((cert.status, cert.thing, cert.subject), (pm.PENDING_ACTIVATION, None,
                                                                   "CN=dev-42"))
        self.assertNotIn("tok-1", repr(cert.to_json()))  # only the token's hash is kept
        self.assertEqual(cert.token_sha256, pm.token_hash("tok-1"))
        self.assertEqual(cert.token_expires_at, NOW + 3600)

    def test_validity_is_configurable_and_capped_at_the_ca(self) -> None:
        cert, _ = created(cfg=Config(validity_days=2))
        self.assertAlmostEqual(cert.not_after, NOW + 2 * 86400, delta=1)
        cert, _ = created(cfg=Config(validity_days=365))  # the CA ends after 5 days
        self.assertAlmostEqual(cert.not_after, NOW + 5 * 86400, delta=1)
        self.assertEqual(cert.view()["notAfter"], int(cert.not_after))

    def test_each_certificate_is_new(self) -> None:
        a, _ = created("a")
        b, _ = created("b")
        self.assertNotEqual(a.certificate_id, b.certificate_id)


def public_der(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


class IssueModeTest(unittest.TestCase):
    """Certificates a device must refuse to switch to (test knob): each mode breaks one thing."""

    UNTRUSTED = pm.make_throwaway_ca(NOW)

    def issue(self, mode: str) -> Tuple[pm.Certificate, x509.Certificate, bytes]:
        """(record, issued certificate, the CSR key's public DER) in `mode`."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert, out = pm.create_from_csr({"certificateSigningRequest": make_csr(key)}, CA, "t",
                                       NOW, Config(validity_days=2), mode, self.UNTRUSTED)
        self.assertEqual((cert.issue_mode, cert.view()["issueMode"]), (mode, mode))
        return (cert, x509.load_pem_x509_certificate(out["certificatePem"].encode()),
                public_der(key.public_key()))

    @staticmethod
    def signed_by(issued: x509.Certificate, ca: SigningCa) -> bool:
        try:
            ca.certificate.public_key().verify(issued.signature, issued.tbs_certificate_bytes,
                                               ec.ECDSA(hashes.SHA256()))
            return True
        except Exception:  # InvalidSignature
            return False

    def test_normal_is_the_csr_key_signed_by_the_ca_and_valid_now(self) -> None:
        _, issued, csr_key = self.issue(pm.NORMAL)
        self.assertEqual(issued.issuer, CA.certificate.subject)
        self.assertTrue(self.signed_by(issued, CA))
        self.assertEqual(public_der(issued.public_key()), csr_key)
        self.assertLess(issued.not_valid_before, pm._utc(NOW))
        self.assertEqual(issued.not_valid_after, pm._utc(NOW + 2 * 86400))

    def test_untrusted_ca_signs_with_the_throwaway_ca(self) -> None:
        cert, issued, csr_key = self.issue(pm.UNTRUSTED_CA)
        self.assertNotEqual(issued.issuer, CA.certificate.subject)
        self.assertEqual(issued.issuer, self.UNTRUSTED.certificate.subject)
        self.assertTrue(self.signed_by(issued, self.UNTRUSTED))
        self.assertFalse(self.signed_by(issued, CA))
        aki = issued.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        self.assertEqual(aki.key_identifier, x509.SubjectKeyIdentifier.from_public_key(
            self.UNTRUSTED.certificate.public_key()).digest)
        self.assertEqual(public_der(issued.public_key()), csr_key)  # only the issuer is wrong
        self.assertEqual(cert.not_after, NOW + 2 * 86400)
        self.assertTrue(self.UNTRUSTED.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)

    def test_wrong_key_carries_another_key_than_the_csr(self) -> None:
        _, issued, csr_key = self.issue(pm.WRONG_KEY)
        _, other, _ = self.issue(pm.WRONG_KEY)
        self.assertNotEqual(public_der(issued.public_key()), csr_key)
        self.assertNotEqual(public_der(issued.public_key()), public_der(other.public_key()))
        ski = issued.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.assertEqual(ski, x509.SubjectKeyIdentifier.from_public_key(issued.public_key()))
        self.assertEqual(issued.issuer, CA.certificate.subject)  # only the key is wrong
        self.assertTrue(self.signed_by(issued, CA))
        self.assertEqual(issued.subject, name("dev-42"))

    def test_expired_ended_yesterday(self) -> None:
        cert, issued, csr_key = self.issue(pm.EXPIRED)
        self.assertEqual(issued.not_valid_after, pm._utc(NOW - 86400))
        self.assertLess(issued.not_valid_before, issued.not_valid_after)
        self.assertEqual(cert.not_after, NOW - 86400)
        self.assertEqual(public_der(issued.public_key()), csr_key)  # only the dates are wrong
        self.assertTrue(self.signed_by(issued, CA))

    def test_unknown_mode_or_missing_untrusted_ca_is_a_bug(self) -> None:
        csr = pm.verify_csr(make_csr())
        with self.assertRaises(ValueError):
            pm.issue_certificate(csr, CA, NOW, Config(), "sloppy")
        with self.assertRaises(ValueError):
            pm.issue_certificate(csr, CA, NOW, Config(), pm.UNTRUSTED_CA)

    def test_records_without_a_mode_read_as_normal(self) -> None:
        cert, _ = created()
        doc = cert.to_json()
        del doc["issue_mode"]  # stored before issue modes existed
        self.assertEqual(pm.Certificate.from_json(doc).issue_mode, pm.NORMAL)


class TemplateTest(unittest.TestCase):
    def test_valid_template_round_trips(self) -> None:
        again = pm.validate_template("tpl", TEMPLATE.to_json())
        self.assertEqual(again, TEMPLATE)
        self.assertEqual(TEMPLATE.parameters_used(), ["Model", "SerialNumber"])

    def test_invalid_templates(self) -> None:
        for tname, body in (("tpl", {}), ("tpl", {"thingName": ""}), ("tpl", []),
                            ("a b", {"thingName": "x"}), ("x" * 37, {"thingName": "x"}),
                            ("tpl", {"thingName": "dev-{"}), ("tpl", {"thingName": "dev-{}"}),
                            ("tpl", {"thingName": "x", "bogus": 1}),
                            ("tpl", {"thingName": "x", "requiredParameters": "a"}),
                            ("tpl", {"thingName": "x", "deviceConfiguration": [1]}),
                            ("tpl", {"thingName": "x", "preProvisioningHook": {"parameter": "a"}}),
                            ("tpl", {"thingName": "x", "preProvisioningHook": {
                                "parameter": "a", "allow": ["1"], "deny": ["2"]}})):
            with self.assertRaises(ValueError, msg=f"{tname} {body}"):
                pm.validate_template(tname, body)


class RegisterTest(unittest.TestCase):
    def err(self, status: int, code: str, template: Any, cert: Any, params: dict,
            now: float = NOW + 10) -> ProvisioningError:
        with self.assertRaises(ProvisioningError) as ctx:
            pm.register_thing(template, cert, params, now)
        self.assertEqual((ctx.exception.status, ctx.exception.code), (status, code))
        return ctx.exception

    PARAMS = {"SerialNumber": "42", "Model": "m1"}

    def test_register_activates_and_names_the_thing(self) -> None:
        cert, _ = created()
        out = pm.register_thing(TEMPLATE, cert, dict(self.PARAMS), NOW + 10)
        self.assertEqual(out, {"thingName": "dev-42", "deviceConfiguration": {
            "mode": "fleet", "serial": "42", "n": 3}})
        self.assertEqual((cert.status, cert.thing, cert.template), (pm.ACTIVE, "dev-42", "tpl"))
        # the token is single-use
        self.err(400, pm.INVALID_TOKEN, TEMPLATE, cert, dict(self.PARAMS))

    def test_unknown_template_comes_first(self) -> None:
        self.err(404, pm.RESOURCE_NOT_FOUND, None, None, {})

    def test_token_problems(self) -> None:
        self.err(400, pm.INVALID_TOKEN, TEMPLATE, None, dict(self.PARAMS))
        cert, _ = created(cfg=Config(token_ttl_s=60))
        pm.check_token(cert, NOW + 59)
        e = self.err(400, pm.INVALID_TOKEN, TEMPLATE, cert, dict(self.PARAMS), now=NOW + 60)
        self.assertIn("expired", e.message)
        self.assertEqual(pm.expired([cert], NOW + 59), [])
        self.assertEqual(pm.expired([cert], NOW + 60), [cert])
        revoked, _ = created()
        revoked.status = pm.REVOKED
        e = self.err(400, pm.INVALID_TOKEN, TEMPLATE, revoked, dict(self.PARAMS))
        self.assertIn("REVOKED", e.message)
        self.assertEqual(revoked.status, pm.REVOKED)

    def test_active_certificates_never_expire_by_token(self) -> None:
        cert, _ = created()
        pm.register_thing(TEMPLATE, cert, dict(self.PARAMS), NOW + 10)
        self.assertEqual(pm.expired([cert], NOW + 10 ** 6), [])

    def test_missing_or_bad_parameters(self) -> None:
        cert, _ = created()
        e = self.err(400, pm.INVALID_PARAMETERS, TEMPLATE, cert, {"SerialNumber": "42"})
        self.assertIn("Model", e.message)
        self.err(400, pm.INVALID_PARAMETERS, TEMPLATE, cert, {"Model": "m1"})
        self.err(400, pm.INVALID_PARAMETERS, TEMPLATE, cert, {"Model": "m", "SerialNumber": "a/b"})
        self.assertEqual(cert.status, pm.PENDING_ACTIVATION)  # still redeemable
        pm.register_thing(TEMPLATE, cert, dict(self.PARAMS), NOW + 10)

    def test_pre_provisioning_hook(self) -> None:
        cert, _ = created()
        self.err(403, pm.ACCESS_DENIED, TEMPLATE, cert, {"SerialNumber": "666", "Model": "m"})
        allow = pm.validate_template("allow", {"thingName": "{SerialNumber}", "preProvisioningHook":
                                               {"parameter": "Batch", "allow": ["b1"]}})
        self.err(403, pm.ACCESS_DENIED, allow, cert, {"SerialNumber": "7"})
        self.err(403, pm.ACCESS_DENIED, allow, cert, {"SerialNumber": "7", "Batch": "b2"})
        self.assertEqual(pm.register_thing(allow, cert, {"SerialNumber": "7", "Batch": "b1"},
                                           NOW)["thingName"], "7")

    def test_request_parsing(self) -> None:
        self.assertEqual(pm.parse_register_request({"certificateOwnershipToken": "t"}), ("t", {}))
        self.assertEqual(pm.parse_register_request(
            {"certificateOwnershipToken": "t", "parameters": {"a": "b"}}), ("t", {"a": "b"}))
        for doc, code in (({}, pm.INVALID_TOKEN), ({"certificateOwnershipToken": ""},
                                                    pm.INVALID_TOKEN),
                          ({"certificateOwnershipToken": 5}, pm.INVALID_PAYLOAD),
                          ({"certificateOwnershipToken": "t", "parameters": {"a": 1}},
                           pm.INVALID_PAYLOAD),
                          ({"certificateOwnershipToken": "t", "parameters": ["a"]},
                           pm.INVALID_PAYLOAD)):
            with self.assertRaises(ProvisioningError) as ctx:
                pm.parse_register_request(doc)
            self.assertEqual((ctx.exception.status, ctx.exception.code), (400, code), doc)

    def test_rejected_document(self) -> None:
        doc = ProvisioningError(404, pm.RESOURCE_NOT_FOUND, "no").document()
        self.assertEqual(doc, {"statusCode": 404, "errorCode": "ResourceNotFound",
                               "errorMessage": "no"})


if __name__ == "__main__":
    unittest.main()
