"""AWS IoT Jobs device API logic as pure functions (no I/O, no clock, no broker).

A second reading of the Jobs MQTT device API (project notes PROTOCOLS.md §2 and
https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.md). Every function takes the
current time `now` (epoch seconds, float) so it is unit-testable.

Choices where the documentation leaves room (also in docs/cloudsim.md):
* Timestamps (`timestamp`, `queuedAt`, `startedAt`, `lastUpdatedAt`) are integer epoch **seconds**
  (the documented unit); `Config.ms_timestamps` switches them to milliseconds (the unit of the
  doc's examples) so clients can be tested against both.
* A device may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED, from QUEUED or IN_PROGRESS
  (IN_PROGRESS -> IN_PROGRESS refreshes statusDetails and the step timer). A known status the
  device may not set (QUEUED, CANCELED, TIMED_OUT, REMOVED) -> InvalidStateTransition; a missing
  or unknown status -> InvalidRequest. Any update of a terminal execution -> TerminalStateReached
  (checked before expectedVersion).
* `statusDetails` in a request replaces the stored map; absent leaves it unchanged.
* `expectedVersion` is accepted as a JSON number or a numeric string.
* Step timer: `stepTimeoutInMinutes` given with start-next or an IN_PROGRESS update sets a deadline
  of now + n minutes; a job created with an in-progress timeout starts that timer when the
  execution becomes IN_PROGRESS. Either passing -> TIMED_OUT. `Config.minute_s` (60 normally)
  lets tests shrink a minute.
* start-next on an execution already IN_PROGRESS returns it unchanged.
* `$next` resolves to the oldest IN_PROGRESS execution, else the oldest QUEUED one; `$next` with
  nothing pending -> accepted without `execution`.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .jsonutil import loads_strict

JsonObject = Dict[str, Any]

QUEUED = "QUEUED"
IN_PROGRESS = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
REJECTED = "REJECTED"
TIMED_OUT = "TIMED_OUT"
REMOVED = "REMOVED"
CANCELED = "CANCELED"
ALL_STATUSES = (QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT, REMOVED, CANCELED)
DEVICE_STATUSES = (IN_PROGRESS, SUCCEEDED, FAILED, REJECTED)
PENDING = (QUEUED, IN_PROGRESS)
TERMINAL = (SUCCEEDED, FAILED, REJECTED, TIMED_OUT, REMOVED, CANCELED)

NEXT = "$next"
MAX_JOB_ID = 64
MAX_CLIENT_TOKEN = 64
MAX_DOCUMENT_BYTES = 32 * 1024
MAX_PAYLOAD_BYTES = 128 * 1024
MAX_STEP_TIMEOUT_MIN = 10080
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DETAIL_KEY = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")

# error codes (jobs-api.md)
INVALID_TOPIC = "InvalidTopic"
INVALID_JSON = "InvalidJson"
INVALID_REQUEST = "InvalidRequest"
INVALID_STATE_TRANSITION = "InvalidStateTransition"
RESOURCE_NOT_FOUND = "ResourceNotFound"
VERSION_MISMATCH = "VersionMismatch"
INTERNAL_ERROR = "InternalError"
TERMINAL_STATE_REACHED = "TerminalStateReached"


@dataclass
class Config:
    ms_timestamps: bool = False
    minute_s: float = 60.0

    def stamp(self, now: float) -> int:
        return int(now * 1000) if self.ms_timestamps else int(now)


class JobsError(Exception):
    """A rejected request: becomes an ErrorResponse on `.../rejected`."""

    def __init__(self, code: str, message: str, execution_state: Optional[JsonObject] = None,
                 client_token: Optional[str] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.execution_state = execution_state
        self.client_token = client_token

    def document(self, timestamp: int) -> JsonObject:
        doc: JsonObject = {"code": self.code, "message": self.message, "timestamp": timestamp}
        if self.client_token is not None:
            doc["clientToken"] = self.client_token
        if self.execution_state is not None:
            doc["executionState"] = self.execution_state
        return doc


@dataclass
class Execution:
    """One job execution of one thing. Times are epoch seconds (float)."""

    job_id: str
    thing: str
    document: JsonObject
    seq: int  # creation order within the thing
    status: str = QUEUED
    status_details: Dict[str, str] = field(default_factory=dict)
    queued_at: float = 0.0
    started_at: Optional[float] = None
    last_updated_at: float = 0.0
    version: int = 1
    execution_number: int = 1
    in_progress_timeout_min: Optional[float] = None  # job-level, set at creation
    deadline: Optional[float] = None  # step/in-progress deadline while IN_PROGRESS

    def to_json(self) -> JsonObject:
        return {k: v for k, v in self.__dict__.items()}

    @staticmethod
    def from_json(doc: JsonObject) -> "Execution":
        return Execution(**doc)

    # renderings --------------------------------------------------------------------------

    def state(self) -> JsonObject:
        """JobExecutionState."""
        st: JsonObject = {"status": self.status, "versionNumber": self.version}
        if self.status_details:
            st["statusDetails"] = dict(self.status_details)
        return st

    def summary(self, cfg: Config) -> JsonObject:
        """JobExecutionSummary."""
        doc: JsonObject = {"jobId": self.job_id, "queuedAt": cfg.stamp(self.queued_at),
                           "lastUpdatedAt": cfg.stamp(self.last_updated_at),
                           "versionNumber": self.version,
                           "executionNumber": self.execution_number}
        if self.started_at is not None:
            doc["startedAt"] = cfg.stamp(self.started_at)
        return doc

    def full(self, cfg: Config, include_document: bool = True) -> JsonObject:
        """JobExecution."""
        doc: JsonObject = {"jobId": self.job_id, "thingName": self.thing, "status": self.status,
                           "queuedAt": cfg.stamp(self.queued_at),
                           "lastUpdatedAt": cfg.stamp(self.last_updated_at),
                           "versionNumber": self.version,
                           "executionNumber": self.execution_number}
        if self.status_details:
            doc["statusDetails"] = dict(self.status_details)
        if self.started_at is not None:
            doc["startedAt"] = cfg.stamp(self.started_at)
        if include_document:
            doc["jobDocument"] = copy.deepcopy(self.document)
        return doc


# ------------------------------------------------------------------------------ parsing


def parse_payload(payload: bytes) -> JsonObject:
    """Request payload -> JSON object; empty payload is `{}`. InvalidJson otherwise."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise JobsError(INVALID_REQUEST, "The payload exceeds the maximum size allowed")
    if not payload.strip():
        return {}
    try:
        doc = loads_strict(payload.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise JobsError(INVALID_JSON, "Invalid JSON") from None
    if not isinstance(doc, dict):
        raise JobsError(INVALID_JSON, "Invalid JSON: the request must be a JSON object")
    return doc


def client_token_of(doc: JsonObject) -> Optional[str]:
    if "clientToken" not in doc:
        return None
    token = doc["clientToken"]
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_CLIENT_TOKEN:
        raise JobsError(INVALID_REQUEST, "clientToken must be a string of 1-64 characters")
    return token


def valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id))


def _bool(doc: JsonObject, key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise JobsError(INVALID_REQUEST, f"{key} must be a boolean")
    return value


def _int(doc: JsonObject, key: str, allow_string: bool = False) -> Optional[int]:
    if key not in doc:
        return None
    value = doc[key]
    if allow_string and isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise JobsError(INVALID_REQUEST, f"{key} must be an integer")
    return int(value)


def _status_details(doc: JsonObject) -> Optional[Dict[str, str]]:
    if "statusDetails" not in doc or doc["statusDetails"] is None:
        return None
    details = doc["statusDetails"]
    if not isinstance(details, dict):
        raise JobsError(INVALID_REQUEST, "statusDetails must be an object of strings")
    for key, value in details.items():
        if not _DETAIL_KEY.match(key):
            raise JobsError(INVALID_REQUEST, f"Invalid statusDetails key: {key!r}")
        if (not isinstance(value, str) or not 1 <= len(value) <= 1024
                or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)):
            raise JobsError(INVALID_REQUEST, f"Invalid statusDetails value for {key!r}")
    return dict(details)


def _step_timeout(doc: JsonObject) -> Optional[int]:
    value = _int(doc, "stepTimeoutInMinutes")
    if value is None:
        return None
    if not 1 <= value <= MAX_STEP_TIMEOUT_MIN:
        raise JobsError(INVALID_REQUEST,
                        f"stepTimeoutInMinutes must be between 1 and {MAX_STEP_TIMEOUT_MIN}")
    return value


# ------------------------------------------------------------------------------ queries


def pending(execs: List[Execution]) -> List[Execution]:
    """Pending executions: IN_PROGRESS first, then QUEUED, each in creation order."""
    ordered = sorted(execs, key=lambda e: e.seq)
    return ([e for e in ordered if e.status == IN_PROGRESS]
            + [e for e in ordered if e.status == QUEUED])


def next_execution(execs: List[Execution]) -> Optional[Execution]:
    p = pending(execs)
    return p[0] if p else None


def find(execs: List[Execution], job_id: str) -> Optional[Execution]:
    for e in execs:
        if e.job_id == job_id:
            return e
    return None


def notify_document(execs: List[Execution], cfg: Config, now: float) -> JsonObject:
    """JobExecutionsChanged (`jobs/notify`)."""
    jobs: JsonObject = {}
    for e in pending(execs):
        jobs.setdefault(e.status, []).append(e.summary(cfg))
    return {"timestamp": cfg.stamp(now), "jobs": jobs}


def notify_next_document(execs: List[Execution], cfg: Config, now: float) -> JsonObject:
    """NextJobExecutionChanged (`jobs/notify-next`); no `execution` when nothing is pending."""
    doc: JsonObject = {"timestamp": cfg.stamp(now)}
    nxt = next_execution(execs)
    if nxt is not None:
        doc["execution"] = nxt.full(cfg)
    return doc


def pending_key(execs: List[Execution]) -> Tuple[str, ...]:
    """Identity of the pending set (changes -> `notify`)."""
    return tuple(sorted(e.job_id for e in execs if e.status in PENDING))


def next_key(execs: List[Execution]) -> Optional[Tuple[str, int]]:
    """Identity of the next execution (changes -> `notify-next`)."""
    nxt = next_execution(execs)
    return None if nxt is None else (nxt.job_id, nxt.execution_number)


# ------------------------------------------------------------------------------ operations


def create(execs: List[Execution], thing: str, job_id: str, document: Any, now: float,
           in_progress_timeout_min: Optional[float] = None) -> Execution:
    """Operator: queue a job for the thing (appended to `execs`). ValueError on bad input,
    KeyError when the job exists for the thing."""
    if not isinstance(job_id, str) or not valid_job_id(job_id):
        raise ValueError("jobId must match [a-zA-Z0-9_-]{1,64}")
    if not isinstance(document, dict):
        raise ValueError("document must be a JSON object")
    if len(json.dumps(document, separators=(",", ":")).encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise ValueError("document exceeds 32 KB")
    if in_progress_timeout_min is not None and (
            isinstance(in_progress_timeout_min, bool)
            or not isinstance(in_progress_timeout_min, (int, float))
            or not 0 < in_progress_timeout_min <= MAX_STEP_TIMEOUT_MIN):
        raise ValueError(f"stepTimeoutInMinutes must be a number in (0, {MAX_STEP_TIMEOUT_MIN}]")
    if find(execs, job_id) is not None:
        raise KeyError(job_id)
    e = Execution(job_id=job_id, thing=thing, document=copy.deepcopy(document),
                  seq=max((x.seq for x in execs), default=0) + 1, queued_at=now,
                  last_updated_at=now, in_progress_timeout_min=in_progress_timeout_min)
    execs.append(e)
    return e


def cancel(execs: List[Execution], job_id: str, now: float) -> Execution:
    """Operator: cancel a pending execution (-> CANCELED). KeyError if unknown, ValueError if
    terminal."""
    e = find(execs, job_id)
    if e is None:
        raise KeyError(job_id)
    if e.status in TERMINAL:
        raise ValueError(f"execution is already {e.status}")
    _set_status(e, CANCELED, now)
    return e


def _set_status(e: Execution, status: str, now: float) -> None:
    e.status = status
    e.version += 1
    e.last_updated_at = now
    if status in TERMINAL:
        e.deadline = None


def _start(e: Execution, cfg: Config, now: float, step_min: Optional[int]) -> None:
    if e.status == QUEUED:
        e.started_at = now
        if e.in_progress_timeout_min is not None:
            e.deadline = now + e.in_progress_timeout_min * cfg.minute_s
    if step_min is not None:
        step_deadline = now + step_min * cfg.minute_s
        e.deadline = step_deadline
        if e.started_at is not None and e.in_progress_timeout_min is not None:
            job_deadline = e.started_at + e.in_progress_timeout_min * cfg.minute_s
            e.deadline = min(step_deadline, job_deadline)


def apply_timeouts(execs: List[Execution], now: float) -> List[Execution]:
    """IN_PROGRESS executions whose deadline passed become TIMED_OUT; returns them."""
    timed_out = []
    for e in execs:
        if e.status == IN_PROGRESS and e.deadline is not None and now >= e.deadline:
            _set_status(e, TIMED_OUT, now)
            timed_out.append(e)
    return timed_out


def get_pending(execs: List[Execution], doc: JsonObject, cfg: Config, now: float) -> JsonObject:
    """GetPendingJobExecutions -> `jobs/get/accepted`."""
    token = client_token_of(doc)
    p = pending(execs)
    out: JsonObject = {
        "inProgressJobs": [e.summary(cfg) for e in p if e.status == IN_PROGRESS],
        "queuedJobs": [e.summary(cfg) for e in p if e.status == QUEUED],
        "timestamp": cfg.stamp(now)}
    if token is not None:
        out["clientToken"] = token
    return out


def start_next(execs: List[Execution], doc: JsonObject, cfg: Config, now: float) -> JsonObject:
    """StartNextPendingJobExecution -> `jobs/start-next/accepted` (mutates the execution)."""
    token = client_token_of(doc)
    details = _status_details(doc)
    step_min = _step_timeout(doc)
    out: JsonObject = {"timestamp": cfg.stamp(now)}
    nxt = next_execution(execs)
    if nxt is not None:
        if nxt.status == QUEUED:
            _start(nxt, cfg, now, step_min)
            if details is not None:
                nxt.status_details = details
            _set_status(nxt, IN_PROGRESS, now)
        out["execution"] = nxt.full(cfg)
    if token is not None:
        out["clientToken"] = token
    return out


def describe(execs: List[Execution], job_id: str, doc: JsonObject, cfg: Config,
             now: float) -> JsonObject:
    """DescribeJobExecution -> `jobs/<jobId>/get/accepted`."""
    token = client_token_of(doc)
    include_doc = _bool(doc, "includeJobDocument", True)
    number = _int(doc, "executionNumber")
    out: JsonObject = {"timestamp": cfg.stamp(now)}
    if job_id == NEXT:
        e = next_execution(execs)
    else:
        e = find(execs, job_id)
        if e is None or (number is not None and number != e.execution_number):
            raise JobsError(RESOURCE_NOT_FOUND, f"Job execution not found: {job_id}")
    if e is not None:
        out["execution"] = e.full(cfg, include_doc)
    if token is not None:
        out["clientToken"] = token
    return out


def update(execs: List[Execution], job_id: str, doc: JsonObject, cfg: Config,
           now: float) -> JsonObject:
    """UpdateJobExecution -> `jobs/<jobId>/update/accepted` (mutates the execution)."""
    token = client_token_of(doc)
    if "status" not in doc:
        raise JobsError(INVALID_REQUEST, "Missing required field: status")
    status = doc["status"]
    if not isinstance(status, str) or status not in ALL_STATUSES:
        raise JobsError(INVALID_REQUEST, f"Invalid status: {status!r}")
    details = _status_details(doc)
    try:
        expected = _int(doc, "expectedVersion", allow_string=True)
    except JobsError:
        raise JobsError(INVALID_REQUEST, "expectedVersion must be a number") from None
    number = _int(doc, "executionNumber")
    include_state = _bool(doc, "includeJobExecutionState", False)
    include_doc = _bool(doc, "includeJobDocument", False)
    step_min = _step_timeout(doc)

    e = find(execs, job_id)
    if e is None or (number is not None and number != e.execution_number):
        raise JobsError(RESOURCE_NOT_FOUND, f"Job execution not found: {job_id}")
    if e.status in TERMINAL:
        raise JobsError(TERMINAL_STATE_REACHED,
                        f"Job execution is already in a terminal state: {e.status}", e.state())
    if expected is not None and expected != e.version:
        raise JobsError(VERSION_MISMATCH,
                        f"Expected version {expected} does not match the current version "
                        f"{e.version}", e.state())
    if status not in DEVICE_STATUSES:
        raise JobsError(INVALID_STATE_TRANSITION,
                        f"Cannot update job execution from {e.status} to {status}", e.state())
    if step_min is not None and status != IN_PROGRESS:
        raise JobsError(INVALID_REQUEST,
                        "stepTimeoutInMinutes is only valid with status IN_PROGRESS")
    if status == IN_PROGRESS:
        _start(e, cfg, now, step_min)
    if details is not None:
        e.status_details = details
    _set_status(e, status, now)
    out: JsonObject = {"timestamp": cfg.stamp(now)}
    if include_state:
        out["executionState"] = e.state()
    if include_doc:
        out["jobDocument"] = copy.deepcopy(e.document)
    if token is not None:
        out["clientToken"] = token
    return out
