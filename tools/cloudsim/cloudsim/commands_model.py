"""AWS IoT Commands logic as pure functions (no I/O, no clock, no broker).

A second reading of the Commands device protocol (project notes PROTOCOLS.md §3). Every function
takes the current time `now` (epoch seconds, float) so it is unit-testable.

One command execution per (thing, executionId). The operator creates it with a payload, a format
(`json`, `cbor`; the MQTT 5 content type) and a timeout; the device reports progress with update
requests (`{"status", "statusReason"?, "result"?}`) which are accepted or rejected.

Choices where the documentation leaves room (also in docs/cloudsim.md):
* Statuses: CREATED (service), IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT. A device may
  report IN_PROGRESS (repeatedly), SUCCEEDED, FAILED, REJECTED and TIMED_OUT. CREATED from a device
  -> InvalidStateTransition; a missing, non-string or unknown status -> InvalidRequest.
* SUCCEEDED, FAILED, REJECTED are terminal: any later update -> TerminalStateReached. TIMED_OUT is
  not listed as terminal: after TIMED_OUT (set by the service or reported by the device) the device
  may still report SUCCEEDED, FAILED or REJECTED (a late outcome is recorded); IN_PROGRESS or
  TIMED_OUT after TIMED_OUT -> InvalidStateTransition.
* The timeout runs from creation and is not extended by IN_PROGRESS. When it passes without a
  terminal status the service sets TIMED_OUT with reasonCode `$NO_RESPONSE_FROM_DEVICE`.
* `statusReason`: optional object; `reasonCode` (string, 1-64 chars) is required when
  `reasonDescription` (string, <= 1024 chars) is given; a given statusReason replaces the stored one,
  an absent one clears it. `result`: optional object of `{"<key>": {"s": str} | {"b": bool} |
  {"bin": base64 str}}`; replaces the stored result when given. Unknown top-level fields are
  ignored.
* Check order: InvalidJson (not a JSON/CBOR object), InvalidRequest (shape), ResourceNotFound,
  TerminalStateReached, InvalidStateTransition.
* Timestamps shown by the operator API are epoch milliseconds (the unit of Commands events).
* `Config.second_s` (1.0 normally) lets tests shrink a second (`--time-scale`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .jsonutil import loads_strict

JsonObject = Dict[str, Any]

CREATED = "CREATED"
IN_PROGRESS = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
REJECTED = "REJECTED"
TIMED_OUT = "TIMED_OUT"
ALL_STATUSES = (CREATED, IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT)
DEVICE_STATUSES = (IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT)
TERMINAL = (SUCCEEDED, FAILED, REJECTED)
NO_RESPONSE = "$NO_RESPONSE_FROM_DEVICE"

JSON = "json"
CBOR = "cbor"
FORMATS = (JSON, CBOR)
CONTENT_TYPES = {JSON: "application/json", CBOR: "application/cbor"}

AWS = "aws"
NEUTRAL = "neutral"
PROFILES = (AWS, NEUTRAL)

MAX_EXECUTION_ID = 64
MAX_REASON_CODE = 64
MAX_REASON_DESCRIPTION = 1024
MAX_PAYLOAD_BYTES = 128 * 1024
DEFAULT_TIMEOUT_S = 10
MAX_TIMEOUT_S = 24 * 3600
_EXECUTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RESULT_TYPES = {"s": str, "b": bool, "bin": str}

# rejected `error` values (PROTOCOLS.md §3, RejectedErrorCode)
INVALID_TOPIC = "InvalidTopic"
INVALID_JSON = "InvalidJson"
INVALID_REQUEST = "InvalidRequest"
INVALID_STATE_TRANSITION = "InvalidStateTransition"
RESOURCE_NOT_FOUND = "ResourceNotFound"
INTERNAL_ERROR = "InternalError"
TERMINAL_STATE_REACHED = "TerminalStateReached"


@dataclass
class Config:
    second_s: float = 1.0


class CommandsError(Exception):
    """A rejected device update: becomes `{error, errorMessage, executionId}` on .../rejected."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def document(self, execution_id: str) -> JsonObject:
        return {"error": self.code, "errorMessage": self.message, "executionId": execution_id}


def accepted_document(execution_id: str) -> JsonObject:
    return {"executionId": execution_id}


def stamp(now: float) -> int:
    return int(now * 1000)


@dataclass
class Execution:
    """One command execution. Times are epoch seconds (float); `deadline` is in emulator time."""

    thing: str
    execution_id: str
    seq: int
    payload_b64: str  # the request payload as sent on the wire
    fmt: str = JSON
    content_type: str = CONTENT_TYPES[JSON]
    profile: str = AWS
    timeout_s: float = DEFAULT_TIMEOUT_S
    status: str = CREATED
    status_reason: Optional[JsonObject] = None
    result: Optional[JsonObject] = None
    created_at: float = 0.0
    last_updated_at: float = 0.0
    completed_at: Optional[float] = None
    deadline: Optional[float] = None  # while not terminal and not TIMED_OUT

    def to_json(self) -> JsonObject:
        return dict(self.__dict__)

    @staticmethod
    def from_json(doc: JsonObject) -> "Execution":
        return Execution(**doc)

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    def view(self) -> JsonObject:
        """The operator's view (HTTP API)."""
        doc: JsonObject = {
            "thingName": self.thing, "executionId": self.execution_id, "status": self.status,
            "format": self.fmt, "contentType": self.content_type, "profile": self.profile,
            "timeoutSeconds": self.timeout_s, "createdAt": stamp(self.created_at),
            "lastUpdatedAt": stamp(self.last_updated_at), "payloadBase64": self.payload_b64}
        if self.fmt == JSON:
            try:
                doc["payload"] = json.loads(self.payload.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                pass
        if self.status_reason is not None:
            doc["statusReason"] = dict(self.status_reason)
        if self.result is not None:
            doc["result"] = dict(self.result)
        if self.completed_at is not None:
            doc["completedAt"] = stamp(self.completed_at)
        return doc


def valid_execution_id(execution_id: str) -> bool:
    return bool(_EXECUTION_ID.match(execution_id))


def _timeout(value: Any) -> float:
    if value is None:
        return float(DEFAULT_TIMEOUT_S)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("timeoutSeconds must be a number")
    if not 0 < value <= MAX_TIMEOUT_S:
        raise ValueError(f"timeoutSeconds must be in (0, {MAX_TIMEOUT_S}]")
    return float(value)


def create(execs: List[Execution], thing: str, execution_id: str, payload: bytes, fmt: str,
           timeout: Any, now: float, cfg: Config, content_type: Optional[str] = None,
           profile: str = AWS) -> Execution:
    """A new CREATED execution appended to `execs` (this thing's executions).
    ValueError: invalid argument; KeyError: the execution ID exists already."""
    if not isinstance(execution_id, str) or not valid_execution_id(execution_id):
        raise ValueError(f"invalid executionId {execution_id!r}: 1-{MAX_EXECUTION_ID} of "
                         "[A-Za-z0-9_-]")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}")
    if profile == NEUTRAL and execution_id == "jobs":
        raise ValueError("executionId 'jobs' is reserved in the neutral profile (cmd/<thing>/jobs)")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}")
    if not isinstance(payload, bytes) or len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload must be at most {MAX_PAYLOAD_BYTES} bytes")
    if content_type is not None and (not isinstance(content_type, str) or not content_type):
        raise ValueError("contentType must be a non-empty string")
    seconds = _timeout(timeout)
    if any(e.execution_id == execution_id for e in execs):
        raise KeyError(execution_id)
    e = Execution(thing=thing, execution_id=execution_id,
                  seq=max((x.seq for x in execs), default=0) + 1,
                  payload_b64=base64.b64encode(payload).decode("ascii"), fmt=fmt,
                  content_type=content_type or CONTENT_TYPES[fmt], profile=profile,
                  timeout_s=seconds, created_at=now, last_updated_at=now,
                  deadline=now + seconds * cfg.second_s)
    execs.append(e)
    return e


def expiry_seconds(e: Execution, now: float) -> int:
    """MQTT 5 message-expiry interval of the request: the real seconds left before TIMED_OUT
    (at least 1)."""
    if e.deadline is None:
        return 1
    return max(1, math.ceil(e.deadline - now - 1e-9))


def apply_timeouts(execs: List[Execution], now: float) -> List[Execution]:
    """Sets TIMED_OUT on every execution whose deadline has passed; returns those changed."""
    changed = []
    for e in execs:
        if e.deadline is not None and e.deadline <= now and e.status not in TERMINAL + (TIMED_OUT,):
            e.status = TIMED_OUT
            e.status_reason = {"reasonCode": NO_RESPONSE,
                               "reasonDescription": "the device did not report a terminal "
                                                    "status before the timeout"}
            e.deadline = None
            e.last_updated_at = now
            changed.append(e)
    return changed


def parse_json(payload: bytes) -> JsonObject:
    try:
        doc = loads_strict(payload.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise CommandsError(INVALID_JSON, "payload is not valid JSON") from None
    if not isinstance(doc, dict):
        raise CommandsError(INVALID_JSON, "payload is not a JSON object")
    return doc


def validate_update(doc: JsonObject) -> None:
    """Raises InvalidRequest for a malformed update request; CREATED is left to `update`."""
    status = doc.get("status")
    if status is None:
        raise CommandsError(INVALID_REQUEST, "status is required")
    if not isinstance(status, str) or status not in ALL_STATUSES:
        raise CommandsError(INVALID_REQUEST, f"invalid status {status!r}: one of "
                                             f"{list(DEVICE_STATUSES)}")
    if "statusReason" in doc:
        reason = doc["statusReason"]
        if not isinstance(reason, dict):
            raise CommandsError(INVALID_REQUEST, "statusReason must be an object")
        unknown = set(reason) - {"reasonCode", "reasonDescription"}
        if unknown:
            raise CommandsError(INVALID_REQUEST, f"unknown statusReason fields {sorted(unknown)}")
        code, desc = reason.get("reasonCode"), reason.get("reasonDescription")
        if desc is not None and code is None:
            raise CommandsError(INVALID_REQUEST,
                                "reasonCode is required when reasonDescription is given")
        if code is not None and (not isinstance(code, str)
                                 or not 1 <= len(code) <= MAX_REASON_CODE):
            raise CommandsError(INVALID_REQUEST,
                                f"reasonCode must be a string of 1-{MAX_REASON_CODE} chars")
        if desc is not None and (not isinstance(desc, str)
                                 or len(desc) > MAX_REASON_DESCRIPTION):
            raise CommandsError(INVALID_REQUEST, "reasonDescription must be a string of at most "
                                                 f"{MAX_REASON_DESCRIPTION} chars")
    if "result" in doc:
        result = doc["result"]
        if not isinstance(result, dict):
            raise CommandsError(INVALID_REQUEST, "result must be an object")
        for key, value in result.items():
            if (not isinstance(value, dict) or len(value) != 1
                    or next(iter(value)) not in _RESULT_TYPES):
                raise CommandsError(INVALID_REQUEST, f"result[{key!r}] must be one of "
                                                     '{"s": str}, {"b": bool}, {"bin": base64}')
            kind, v = next(iter(value.items()))
            if not isinstance(v, _RESULT_TYPES[kind]):
                raise CommandsError(INVALID_REQUEST, f"result[{key!r}].{kind} has the wrong type")
            if kind == "bin":
                try:
                    base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    raise CommandsError(INVALID_REQUEST,
                                        f"result[{key!r}].bin is not base64") from None


def find(execs: List[Execution], execution_id: str) -> Optional[Execution]:
    return next((e for e in execs if e.execution_id == execution_id), None)


def update(execs: List[Execution], execution_id: str, doc: JsonObject, now: float) -> JsonObject:
    """Applies a device update (timeouts must have been applied); returns the accepted document."""
    validate_update(doc)
    e = find(execs, execution_id)
    if e is None:
        raise CommandsError(RESOURCE_NOT_FOUND, f"no command execution {execution_id!r}")
    if e.status in TERMINAL:
        raise CommandsError(TERMINAL_STATE_REACHED,
                            f"command execution is already {e.status}")
    status = doc["status"]
    if status == CREATED:
        raise CommandsError(INVALID_STATE_TRANSITION, "a device cannot set CREATED")
    if e.status == TIMED_OUT and status not in TERMINAL:
        raise CommandsError(INVALID_STATE_TRANSITION,
                            f"cannot go from TIMED_OUT to {status}")
    e.status = status
    e.status_reason = dict(doc["statusReason"]) if "statusReason" in doc else None
    if "result" in doc:
        e.result = dict(doc["result"])
    e.last_updated_at = now
    if status in TERMINAL or status == TIMED_OUT:
        e.deadline = None
    if status in TERMINAL:
        e.completed_at = now
    return accepted_document(execution_id)
