"""Integration tests: the Device Shadow emulator driven through the real TLS broker.

The device side is an ordinary paho MQTT client with device-1's certificate; the cloud side is
only reached through the operator HTTP API. Missing prerequisites fail the suite (never skip).
"""

from __future__ import annotations

import signal
import time
import unittest

from harness import THING, BrokerTestCase, aws_prefix, http, neutral_prefix


class ShadowServiceTest(BrokerTestCase):
    # -------------------------------------------------------------------------- tests

    def test_get_missing_classic_and_named_is_404(self) -> None:
        self.device.request("delete")  # classic may exist from another test
        kind, doc = self.device.request("get", b"")
        self.assertEqual(kind, "rejected")
        self.assertEqual(doc["code"], 404)
        self.assertEqual(doc["message"], "Thing not found")
        name = self.fresh()
        kind, doc = self.device.request("get", {"clientToken": "t1"}, shadow=name)
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        self.assertEqual(doc["message"], f"No shadow exists with name: {name}")
        self.assertEqual(doc["clientToken"], "t1")
        kind, doc = self.device.request("delete", b"", shadow=name)
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        status, doc = http(self.emulator.api, "GET", f"/shadows/{THING}?name={name}")
        self.assertEqual((status, doc["code"]), (404, 404))

    def test_update_reported_accepted_and_documents(self) -> None:
        name = self.fresh()
        before = int(time.time())
        self.device.drain()
        base = aws_prefix(name) + "/update"
        self.device.publish(base, {"state": {"reported": {"led": False, "cfg": {"rate": 5}}},
                                   "clientToken": "abc"})
        got = dict(self.device.collect([base + "/accepted", base + "/documents",
                                        base + "/delta"], 1.0))
        accepted = got[base + "/accepted"]
        self.assertEqual(accepted["state"], {"reported": {"led": False, "cfg": {"rate": 5}}})
        self.assertEqual(accepted["version"], 1)
        self.assertEqual(accepted["clientToken"], "abc")
        ts = accepted["metadata"]["reported"]["cfg"]["rate"]["timestamp"]
        self.assertTrue(before <= ts <= int(time.time()) + 1, ts)
        self.assertEqual(accepted["metadata"]["reported"]["led"], {"timestamp": ts})
        docs = got[base + "/documents"]
        self.assertNotIn("previous", docs)
        self.assertEqual(docs["current"]["version"], 1)
        self.assertEqual(docs["current"]["state"]["reported"]["cfg"], {"rate": 5})
        self.assertEqual(docs["clientToken"], "abc")
        self.assertNotIn(base + "/delta", got)  # no desired: no delta
        # second update: documents carry previous and current
        self.device.drain()
        self.device.publish(base, {"state": {"reported": {"led": True}}})
        got = dict(self.device.collect([base + "/accepted", base + "/documents"], 1.0))
        self.assertEqual(got[base + "/documents"]["previous"]["version"], 1)
        self.assertEqual(got[base + "/documents"]["previous"]["state"]["reported"]["led"], False)
        self.assertEqual(got[base + "/documents"]["current"]["state"]["reported"]["led"], True)
        self.assertEqual(got[base + "/accepted"]["version"], 2)

    def test_desired_via_http_sends_delta_with_only_differing_keys(self) -> None:
        name = self.fresh()
        kind, _ = self.device.request("update", {"state": {"reported": {
            "led": True, "cfg": {"rate": 5, "mode": "eco"}, "fw": "1.0"}}}, shadow=name)
        self.assertEqual(kind, "accepted")
        self.device.drain()
        status, doc = http(self.emulator.api, "POST", f"/shadows/{THING}/desired?name={name}",
                           {"led": True, "cfg": {"rate": 10, "mode": "eco"}, "list": [1, 2]})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["version"], 2)
        base = aws_prefix(name) + "/update"
        got = dict(self.device.collect([base + "/delta", base + "/accepted",
                                        neutral_prefix(name) + "/update/delta"], 1.0))
        delta = got[base + "/delta"]
        self.assertEqual(delta["state"], {"cfg": {"rate": 10}, "list": [1, 2]})
        self.assertEqual(delta["version"], 2)
        self.assertIn("timestamp", delta["metadata"]["cfg"]["rate"])
        self.assertEqual(got[base + "/accepted"]["state"]["desired"]["cfg"]["rate"], 10)
        self.assertEqual(got[neutral_prefix(name) + "/update/delta"]["state"], delta["state"])
        # the get document holds the delta too
        status, doc = http(self.emulator.api, "GET", f"/shadows/{THING}?name={name}")
        self.assertEqual(status, 200)
        self.assertEqual(doc["state"]["delta"], {"cfg": {"rate": 10}, "list": [1, 2]})
        # HTTP errors
        status, doc = http(self.emulator.api, "POST", f"/shadows/{THING}/desired", b"[1]")
        self.assertEqual(status, 400, doc)
        status, doc = http(self.emulator.api, "POST", f"/shadows/{THING}/desired", b"{nope")
        self.assertEqual(status, 400, doc)
        status, doc = http(self.emulator.api, "GET", "/nothing")
        self.assertEqual(status, 404, doc)

    def test_stale_version_is_409(self) -> None:
        name = self.fresh()
        self.device.request("update", {"state": {"reported": {"a": 1}}}, shadow=name)
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 2}}, "version": 1,
                                                   "clientToken": "v"}, shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 2))
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 3}}, "version": 1,
                                                   "clientToken": "v"}, shadow=name)
        self.assertEqual(kind, "rejected")
        self.assertEqual((doc["code"], doc["message"]), (409, "Version conflict"))
        self.assertEqual(doc["clientToken"], "v")
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 3}},
                                                   "version": "x"}, shadow=name)
        self.assertEqual((doc["code"], doc["message"]), (400, "Invalid version"))

    def test_client_token_echo_and_limit(self) -> None:
        name = self.fresh()
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 1}},
                                                   "clientToken": "x" * 64}, shadow=name)
        self.assertEqual((kind, doc["clientToken"]), ("accepted", "x" * 64))
        kind, doc = self.device.request("get", {"clientToken": "g"}, shadow=name)
        self.assertEqual((kind, doc["clientToken"]), ("accepted", "g"))
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 1}},
                                                   "clientToken": "x" * 65}, shadow=name)
        self.assertEqual(kind, "rejected")
        self.assertEqual((doc["code"], doc["message"]), (400, "Invalid clientToken"))

    def test_null_deletes_and_arrays_replaced_whole(self) -> None:
        name = self.fresh()
        self.device.request("update", {"state": {"reported": {"a": 1, "b": {"c": 2, "d": 3},
                                                              "arr": [1, 2, 3]}}}, shadow=name)
        kind, doc = self.device.request("update", {"state": {"reported": {
            "a": None, "b": {"c": None}, "arr": [9]}}}, shadow=name)
        self.assertEqual(kind, "accepted")
        self.assertEqual(doc["state"]["reported"]["a"], None)  # echoed as sent
        kind, doc = self.device.request("get", b"", shadow=name)
        self.assertEqual(doc["state"]["reported"], {"b": {"d": 3}, "arr": [9]})
        self.assertEqual(set(doc["metadata"]["reported"]), {"b", "arr"})
        self.assertEqual(len(doc["metadata"]["reported"]["arr"]), 1)
        # "desired": null removes the section
        self.device.request("update", {"state": {"desired": {"x": 1}}}, shadow=name)
        kind, doc = self.device.request("update", {"state": {"desired": None}}, shadow=name)
        self.assertEqual(kind, "accepted")
        kind, doc = self.device.request("get", b"", shadow=name)
        self.assertNotIn("desired", doc["state"])
        self.assertNotIn("delta", doc["state"])

    def test_validation_errors(self) -> None:
        name = self.fresh()
        cases = [
            ({"clientToken": "n"}, "Missing required node: state"),
            ({"state": 5}, "State node must be an object"),
            ({"state": {"desired": [1]}}, "Desired node must be an object"),
            ({"state": {"reported": "x"}}, "Reported node must be an object"),
            ({"state": {"reported": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}},
             "JSON contains too many levels of nesting; maximum is 6"),
        ]
        for payload, message in cases:
            kind, doc = self.device.request("update", payload, shadow=name)
            self.assertEqual((kind, doc["code"], doc["message"]), ("rejected", 400, message))
        kind, _ = self.device.request(
            "update", {"state": {"reported": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}},
            shadow=name)
        self.assertEqual(kind, "accepted")  # exactly 6 levels is allowed

    def test_over_8kb_is_413(self) -> None:
        name = self.fresh()
        kind, _ = self.device.request("update", {"state": {"reported": {"a": "x" * 4000}}},
                                      shadow=name)
        self.assertEqual(kind, "accepted")
        kind, doc = self.device.request("update", {"state": {"desired": {"b": "y" * 4300}}},
                                        shadow=name)
        self.assertEqual(kind, "rejected")
        self.assertEqual((doc["code"], doc["message"]),
                         (413, "The payload exceeds the maximum size allowed"))
        kind, doc = self.device.request("get", b"", shadow=name)
        self.assertEqual(doc["version"], 1)  # nothing applied
        kind, doc = self.device.request("update", b"{" + b" " * 200_000 + b"}", shadow=name)
        self.assertEqual((kind, doc["code"]), ("rejected", 413))

    def test_malformed_payloads_and_unknown_topics_do_not_crash(self) -> None:
        name = self.fresh()
        for bad in (b"{not json", b"[1,2]", b"", b"\xff\xfe", b"null"):
            kind, doc = self.device.request("update", bad, shadow=name)
            self.assertEqual(kind, "rejected", bad)
            self.assertIn(doc["code"], (400, 415), bad)
        kind, doc = self.device.request("update", b"{not json", shadow=name)
        self.assertEqual(doc["message"], "Invalid JSON")
        kind, doc = self.device.request("get", b"{bad", shadow=name)
        self.assertEqual((kind, doc["code"]), ("rejected", 400))
        # unknown topics under the device's tree: ignored
        self.device.publish(f"$aws/things/{THING}/shadow/name/{name}/frobnicate", b"{}")
        self.device.publish(f"state/{THING}/update/extra/levels", b"{}")
        kind, doc = self.device.request("update", {"state": {"reported": {"ok": 1}}}, shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 1))
        self.assertTrue(self.emulator.alive())

    def test_named_shadow_is_separate_from_classic(self) -> None:
        name = self.fresh()
        self.device.request("update", {"state": {"reported": {"where": "classic"}}})
        kind, doc = self.device.request("update", {"state": {"reported": {"where": "named"}}},
                                        shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 1))
        _, classic = self.device.request("get")
        _, named = self.device.request("get", shadow=name)
        self.assertEqual(classic["state"]["reported"]["where"], "classic")
        self.assertEqual(named["state"]["reported"]["where"], "named")
        kind, doc = self.device.request("delete", {"clientToken": "d"}, shadow=name)
        self.assertEqual((kind, doc["version"], doc["clientToken"]), ("accepted", 1, "d"))
        kind, doc = self.device.request("get", shadow=name)
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        # re-creating after delete continues from the kept version
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 1}}}, shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 2))
        status, doc = http(self.emulator.api, "DELETE", f"/shadows/{THING}?name={name}")
        self.assertEqual(status, 200, doc)
        status, doc = http(self.emulator.api, "DELETE", f"/shadows/{THING}?name={name}")
        self.assertEqual(status, 404, doc)

    def test_neutral_profile(self) -> None:
        name = self.fresh()
        kind, doc = self.device.request("get", shadow=name, prefix=neutral_prefix)
        self.assertEqual((kind, doc["code"]), ("rejected", 404))
        kind, doc = self.device.request("update", {"state": {"reported": {"led": False}},
                                                   "clientToken": "n"},
                                        shadow=name, prefix=neutral_prefix)
        self.assertEqual((kind, doc["version"], doc["clientToken"]), ("accepted", 1, "n"))
        self.device.drain()
        status, _ = http(self.emulator.api, "POST", f"/shadows/{THING}/desired?name={name}",
                         {"led": True})
        self.assertEqual(status, 200)
        _, delta = self.device.expect([neutral_prefix(name) + "/update/delta"])
        self.assertEqual(delta["state"], {"led": True})
        kind, doc = self.device.request("update", {"state": {"reported": {"led": True}},
                                                   "version": 1},
                                        shadow=name, prefix=neutral_prefix)
        self.assertEqual((kind, doc["code"]), ("rejected", 409))
        kind, doc = self.device.request("update", b"oops", shadow=name, prefix=neutral_prefix)
        self.assertEqual((kind, doc["message"]), ("rejected", "Invalid JSON"))
        # classic shadow on the neutral profile: state/<thing>/get
        self.device.request("update", {"state": {"reported": {"p": "neutral"}}},
                            prefix=neutral_prefix)
        kind, doc = self.device.request("get", prefix=neutral_prefix)
        self.assertEqual((kind, doc["state"]["reported"]["p"]), ("accepted", "neutral"))

    def test_zz_restart_keeps_shadows(self) -> None:
        name = self.fresh()
        self.device.request("update", {"state": {"reported": {"a": 1}}}, shadow=name)
        kind, doc = self.device.request("update", {"state": {"desired": {"a": 2, "n": [1]}}},
                                        shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 2))
        _, before = self.device.request("get", shadow=name)
        self.emulator.stop(signal.SIGKILL)
        self.emulator.start()
        kind, after = self.device.request("get", shadow=name)
        self.assertEqual(kind, "accepted")
        self.assertEqual(after["version"], 2)
        self.assertEqual(after["state"], before["state"])
        self.assertEqual(after["metadata"], before["metadata"])
        kind, doc = self.device.request("update", {"state": {"reported": {"a": 2}}, "version": 2},
                                        shadow=name)
        self.assertEqual((kind, doc["version"]), ("accepted", 3))


if __name__ == "__main__":
    unittest.main()
