"""The Commands service: starts command executions, routes device updates to commands_model,
persists, publishes.

AWS profile (PROTOCOLS.md §3; device type `things` only):
    request  $aws/commands/things/<thing>/executions/<id>/request/json|cbor   (operator -> device)
    update   $aws/commands/things/<thing>/executions/<id>/response/json|cbor  (device)
    answer   .../executions/<id>/response/accepted|rejected/json|cbor
Neutral profile (DESIGN.md §6, same semantics):
    request  cmd/<thing>/<id>/request          (format in the MQTT 5 content type)
    update   cmd/<thing>/<id>/response         (JSON)
    answer   cmd/<thing>/<id>/response/accepted|rejected
Requests carry the MQTT 5 content type and a message-expiry interval = seconds left before the
service sets TIMED_OUT. Answers use the format of the update's topic (`/cbor` -> CBOR-encoded).
A periodic tick applies the timeouts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

import cbor2

from . import commands_model as cm
from . import topics
from .commands_model import CommandsError, Config, JsonObject
from .jobs_service import OperatorError
from .store import CommandStore
from .ticker import Ticker

Publisher = Callable[[str, bytes], None]
# (topic, payload, content type, message expiry seconds)
RequestPublisher = Callable[[str, bytes, str, int], None]
Clock = Callable[[], float]

log = logging.getLogger("cloudsim.commands")

SUBSCRIPTIONS = ["$aws/commands/things/+/executions/+/response/json",
                 "$aws/commands/things/+/executions/+/response/cbor",
                 "cmd/+/+/response"]


@dataclass(frozen=True)
class UpdateTopic:
    profile: str
    thing: str
    execution_id: str
    fmt: str  # json | cbor

    def answer(self, outcome: str) -> str:
        if self.profile == cm.AWS:
            return (f"$aws/commands/things/{self.thing}/executions/{self.execution_id}"
                    f"/response/{outcome}/{self.fmt}")
        return f"cmd/{self.thing}/{self.execution_id}/response/{outcome}"


def is_commands_topic(topic: str) -> bool:
    parts = topic.split("/")
    return (len(parts) == 8 and parts[:3] == ["$aws", "commands", "things"]) or (
        len(parts) == 4 and parts[0] == "cmd" and parts[3] == "response")


def parse(topic: str) -> Optional[UpdateTopic]:
    """The update a topic addresses, or None (unknown topic / invalid thing name)."""
    parts = topic.split("/")
    if (len(parts) == 8 and parts[:3] == ["$aws", "commands", "things"]
            and parts[4] == "executions" and parts[6] == "response" and parts[7] in cm.FORMATS):
        up = UpdateTopic(cm.AWS, parts[3], parts[5], parts[7])
        profile = topics.AWS
    elif len(parts) == 4 and parts[0] == "cmd" and parts[3] == "response":
        up = UpdateTopic(cm.NEUTRAL, parts[1], parts[2], cm.JSON)
        profile = topics.NEUTRAL
    else:
        return None
    if not topics.valid_name(up.thing, profile, topics.MAX_THING):
        return None
    return up


def request_topic(e: cm.Execution) -> str:
    if e.profile == cm.AWS:
        return (f"$aws/commands/things/{e.thing}/executions/{e.execution_id}/request/{e.fmt}")
    return f"cmd/{e.thing}/{e.execution_id}/request"


def encode(doc: JsonObject, fmt: str = cm.JSON) -> bytes:
    if fmt == cm.CBOR:
        return bytes(cbor2.dumps(doc))
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(payload: bytes, fmt: str) -> JsonObject:
    if fmt == cm.JSON:
        return cm.parse_json(payload)
    try:
        doc = cbor2.loads(payload)
    except Exception:  # cbor2 raises several types for malformed input
        raise CommandsError(cm.INVALID_JSON, "payload is not valid CBOR") from None
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        raise CommandsError(cm.INVALID_JSON, "payload is not a CBOR map with text keys")
    return doc


class CommandsService:
    def __init__(self, store: CommandStore, publish: Publisher,
                 publish_request: RequestPublisher, cfg: Optional[Config] = None,
                 clock: Clock = time.time) -> None:
        self._store = store
        self._publish = publish
        self._publish_request = publish_request
        self.cfg = cfg or Config()
        self._clock = clock
        self._lock = threading.Lock()
        self._ticker = Ticker(self.tick, "cloudsim-commands-tick", log)

    # ---------------------------------------------------------------- device side (MQTT)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every received commands message; never raises."""
        try:
            up = parse(topic)
            if up is None:
                log.warning("ignoring message on unknown or invalid commands topic %r", topic)
                return
            with self._lock:
                self._handle(up, payload)
        except Exception:  # a bug must not take the emulator down
            log.exception("internal error handling %r", topic)

    def _handle(self, up: UpdateTopic, payload: bytes) -> None:
        now = self._clock()
        try:
            if not cm.valid_execution_id(up.execution_id):
                raise CommandsError(cm.INVALID_TOPIC,
                                    f"invalid execution ID in topic: {up.execution_id!r}")
            doc = decode(payload, up.fmt)
            execs = self._store.load(up.thing)
            self._expire(execs, now)
            out = cm.update(execs, up.execution_id, doc, now)
            self._store.save(execs)
            self._publish(up.answer("accepted"), encode(out, up.fmt))
        except CommandsError as err:
            log.info("%s rejected: %s %s", up.answer("rejected"), err.code, err.message)
            self._publish(up.answer("rejected"), encode(err.document(up.execution_id), up.fmt))

    def _expire(self, execs: list, now: float) -> None:
        changed = cm.apply_timeouts(execs, now)
        if changed:
            self._store.save(changed)
            for e in changed:
                log.info("command %s/%s TIMED_OUT", e.thing, e.execution_id)

    # ---------------------------------------------------------------- timeouts

    def tick(self) -> None:
        now = self._clock()
        with self._lock:
            for thing in self._store.things_with_deadline(now):
                self._expire(self._store.load(thing), now)

    def start_ticker(self, interval: float = 0.1) -> None:
        self._ticker.start(interval)

    def stop(self) -> None:
        self._ticker.stop()

    # ---------------------------------------------------------------- operator side (HTTP)

    @staticmethod
    def _check_thing(thing: str) -> None:
        if not topics.valid_name(thing, topics.AWS, topics.MAX_THING):
            raise OperatorError(400, f"Invalid thing name: {thing!r}")

    def operator_send(self, thing: str, body: Any) -> JsonObject:
        self._check_thing(thing)
        if not isinstance(body, dict):
            raise OperatorError(400, "request body must be a JSON object")
        unknown = set(body) - {"executionId", "payload", "payloadBase64", "timeoutSeconds",
                               "format", "contentType", "profile"}
        if unknown:
            raise OperatorError(400, f"unknown fields: {sorted(unknown)}")
        fmt = body.get("format", cm.JSON)
        if fmt not in cm.FORMATS:
            raise OperatorError(400, f"format must be one of {list(cm.FORMATS)}")
        if ("payload" in body) == ("payloadBase64" in body):
            raise OperatorError(400, "give exactly one of payload (JSON) and payloadBase64")
        if "payloadBase64" in body:
            try:
                raw = base64.b64decode(body["payloadBase64"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise OperatorError(400, "payloadBase64 is not valid base64") from None
        else:
            raw = encode(body["payload"], fmt) if fmt == cm.CBOR else json.dumps(
                body["payload"], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        execution_id = body.get("executionId") or uuid.uuid4().hex
        with self._lock:
            now = self._clock()
            execs = self._store.load(thing)
            self._expire(execs, now)
            try:
                e = cm.create(execs, thing, execution_id, raw, fmt, body.get("timeoutSeconds"),
                              now, self.cfg, body.get("contentType"),
                              body.get("profile", cm.AWS))
            except ValueError as err:
                raise OperatorError(400, str(err)) from None
            except KeyError:
                raise OperatorError(409, f"command execution {execution_id!r} already exists "
                                         f"for {thing}") from None
            self._store.save([e])
            self._publish_request(request_topic(e), e.payload, e.content_type,
                                  cm.expiry_seconds(e, now))
            view = e.view()
            view["requestTopic"] = request_topic(e)
            return view

    def operator_get(self, thing: str, execution_id: str) -> JsonObject:
        self._check_thing(thing)
        with self._lock:
            execs = self._store.load(thing)
            self._expire(execs, self._clock())
            e = cm.find(execs, execution_id)
            if e is None:
                raise OperatorError(404, f"no command execution {execution_id!r} for {thing}")
            return e.view()

    def operator_list(self, thing: str) -> JsonObject:
        self._check_thing(thing)
        with self._lock:
            now = self._clock()
            execs = self._store.load(thing)
            self._expire(execs, now)
            return {"thingName": thing, "executions": [e.view() for e in execs],
                    "timestamp": cm.stamp(now)}
