"""Integration tests: AWS IoT Commands (and the neutral cmd/ pattern) through the real TLS broker
as device-1. The emulator runs with `--time-scale 10` (a timeout second lasts 0.1 s)."""

from __future__ import annotations

import json
import queue
import time
import uuid
from typing import Any, Dict, Tuple

import cbor2

from harness import THING, WAIT_S, BrokerTestCase, Doc, http

AWS = f"$aws/commands/things/{THING}/executions"
NEUTRAL = f"cmd/{THING}"


class CommandsServiceTest(BrokerTestCase):
    EMULATOR_ARGS = ["--time-scale", "10"]
    DEVICE_FILTERS = [f"$aws/commands/things/{THING}/#", f"cmd/{THING}/#"]
    requests: "queue.Queue[Tuple[str, bytes, Dict[str, Any]]]"

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.requests = queue.Queue()

        def on_message(_c: Any, _u: Any, m: Any) -> None:
            props = {}
            if m.properties is not None:
                props = {k: getattr(m.properties, k) for k in
                         ("ContentType", "MessageExpiryInterval")
                         if hasattr(m.properties, k)}
            if "/request" in m.topic:
                cls.requests.put((m.topic, bytes(m.payload), props))
            else:
                cls.device.messages.put((m.topic, bytes(m.payload)))

        cls.device.client.on_message = on_message

    def setUp(self) -> None:
        self.device.drain()
        while not self.requests.empty():
            self.requests.get_nowait()

    def send(self, body: Doc, expect_status: int = 201) -> Doc:
        status, doc = http(self.emulator.api, "POST", f"/commands/{THING}", body)
        self.assertEqual(status, expect_status, doc)
        return doc

    def request(self, topic: str) -> Tuple[bytes, Dict[str, Any]]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                got, payload, props = self.requests.get(timeout=0.2)
            except queue.Empty:
                continue
            if got == topic:
                return payload, props
        raise AssertionError(f"no request on {topic}")

    def respond(self, base: str, payload: Any, fmt: str = "json") -> Tuple[str, Doc]:
        """Publishes an update on <base>/response[/fmt]; returns (accepted|rejected, doc)."""
        suffix = f"/{fmt}" if base.startswith("$aws") else ""
        self.device.drain()
        self.device.publish(base + "/response" + suffix, payload)
        answers = [f"{base}/response/{k}{suffix}" for k in ("accepted", "rejected")]
        deadline = time.monotonic() + WAIT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer on {answers}")
            try:
                topic, data = self.device.messages.get(timeout=left)
            except queue.Empty:
                continue
            if topic in answers:
                doc = cbor2.loads(data) if fmt == "cbor" else json.loads(data)
                return ("accepted" if "/accepted" in topic else "rejected"), doc

    def execution(self, execution_id: str) -> Doc:
        status, doc = http(self.emulator.api, "GET", f"/commands/{THING}/{execution_id}")
        self.assertEqual(status, 200, doc)
        return doc

    @staticmethod
    def eid() -> str:
        return "c" + uuid.uuid4().hex[:10]

    def test_request_properties_and_success(self) -> None:
        eid = self.eid()
        created = self.send({"executionId": eid, "payload": {"op": "reboot"},
                             "timeoutSeconds": 300})
        self.assertEqual((created["status"], created["executionId"]), ("CREATED", eid))
        payload, props = self.request(f"{AWS}/{eid}/request/json")
        self.assertEqual(json.loads(payload), {"op": "reboot"})
        self.assertEqual(props["ContentType"], "application/json")
        # 300 s at time scale 10 -> 30 real seconds left
        self.assertTrue(28 <= props["MessageExpiryInterval"] <= 30, props)
        kind, doc = self.respond(f"{AWS}/{eid}", {"status": "IN_PROGRESS"})
        self.assertEqual((kind, doc), ("accepted", {"executionId": eid}))
        self.assertEqual(self.execution(eid)["status"], "IN_PROGRESS")
        kind, doc = self.respond(f"{AWS}/{eid}", {
            "status": "SUCCEEDED", "statusReason": {"reasonCode": "OK", "reasonDescription": "done"},
            "result": {"uptime": {"s": "5"}}})
        self.assertEqual(kind, "accepted", doc)
        ex = self.execution(eid)
        self.assertEqual((ex["status"], ex["result"], ex["statusReason"]["reasonCode"]),
                         ("SUCCEEDED", {"uptime": {"s": "5"}}, "OK"))
        self.assertIn("completedAt", ex)
        # a response after a terminal status
        kind, doc = self.respond(f"{AWS}/{eid}", {"status": "FAILED"})
        self.assertEqual((kind, doc["error"], doc["executionId"]),
                         ("rejected", "TerminalStateReached", eid))
        self.assertIn("errorMessage", doc)
        status, listing = http(self.emulator.api, "GET", f"/commands/{THING}")
        self.assertEqual(status, 200)
        self.assertIn(eid, [e["executionId"] for e in listing["executions"]])

    def test_invalid_updates_rejected(self) -> None:
        eid = self.eid()
        self.send({"executionId": eid, "payload": {"op": "x"}, "timeoutSeconds": 300})
        self.request(f"{AWS}/{eid}/request/json")
        for body, code in ((b"{not json", "InvalidJson"), (b"[1,2]", "InvalidJson"),
                           ({"status": "DONE"}, "InvalidRequest"), ({}, "InvalidRequest"),
                           ({"status": "FAILED", "statusReason": {"reasonDescription": "x"}},
                            "InvalidRequest"),
                           ({"status": "CREATED"}, "InvalidStateTransition")):
            kind, doc = self.respond(f"{AWS}/{eid}", body)
            self.assertEqual((kind, doc["error"], doc["executionId"]), ("rejected", code, eid),
                             body)
        self.assertEqual(self.execution(eid)["status"], "CREATED")
        kind, doc = self.respond(f"{AWS}/unknown-id", {"status": "IN_PROGRESS"})
        self.assertEqual((kind, doc["error"]), ("rejected", "ResourceNotFound"))
        # the emulator keeps answering after malformed input
        kind, _ = self.respond(f"{AWS}/{eid}", {"status": "FAILED"})
        self.assertEqual(kind, "accepted")

    def test_timeout(self) -> None:
        eid = self.eid()
        self.send({"executionId": eid, "payload": {"op": "slow"}, "timeoutSeconds": 5})
        _, props = self.request(f"{AWS}/{eid}/request/json")
        self.assertEqual(props["MessageExpiryInterval"], 1)  # 0.5 s left, rounded up
        self.respond(f"{AWS}/{eid}", {"status": "IN_PROGRESS"})
        deadline = time.monotonic() + WAIT_S
        while self.execution(eid)["status"] != "TIMED_OUT":
            self.assertLess(time.monotonic(), deadline, "not TIMED_OUT in time")
            time.sleep(0.1)
        ex = self.execution(eid)
        self.assertEqual(ex["statusReason"]["reasonCode"], "$NO_RESPONSE_FROM_DEVICE")
        kind, doc = self.respond(f"{AWS}/{eid}", {"status": "IN_PROGRESS"})
        self.assertEqual((kind, doc["error"]), ("rejected", "InvalidStateTransition"))

    def test_cbor_request_and_response(self) -> None:
        eid = self.eid()
        self.send({"executionId": eid, "payload": {"op": "blink", "n": 3}, "format": "cbor",
                   "timeoutSeconds": 300})
        payload, props = self.request(f"{AWS}/{eid}/request/cbor")
        self.assertEqual(cbor2.loads(payload), {"op": "blink", "n": 3})
        self.assertEqual(props["ContentType"], "application/cbor")
        self.assertEqual(self.execution(eid)["format"], "cbor")
        kind, doc = self.respond(f"{AWS}/{eid}", cbor2.dumps({"status": "SUCCEEDED"}), "cbor")
        self.assertEqual((kind, doc), ("accepted", {"executionId": eid}))
        kind, doc = self.respond(f"{AWS}/{eid}", b"\xff\x00", "cbor")
        self.assertEqual((kind, doc["error"]), ("rejected", "InvalidJson"))

    def test_neutral_profile(self) -> None:
        eid = self.eid()
        self.send({"executionId": eid, "payload": {"op": "reboot"}, "profile": "neutral",
                   "timeoutSeconds": 300})
        payload, props = self.request(f"{NEUTRAL}/{eid}/request")
        self.assertEqual((json.loads(payload), props["ContentType"]),
                         ({"op": "reboot"}, "application/json"))
        kind, doc = self.respond(f"{NEUTRAL}/{eid}", {"status": "BAD"})
        self.assertEqual((kind, doc["error"]), ("rejected", "InvalidRequest"))
        kind, doc = self.respond(f"{NEUTRAL}/{eid}", {"status": "SUCCEEDED"})
        self.assertEqual((kind, doc), ("accepted", {"executionId": eid}))
        self.assertEqual(self.execution(eid)["status"], "SUCCEEDED")
        kind, doc = self.respond(f"{NEUTRAL}/{eid}", {"status": "SUCCEEDED"})
        self.assertEqual((kind, doc["error"]), ("rejected", "TerminalStateReached"))

    def test_operator_errors(self) -> None:
        eid = self.eid()
        self.send({"executionId": eid, "payload": {}, "timeoutSeconds": 300})
        for body, code in (({"executionId": eid, "payload": {}}, 409),
                           ({"payload": {}, "timeoutSeconds": 0}, 400),
                           ({"payload": {}, "format": "xml"}, 400),
                           ({"executionId": "a b", "payload": {}}, 400),
                           ({}, 400), ({"payload": {}, "bogus": 1}, 400)):
            self.send(body, code)
        status, _ = http(self.emulator.api, "GET", f"/commands/{THING}/nope")
        self.assertEqual(status, 404)
        status, _ = http(self.emulator.api, "POST", f"/commands/{THING}", b"not json")
        self.assertEqual(status, 400)

    def test_cli(self) -> None:
        import os
        import subprocess
        from harness import CLOUDSIM_DIR, PYTHON
        env = dict(os.environ, PYTHONPATH=CLOUDSIM_DIR, CLOUDSIM_API=self.emulator.api)
        eid = self.eid()
        out = subprocess.run([PYTHON, "-m", "cloudsim", "commands", "send", THING,
                              '{"op":"reboot"}', "--timeout", "300", "--cbor", "--id", eid],
                             env=env, capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["format"], "cbor")
        payload, _ = self.request(f"{AWS}/{eid}/request/cbor")
        self.assertEqual(cbor2.loads(payload), {"op": "reboot"})
        for args in (["get", THING, eid], ["list", THING]):
            out = subprocess.run([PYTHON, "-m", "cloudsim", "commands"] + args, env=env,
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(eid, out.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
