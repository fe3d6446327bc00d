"""The Jobs service (MQTT device API): routes requests to jobs_model, persists, publishes.

Device requests (subscribed for every thing):
    $aws/things/<thing>/jobs/get                 -> .../jobs/get/accepted|rejected
    $aws/things/<thing>/jobs/start-next          -> .../jobs/start-next/accepted|rejected
    $aws/things/<thing>/jobs/<jobId>/get         -> .../jobs/<jobId>/get/accepted|rejected
    $aws/things/<thing>/jobs/<jobId>/update      -> .../jobs/<jobId>/update/accepted|rejected
Events: `jobs/notify` when the set of pending executions changes (an execution is added or
leaves QUEUED/IN_PROGRESS), `jobs/notify-next` when the next pending execution changes. A
periodic tick applies step timeouts (TIMED_OUT), which may publish both.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from . import jobs_model as jm
from . import topics
from .jobs_model import Config, Execution, JobsError, JsonObject
from .store import JobStore
from .ticker import Ticker

Publisher = Callable[[str, bytes], None]
Clock = Callable[[], float]

log = logging.getLogger("cloudsim.jobs")

SUBSCRIPTIONS = ["$aws/things/+/jobs/get", "$aws/things/+/jobs/start-next",
                 "$aws/things/+/jobs/+/get", "$aws/things/+/jobs/+/update"]


class OperatorError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class JobsRequest:
    thing: str
    job_id: Optional[str]  # None for jobs/get and jobs/start-next
    op: str  # "get", "start-next", "describe", "update"

    @property
    def base(self) -> str:
        prefix = f"$aws/things/{self.thing}/jobs"
        if self.op in ("get", "start-next"):
            return f"{prefix}/{self.op}"
        return f"{prefix}/{self.job_id}/{'get' if self.op == 'describe' else 'update'}"


def is_jobs_topic(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) >= 5 and parts[:2] == ["$aws", "things"] and parts[3] == "jobs"


def parse(topic: str) -> Optional[JobsRequest]:
    """The request a jobs topic addresses, or None (unknown topic / invalid thing name)."""
    parts = topic.split("/")
    if not is_jobs_topic(topic) or not topics.valid_name(parts[2], topics.AWS, topics.MAX_THING):
        return None
    if len(parts) == 5 and parts[4] in ("get", "start-next"):
        return JobsRequest(parts[2], None, parts[4])
    if len(parts) == 6 and parts[5] in ("get", "update"):
        return JobsRequest(parts[2], parts[4], "describe" if parts[5] == "get" else "update")
    return None


def encode(doc: JsonObject) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class JobsService:
    def __init__(self, store: JobStore, publish: Publisher, cfg: Optional[Config] = None,
                 clock: Clock = time.time) -> None:
        self._store = store
        self._publish = publish
        self.cfg = cfg or Config()
        self._clock = clock
        self._lock = threading.Lock()
        self._ticker = Ticker(self.tick, "cloudsim-jobs-tick", log)

    # ---------------------------------------------------------------- device side (MQTT)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every received jobs message; never raises."""
        try:
            req = parse(topic)
            if req is None:
                log.warning("ignoring message on unknown or invalid jobs topic %r", topic)
                return
            with self._lock:
                self._handle(req, payload)
        except Exception:  # a bug must not take the emulator down
            log.exception("internal error handling %r", topic)

    def _handle(self, req: JobsRequest, payload: bytes) -> None:
        now = self._clock()
        token: Optional[str] = None
        try:
            doc = jm.parse_payload(payload)
            token = _token_for_error(doc)
            if req.job_id is not None and not (jm.valid_job_id(req.job_id) or (
                    req.job_id == jm.NEXT and req.op == "describe")):
                raise JobsError(jm.INVALID_TOPIC, f"Invalid job ID in topic: {req.job_id!r}")
            execs = self._store.load(req.thing)
            self._expire(req.thing, execs, now)
            before = (jm.pending_key(execs), jm.next_key(execs))
            if req.op == "get":
                out = jm.get_pending(execs, doc, self.cfg, now)
            elif req.op == "start-next":
                out = jm.start_next(execs, doc, self.cfg, now)
            elif req.op == "describe":
                assert req.job_id is not None
                out = jm.describe(execs, req.job_id, doc, self.cfg, now)
            else:
                assert req.job_id is not None
                out = jm.update(execs, req.job_id, doc, self.cfg, now)
            if req.op in ("start-next", "update"):
                self._store.save(execs)
            self._send(req.base + "/accepted", out)
            self._notify(req.thing, execs, before, now)
        except JobsError as err:
            if err.client_token is None:
                err.client_token = token
            log.info("%s rejected: %s %s", req.base, err.code, err.message)
            self._send(req.base + "/rejected", err.document(self.cfg.stamp(now)))

    def _notify(self, thing: str, execs: List[Execution], before: Any, now: float) -> None:
        prefix = f"$aws/things/{thing}/jobs"
        if jm.pending_key(execs) != before[0]:
            self._send(prefix + "/notify", jm.notify_document(execs, self.cfg, now))
        if jm.next_key(execs) != before[1]:
            self._send(prefix + "/notify-next", jm.notify_next_document(execs, self.cfg, now))

    def _expire(self, thing: str, execs: List[Execution], now: float) -> None:
        """Applies due step timeouts before a request sees the executions."""
        before = (jm.pending_key(execs), jm.next_key(execs))
        if jm.apply_timeouts(execs, now):
            self._store.save(execs)
            self._notify(thing, execs, before, now)

    def _send(self, topic: str, doc: JsonObject) -> None:
        self._publish(topic, encode(doc))

    # ---------------------------------------------------------------- step timeouts

    def tick(self) -> None:
        now = self._clock()
        with self._lock:
            for thing in self._store.things_with_deadline(now):
                self._expire(thing, self._store.load(thing), now)

    def start_ticker(self) -> None:
        self._ticker.start(max(0.1, min(1.0, self.cfg.minute_s / 120)))

    def stop(self) -> None:
        self._ticker.stop()

    # ---------------------------------------------------------------- operator side (HTTP)

    def operator_create(self, thing: str, body: Any) -> JsonObject:
        if not topics.valid_name(thing, topics.AWS, topics.MAX_THING):
            raise OperatorError(400, f"Invalid thing name: {thing!r}")
        if not isinstance(body, dict):
            raise OperatorError(400, "request body must be a JSON object")
        unknown = set(body) - {"jobId", "document", "stepTimeoutInMinutes", "timeout"}
        if unknown:
            raise OperatorError(400, f"unknown fields: {sorted(unknown)}")
        timeout = body.get("stepTimeoutInMinutes", body.get("timeout"))
        with self._lock:
            now = self._clock()
            execs = self._store.load(thing)
            self._expire(thing, execs, now)
            before = (jm.pending_key(execs), jm.next_key(execs))
            try:
                e = jm.create(execs, thing, body.get("jobId"), body.get("document"), now,
                              timeout)
            except ValueError as err:
                raise OperatorError(400, str(err)) from None
            except KeyError:
                raise OperatorError(409, f"job {body.get('jobId')!r} already exists for "
                                         f"{thing}") from None
            self._store.save([e])
            self._notify(thing, execs, before, now)
            return e.full(self.cfg)

    def operator_cancel(self, thing: str, job_id: str) -> JsonObject:
        with self._lock:
            now = self._clock()
            execs = self._store.load(thing)
            self._expire(thing, execs, now)
            before = (jm.pending_key(execs), jm.next_key(execs))
            try:
                e = jm.cancel(execs, job_id, now)
            except KeyError:
                raise OperatorError(404, f"no job {job_id!r} for {thing}") from None
            except ValueError as err:
                raise OperatorError(409, str(err)) from None
            self._store.save([e])
            self._notify(thing, execs, before, now)
            return e.full(self.cfg)

    def operator_list(self, thing: str) -> JsonObject:
        if not topics.valid_name(thing, topics.AWS, topics.MAX_THING):
            raise OperatorError(400, f"Invalid thing name: {thing!r}")
        with self._lock:
            now = self._clock()
            execs = self._store.load(thing)
            self._expire(thing, execs, now)
            return {"thingName": thing,
                    "executions": [e.full(self.cfg) for e in sorted(execs, key=lambda x: x.seq)],
                    "timestamp": self.cfg.stamp(now)}


def _token_for_error(doc: JsonObject) -> Optional[str]:
    """The clientToken to echo in an error even when it is itself invalid-free."""
    token = doc.get("clientToken")
    return token if isinstance(token, str) and 1 <= len(token) <= jm.MAX_CLIENT_TOKEN else None
