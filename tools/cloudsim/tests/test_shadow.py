"""Integration tests: the Device Shadow emulator driven through the real TLS broker.

The device side is an ordinary paho MQTT client with device-1's certificate; the cloud side is
only reached through the operator HTTP API. Missing prerequisites fail the suite (never skip).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLOUDSIM_DIR = os.path.join(REPO, "tools", "cloudsim")
BROKER_SCRIPT = os.path.join(REPO, "scripts", "test-broker.sh")
PYTHON = "/usr/bin/python3"
THING = "device-1"
WAIT_S = 5.0

try:
    import paho.mqtt.client as mqtt
    from paho.mqtt.subscribeoptions import SubscribeOptions
except ImportError as exc:  # fail loudly, do not skip
    raise RuntimeError("python3-paho-mqtt is required: apt-get install -y python3-paho-mqtt "
                       "(and run the tests with /usr/bin/python3)") from exc

Doc = Dict[str, Any]


def aws_prefix(shadow: str = "") -> str:
    return f"$aws/things/{THING}/shadow" + (f"/name/{shadow}" if shadow else "")


def neutral_prefix(shadow: str = "") -> str:
    return f"state/{THING}" + (f"/{shadow}" if shadow else "")


class Emulator:
    """The emulator as a subprocess."""

    def __init__(self, workdir: str, broker: Dict[str, str]) -> None:
        self.workdir = workdir
        self.broker = broker
        self.db = os.path.join(workdir, "cloudsim.db")
        self.ready = os.path.join(workdir, "ready.json")
        self.log_path = os.path.join(workdir, "cloudsim.log")
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.api = ""

    def start(self) -> None:
        if os.path.exists(self.ready):
            os.remove(self.ready)
        bdir = self.broker["TETHER_BROKER_DIR"]
        env = dict(os.environ, PYTHONPATH=CLOUDSIM_DIR)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "cloudsim", "serve", "--host", self.broker["TETHER_BROKER_HOST"],
             "--port", self.broker["TETHER_BROKER_PORT"], "--ca", os.path.join(bdir, "ca.crt"),
             "--cert", os.path.join(bdir, "cloudsim.crt"),
             "--key", os.path.join(bdir, "cloudsim.key"), "--db", self.db, "--http-port", "0",
             "--ready-file", self.ready], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloudsim exited with {self.proc.returncode}:\n{self.log()}")
            if os.path.exists(self.ready):
                with open(self.ready, encoding="utf-8") as f:
                    info = json.load(f)
                assert info["ready"] is True
                self.api = f"http://127.0.0.1:{info['http_port']}"
                return
            time.sleep(0.05)
        raise RuntimeError(f"cloudsim not ready after 20 s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return "(no log)"


class Device:
    """device-1 as an ordinary MQTT 5 client subscribed to all its shadow topics."""

    def __init__(self, broker: Dict[str, str]) -> None:
        bdir = broker["TETHER_BROKER_DIR"]
        self.messages: "queue.Queue[Tuple[str, bytes]]" = queue.Queue()
        self.client = mqtt.Client(client_id=f"{THING}-test", protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=os.path.join(bdir, "ca.crt"),
                            certfile=os.path.join(bdir, "devices", f"{THING}.crt"),
                            keyfile=os.path.join(bdir, "devices", f"{THING}.key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        subscribed: "queue.Queue[Any]" = queue.Queue()
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p=None: subscribed.put(codes)
        self.client.connect(broker["TETHER_BROKER_HOST"], int(broker["TETHER_BROKER_PORT"]),
                            keepalive=30)
        self.client.loop_start()
        self.client.subscribe([(f"$aws/things/{THING}/shadow/#", SubscribeOptions(qos=1)),
                               (f"state/{THING}/#", SubscribeOptions(qos=1))])
        codes = subscribed.get(timeout=WAIT_S)
        if any(getattr(c, "value", c) >= 0x80 for c in codes):
            raise RuntimeError(f"device subscription refused: {codes}")

    def drain(self) -> None:
        while True:
            try:
                self.messages.get_nowait()
            except queue.Empty:
                return

    def publish(self, topic: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1).wait_for_publish(WAIT_S)

    def expect(self, topics: List[str], timeout: float = WAIT_S) -> Tuple[str, Doc]:
        """The next message on one of `topics` (own requests and others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no message on {topics} within {timeout} s")
            try:
                topic, payload = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if topic in topics:
                return topic, json.loads(payload)

    def collect(self, topics: List[str], seconds: float) -> List[Tuple[str, Doc]]:
        got: List[Tuple[str, Doc]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                topic, payload = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if topic in topics:
                got.append((topic, json.loads(payload)))
        return got

    def request(self, op: str, payload: Any = b"", shadow: str = "",
                prefix: Any = aws_prefix) -> Tuple[str, Doc]:
        """Publishes a request; returns ("accepted"|"rejected", document)."""
        base = prefix(shadow) + "/" + op
        self.drain()
        self.publish(base, payload)
        topic, doc = self.expect([base + "/accepted", base + "/rejected"])
        return topic.rsplit("/", 1)[1], doc

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def http(api: str, method: str, path: str, body: Any = None) -> Tuple[int, Doc]:
    data = None if body is None else (
        body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(api + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=WAIT_S) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class ShadowServiceTest(unittest.TestCase):
    tmp: str
    broker_dir: str
    broker: Dict[str, str]
    emulator: Emulator
    device: Device

    @classmethod
    def setUpClass(cls) -> None:
        if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
            raise RuntimeError("mosquitto is required: apt-get install -y mosquitto")
        cls.tmp = tempfile.mkdtemp(prefix="cloudsim-test-")
        cls.broker_dir = os.path.join(cls.tmp, "broker")
        cls.emulator = None  # type: ignore[assignment]
        cls.device = None  # type: ignore[assignment]
        try:
            out = subprocess.run([BROKER_SCRIPT, "start", cls.broker_dir], check=True,
                                 capture_output=True, text=True, timeout=60)
            cls.broker = dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)
            cls.emulator = Emulator(cls.tmp, cls.broker)
            cls.emulator.start()
            cls.device = Device(cls.broker)
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls._teardown()

    @classmethod
    def _teardown(cls) -> None:
        try:
            if getattr(cls, "device", None) is not None:
                cls.device.close()
        finally:
            try:
                if getattr(cls, "emulator", None) is not None:
                    cls.emulator.stop()
            finally:
                subprocess.run([BROKER_SCRIPT, "stop", cls.broker_dir], check=False,
                               capture_output=True, timeout=60)
                shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self) -> None:
        if not self.emulator.alive():
            self.fail(f"the emulator died:\n{self.emulator.log()}")

    @staticmethod
    def fresh() -> str:
        return "s" + uuid.uuid4().hex[:10]

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
