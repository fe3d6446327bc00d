"""Pure tests of the Jobs device API logic (no broker)."""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from cloudsim import jobs_model as jm  # noqa: E402
from cloudsim.jobs_model import Config, JobsError  # noqa: E402

CFG = Config()


def two_jobs() -> list:
    execs: list = []
    jm.create(execs, "t", "a", {"op": "a"}, 100.0)
    jm.create(execs, "t", "b", {"op": "b"}, 101.0)
    return execs


class JobsModelTest(unittest.TestCase):
    def err(self, code: str, fn, *args) -> JobsError:
        with self.assertRaises(JobsError) as ctx:
            fn(*args)
        self.assertEqual(ctx.exception.code, code)
        return ctx.exception

    def test_create_and_pending_order(self) -> None:
        execs = two_jobs()
        out = jm.get_pending(execs, {"clientToken": "c"}, CFG, 102.0)
        self.assertEqual([j["jobId"] for j in out["queuedJobs"]], ["a", "b"])
        self.assertEqual((out["inProgressJobs"], out["clientToken"], out["timestamp"]),
                         ([], "c", 102))
        self.assertEqual(jm.next_execution(execs).job_id, "a")
        with self.assertRaises(KeyError):
            jm.create(execs, "t", "a", {}, 103.0)
        for bad in ("", "a/b", "x" * 65, "$next"):
            with self.assertRaises(ValueError):
                jm.create(execs, "t", bad, {}, 103.0)

    def test_start_next_update_and_next_changes(self) -> None:
        execs = two_jobs()
        out = jm.start_next(execs, {"statusDetails": {"p": "1"}}, CFG, 110.0)
        ex = out["execution"]
        self.assertEqual((ex["jobId"], ex["status"], ex["versionNumber"], ex["startedAt"]),
                         ("a", "IN_PROGRESS", 2, 110))
        self.assertEqual((ex["jobDocument"], ex["statusDetails"], ex["executionNumber"]),
                         ({"op": "a"}, {"p": "1"}, 1))
        key = jm.next_key(execs)
        out = jm.update(execs, "a", {"status": "SUCCEEDED", "expectedVersion": 2,
                                     "includeJobExecutionState": True}, CFG, 111.0)
        self.assertEqual(out["executionState"], {"status": "SUCCEEDED", "versionNumber": 3,
                                                 "statusDetails": {"p": "1"}})
        self.assertNotIn("jobDocument", out)
        self.assertNotEqual(jm.next_key(execs), key)
        self.assertEqual(jm.next_execution(execs).job_id, "b")

    def test_expected_version_number_and_string(self) -> None:
        execs = two_jobs()
        jm.update(execs, "a", {"status": "IN_PROGRESS", "expectedVersion": "1"}, CFG, 1.0)
        e = self.err(jm.VERSION_MISMATCH, jm.update, execs, "a",
                     {"status": "IN_PROGRESS", "expectedVersion": 1}, CFG, 2.0)
        self.assertEqual(e.execution_state["versionNumber"], 2)
        self.err(jm.VERSION_MISMATCH, jm.update, execs, "a",
                 {"status": "IN_PROGRESS", "expectedVersion": "7"}, CFG, 2.0)
        self.err(jm.INVALID_REQUEST, jm.update, execs, "a",
                 {"status": "IN_PROGRESS", "expectedVersion": "two"}, CFG, 2.0)
        jm.update(execs, "a", {"status": "IN_PROGRESS", "expectedVersion": 2}, CFG, 3.0)

    def test_terminal_and_transitions(self) -> None:
        execs = two_jobs()
        jm.update(execs, "a", {"status": "REJECTED"}, CFG, 1.0)  # QUEUED -> REJECTED allowed
        e = self.err(jm.TERMINAL_STATE_REACHED, jm.update, execs, "a",
                     {"status": "IN_PROGRESS"}, CFG, 2.0)
        self.assertEqual(e.execution_state["status"], "REJECTED")
        self.err(jm.INVALID_STATE_TRANSITION, jm.update, execs, "b", {"status": "QUEUED"},
                 CFG, 2.0)
        self.err(jm.INVALID_STATE_TRANSITION, jm.update, execs, "b", {"status": "CANCELED"},
                 CFG, 2.0)
        self.err(jm.INVALID_REQUEST, jm.update, execs, "b", {"status": "DONE"}, CFG, 2.0)
        self.err(jm.INVALID_REQUEST, jm.update, execs, "b", {}, CFG, 2.0)
        self.err(jm.RESOURCE_NOT_FOUND, jm.update, execs, "zz", {"status": "FAILED"}, CFG, 2.0)
        self.err(jm.RESOURCE_NOT_FOUND, jm.update, execs, "b",
                 {"status": "FAILED", "executionNumber": 9}, CFG, 2.0)
        self.err(jm.INVALID_REQUEST, jm.update, execs, "b",
                 {"status": "FAILED", "statusDetails": {"k": 1}}, CFG, 2.0)
        self.assertEqual(execs[1].version, 1)  # rejected requests change nothing

    def test_status_details_replaced(self) -> None:
        execs = two_jobs()
        jm.update(execs, "a", {"status": "IN_PROGRESS", "statusDetails": {"x": "1", "y": "2"}},
                  CFG, 1.0)
        jm.update(execs, "a", {"status": "IN_PROGRESS"}, CFG, 2.0)
        self.assertEqual(execs[0].status_details, {"x": "1", "y": "2"})
        jm.update(execs, "a", {"status": "IN_PROGRESS", "statusDetails": {"z": "3"}}, CFG, 3.0)
        self.assertEqual(execs[0].status_details, {"z": "3"})
        self.assertEqual(execs[0].version, 4)

    def test_describe_and_next(self) -> None:
        execs = two_jobs()
        out = jm.describe(execs, "$next", {}, CFG, 5.0)
        self.assertEqual(out["execution"]["jobId"], "a")
        out = jm.describe(execs, "b", {"includeJobDocument": False, "clientToken": "t"}, CFG, 5.0)
        self.assertNotIn("jobDocument", out["execution"])
        self.assertEqual(out["clientToken"], "t")
        jm.update(execs, "b", {"status": "IN_PROGRESS"}, CFG, 6.0)
        self.assertEqual(jm.describe(execs, "$next", {}, CFG, 7.0)["execution"]["jobId"], "b")
        self.err(jm.RESOURCE_NOT_FOUND, jm.describe, execs, "nope", {}, CFG, 7.0)
        self.err(jm.INVALID_REQUEST, jm.describe, execs, "a", {"includeJobDocument": "no"},
                 CFG, 7.0)
        empty: list = []
        self.assertNotIn("execution", jm.describe(empty, "$next", {}, CFG, 1.0))
        self.assertNotIn("execution", jm.start_next(empty, {}, CFG, 1.0))

    def test_step_timeout(self) -> None:
        execs = two_jobs()
        jm.start_next(execs, {"stepTimeoutInMinutes": 2}, CFG, 1000.0)
        self.assertEqual(jm.apply_timeouts(execs, 1119.0), [])
        # refreshed with IN_PROGRESS + new timeout
        jm.update(execs, "a", {"status": "IN_PROGRESS", "stepTimeoutInMinutes": 5}, CFG, 1100.0)
        self.assertEqual(jm.apply_timeouts(execs, 1399.0), [])
        self.assertEqual([e.job_id for e in jm.apply_timeouts(execs, 1400.0)], ["a"])
        self.assertEqual((execs[0].status, execs[0].version), ("TIMED_OUT", 4))
        self.err(jm.TERMINAL_STATE_REACHED, jm.update, execs, "a", {"status": "SUCCEEDED"},
                 CFG, 1401.0)
        self.err(jm.INVALID_REQUEST, jm.start_next, execs, {"stepTimeoutInMinutes": 0}, CFG, 1.0)
        # job-level in-progress timeout from creation
        jm.create(execs, "t", "c", {}, 0.0, in_progress_timeout_min=1)
        jm.update(execs, "b", {"status": "SUCCEEDED"}, CFG, 1500.0)
        jm.start_next(execs, {}, CFG, 1500.0)
        self.assertEqual(jm.apply_timeouts(execs, 1559.0), [])
        self.assertEqual(len(jm.apply_timeouts(execs, 1560.0)), 1)
        fast = Config(minute_s=1.0)
        jm.create(execs, "t", "d", {}, 0.0)
        jm.start_next(execs, {"stepTimeoutInMinutes": 3}, fast, 2000.0)
        self.assertEqual(len(jm.apply_timeouts(execs, 2003.0)), 1)

    def test_notify_documents_and_parse(self) -> None:
        execs = two_jobs()
        jm.start_next(execs, {}, CFG, 1.0)
        doc = jm.notify_document(execs, Config(ms_timestamps=True), 2.5)
        self.assertEqual(doc["timestamp"], 2500)
        self.assertEqual([j["jobId"] for j in doc["jobs"]["IN_PROGRESS"]], ["a"])
        self.assertEqual([j["jobId"] for j in doc["jobs"]["QUEUED"]], ["b"])
        self.assertEqual(jm.notify_next_document([], CFG, 3.0), {"timestamp": 3})
        for bad in (b"{x", b"[1]", b"\xff", b"NaN"):
            self.err(jm.INVALID_JSON, jm.parse_payload, bad)
        self.assertEqual(jm.parse_payload(b""), {})
        err = JobsError(jm.VERSION_MISMATCH, "m", {"status": "QUEUED"}, "tok").document(9)
        self.assertEqual(set(err), {"code", "message", "clientToken", "timestamp",
                                    "executionState"})

    def test_cancel(self) -> None:
        execs = two_jobs()
        jm.cancel(execs, "a", 1.0)
        self.assertEqual(jm.next_execution(execs).job_id, "b")
        with self.assertRaises(ValueError):
            jm.cancel(execs, "a", 2.0)


if __name__ == "__main__":
    unittest.main()
