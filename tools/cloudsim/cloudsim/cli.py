"""Command line: `serve` runs the emulator; `shadow ...` talks to a running one's HTTP API."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from typing import Any, List, Optional
from urllib.parse import quote, urlencode

from . import topics
from .http_api import make_server, serve_in_thread
from .mqtt_link import MqttLink
from .service import ShadowService
from .store import ShadowStore

CONNECT_TIMEOUT_S = 30.0


def _write_ready(path: str, http_port: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"ready": True, "http_port": http_port, "pid": os.getpid()}, f)
        f.write("\n")
    os.replace(tmp, path)


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s cloudsim %(name)s %(levelname)s: %(message)s")
    log = logging.getLogger("cloudsim")
    store = ShadowStore(args.db)
    link: Optional[MqttLink] = None

    def publish(topic: str, payload: bytes) -> None:
        assert link is not None
        link.publish(topic, payload)

    service = ShadowService(store, publish)
    link = MqttLink(args.host, args.port, args.ca, args.cert, args.key, topics.subscriptions(),
                    service.handle_message, client_id=args.client_id)
    server = make_server(service, args.http_port)
    http_port = server.server_address[1]
    serve_in_thread(server)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        link.start()
    except OSError as err:
        log.error("cannot connect to %s:%d: %s", args.host, args.port, err)
        return 1
    if not link.subscribed.wait(CONNECT_TIMEOUT_S):
        log.error("not subscribed after %.0f s: %s", CONNECT_TIMEOUT_S, link.failed or "timeout")
        link.stop()
        return 1
    log.info("ready: shadow service on mqtts://%s:%d, HTTP API on http://127.0.0.1:%d",
             args.host, args.port, http_port)
    if args.ready_file:
        _write_ready(args.ready_file, http_port)
    stop.wait()
    log.info("stopping")
    server.shutdown()
    link.stop()
    store.close()
    return 0


# ------------------------------------------------------------------------------- operator CLI


def _api_call(api: str, method: str, path: str, name: Optional[str],
              body: Optional[bytes] = None) -> int:
    url = api.rstrip("/") + path + ("?" + urlencode({"name": name}) if name else "")
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(json.dumps(json.loads(resp.read()), indent=2, sort_keys=True))
            return 0
    except urllib.error.HTTPError as err:
        detail: Any = err.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("message", detail)
        except ValueError:
            pass
        print(f"cloudsim: error {err.code}: {detail}", file=sys.stderr)
        return 1
    except urllib.error.URLError as err:
        print(f"cloudsim: cannot reach the emulator at {api}: {err.reason}", file=sys.stderr)
        return 2


def shadow_cmd(args: argparse.Namespace) -> int:
    if not args.api:
        print("cloudsim: no API address: pass --api http://127.0.0.1:PORT or set CLOUDSIM_API",
              file=sys.stderr)
        return 2
    path = "/shadows/" + quote(args.thing, safe="")
    if args.action == "get":
        return _api_call(args.api, "GET", path, args.name)
    if args.action == "delete":
        return _api_call(args.api, "DELETE", path, args.name)
    try:
        desired = json.loads(args.desired)
    except ValueError as err:
        print(f"cloudsim: desired state is not valid JSON: {err}", file=sys.stderr)
        return 2
    if not isinstance(desired, dict):
        print("cloudsim: desired state must be a JSON object", file=sys.stderr)
        return 2
    return _api_call(args.api, "POST", path + "/desired", args.name,
                     json.dumps(desired).encode("utf-8"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudsim",
                                     description="Local emulator of AWS IoT device services")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the emulator against an MQTT broker")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ca", required=True, help="CA certificate of the broker")
    s.add_argument("--cert", required=True, help="the emulator's client certificate")
    s.add_argument("--key", required=True, help="the emulator's private key")
    s.add_argument("--db", required=True, help="SQLite file holding the shadows")
    s.add_argument("--http-port", type=int, default=0, help="operator API port (0: any free)")
    s.add_argument("--ready-file", help="written with {\"ready\": true, \"http_port\": N}")
    s.add_argument("--client-id", default="tether-cloudsim")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=serve)

    sh = sub.add_parser("shadow", help="inspect or change shadows of a running emulator")
    sh.add_argument("--api", default=os.environ.get("CLOUDSIM_API"),
                    help="operator API, e.g. http://127.0.0.1:8080 (default: $CLOUDSIM_API)")
    actions = sh.add_subparsers(dest="action", required=True)
    for action, help_text in (("get", "print a shadow"), ("delete", "delete a shadow")):
        a = actions.add_parser(action, help=help_text)
        a.add_argument("thing")
        a.add_argument("--name", help="named shadow (default: classic)")
    d = actions.add_parser("desire", help="update the desired state (as the cloud side)")
    d.add_argument("thing")
    d.add_argument("desired", help="JSON object, e.g. '{\"led\": true}'")
    d.add_argument("--name", help="named shadow (default: classic)")
    sh.set_defaults(func=shadow_cmd)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
