"""The Device Shadow service: routes requests to the model, persists, publishes responses.

Responses to a device request (`accepted`/`rejected`) go to the profile the request came in on.
`update/delta` and `update/documents`, and every response to an operator (HTTP) action, go to
both profiles: the AWS and the neutral topics are two views of the same shadow.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Optional, Tuple

from . import shadow_model as model
from . import topics
from .shadow_model import JsonObject, ShadowError
from .store import ShadowStore

Publisher = Callable[[str, bytes], None]
Clock = Callable[[], int]

log = logging.getLogger("cloudsim.shadow")


def encode(doc: JsonObject) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def epoch_seconds() -> int:
    return int(time.time())


class ShadowService:
    def __init__(self, store: ShadowStore, publish: Publisher,
                 clock: Clock = epoch_seconds) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()  # one request at a time: load-modify-save is atomic

    # ---------------------------------------------------------------- device side (MQTT)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every received message; never raises."""
        try:
            req = topics.parse(topic)
            if req is None:
                log.warning("ignoring message on unknown or invalid topic %r (%d bytes)",
                            topic, len(payload))
                return
            with self._lock:
                self._handle(req, payload)
        except Exception:  # a bug must not take the emulator down
            log.exception("internal error handling %r", topic)

    def _handle(self, req: topics.ShadowRequest, payload: bytes) -> None:
        now = self._clock()
        base = topics.prefix(req.profile, req.thing, req.shadow) + "/" + req.op
        token: Optional[str] = None
        try:
            doc = model.parse_payload(payload, allow_empty=req.op != "update")
            if req.op == "update":
                token = model.client_token_of(doc)
                self._update(req.thing, req.shadow, doc, now, (req.profile,))
            elif req.op == "get":
                token = model.client_token_of(doc)
                shadow = self._store.load(req.thing, req.shadow)
                self._send(base + "/accepted",
                           model.get_document(shadow, req.thing, req.shadow, token, now))
            else:
                token = model.client_token_of(doc)
                self._delete(req.thing, req.shadow, token, now, (req.profile,))
        except ShadowError as err:
            if err.client_token is None:
                err.client_token = token
            log.info("%s rejected: %d %s", base, err.code, err.message)
            self._send(base + "/rejected", err.document(now))

    def _update(self, thing: str, name: str, doc: JsonObject, now: int,
                profiles: Tuple[str, ...]) -> JsonObject:
        shadow = self._store.load(thing, name)
        result = model.apply_update(shadow, doc, now)
        self._store.save(thing, name, result.shadow)
        for profile in profiles:
            self._send(topics.prefix(profile, thing, name) + "/update/accepted", result.accepted)
        for profile in topics.PROFILES:
            base = topics.prefix(profile, thing, name) + "/update"
            self._send(base + "/documents", result.documents)
            if result.delta is not None:
                self._send(base + "/delta", result.delta)
        return result.accepted

    def _delete(self, thing: str, name: str, token: Optional[str], now: int,
                profiles: Tuple[str, ...]) -> JsonObject:
        tomb, accepted = model.delete_shadow(self._store.load(thing, name), thing, name, token, now)
        self._store.save(thing, name, tomb)
        for profile in profiles:
            self._send(topics.prefix(profile, thing, name) + "/delete/accepted", accepted)
        return accepted

    def _send(self, topic: str, doc: JsonObject) -> None:
        self._publish(topic, encode(doc))

    # ---------------------------------------------------------------- operator side (HTTP)

    def operator_get(self, thing: str, name: str) -> JsonObject:
        self._check_names(thing, name)
        with self._lock:
            shadow = self._store.load(thing, name)
            return model.get_document(shadow, thing, name, None, self._clock())

    def operator_desire(self, thing: str, name: str, desired: object) -> JsonObject:
        """Applies `{"state": {"desired": desired}}` as the cloud side would."""
        self._check_names(thing, name)
        if not isinstance(desired, dict):
            raise ShadowError(400, model.MSG_DESIRED_NOT_OBJECT)
        with self._lock:
            return self._update(thing, name, {"state": {"desired": desired}}, self._clock(),
                                topics.PROFILES)

    def operator_delete(self, thing: str, name: str) -> JsonObject:
        self._check_names(thing, name)
        with self._lock:
            return self._delete(thing, name, None, self._clock(), topics.PROFILES)

    @staticmethod
    def _check_names(thing: str, name: str) -> None:
        if not topics.valid_name(thing, topics.AWS, topics.MAX_THING):
            raise ShadowError(400, f"Invalid thing name: {thing!r}")
        if name and not topics.valid_name(name, topics.AWS, topics.MAX_SHADOW_NAME):
            raise ShadowError(400, f"Invalid shadow name: {name!r}")
