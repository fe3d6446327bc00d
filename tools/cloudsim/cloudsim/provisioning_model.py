"""AWS IoT Fleet Provisioning by CSR as pure functions (no I/O, no clock, no broker).

A second reading of the device provisioning MQTT API (project notes PROTOCOLS.md §5):
CreateCertificateFromCsr verifies a CSR and issues a certificate signed by a configured CA (the
test broker's), plus a one-time certificate ownership token; RegisterThing redeems the token
against a provisioning template, names the thing and activates the certificate. Every function
takes the current time `now` (epoch seconds, float) so it is unit-testable.

Choices where the documentation leaves room (also in tools/cloudsim/README.md). The AWS docs give
the rejected document's shape, `{statusCode, errorCode, errorMessage}`, but list no codes; these
are ours:
* 400 InvalidPayload: not a JSON/CBOR object, a required field missing or of the wrong type,
  `parameters` not a map of strings.
* 400 InvalidCsr: the CSR does not parse, its self-signature does not verify, or its key is not
  EC P-256 or RSA of at least 2048 bits.
* 404 ResourceNotFound: no template of that name (the control-plane API's ResourceNotFound).
* 400 InvalidCertificateOwnershipToken: empty, unknown, expired, already used, or its certificate
  is no longer PENDING_ACTIVATION (the code AWS answers for an empty token; aws-iot-device-sdk-js-v2
  issue 69).
* 400 InvalidParameters: a required parameter (or one the thing name uses) is missing, or the
  resulting thing name is not a valid AWS thing name.
* 403 AccessDenied: the template's pre-provisioning hook refused (AWS docs: a hook that does not
  allow provisioning fails the request with ACCESS_DENIED).
* 503 ServiceUnavailable: cloudsim has no signing CA (started without --signing-ca-key) or lacks
  python3-cryptography.
Check order for RegisterThing: InvalidPayload, ResourceNotFound, InvalidCertificateOwnershipToken,
InvalidParameters, AccessDenied.

Certificates: certificateId = lowercase hex SHA-256 of the DER (64 hex characters, like AWS's);
subject copied from the CSR (AWS ignores it; the test broker takes the CN as the MQTT user name);
validity `Config.validity_days`, never past the CA's own expiry. States PENDING_ACTIVATION ->
ACTIVE (RegisterThing) and REVOKED (operator). The ownership token is opaque and random; only its
SHA-256 is kept; it expires after `Config.token_ttl_s` (3600), after which AWS deletes a still
unactivated certificate (`expired`).

Issue modes (a test knob, not AWS behaviour; `ISSUE_MODES`): certificates a device must refuse to
switch to during certificate rotation. `untrusted-ca`: signed by a throwaway CA the broker does not
trust; `wrong-key`: carries a fresh throwaway public key instead of the CSR's; `expired`: valid
for one day that ended yesterday. `normal` is the default.

Templates (cloudsim's own, much smaller than AWS's template language):
    {"thingName": "dev-{SerialNumber}",           # {Name} = the parameter Name (required)
     "requiredParameters": ["SerialNumber"],      # optional, besides those the name uses
     "deviceConfiguration": {"k": "v"},           # optional; {Name} works in string values
     "preProvisioningHook": {"parameter": "SerialNumber", "deny": ["bad-1"]}}  # or "allow": [...]
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

JsonObject = Dict[str, Any]

JSON = "json"
CBOR = "cbor"
FORMATS = (JSON, CBOR)

PENDING_ACTIVATION = "PENDING_ACTIVATION"
ACTIVE = "ACTIVE"
REVOKED = "REVOKED"

INVALID_PAYLOAD = "InvalidPayload"
INVALID_CSR = "InvalidCsr"
RESOURCE_NOT_FOUND = "ResourceNotFound"
INVALID_TOKEN = "InvalidCertificateOwnershipToken"
INVALID_PARAMETERS = "InvalidParameters"
ACCESS_DENIED = "AccessDenied"
SERVICE_UNAVAILABLE = "ServiceUnavailable"

MAX_CSR_CHARS = 64 * 1024
MAX_TEMPLATE_NAME = 36
MAX_THING = 128
MIN_RSA_BITS = 2048
NORMAL = "normal"
UNTRUSTED_CA = "untrusted-ca"
WRONG_KEY = "wrong-key"
EXPIRED = "expired"
ISSUE_MODES = (NORMAL, UNTRUSTED_CA, WRONG_KEY, EXPIRED)

DEFAULT_VALIDITY_DAYS = 365.0
DEFAULT_TOKEN_TTL_S = 3600.0
_TEMPLATE_NAME = re.compile(r"^[0-9A-Za-z_-]{1,36}$")
_THING_NAME = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_FIELDS = {"thingName", "requiredParameters", "deviceConfiguration",
                    "preProvisioningHook"}


@dataclass
class Config:
    validity_days: float = DEFAULT_VALIDITY_DAYS
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S


class ProvisioningError(Exception):
    """A rejected request: becomes `{statusCode, errorCode, errorMessage}` on .../rejected."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def document(self) -> JsonObject:
        return {"statusCode": self.status, "errorCode": self.code, "errorMessage": self.message}


def _utc(epoch_s: float) -> datetime.datetime:
    """Naive UTC datetime, as cryptography 38 takes and returns them."""
    return datetime.datetime.fromtimestamp(epoch_s, datetime.timezone.utc).replace(tzinfo=None)


def _epoch(when: datetime.datetime) -> float:
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ certificates


@dataclass
class Certificate:
    """One issued certificate. Times are epoch seconds."""

    certificate_id: str
    pem: str
    status: str
    created_at: float
    not_after: float
    token_sha256: str
    token_expires_at: float
    thing: Optional[str] = None
    template: Optional[str] = None
    parameters: Dict[str, str] = field(default_factory=dict)
    subject: str = ""
    issue_mode: str = NORMAL

    def to_json(self) -> JsonObject:
        return dict(self.__dict__)

    @staticmethod
    def from_json(doc: JsonObject) -> "Certificate":
        return Certificate(**doc)

    def view(self, with_pem: bool = False) -> JsonObject:
        """The operator's view (HTTP API); never the token."""
        doc: JsonObject = {"certificateId": self.certificate_id, "status": self.status,
                           "thingName": self.thing, "subject": self.subject,
                           "createdAt": int(self.created_at), "notAfter": int(self.not_after),
                           "issueMode": self.issue_mode}
        if self.template is not None:
            doc["templateName"] = self.template
            doc["parameters"] = dict(self.parameters)
        if self.status == PENDING_ACTIVATION:
            doc["tokenExpiresAt"] = int(self.token_expires_at)
        if with_pem:
            doc["certificatePem"] = self.pem
        return doc


@dataclass
class SigningCa:
    """The CA that signs issued certificates (cryptography objects)."""

    certificate: Any
    key: Any

    @staticmethod
    def from_pem(cert_pem: bytes, key_pem: bytes) -> "SigningCa":
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        return SigningCa(x509.load_pem_x509_certificate(cert_pem),
                         serialization.load_pem_private_key(key_pem, password=None))


def _key_problem(public_key: Any) -> Optional[str]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if isinstance(public_key.curve, ec.SECP256R1):
            return None
        return f"EC curve {public_key.curve.name} is not supported (only P-256)"
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size >= MIN_RSA_BITS:
            return None
        return f"RSA key of {public_key.key_size} bits is too short (at least {MIN_RSA_BITS})"
    return f"key type {type(public_key).__name__} is not supported (EC P-256 or RSA >= 2048)"


def verify_csr(pem: str) -> Any:
    """The parsed CSR (cryptography object) or ProvisioningError(400, InvalidCsr)."""
    from cryptography import x509
    try:
        csr = x509.load_pem_x509_csr(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ProvisioningError(400, INVALID_CSR, "certificateSigningRequest is not a PEM "
                                                  "certificate signing request") from None
    try:
        valid = csr.is_signature_valid
    except Exception:  # an unsupported signature algorithm
        valid = False
    if not valid:
        raise ProvisioningError(400, INVALID_CSR, "the CSR's signature does not verify")
    try:
        public_key = csr.public_key()
    except (ValueError, TypeError):
        raise ProvisioningError(400, INVALID_CSR, "the CSR's public key does not parse") from None
    problem = _key_problem(public_key)
    if problem is not None:
        raise ProvisioningError(400, INVALID_CSR, problem)
    return csr


def make_throwaway_ca(now: float) -> SigningCa:
    """A new self-signed EC P-256 CA that nobody trusts (the `untrusted-ca` issue mode)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudsim untrusted CA")])
    cert = (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_utc(now - 86400))
            .not_valid_after(_utc(now + 3650 * 86400))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return SigningCa(cert, key)


def issue_certificate(csr: Any, ca: SigningCa, now: float, cfg: Config, mode: str = NORMAL,
                      untrusted_ca: Optional[SigningCa] = None) -> Tuple[str, bytes]:
    """(PEM, DER) of a client certificate for the CSR's key and subject, signed by `ca`; in a
    test issue mode, one a device must refuse (signed by `untrusted_ca`, another key, expired)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    if mode not in ISSUE_MODES:
        raise ValueError(f"unknown issue mode {mode!r}")
    if mode == UNTRUSTED_CA:
        if untrusted_ca is None:
            raise ValueError("the untrusted-ca issue mode needs the throwaway CA")
        ca = untrusted_ca
    if mode == EXPIRED:  # one day of validity that ended yesterday
        not_before, not_after = _utc(now - 2 * 86400), _utc(now - 86400)
    else:
        not_before = _utc(now - 60)  # a little clock skew between the two ends
        not_after = min(_utc(now + cfg.validity_days * 86400), ca.certificate.not_valid_after)
    public_key = (ec.generate_private_key(ec.SECP256R1()).public_key() if mode == WRONG_KEY
                  else csr.public_key())
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (x509.CertificateBuilder()
               .subject_name(csr.subject)
               .issuer_name(ca.certificate.subject)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                              critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                   ca_ski), critical=False))
    cert = builder.sign(ca.key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            cert.public_bytes(serialization.Encoding.DER))


def certificate_id(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def parse_create_request(doc: JsonObject) -> str:
    csr = doc.get("certificateSigningRequest")
    if not isinstance(csr, str) or not csr:
        raise ProvisioningError(400, INVALID_PAYLOAD,
                                "certificateSigningRequest is required (a PEM string)")
    if len(csr) > MAX_CSR_CHARS:
        raise ProvisioningError(400, INVALID_PAYLOAD,
                                f"certificateSigningRequest exceeds {MAX_CSR_CHARS} characters")
    return csr


def create_from_csr(doc: JsonObject, ca: SigningCa, token: str, now: float, cfg: Config,
                    mode: str = NORMAL, untrusted_ca: Optional[SigningCa] = None
                    ) -> Tuple[Certificate, JsonObject]:
    """CreateCertificateFromCsr: the new PENDING_ACTIVATION certificate and the accepted
    document. `token` is the fresh ownership token (random, from the caller); `mode` and
    `untrusted_ca` as for issue_certificate."""
    csr = verify_csr(parse_create_request(doc))
    pem, der = issue_certificate(csr, ca, now, cfg, mode, untrusted_ca)
    from cryptography import x509
    cert_id = certificate_id(der)
    not_after = _epoch(x509.load_der_x509_certificate(der).not_valid_after)
    cert = Certificate(certificate_id=cert_id, pem=pem, status=PENDING_ACTIVATION,
                       created_at=now, not_after=not_after, token_sha256=token_hash(token),
                       token_expires_at=now + cfg.token_ttl_s, subject=csr.subject.rfc4514_string(),
                       issue_mode=mode)
    return cert, {"certificateOwnershipToken": token, "certificateId": cert_id,
                  "certificatePem": pem}


def expired(certs: List[Certificate], now: float) -> List[Certificate]:
    """The certificates AWS deletes: still PENDING_ACTIVATION after their token expired."""
    return [c for c in certs if c.status == PENDING_ACTIVATION and c.token_expires_at <= now]


# ------------------------------------------------------------------------------ templates


@dataclass
class Template:
    name: str
    thing_name: str
    required: List[str] = field(default_factory=list)
    device_configuration: JsonObject = field(default_factory=dict)
    hook: Optional[JsonObject] = None

    def to_json(self) -> JsonObject:
        doc: JsonObject = {"thingName": self.thing_name, "requiredParameters": list(self.required),
                           "deviceConfiguration": dict(self.device_configuration)}
        if self.hook is not None:
            doc["preProvisioningHook"] = dict(self.hook)
        return doc

    def parameters_used(self) -> List[str]:
        used = list(self.required)
        for name in _PLACEHOLDER.findall(self.thing_name):
            if name not in used:
                used.append(name)
        return used


def valid_template_name(name: str) -> bool:
    return bool(_TEMPLATE_NAME.match(name))


def _string_list(value: Any, what: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return list(value)


def validate_template(name: str, body: Any) -> Template:
    """A template from its JSON form; ValueError says what is wrong."""
    if not isinstance(name, str) or not valid_template_name(name):
        raise ValueError(f"invalid template name {name!r}: 1-{MAX_TEMPLATE_NAME} of [0-9A-Za-z_-]")
    if not isinstance(body, dict):
        raise ValueError("a template must be a JSON object")
    unknown = set(body) - _TEMPLATE_FIELDS
    if unknown:
        raise ValueError(f"unknown template fields {sorted(unknown)}")
    thing_name = body.get("thingName")
    if not isinstance(thing_name, str) or not thing_name:
        raise ValueError('thingName is required, e.g. "dev-{SerialNumber}"')
    rest = _PLACEHOLDER.sub("", thing_name)
    if "{" in rest or "}" in rest or not all(_PLACEHOLDER.findall(thing_name)):
        raise ValueError("thingName: every { must open a {ParameterName} placeholder")
    required = _string_list(body.get("requiredParameters", []), "requiredParameters")
    config = body.get("deviceConfiguration", {})
    if not isinstance(config, dict):
        raise ValueError("deviceConfiguration must be an object")
    hook = body.get("preProvisioningHook")
    if hook is not None:
        if (not isinstance(hook, dict) or not isinstance(hook.get("parameter"), str)
                or len(set(hook) & {"allow", "deny"}) != 1
                or set(hook) - {"parameter", "allow", "deny"}):
            raise ValueError('preProvisioningHook must be {"parameter": str, "allow": [str]} or '
                             '{"parameter": str, "deny": [str]}')
        kind = "allow" if "allow" in hook else "deny"
        hook = {"parameter": hook["parameter"], kind: _string_list(hook[kind], kind)}
    return Template(name=name, thing_name=thing_name, required=required,
                    device_configuration=dict(config), hook=hook)


def _substitute(text: str, params: Dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: params[m.group(1)], text)


# ------------------------------------------------------------------------------ RegisterThing


def parse_register_request(doc: JsonObject) -> Tuple[str, Dict[str, str]]:
    """(ownership token, parameters) of a RegisterThing request."""
    token = doc.get("certificateOwnershipToken")
    if token is None or token == "":
        raise ProvisioningError(400, INVALID_TOKEN, "certificateOwnershipToken cannot be empty")
    if not isinstance(token, str):
        raise ProvisioningError(400, INVALID_PAYLOAD, "certificateOwnershipToken must be a string")
    params = doc.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise ProvisioningError(400, INVALID_PAYLOAD,
                                "parameters must be an object of string values")
    return token, dict(params)


def check_token(cert: Optional[Certificate], now: float) -> Certificate:
    """The certificate the token belongs to, if it may still be redeemed."""
    if cert is None:
        raise ProvisioningError(400, INVALID_TOKEN, "certificateOwnershipToken is not valid "
                                                    "(unknown, or expired and deleted)")
    if cert.status == ACTIVE:
        raise ProvisioningError(400, INVALID_TOKEN, "certificateOwnershipToken was already used")
    if cert.status != PENDING_ACTIVATION:
        raise ProvisioningError(400, INVALID_TOKEN, f"the certificate is {cert.status}")
    if cert.token_expires_at <= now:
        raise ProvisioningError(400, INVALID_TOKEN, "certificateOwnershipToken has expired")
    return cert


def register_thing(template: Optional[Template], cert: Optional[Certificate],
                   params: Dict[str, str], now: float) -> JsonObject:
    """RegisterThing after parse_register_request: activates `cert` and attaches it to the
    thing the template names; returns the accepted document."""
    if template is None:
        raise ProvisioningError(404, RESOURCE_NOT_FOUND, "no such provisioning template")
    cert = check_token(cert, now)
    missing = [p for p in template.parameters_used() if p not in params]
    if missing:
        raise ProvisioningError(400, INVALID_PARAMETERS,
                                f"missing required parameters {missing}")
    thing = _substitute(template.thing_name, params)
    if not _THING_NAME.match(thing):
        raise ProvisioningError(400, INVALID_PARAMETERS,
                                f"thing name {thing!r} is not valid: 1-{MAX_THING} of "
                                "[A-Za-z0-9:_-]")
    hook = template.hook
    if hook is not None:
        value = params.get(hook["parameter"])
        allowed = value in hook["allow"] if "allow" in hook else value not in hook["deny"]
        if not allowed:
            raise ProvisioningError(403, ACCESS_DENIED,
                                    "the pre-provisioning hook did not allow provisioning")
    config = {k: _substitute(v, params) if isinstance(v, str) and all(
        p in params for p in _PLACEHOLDER.findall(v)) else v
        for k, v in template.device_configuration.items()}
    cert.status = ACTIVE
    cert.thing = thing
    cert.template = template.name
    cert.parameters = dict(params)
    return {"deviceConfiguration": config, "thingName": thing}
