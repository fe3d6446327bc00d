"""Pure tests of the Defender metrics logic (no broker)."""

from __future__ import annotations

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from cloudsim import metrics_model as mm  # noqa: E402
from cloudsim.metrics_model import MetricsError  # noqa: E402

LONG = {
    "header": {"report_id": 1530304554, "version": "1.0"},
    "metrics": {
        "listening_tcp_ports": {"ports": [{"interface": "eth0", "port": 24800},
                                          {"interface": "eth0", "port": 22}], "total": 2},
        "listening_udp_ports": {"ports": [{"interface": "eth0", "port": 5353}], "total": 1},
        "network_stats": {"bytes_in": 29358693495, "bytes_out": 26485035, "packets_in": 10013573555,
                          "packets_out": 11382615},
        "tcp_connections": {"established_connections": {
            "connections": [{"local_interface": "eth0", "local_port": 80,
                             "remote_addr": "192.168.0.1:8000"},
                            {"remote_addr": "[2001:db8::1]:443", "local_port": 5000}],
            "total": 2}},
    },
    "custom_metrics": {"cpu_usage": [{"number": 26}], "temps": [{"number_list": [1, 2.5]}],
                       "users": [{"string_list": ["root", "a-b_c/d.e:f"]}],
                       "peers": [{"ip_list": ["10.0.0.1", "2001:db8::2"]}]},
}

SHORT = {
    "hed": {"rid": 1530304554, "v": "1.0"},
    "met": {
        "tp": {"pts": [{"if": "eth0", "pt": 24800}, {"if": "eth0", "pt": 22}], "t": 2},
        "up": {"pts": [{"if": "eth0", "pt": 5353}], "t": 1},
        "ns": {"bi": 29358693495, "bo": 26485035, "pi": 10013573555, "po": 11382615},
        "tc": {"ec": {"cs": [{"li": "eth0", "lp": 80, "rad": "192.168.0.1:8000"},
                             {"rad": "[2001:db8::1]:443", "lp": 5000}], "t": 2}},
    },
    "cmet": {"cpu_usage": [{"number": 26}], "temps": [{"number_list": [1, 2.5]}],
             "users": [{"string_list": ["root", "a-b_c/d.e:f"]}],
             "peers": [{"ip_list": ["10.0.0.1", "2001:db8::2"]}]},
}


def rejected(doc, last=None, thing="t"):
    with unittest.TestCase().assertRaises(MetricsError) as ctx:
        mm.check_report(doc, thing, last)
    return ctx.exception


class ValidationTest(unittest.TestCase):
    def test_long_and_short_keys_normalise_alike(self) -> None:
        a = mm.check_report(LONG, "t", None)
        b = mm.check_report(SHORT, "t", None)
        self.assertFalse(a.short_keys)
        self.assertTrue(b.short_keys)
        self.assertEqual(a.to_json(), b.to_json())
        self.assertEqual(a.to_json()["metrics"], LONG["metrics"])
        self.assertEqual(a.dropped_custom, [])

    def test_only_custom_metrics_or_only_metrics(self) -> None:
        mm.check_report({"header": LONG["header"], "custom_metrics": {"x": [{"number": 1}]}},
                        "t", None)
        mm.check_report({"hed": SHORT["hed"], "met": {}}, "t", None)

    def test_malformed_classes(self) -> None:
        cases = [
            [],                                                     # not an object
            {"metrics": {}},                                        # no header
            {"header": LONG["header"], "hed": SHORT["hed"], "metrics": {}},  # both forms
            {"header": {"report_id": 1}, "metrics": {}},            # no version
            {"header": {"version": "1.0"}, "metrics": {}},          # no report_id
            {"header": {"report_id": "1", "version": "1.0"}, "metrics": {}},
            {"header": {"report_id": 0, "version": "1.0"}, "metrics": {}},
            {"header": {"report_id": True, "version": "1.0"}, "metrics": {}},
            {"header": {"report_id": 1, "version": "2.0"}, "metrics": {}},
            {"header": {"report_id": 1, "version": 1.0}, "metrics": {}},
            {"header": {"report_id": 1, "version": "1.0"}},         # neither section
            {"header": {"report_id": 1, "version": "1.0"}, "met": {}},  # mixed keys
            {"header": {"report_id": 1, "version": "1.0"}, "metrics": {"bogus": 1}},
            {"header": {"report_id": 1, "version": "1.0"},
             "metrics": {"network_stats": {"bytes_out": -1}}},
            {"header": {"report_id": 1, "version": "1.0"},
             "metrics": {"network_stats": {"bytes_out": "1"}}},
            {"header": {"report_id": 1, "version": "1.0"},
             "metrics": {"listening_tcp_ports": {"ports": [{"port": 0}]}}},
            {"header": {"report_id": 1, "version": "1.0"},
             "metrics": {"listening_tcp_ports": {"ports": [{"interface": "eth0"}]}}},
            {"header": {"report_id": 1, "version": "1.0"},
             "metrics": {"listening_udp_ports": {"ports": {"port": 1}}}},
            {"header": {"report_id": 1, "version": "1.0"}, "metrics": {"tcp_connections": {
                "established_connections": {"connections": [{"remote_addr": "1.2.3.4"}]}}}},
            {"header": {"report_id": 1, "version": "1.0"}, "metrics": {"tcp_connections": {
                "established_connections": {"connections": [{"local_port": 1}]}}}},
            {"hed": {"rid": 1, "v": "1.0"}, "met": {"tp": {"ports": []}}},  # long key in short
            # custom metrics: one-element arrays with one typed value
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": {"number": 1}}},
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": [{"number": 1},
                                                                                  {"number": 2}]}},
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": []}},
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": [{"num": 1}]}},
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": [{"number": "1"}]}},
            {"header": {"report_id": 1, "version": "1.0"},
             "custom_metrics": {"x": [{"number_list": [1, "a"]}]}},
            {"header": {"report_id": 1, "version": "1.0"},
             "custom_metrics": {"x": [{"string_list": "abc"}]}},
            {"header": {"report_id": 1, "version": "1.0"}, "custom_metrics": {"x": [{"ip_list": [1]}]}},
        ]
        for doc in cases:
            with self.subTest(doc=doc):
                err = rejected(doc)
                self.assertEqual((err.code, err.message), ("InvalidPayload",
                                                           "Malformed metrics report"))

    def test_report_id_monotonic(self) -> None:
        doc = copy.deepcopy(LONG)
        mm.check_report(doc, "t", 1530304553)
        for last in (1530304554, 1530304555):
            err = rejected(doc, last)
            self.assertEqual(err.code, "InvalidPayload")
            self.assertEqual(err.message, mm.DUPLICATE)
            self.assertEqual(err.report_id, 1530304554)

    def test_invalid_thing_name(self) -> None:
        for thing in ("a" * 129, "bad\x01name", ""):
            self.assertEqual(rejected(LONG, thing=thing).message, mm.INVALID_THING)
        mm.check_report(LONG, "a" * 128, None)

    def test_data_rules_drop_custom_metric_silently(self) -> None:
        doc = {"header": {"report_id": 5, "version": "1.0"}, "custom_metrics": {
            "ok": [{"number": -123456789012345}],
            "too_precise": [{"number": 1234567890123456}],
            "bad_chars": [{"string_list": ["has space"]}],
            "bad_ip": [{"ip_list": ["999.1.1.1"]}]}}
        r = mm.check_report(doc, "t", None)
        self.assertEqual(sorted(r.dropped_custom), ["bad_chars", "bad_ip", "too_precise"])
        self.assertEqual(r.to_json()["custom_metrics"], {"ok": [{"number": -123456789012345}]})

    def test_remote_addr_forms(self) -> None:
        for ok in ("1.2.3.4:80", "[::1]:443", "2001:db8::1:443", "10.0.0.1:0"):
            self.assertTrue(mm.valid_remote_addr(ok), ok)
        for bad in ("1.2.3.4", "1.2.3.4:70000", "[::1]443", "host:80", "1.2.3.4:x"):
            self.assertFalse(mm.valid_remote_addr(bad), bad)


class DocumentsTest(unittest.TestCase):
    def test_accepted(self) -> None:
        self.assertEqual(mm.accepted("myThing", 7, 1635801636.023),
                         {"thingName": "myThing", "reportId": 7, "status": "ACCEPTED",
                          "timestamp": 1635801636023})

    def test_rejected(self) -> None:
        err = rejected({"header": {"report_id": 9, "version": "9.9"}, "metrics": {}},
                       thing="myThing")
        self.assertEqual(mm.rejected("myThing", err, 1635802047.699),
                         {"thingName": "myThing", "reportId": 9, "status": "REJECTED",
                          "statusDetails": {"ErrorCode": "InvalidPayload",
                                            "ErrorMessage": "Malformed metrics report"},
                          "timestamp": 1635802047699})
        err = rejected(b"junk")
        self.assertNotIn("reportId", mm.rejected("t", err, 1.0))


class RulesTest(unittest.TestCase):
    def test_profile_validation(self) -> None:
        mm.validate_profile({"allowedListeningTcpPorts": [22], "allowedListeningUdpPorts": [],
                             "maxEstablishedConnections": 3, "maxBytesOut": 10,
                             "customMetrics": {"cpu": {"max": 90, "min": 0}}})
        for bad in ([], {"x": 1}, {"allowedListeningTcpPorts": [0]},
                    {"allowedListeningTcpPorts": "22"}, {"maxBytesOut": -1},
                    {"maxEstablishedConnections": True}, {"customMetrics": {"cpu": {}}},
                    {"customMetrics": {"cpu": {"max": "9"}}}):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                mm.validate_profile(bad)

    def test_no_profile_no_violations(self) -> None:
        r = mm.check_report(LONG, "t", None)
        self.assertEqual(mm.evaluate(r, None, 1.0), [])
        self.assertEqual(mm.evaluate(r, {}, 1.0), [])

    def test_conforming_report(self) -> None:
        r = mm.check_report(LONG, "t", None)
        profile = {"allowedListeningTcpPorts": [22, 24800], "allowedListeningUdpPorts": [5353],
                   "maxEstablishedConnections": 2, "maxBytesOut": 26485035,
                   "customMetrics": {"cpu_usage": {"max": 26}, "temps": {"min": 1}}}
        self.assertEqual(mm.evaluate(r, profile, 1.0), [])

    def test_each_rule_violated(self) -> None:
        r = mm.check_report(SHORT, "t", None)
        profile = {"allowedListeningTcpPorts": [22], "allowedListeningUdpPorts": [],
                   "maxEstablishedConnections": 1, "maxBytesOut": 1000,
                   "customMetrics": {"cpu_usage": {"max": 25}, "temps": {"min": 2},
                                     "users": {"max": 1}}}
        got = {(v["metric"], v["rule"]): v for v in mm.evaluate(r, profile, 2.0)}
        self.assertEqual(set(got), {
            ("aws:listening-tcp-ports", "in-port-set"), ("aws:listening-udp-ports", "in-port-set"),
            ("aws:num-established-tcp-connections", "less-than-equals"),
            ("aws:all-bytes-out", "less-than-equals"), ("cpu_usage", "less-than-equals"),
            ("temps", "greater-than-equals")})
        tcp = got[("aws:listening-tcp-ports", "in-port-set")]
        self.assertEqual((tcp["value"], tcp["limit"], tcp["reportId"], tcp["thingName"],
                          tcp["timestamp"]), ([24800], [22], 1530304554, "t", 2000))
        self.assertEqual(got[("aws:all-bytes-out", "less-than-equals")]["value"], 26485035)

    def test_empty_port_list_conforms(self) -> None:
        r = mm.check_report({"header": {"report_id": 1, "version": "1.0"},
                             "metrics": {"listening_tcp_ports": {"ports": [], "total": 0}}},
                            "t", None)
        self.assertEqual(mm.evaluate(r, {"allowedListeningTcpPorts": []}, 1.0), [])


if __name__ == "__main__":
    unittest.main()
