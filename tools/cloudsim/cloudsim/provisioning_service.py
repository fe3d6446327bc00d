"""The Fleet Provisioning service (CreateCertificateFromCsr, RegisterThing): routes device
requests to provisioning_model, persists, publishes; the operator side lists and revokes
certificates and manages templates.

    request  $aws/certificates/create-from-csr/json|cbor                 {certificateSigningRequest}
    answer   $aws/certificates/create-from-csr/json|cbor/accepted|rejected
    request  $aws/provisioning-templates/<template>/provision/json|cbor   {certificateOwnershipToken,
                                                                           parameters}
    answer   $aws/provisioning-templates/<template>/provision/json|cbor/accepted|rejected

Answers use the format of the request's topic (`/cbor` -> CBOR-encoded). Which client may call
these is the broker's business (test broker: the `claim` identity); cloudsim cannot see who
published.

The issue mode (operator, test only; provisioning_model.ISSUE_MODES) is kept in memory and starts
as `normal`; the `untrusted-ca` mode's throwaway CA is made once per process.
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from . import provisioning_model as pm
from .commands_model import CommandsError
from .commands_service import decode, encode
from .jobs_service import OperatorError
from .provisioning_model import Config, JsonObject, ProvisioningError, SigningCa
from .store import ProvisioningStore

Publisher = Callable[[str, bytes], None]
Clock = Callable[[], float]

log = logging.getLogger("cloudsim.provisioning")

CREATE_FROM_CSR = "$aws/certificates/create-from-csr"
TEMPLATES = "$aws/provisioning-templates"
SUBSCRIPTIONS = [f"{CREATE_FROM_CSR}/json", f"{CREATE_FROM_CSR}/cbor",
                 f"{TEMPLATES}/+/provision/json", f"{TEMPLATES}/+/provision/cbor"]


@dataclass(frozen=True)
class Request:
    api: str  # "create-from-csr" | "provision"
    fmt: str
    base: str  # the request topic; answers are <base>/accepted|rejected
    template: str = ""


def parse(topic: str) -> Optional[Request]:
    parts = topic.split("/")
    if len(parts) == 4 and "/".join(parts[:3]) == CREATE_FROM_CSR and parts[3] in pm.FORMATS:
        return Request("create-from-csr", parts[3], topic)
    if (len(parts) == 5 and parts[:2] == ["$aws", "provisioning-templates"]
            and parts[3] == "provision" and parts[4] in pm.FORMATS and parts[2]):
        return Request("provision", parts[4], topic, parts[2])
    return None


def is_provisioning_topic(topic: str) -> bool:
    return parse(topic) is not None


def new_token() -> str:
    return secrets.token_urlsafe(48)


_untrusted_ca: Optional[SigningCa] = None
_untrusted_ca_lock = threading.Lock()


def untrusted_ca() -> SigningCa:
    """The throwaway CA of the `untrusted-ca` issue mode: made on first use, kept in memory only,
    the same for the whole process."""
    global _untrusted_ca
    with _untrusted_ca_lock:
        if _untrusted_ca is None:
            _untrusted_ca = pm.make_throwaway_ca(time.time())
        return _untrusted_ca


def load_signing_ca(cert_path: str, key_path: str) -> Optional[SigningCa]:
    """The CA from PEM files; None (with a warning) when python3-cryptography is missing.
    OSError/ValueError for files that cannot be read or parsed."""
    if importlib.util.find_spec("cryptography") is None:
        log.warning("python3-cryptography is not installed: CreateCertificateFromCsr answers "
                    "ServiceUnavailable")
        return None
    with open(cert_path, "rb") as f:
        cert_pem = f.read()
    with open(key_path, "rb") as f:
        key_pem = f.read()
    return SigningCa.from_pem(cert_pem, key_pem)


class ProvisioningService:
    def __init__(self, store: ProvisioningStore, publish: Publisher,
                 ca: Optional[SigningCa], cfg: Optional[Config] = None,
                 clock: Clock = time.time, token_source: Callable[[], str] = new_token) -> None:
        self._store = store
        self._publish = publish
        self._ca = ca
        self.cfg = cfg or Config()
        self._clock = clock
        self._token_source = token_source
        self._lock = threading.Lock()
        self._issue_mode = pm.NORMAL

    # ---------------------------------------------------------------- device side (MQTT)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every received provisioning message; never raises."""
        try:
            req = parse(topic)
            if req is None:
                log.warning("ignoring message on unknown provisioning topic %r", topic)
                return
            with self._lock:
                self._handle(req, payload)
        except Exception:  # a bug must not take the emulator down
            log.exception("internal error handling %r", topic)

    def _handle(self, req: Request, payload: bytes) -> None:
        now = self._clock()
        try:
            try:
                doc = decode(payload, req.fmt)
            except CommandsError:
                raise ProvisioningError(400, pm.INVALID_PAYLOAD,
                                        f"payload is not a {req.fmt.upper()} object") from None
            if req.api == "create-from-csr":
                out = self._create(doc, now)
            else:
                out = self._register(req.template, doc, now)
            self._publish(req.base + "/accepted", encode(out, req.fmt))
        except ProvisioningError as err:
            log.info("%s rejected: %d %s %s", req.base, err.status, err.code, err.message)
            self._publish(req.base + "/rejected", encode(err.document(), req.fmt))

    def _create(self, doc: JsonObject, now: float) -> JsonObject:
        if self._ca is None:
            raise ProvisioningError(503, pm.SERVICE_UNAVAILABLE,
                                    "cloudsim has no signing CA (serve --signing-ca-key, and "
                                    "python3-cryptography)")
        self._purge(now)
        mode = self._issue_mode
        cert, out = pm.create_from_csr(doc, self._ca, self._token_source(), now, self.cfg, mode,
                                       untrusted_ca() if mode == pm.UNTRUSTED_CA else None)
        self._store.save_certificate(cert)
        if mode == pm.NORMAL:
            log.info("issued certificate %s (%s), PENDING_ACTIVATION", cert.certificate_id,
                     cert.subject)
        else:
            log.warning("issued certificate %s (%s), PENDING_ACTIVATION, in issue mode %s: a "
                        "device must refuse it", cert.certificate_id, cert.subject, mode)
        return out

    def _register(self, name: str, doc: JsonObject, now: float) -> JsonObject:
        token, params = pm.parse_register_request(doc)
        cert = self._store.certificate_by_token(pm.token_hash(token))
        out = pm.register_thing(self._template(name), cert, params, now)
        assert cert is not None  # register_thing refuses a missing one
        self._store.save_certificate(cert)
        log.info("thing %s registered with certificate %s (template %s)", cert.thing,
                 cert.certificate_id, name)
        return out

    def _template(self, name: str) -> Optional[pm.Template]:
        if not pm.valid_template_name(name):
            return None
        body = self._store.template(name)
        return None if body is None else pm.validate_template(name, body)

    def _purge(self, now: float) -> None:
        gone = pm.expired(self._store.certificates(status=pm.PENDING_ACTIVATION), now)
        if gone:
            self._store.delete_certificates([c.certificate_id for c in gone])
            for c in gone:
                log.info("deleted certificate %s: its ownership token expired", c.certificate_id)

    # ---------------------------------------------------------------- operator side (HTTP)

    def operator_list_certificates(self, query: Dict[str, List[str]]) -> JsonObject:
        thing = query.get("thing", [None])[0]
        status = query.get("status", [None])[0]
        with self._lock:
            self._purge(self._clock())
            return {"certificates": [c.view() for c in self._store.certificates(thing, status)]}

    def operator_get_certificate(self, certificate_id: str) -> JsonObject:
        with self._lock:
            self._purge(self._clock())
            cert = self._store.certificate(certificate_id)
            if cert is None:
                raise OperatorError(404, f"no certificate {certificate_id!r}")
            return cert.view(with_pem=True)

    def operator_revoke(self, certificate_id: str) -> JsonObject:
        with self._lock:
            cert = self._store.certificate(certificate_id)
            if cert is None:
                raise OperatorError(404, f"no certificate {certificate_id!r}")
            cert.status = pm.REVOKED
            self._store.save_certificate(cert)
            log.info("certificate %s REVOKED", certificate_id)
            return cert.view()

    def operator_get_issue_mode(self) -> JsonObject:
        with self._lock:
            return {"mode": self._issue_mode, "modes": list(pm.ISSUE_MODES)}

    def operator_set_issue_mode(self, body: Any) -> JsonObject:
        mode = body.get("mode") if isinstance(body, dict) else None
        if mode not in pm.ISSUE_MODES:
            raise OperatorError(400, f'body must be {{"mode": one of {list(pm.ISSUE_MODES)}}}')
        with self._lock:
            if mode != self._issue_mode:
                log.warning("issue mode %s (was %s)", mode, self._issue_mode)
            self._issue_mode = mode
            return {"mode": mode, "modes": list(pm.ISSUE_MODES)}

    def operator_list_templates(self) -> JsonObject:
        return {"templates": [{"templateName": name, "template": body}
                              for name, body in self._store.templates()]}

    def operator_get_template(self, name: str) -> JsonObject:
        body = self._store.template(name)
        if body is None:
            raise OperatorError(404, f"no provisioning template {name!r}")
        return {"templateName": name, "template": body}

    def operator_set_template(self, name: str, body: Any) -> JsonObject:
        try:
            template = pm.validate_template(name, body)
        except ValueError as err:
            raise OperatorError(400, str(err)) from None
        self._store.set_template(name, template.to_json())
        return {"templateName": name, "template": template.to_json()}

    def operator_delete_template(self, name: str) -> JsonObject:
        if not self._store.delete_template(name):
            raise OperatorError(404, f"no provisioning template {name!r}")
        return {"templateName": name, "deleted": True}
