"""Integration tests: the Jobs device API driven through the real TLS broker as device-1.

The emulator runs with `--time-scale 60` (a timeout minute lasts one second) so the step-timeout
test is quick; jobs are created through the operator HTTP API only.
"""

from __future__ import annotations

import time
import unittest
import uuid
from typing import Any, Tuple

from harness import THING, BrokerTestCase, Doc, http

JOBS = f"$aws/things/{THING}/jobs"
NOTIFY = JOBS + "/notify"
NOTIFY_NEXT = JOBS + "/notify-next"


class JobsServiceTest(BrokerTestCase):
    EMULATOR_ARGS = ["--time-scale", "60"]
    DEVICE_FILTERS = [f"$aws/things/{THING}/jobs/#"]

    def setUp(self) -> None:
        # every test starts with an empty pending queue
        status, doc = http(self.emulator.api, "GET", f"/jobs/{THING}")
        self.assertEqual(status, 200, doc)
        for ex in doc["executions"]:
            if ex["status"] in ("QUEUED", "IN_PROGRESS"):
                http(self.emulator.api, "DELETE", f"/jobs/{THING}/{ex['jobId']}")
        time.sleep(0.1)
        self.device.drain()

    @staticmethod
    def job_id() -> str:
        return "j" + uuid.uuid4().hex[:10]

    def create(self, job_id: str, document: Any = None, **extra: Any) -> Doc:
        body = {"jobId": job_id, "document": document or {"operation": "reboot"}, **extra}
        status, doc = http(self.emulator.api, "POST", f"/jobs/{THING}", body)
        self.assertEqual(status, 201, doc)
        return doc

    def req(self, suffix: str, payload: Any = b"") -> Tuple[str, Doc]:
        base = JOBS + "/" + suffix
        self.device.drain()
        self.device.publish(base, payload)
        topic, doc = self.device.expect([base + "/accepted", base + "/rejected"])
        return topic.rsplit("/", 1)[1], doc

    def test_create_notifies_and_start_next(self) -> None:
        a, b = self.job_id(), self.job_id()
        created = self.create(a, {"operation": "reboot"})
        self.assertEqual((created["status"], created["versionNumber"]), ("QUEUED", 1))
        # notify then notify-next (published in that order on one connection)
        _, notify = self.device.expect([NOTIFY])
        self.assertEqual([j["jobId"] for j in notify["jobs"]["QUEUED"]], [a])
        _, nxt = self.device.expect([NOTIFY_NEXT])
        self.assertEqual(nxt["execution"]["jobId"], a)
        self.assertEqual(nxt["execution"]["jobDocument"], {"operation": "reboot"})
        self.create(b)
        kind, doc = self.req("get", {"clientToken": "g"})
        self.assertEqual((kind, doc["clientToken"]), ("accepted", "g"))
        self.assertEqual([j["jobId"] for j in doc["queuedJobs"]], [a, b])
        kind, doc = self.req("start-next", {"clientToken": "s", "statusDetails": {"step": "1"}})
        self.assertEqual(kind, "accepted")
        ex = doc["execution"]
        self.assertEqual((ex["jobId"], ex["status"], ex["jobDocument"], ex["statusDetails"]),
                         (a, "IN_PROGRESS", {"operation": "reboot"}, {"step": "1"}))
        self.assertEqual((ex["versionNumber"], ex["executionNumber"], doc["clientToken"]),
                         (2, 1, "s"))
        self.device.drain()
        kind, doc = self.req(f"{a}/update", {"status": "SUCCEEDED", "expectedVersion": 2,
                                              "includeJobExecutionState": True,
                                              "clientToken": "u"})
        self.assertEqual(kind, "accepted")
        self.assertEqual(doc["executionState"]["status"], "SUCCEEDED")
        self.assertEqual(doc["clientToken"], "u")
        _, notify = self.device.expect([NOTIFY])
        self.assertEqual([j["jobId"] for j in notify["jobs"]["QUEUED"]], [b])
        _, nxt = self.device.expect([NOTIFY_NEXT])
        self.assertEqual(nxt["execution"]["jobId"], b)

    def test_version_mismatch_number_and_string(self) -> None:
        a = self.job_id()
        self.create(a)
        for expected in (5, "5"):
            kind, doc = self.req(f"{a}/update", {"status": "IN_PROGRESS",
                                                  "expectedVersion": expected,
                                                  "clientToken": "v"})
            self.assertEqual((kind, doc["code"], doc["clientToken"]),
                             ("rejected", "VersionMismatch", "v"), expected)
            self.assertEqual(doc["executionState"]["versionNumber"], 1)
            self.assertIn("timestamp", doc)
        kind, doc = self.req(f"{a}/update", {"status": "IN_PROGRESS", "expectedVersion": "1"})
        self.assertEqual(kind, "accepted", doc)
        kind, doc = self.req(f"{a}/update", {"status": "IN_PROGRESS", "expectedVersion": 2})
        self.assertEqual(kind, "accepted", doc)

    def test_terminal_state_and_errors(self) -> None:
        a = self.job_id()
        self.create(a)
        kind, _ = self.req(f"{a}/update", {"status": "FAILED", "statusDetails": {"why": "x"}})
        self.assertEqual(kind, "accepted")
        kind, doc = self.req(f"{a}/update", {"status": "IN_PROGRESS"})
        self.assertEqual((kind, doc["code"]), ("rejected", "TerminalStateReached"))
        self.assertEqual(doc["executionState"]["status"], "FAILED")
        kind, doc = self.req("nosuchjob/update", {"status": "SUCCEEDED"})
        self.assertEqual((kind, doc["code"]), ("rejected", "ResourceNotFound"))
        kind, doc = self.req("nosuchjob/get")
        self.assertEqual((kind, doc["code"]), ("rejected", "ResourceNotFound"))
        b = self.job_id()
        self.create(b)
        kind, doc = self.req(f"{b}/update", {"status": "QUEUED"})
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidStateTransition"))
        kind, doc = self.req(f"{b}/update", {"statusDetails": {}})
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidRequest"))

    def test_describe_next_and_include_document(self) -> None:
        kind, doc = self.req("$next/get")
        self.assertEqual(kind, "accepted")
        self.assertNotIn("execution", doc)
        a = self.job_id()
        self.create(a, {"operation": "install", "url": "x"})
        kind, doc = self.req("$next/get", {"clientToken": "n"})
        self.assertEqual((kind, doc["execution"]["jobId"], doc["clientToken"]), ("accepted", a, "n"))
        self.assertEqual(doc["execution"]["jobDocument"]["operation"], "install")
        kind, doc = self.req(f"{a}/get", {"includeJobDocument": False})
        self.assertEqual((kind, doc["execution"]["status"]), ("accepted", "QUEUED"))
        self.assertNotIn("jobDocument", doc["execution"])
        kind, doc = self.req(f"{a}/update", {"status": "IN_PROGRESS", "includeJobDocument": True})
        self.assertEqual((kind, doc["jobDocument"]["url"]), ("accepted", "x"))

    def test_start_next_with_nothing_pending(self) -> None:
        kind, doc = self.req("start-next", {"clientToken": "e"})
        self.assertEqual((kind, doc["clientToken"]), ("accepted", "e"))
        self.assertNotIn("execution", doc)
        self.assertIsInstance(doc["timestamp"], int)

    def test_step_timeout(self) -> None:
        a = self.job_id()
        self.create(a)
        kind, doc = self.req("start-next", {"stepTimeoutInMinutes": 1})  # 1 s at --time-scale 60
        self.assertEqual((kind, doc["execution"]["jobId"]), ("accepted", a))
        _, nxt = self.device.expect([NOTIFY_NEXT], timeout=5)
        self.assertNotIn("execution", nxt)
        kind, doc = self.req(f"{a}/get")
        self.assertEqual(doc["execution"]["status"], "TIMED_OUT")
        kind, doc = self.req(f"{a}/update", {"status": "SUCCEEDED"})
        self.assertEqual((kind, doc["code"]), ("rejected", "TerminalStateReached"))

    def test_malformed_json_and_bad_operator_requests(self) -> None:
        kind, doc = self.req("get", b"{not json")
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidJson"))
        kind, doc = self.req("start-next", b"[1]")
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidJson"))
        kind, doc = self.req("x/update", b"\xff\xfe")
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidJson"))
        self.device.publish(JOBS + "/frobnicate", b"{}")  # unknown topic: ignored
        kind, doc = self.req("$next/update", {"status": "SUCCEEDED"})
        self.assertEqual((kind, doc["code"]), ("rejected", "InvalidTopic"))
        kind, doc = self.req("get", {})
        self.assertEqual(kind, "accepted")
        self.assertTrue(self.emulator.alive())
        api = self.emulator.api
        self.assertEqual(http(api, "POST", f"/jobs/{THING}", b"{x")[0], 400)
        self.assertEqual(http(api, "POST", f"/jobs/{THING}", {"jobId": "a b",
                                                              "document": {}})[0], 400)
        a = self.job_id()
        self.create(a)
        self.assertEqual(http(api, "POST", f"/jobs/{THING}", {"jobId": a, "document": {}})[0],
                         409)


if __name__ == "__main__":
    unittest.main()
