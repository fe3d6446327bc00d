"""Fast unit tests of the pure shadow logic (no broker)."""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from cloudsim import shadow_model as m  # noqa: E402
from cloudsim import topics  # noqa: E402
from cloudsim.shadow_model import Shadow, ShadowError  # noqa: E402

NOW = 1_700_000_000


def nest(levels: int) -> dict:
    value: object = 1
    for i in range(levels):
        value = {f"k{i}": value}
    assert isinstance(value, dict)
    return value


class ParseAndValidate(unittest.TestCase):
    def code(self, fn: object, *args: object) -> tuple:
        with self.assertRaises(ShadowError) as ctx:
            fn(*args)  # type: ignore[operator]
        return ctx.exception.code, ctx.exception.message

    def test_parse(self) -> None:
        self.assertEqual(m.parse_payload(b'{"a":1}'), {"a": 1})
        self.assertEqual(m.parse_payload(b"", allow_empty=True), {})
        for bad in (b"", b"{", b"[]", b"1", b"null", b'{"a":NaN}'):
            self.assertEqual(self.code(m.parse_payload, bad), (400, "Invalid JSON"), bad)
        self.assertEqual(self.code(m.parse_payload, b"\xff")[0], 415)
        self.assertEqual(self.code(m.parse_payload, b" " * (m.MAX_PAYLOAD_BYTES + 1))[0], 413)

    def test_validate_messages(self) -> None:
        cases = [
            ({}, "Missing required node: state"),
            ({"state": []}, "State node must be an object"),
            ({"state": {"desired": 1}}, "Desired node must be an object"),
            ({"state": {"reported": []}}, "Reported node must be an object"),
            ({"state": {}, "version": "1"}, "Invalid version"),
            ({"state": {}, "version": True}, "Invalid version"),
            ({"state": {}, "version": 1.5}, "Invalid version"),
            ({"state": {}, "clientToken": 5}, "Invalid clientToken"),
            ({"state": {}, "clientToken": "é" * 33}, "Invalid clientToken"),  # 66 bytes
            ({"state": {"reported": nest(7)}}, m.MSG_TOO_DEEP),
            ({"state": {"desired": {"a": [[[[[[1]]]]]]}}}, m.MSG_TOO_DEEP),
            ({"state": {"reported": {"a": [1, None]}}}, "State contains an invalid node"),
        ]
        for doc, message in cases:
            self.assertEqual(self.code(m.validate_update, doc), (400, message), doc)

    def test_validate_ok(self) -> None:
        self.assertIsNone(m.validate_update({"state": {"desired": None}}))
        self.assertEqual(m.validate_update({"state": {"reported": nest(6)},
                                            "clientToken": "x" * 64, "version": 3}), "x" * 64)

    def test_error_keeps_token(self) -> None:
        with self.assertRaises(ShadowError) as ctx:
            m.validate_update({"clientToken": "t"})
        self.assertEqual(ctx.exception.document(NOW),
                         {"code": 400, "message": "Missing required node: state",
                          "timestamp": NOW, "clientToken": "t"})

    def test_depth(self) -> None:
        self.assertEqual(m.depth(1), 0)
        self.assertEqual(m.depth({}), 1)
        self.assertEqual(m.depth({"a": [1, {"b": 2}]}), 3)


class MergeAndDelta(unittest.TestCase):
    def test_merge(self) -> None:
        old = {"a": 1, "b": {"c": 2, "d": 3}, "arr": [1, 2]}
        self.assertEqual(m.merge(old, {"a": None, "b": {"c": None}, "arr": [3], "n": {"x": 1}}),
                         {"b": {"d": 3}, "arr": [3], "n": {"x": 1}})
        self.assertEqual(old["arr"], [1, 2])  # input untouched
        self.assertEqual(m.merge({"b": {"c": 1}}, {"b": {"c": None}}), {})  # empty pruned
        self.assertEqual(m.merge({"b": 5}, {"b": {"c": 1}}), {"b": {"c": 1}})
        self.assertEqual(m.merge({"b": {"c": 1}}, {"b": 5}), {"b": 5})

    def test_delta(self) -> None:
        desired = {"led": True, "cfg": {"rate": 10, "mode": "eco"}, "arr": [1, 2], "new": 1}
        reported = {"led": True, "cfg": {"rate": 5, "mode": "eco"}, "arr": [1, 3], "x": 0}
        self.assertEqual(m.compute_delta(desired, reported),
                         {"cfg": {"rate": 10}, "arr": [1, 2], "new": 1})
        self.assertEqual(m.compute_delta({"a": 1}, {"a": 1.0}), {})
        self.assertEqual(m.compute_delta({"a": True}, {"a": 1}), {"a": True})
        self.assertEqual(m.compute_delta({"a": {"b": 1}}, {"a": 7}), {"a": {"b": 1}})
        self.assertEqual(m.compute_delta(None, {"a": 1}), {})

    def test_same(self) -> None:
        self.assertTrue(m.same({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]}))
        self.assertFalse(m.same(0, False))
        self.assertFalse(m.same([1], [1, 1]))


class Operations(unittest.TestCase):
    def test_first_update(self) -> None:
        r = m.apply_update(Shadow(), {"state": {"reported": {"a": {"b": 1}, "l": [1, 2]}},
                                      "clientToken": "c"}, NOW)
        self.assertEqual(r.shadow.version, 1)
        self.assertEqual(r.accepted, {
            "state": {"reported": {"a": {"b": 1}, "l": [1, 2]}},
            "metadata": {"reported": {"a": {"b": {"timestamp": NOW}},
                                      "l": [{"timestamp": NOW}, {"timestamp": NOW}]}},
            "version": 1, "timestamp": NOW, "clientToken": "c"})
        self.assertNotIn("previous", r.documents)
        self.assertEqual(r.documents["current"]["version"], 1)
        self.assertIsNone(r.delta)

    def test_desired_then_delta_and_metadata(self) -> None:
        s = m.apply_update(Shadow(), {"state": {"reported": {"a": 1, "b": 2}}}, NOW).shadow
        r = m.apply_update(s, {"state": {"desired": {"a": 1, "b": 3}}}, NOW + 5)
        self.assertEqual(r.delta, {"state": {"b": 3}, "metadata": {"b": {"timestamp": NOW + 5}},
                                   "version": 2, "timestamp": NOW + 5})
        self.assertEqual(r.documents["previous"]["version"], 1)
        # metadata of untouched keys keeps its older timestamp
        r2 = m.apply_update(r.shadow, {"state": {"reported": {"b": 3}}}, NOW + 9)
        self.assertEqual(r2.shadow.metadata["reported"],
                         {"a": {"timestamp": NOW}, "b": {"timestamp": NOW + 9}})
        self.assertIsNone(r2.delta)
        doc = m.get_document(r2.shadow, "t", "", "g", NOW + 10)
        self.assertNotIn("delta", doc["state"])
        self.assertEqual(doc["clientToken"], "g")

    def test_null_section_and_leaf(self) -> None:
        s = m.apply_update(Shadow(), {"state": {"desired": {"a": 1}, "reported": {"x": {"y": 1}}}},
                           NOW).shadow
        r = m.apply_update(s, {"state": {"desired": None, "reported": {"x": {"y": None}}}}, NOW)
        self.assertEqual(r.shadow.state, {})
        self.assertEqual(r.shadow.metadata, {})
        self.assertEqual(r.accepted["state"], {"desired": None, "reported": {"x": {"y": None}}})

    def test_version_conflict_and_size(self) -> None:
        s = m.apply_update(Shadow(), {"state": {"reported": {"a": 1}}}, NOW).shadow
        with self.assertRaises(ShadowError) as ctx:
            m.apply_update(s, {"state": {"reported": {"a": 2}}, "version": 5}, NOW)
        self.assertEqual((ctx.exception.code, ctx.exception.message), (409, "Version conflict"))
        self.assertEqual(m.apply_update(s, {"state": {}, "version": 1}, NOW).shadow.version, 2)
        with self.assertRaises(ShadowError) as ctx:
            m.apply_update(s, {"state": {"desired": {"big": "x" * 8200}}}, NOW)
        self.assertEqual(ctx.exception.code, 413)
        # exactly at the limit is fine: {"a":1} is 7 bytes, {"b":"..."} is 8 + n
        ok = m.apply_update(s, {"state": {"desired": {"b": "x" * (8192 - 7 - 8)}}}, NOW)
        self.assertEqual(m.state_size(ok.shadow.state), 8192)

    def test_get_delete_missing(self) -> None:
        with self.assertRaises(ShadowError) as ctx:
            m.get_document(Shadow(), "t", "", None, NOW)
        self.assertEqual((ctx.exception.code, ctx.exception.message), (404, "Thing not found"))
        with self.assertRaises(ShadowError) as ctx:
            m.delete_shadow(Shadow(), "t", "cfg", "k", NOW)
        self.assertEqual(ctx.exception.message, "No shadow exists with name: cfg")
        self.assertEqual(ctx.exception.client_token, "k")

    def test_delete_keeps_version(self) -> None:
        s = m.apply_update(Shadow(), {"state": {"reported": {"a": 1}}}, NOW).shadow
        tomb, doc = m.delete_shadow(s, "t", "", None, NOW)
        self.assertEqual(doc, {"version": 1, "timestamp": NOW})
        self.assertFalse(tomb.exists)
        again = m.apply_update(tomb, {"state": {"reported": {"b": 1}}, "version": 99}, NOW)
        self.assertEqual(again.shadow.version, 2)
        self.assertEqual(again.shadow.state, {"reported": {"b": 1}})


class Topics(unittest.TestCase):
    def test_parse(self) -> None:
        P = topics.parse
        self.assertEqual(P("$aws/things/d1/shadow/get"),
                         topics.ShadowRequest("aws", "d1", "", "get"))
        self.assertEqual(P("$aws/things/d1/shadow/name/cfg/update"),
                         topics.ShadowRequest("aws", "d1", "cfg", "update"))
        self.assertEqual(P("state/d1/delete"), topics.ShadowRequest("neutral", "d1", "", "delete"))
        self.assertEqual(P("state/d1/cfg/get"), topics.ShadowRequest("neutral", "d1", "cfg", "get"))
        for bad in ("$aws/things/d1/shadow/update/accepted", "state/d1/update/accepted",
                    "state/d1/get/update", "$aws/things/d.1/shadow/get", "state/d1/x/y/get",
                    "other/d1/get", "$aws/things/d1/shadow/name/" + "n" * 65 + "/get"):
            self.assertIsNone(P(bad), bad)

    def test_subscriptions_exclude_responses(self) -> None:
        for f in topics.subscriptions():
            self.assertTrue(f.rsplit("/", 1)[1] in topics.OPERATIONS, f)

    def test_prefix(self) -> None:
        self.assertEqual(topics.prefix("aws", "t", "s"), "$aws/things/t/shadow/name/s")
        self.assertEqual(topics.prefix("neutral", "t", ""), "state/t")


if __name__ == "__main__":
    unittest.main()
