"""Integration tests: Device Defender metrics through the real TLS broker as device-1."""

from __future__ import annotations

import json
import queue
import time
from typing import Any, Tuple

import cbor2

from harness import THING, WAIT_S, BrokerTestCase, Doc, http

BASE = f"$aws/things/{THING}/defender/metrics"


def report(rid: int, **metrics: Any) -> Doc:
    return {"header": {"report_id": rid, "version": "1.0"},
            "metrics": metrics or {"network_stats": {"bytes_in": 10, "bytes_out": 20,
                                                     "packets_in": 1, "packets_out": 2}}}


class MetricsServiceTest(BrokerTestCase):
    DEVICE_FILTERS = [f"{BASE}/#"]
    rid = int(time.time())

    @classmethod
    def next_id(cls) -> int:
        cls.rid += 1
        return cls.rid

    def send(self, payload: Any, fmt: str = "json") -> Tuple[str, Doc]:
        """Publishes a report; returns (accepted|rejected, decoded answer)."""
        self.device.drain()
        if fmt == "cbor":
            data = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
        else:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.device.publish(f"{BASE}/{fmt}", data)
        answers = [f"{BASE}/{fmt}/accepted", f"{BASE}/{fmt}/rejected"]
        deadline = time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                topic, raw = self.device.messages.get(timeout=left)
            except queue.Empty:
                break
            if topic in answers:
                doc = cbor2.loads(raw) if fmt == "cbor" else json.loads(raw)
                return topic.rsplit("/", 1)[1], doc
        raise AssertionError(f"no answer on {answers}")

    def assert_accepted(self, outcome: str, doc: Doc, rid: int) -> None:
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual((doc["thingName"], doc["reportId"], doc["status"]),
                         (THING, rid, "ACCEPTED"))
        self.assertIsInstance(doc["timestamp"], int)

    def assert_malformed(self, outcome: str, doc: Doc) -> None:
        self.assertEqual(outcome, "rejected", doc)
        self.assertEqual(doc["status"], "REJECTED")
        self.assertEqual(doc["thingName"], THING)
        self.assertEqual(doc["statusDetails"], {"ErrorCode": "InvalidPayload",
                                                "ErrorMessage": "Malformed metrics report"})

    def test_long_keys_accepted_and_in_history(self) -> None:
        rid = self.next_id()
        self.assert_accepted(*self.send(report(rid)), rid)
        status, hist = http(self.emulator.api, "GET", f"/metrics/{THING}?limit=1")
        self.assertEqual(status, 200, hist)
        self.assertEqual(hist["reports"][0]["reportId"], rid)
        self.assertEqual(hist["reports"][0]["report"]["metrics"]["network_stats"]["bytes_out"], 20)

    def test_short_keys_accepted(self) -> None:
        rid = self.next_id()
        doc = {"hed": {"rid": rid, "v": "1.0"},
               "met": {"tp": {"pts": [{"pt": 22, "if": "eth0"}], "t": 1},
                       "tc": {"ec": {"cs": [{"rad": "10.0.0.2:443", "lp": 5000}], "t": 1}}},
               "cmet": {"cpu": [{"number": 3}]}}
        self.assert_accepted(*self.send(doc), rid)
        _, hist = http(self.emulator.api, "GET", f"/metrics/{THING}?limit=1")
        stored = hist["reports"][0]["report"]
        self.assertEqual(stored["metrics"]["listening_tcp_ports"],
                         {"ports": [{"port": 22, "interface": "eth0"}], "total": 1})
        self.assertEqual(stored["custom_metrics"], {"cpu": [{"number": 3}]})

    def test_cbor_answered_in_cbor(self) -> None:
        rid = self.next_id()
        self.assert_accepted(*self.send(report(rid), "cbor"), rid)
        self.assert_malformed(*self.send(b"\xff\x00garbage", "cbor"))

    def test_malformed_json_rejected_and_emulator_keeps_answering(self) -> None:
        self.assert_malformed(*self.send(b"{not json"))
        self.assert_malformed(*self.send({"header": {"report_id": self.next_id(),
                                                     "version": "1.0"},
                                          "custom_metrics": {"cpu": {"number": 1}}}))
        rid = self.next_id()
        self.assert_accepted(*self.send(report(rid)), rid)

    def test_duplicate_report_id_rejected(self) -> None:
        rid = self.next_id()
        self.assert_accepted(*self.send(report(rid)), rid)
        outcome, doc = self.send(report(rid))
        self.assertEqual(outcome, "rejected", doc)
        self.assertEqual(doc["reportId"], rid)
        self.assertEqual(doc["statusDetails"]["ErrorCode"], "InvalidPayload")
        outcome, _ = self.send(report(rid - 1))
        self.assertEqual(outcome, "rejected")

    def test_forbidden_port_violation_via_http(self) -> None:
        status, doc = http(self.emulator.api, "PUT", f"/metrics/{THING}/profile",
                           {"allowedListeningTcpPorts": [22, 443], "maxBytesOut": 1000})
        self.assertEqual(status, 200, doc)
        status, doc = http(self.emulator.api, "PUT", f"/metrics/{THING}/profile", {"nope": 1})
        self.assertEqual(status, 400, doc)
        rid = self.next_id()
        self.assert_accepted(*self.send(report(rid, listening_tcp_ports={
            "ports": [{"port": 22}, {"port": 2323}], "total": 2})), rid)
        status, doc = http(self.emulator.api, "GET", f"/metrics/{THING}/violations")
        self.assertEqual(status, 200, doc)
        v = doc["violations"][0]
        self.assertEqual((v["reportId"], v["metric"], v["value"]),
                         (rid, "aws:listening-tcp-ports", [2323]))
        http(self.emulator.api, "PUT", f"/metrics/{THING}/profile", {})

    def test_http_errors(self) -> None:
        self.assertEqual(http(self.emulator.api, "GET", f"/metrics/{THING}?limit=0")[0], 400)
        self.assertEqual(http(self.emulator.api, "GET", f"/metrics/{THING}/nope")[0], 404)
        self.assertEqual(http(self.emulator.api, "POST", f"/metrics/{THING}", {})[0], 405)
