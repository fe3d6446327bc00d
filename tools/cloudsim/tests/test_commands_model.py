"""Pure tests of the Commands logic (no broker)."""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from cloudsim import commands_model as cm  # noqa: E402
from cloudsim.commands_model import CommandsError, Config  # noqa: E402

CFG = Config()


def one(timeout: float = 10, now: float = 100.0) -> list:
    execs: list = []
    cm.create(execs, "t", "e1", b'{"op":"reboot"}', cm.JSON, timeout, now, CFG)
    return execs


class CommandsModelTest(unittest.TestCase):
    def err(self, code: str, execs: list, doc: dict, now: float = 101.0,
            execution_id: str = "e1") -> CommandsError:
        with self.assertRaises(CommandsError) as ctx:
            cm.update(execs, execution_id, doc, now)
        self.assertEqual(ctx.exception.code, code)
        return ctx.exception

    def test_create(self) -> None:
        execs = one()
        e = execs[0]
        self.assertEqual((e.status, e.content_type, e.payload, e.deadline),
                         ("CREATED", "application/json", b'{"op":"reboot"}', 110.0))
        self.assertEqual(cm.expiry_seconds(e, 100.0), 10)
        self.assertEqual(cm.expiry_seconds(e, 103.5), 7)
        self.assertEqual(cm.expiry_seconds(e, 200.0), 1)
        self.assertEqual(e.view()["payload"], {"op": "reboot"})
        with self.assertRaises(KeyError):
            cm.create(execs, "t", "e1", b"{}", cm.JSON, 5, 100.0, CFG)
        for bad in ("", "a/b", "x" * 65, "+"):
            with self.assertRaises(ValueError):
                cm.create(execs, "t", bad, b"{}", cm.JSON, 5, 100.0, CFG)
        for bad_timeout in (0, -1, "5", True, float("nan"), 10 ** 9):
            with self.assertRaises(ValueError):
                cm.create(execs, "t", "e2", b"{}", cm.JSON, bad_timeout, 100.0, CFG)
        with self.assertRaises(ValueError):
            cm.create(execs, "t", "e2", b"{}", "xml", 5, 100.0, CFG)
        with self.assertRaises(ValueError):
            cm.create(execs, "t", "jobs", b"{}", cm.JSON, 5, 100.0, CFG, profile=cm.NEUTRAL)
        cb = cm.create(execs, "t", "e3", b"\xa0", cm.CBOR, None, 100.0, Config(second_s=0.1))
        self.assertEqual((cb.content_type, cb.timeout_s, cb.deadline), ("application/cbor", 10.0,
                                                                        101.0))

    def test_in_progress_then_succeeded_then_terminal(self) -> None:
        execs = one()
        self.assertEqual(cm.update(execs, "e1", {"status": "IN_PROGRESS"}, 101.0),
                         {"executionId": "e1"})
        cm.update(execs, "e1", {"status": "IN_PROGRESS",
                                "statusReason": {"reasonCode": "STEP_2"}}, 102.0)
        self.assertEqual(execs[0].status_reason, {"reasonCode": "STEP_2"})
        cm.update(execs, "e1", {"status": "SUCCEEDED", "result": {"out": {"s": "ok"},
                                                                   "flag": {"b": True},
                                                                   "blob": {"bin": "AAE="}}},
                  103.0)
        e = execs[0]
        self.assertEqual((e.status, e.completed_at, e.deadline, e.status_reason),
                         ("SUCCEEDED", 103.0, None, None))
        self.assertEqual(e.result["out"], {"s": "ok"})
        for status in ("IN_PROGRESS", "FAILED", "SUCCEEDED", "TIMED_OUT", "CREATED"):
            self.err("TerminalStateReached", execs, {"status": status})
        self.assertEqual(cm.apply_timeouts(execs, 1000.0), [])

    def test_invalid_requests(self) -> None:
        execs = one()
        for doc in ({}, {"status": None}, {"status": 3}, {"status": "DONE"},
                    {"status": "succeeded"},
                    {"status": "FAILED", "statusReason": "x"},
                    {"status": "FAILED", "statusReason": {"reasonDescription": "why"}},
                    {"status": "FAILED", "statusReason": {"reasonCode": ""}},
                    {"status": "FAILED", "statusReason": {"reasonCode": "X" * 65}},
                    {"status": "FAILED", "statusReason": {"reasonCode": "X",
                                                          "reasonDescription": "d" * 1025}},
                    {"status": "FAILED", "statusReason": {"reasonCode": "X", "other": 1}},
                    {"status": "FAILED", "result": []},
                    {"status": "FAILED", "result": {"k": "v"}},
                    {"status": "FAILED", "result": {"k": {"s": 1}}},
                    {"status": "FAILED", "result": {"k": {"b": "true"}}},
                    {"status": "FAILED", "result": {"k": {"bin": "!!"}}},
                    {"status": "FAILED", "result": {"k": {"s": "a", "b": True}}}):
            self.err("InvalidRequest", execs, doc)
        self.assertEqual(execs[0].status, "CREATED")
        self.err("InvalidStateTransition", execs, {"status": "CREATED"})
        self.err("ResourceNotFound", execs, {"status": "IN_PROGRESS"}, execution_id="nope")
        with self.assertRaises(CommandsError) as ctx:
            cm.parse_json(b"{not json")
        self.assertEqual(ctx.exception.document("e1"),
                         {"error": "InvalidJson", "errorMessage": "payload is not valid JSON",
                          "executionId": "e1"})
        with self.assertRaises(CommandsError):
            cm.parse_json(b"[1]")
        # a described reason with its code is fine
        cm.update(execs, "e1", {"status": "FAILED", "statusReason": {
            "reasonCode": "E_DISK", "reasonDescription": "disk full"}, "extra": 1}, 101.0)
        self.assertEqual(execs[0].status, "FAILED")

    def test_timeout(self) -> None:
        execs = one(timeout=10)
        cm.update(execs, "e1", {"status": "IN_PROGRESS"}, 105.0)
        self.assertEqual(cm.apply_timeouts(execs, 109.9), [])
        self.assertEqual(len(cm.apply_timeouts(execs, 110.0)), 1)
        e = execs[0]
        self.assertEqual((e.status, e.status_reason["reasonCode"]),
                         ("TIMED_OUT", "$NO_RESPONSE_FROM_DEVICE"))
        self.assertEqual(cm.apply_timeouts(execs, 200.0), [])
        self.err("InvalidStateTransition", execs, {"status": "IN_PROGRESS"}, 111.0)
        self.err("InvalidStateTransition", execs, {"status": "TIMED_OUT"}, 111.0)
        cm.update(execs, "e1", {"status": "SUCCEEDED"}, 112.0)  # late outcome recorded
        self.assertEqual(e.status, "SUCCEEDED")
        self.err("TerminalStateReached", execs, {"status": "FAILED"}, 113.0)

    def test_device_reports_timed_out(self) -> None:
        execs = one()
        cm.update(execs, "e1", {"status": "TIMED_OUT",
                                "statusReason": {"reasonCode": "LOCAL_TIMEOUT"}}, 101.0)
        self.assertEqual((execs[0].status, execs[0].deadline), ("TIMED_OUT", None))
        self.assertEqual(execs[0].status_reason, {"reasonCode": "LOCAL_TIMEOUT"})

    def test_parse_json_refuses_what_is_not_json(self) -> None:
        # NaN/Infinity are not JSON, and nesting too deep for the parser is malformed input,
        # both answered as InvalidJson (as the shadow and jobs services do), never an internal error.
        for payload in (b'{"status": NaN}', b'{"x": Infinity}', b"[" * 100000, b"\xff"):
            with self.assertRaises(CommandsError) as ctx:
                cm.parse_json(payload)
            self.assertEqual(ctx.exception.code, cm.INVALID_JSON)

    def test_json_roundtrip(self) -> None:
        execs = one()
        cm.update(execs, "e1", {"status": "IN_PROGRESS"}, 101.0)
        again = cm.Execution.from_json(execs[0].to_json())
        self.assertEqual(again, execs[0])


if __name__ == "__main__":
    unittest.main()
