"""The Device Defender metrics service: validates reports with metrics_model, keeps the history
and violations in SQLite, answers the device.

    report  $aws/things/<thing>/defender/metrics/json|cbor            (device)
    answer  $aws/things/<thing>/defender/metrics/json|cbor/accepted|rejected

Only the report topics are subscribed, never the answers. Answers use the report's format
(`/cbor` -> CBOR-encoded document).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import cbor2

from . import metrics_model as mm
from .jobs_service import OperatorError
from .jsonutil import loads_strict
from .metrics_model import JsonObject, MetricsError
from .store import MetricsStore

Publisher = Callable[[str, bytes], None]
Clock = Callable[[], float]

log = logging.getLogger("cloudsim.metrics")

SUBSCRIPTIONS = ["$aws/things/+/defender/metrics/json", "$aws/things/+/defender/metrics/cbor"]
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def parse(topic: str) -> Optional[Tuple[str, str]]:
    """(thing, format) of a report topic, or None."""
    parts = topic.split("/")
    if (len(parts) == 6 and parts[:2] == ["$aws", "things"] and parts[3:5] == ["defender", "metrics"]
            and parts[5] in mm.FORMATS):
        return parts[2], parts[5]
    return None


def is_metrics_topic(topic: str) -> bool:
    return parse(topic) is not None


def encode(doc: JsonObject, fmt: str) -> bytes:
    if fmt == mm.CBOR:
        return bytes(cbor2.dumps(doc))
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(payload: bytes, fmt: str) -> Any:
    if len(payload) > mm.MAX_PAYLOAD:
        raise MetricsError(mm.MALFORMED, f"report of {len(payload)} bytes exceeds "
                                         f"{mm.MAX_PAYLOAD}")
    try:
        if fmt == mm.CBOR:
            return cbor2.loads(payload)
        return loads_strict(payload.decode("utf-8"))
    except Exception:  # json/cbor2/unicode raise several types for malformed input
        raise MetricsError(mm.MALFORMED, f"payload is not valid {fmt.upper()}") from None


class MetricsService:
    def __init__(self, store: MetricsStore, publish: Publisher,
                 clock: Clock = time.time) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- device side (MQTT)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every received report; never raises."""
        try:
            parsed = parse(topic)
            if parsed is None:
                log.warning("ignoring message on unknown metrics topic %r", topic)
                return
            with self._lock:
                self._handle(topic, parsed[0], parsed[1], payload)
        except Exception:  # a bug must not take the emulator down
            log.exception("internal error handling %r", topic)

    def _handle(self, topic: str, thing: str, fmt: str, payload: bytes) -> None:
        now = self._clock()
        try:
            doc = decode(payload, fmt)
            report = mm.check_report(doc, thing, self._store.last_report_id(thing))
            violations = mm.evaluate(report, self._store.profile(thing), now)
            self._store.add(thing, report.report_id, mm.stamp(now), fmt, report.to_json(),
                            violations)
            if report.dropped_custom:
                log.info("%s report %d: custom metrics not retained (data rules): %s", thing,
                         report.report_id, report.dropped_custom)
            for v in violations:
                log.info("violation: %s", v)
            self._publish(topic + "/accepted", encode(mm.accepted(thing, report.report_id, now),
                                                      fmt))
        except MetricsError as err:
            log.info("%s/rejected: %s (%s)", topic, err.message, err.detail)
            self._publish(topic + "/rejected", encode(mm.rejected(thing, err, now), fmt))

    # ---------------------------------------------------------------- operator side (HTTP)

    @staticmethod
    def _check_thing(thing: str) -> None:
        if not mm.valid_thing(thing):
            raise OperatorError(400, f"Invalid thing name: {thing!r}")

    @staticmethod
    def _limit(query: Dict[str, List[str]]) -> int:
        raw = query.get("limit", [str(DEFAULT_LIMIT)])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise OperatorError(400, f"limit must be an integer 1..{MAX_LIMIT}")
        return int(raw)

    def operator_history(self, thing: str, query: Dict[str, List[str]]) -> JsonObject:
        self._check_thing(thing)
        rows = self._store.reports(thing, self._limit(query))
        return {"thingName": thing,
                "reports": [{"reportId": rid, "received": received, "format": fmt,
                             "report": report} for rid, received, fmt, report in rows]}

    def operator_violations(self, thing: str, query: Dict[str, List[str]]) -> JsonObject:
        self._check_thing(thing)
        return {"thingName": thing,
                "violations": self._store.violations(thing, self._limit(query))}

    def operator_get_profile(self, thing: str) -> JsonObject:
        self._check_thing(thing)
        return {"thingName": thing, "profile": self._store.profile(thing) or {}}

    def operator_set_profile(self, thing: str, body: Any) -> JsonObject:
        self._check_thing(thing)
        try:
            profile = mm.validate_profile(body)
        except ValueError as err:
            raise OperatorError(400, str(err)) from None
        with self._lock:
            self._store.set_profile(thing, profile)
        return {"thingName": thing, "profile": profile}
