"""Shared fixture of the cloudsim integration tests: the real TLS broker (scripts/test-broker.sh),
the emulator as a subprocess, and device-1 as an ordinary paho MQTT 5 client.
Missing prerequisites fail the suite (never skip).
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

    def __init__(self, workdir: str, broker: Dict[str, str],
                 extra_args: Optional[List[str]] = None) -> None:
        self.workdir = workdir
        self.extra_args = list(extra_args or [])
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
             "--ready-file", self.ready] + self.extra_args, env=env, stdout=log, stderr=subprocess.STDOUT)
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
    """device-1 as an ordinary MQTT 5 client subscribed to `filters` (default: all its shadow
    topics)."""

    def __init__(self, broker: Dict[str, str], filters: Optional[List[str]] = None,
                 name: str = THING, certfile: Optional[str] = None,
                 keyfile: Optional[str] = None, client_id: Optional[str] = None) -> None:
        """`name`: the identity under the broker's devices/ (CN = MQTT user name), or any
        certificate and key given as `certfile`/`keyfile`."""
        bdir = broker["TETHER_BROKER_DIR"]
        self.messages: "queue.Queue[Tuple[str, bytes]]" = queue.Queue()
        self.client = mqtt.Client(client_id=client_id or f"{name}-test", protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=os.path.join(bdir, "ca.crt"),
                            certfile=certfile or os.path.join(bdir, "devices", f"{name}.crt"),
                            keyfile=keyfile or os.path.join(bdir, "devices", f"{name}.key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        subscribed: "queue.Queue[Any]" = queue.Queue()
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p=None: subscribed.put(codes)
        connected: "queue.Queue[Any]" = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p=None: connected.put(rc)
        self.client.connect(broker["TETHER_BROKER_HOST"], int(broker["TETHER_BROKER_PORT"]),
                            keepalive=30)
        self.client.loop_start()
        rc = connected.get(timeout=WAIT_S)
        if getattr(rc, "value", rc) != 0:
            self.close()
            raise RuntimeError(f"connection as {name} refused: {rc}")
        if filters is None:
            filters = [f"$aws/things/{THING}/shadow/#", f"state/{THING}/#"]
        self.client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
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

    def expect(self, topics: List[str], timeout: float = WAIT_S,
               decode: Any = json.loads) -> Tuple[str, Doc]:
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
                return topic, decode(payload)

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


class BrokerTestCase(unittest.TestCase):
    """Starts a broker, the emulator (with EMULATOR_ARGS, where "$BROKER_DIR" is the broker's
    directory) and device-1 (subscribed to DEVICE_FILTERS) once per class."""

    EMULATOR_ARGS: List[str] = []
    DEVICE_FILTERS: Optional[List[str]] = None
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
            # "$BROKER_DIR" in EMULATOR_ARGS stands for the broker's directory
            args = [a.replace("$BROKER_DIR", cls.broker["TETHER_BROKER_DIR"])
                    for a in cls.EMULATOR_ARGS]
            cls.emulator = Emulator(cls.tmp, cls.broker, args)
            cls.emulator.start()
            cls.device = Device(cls.broker, cls.DEVICE_FILTERS)
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

