"""Command line: `serve` runs the emulator; `shadow ...`, `jobs ...`, `commands ...`, `metrics ...`
and `provisioning ...` talk to a running one's HTTP API."""

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
from .commands_model import Config as CommandsConfig
from .commands_service import SUBSCRIPTIONS as COMMANDS_SUBSCRIPTIONS
from .commands_service import CommandsService, is_commands_topic
from .jobs_model import Config as JobsConfig
from .jobs_service import SUBSCRIPTIONS as JOBS_SUBSCRIPTIONS
from .jobs_service import JobsService, is_jobs_topic
from .http_api import make_server, serve_in_thread
from .metrics_service import SUBSCRIPTIONS as METRICS_SUBSCRIPTIONS
from .metrics_service import MetricsService, is_metrics_topic
from .mqtt_link import MqttLink
from .provisioning_model import Config as ProvisioningConfig
from .provisioning_model import ISSUE_MODES, validate_template
from .provisioning_service import SUBSCRIPTIONS as PROVISIONING_SUBSCRIPTIONS
from .provisioning_service import ProvisioningService, is_provisioning_topic, load_signing_ca
from .service import ShadowService
from .store import CommandStore, JobStore, MetricsStore, ProvisioningStore, ShadowStore

CONNECT_TIMEOUT_S = 30.0


def _write_ready(path: str, http_port: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"ready": True, "http_port": http_port, "pid": os.getpid()}, f)
        f.write("\n")
    os.replace(tmp, path)


def _provisioning_setup(args: argparse.Namespace, store: ProvisioningStore,
                        log: logging.Logger) -> Optional[str]:
    """Loads --provisioning-template options into the store; an error message or None."""
    for spec in args.provisioning_template or []:
        name, sep, value = spec.partition("=")
        if not sep:
            return f"--provisioning-template {spec!r}: expected NAME=FILE or NAME=JSON"
        try:
            if value.lstrip().startswith("{"):
                body = json.loads(value)
            else:
                with open(value, encoding="utf-8") as f:
                    body = json.load(f)
            template = validate_template(name, body)
        except (OSError, ValueError) as err:
            return f"--provisioning-template {name}: {err}"
        store.set_template(name, template.to_json())
        log.info("provisioning template %s: thing name %s", name, template.thing_name)
    return None


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s cloudsim %(name)s %(levelname)s: %(message)s")
    log = logging.getLogger("cloudsim")
    store = ShadowStore(args.db)
    job_store = JobStore(args.db)
    command_store = CommandStore(args.db)
    metrics_store = MetricsStore(args.db)
    provisioning_store = ProvisioningStore(args.db)
    link: Optional[MqttLink] = None

    def publish(topic: str, payload: bytes) -> None:
        assert link is not None
        link.publish(topic, payload)

    if args.time_scale <= 0:
        log.error("--time-scale must be positive")
        return 2
    if args.cert_days <= 0 or args.token_ttl <= 0:
        log.error("--cert-days and --token-ttl must be positive")
        return 2
    service = ShadowService(store, publish)
    jobs = JobsService(job_store, publish,
                       JobsConfig(ms_timestamps=args.jobs_timestamps == "ms",
                                  minute_s=60.0 / args.time_scale))

    def publish_request(topic: str, payload: bytes, content_type: str, expiry_s: int) -> None:
        assert link is not None
        link.publish(topic, payload, content_type, expiry_s)

    commands = CommandsService(command_store, publish, publish_request,
                               CommandsConfig(second_s=1.0 / args.time_scale))

    metrics = MetricsService(metrics_store, publish)

    problem = _provisioning_setup(args, provisioning_store, log)
    if problem is not None:
        log.error("%s", problem)
        return 2
    signing_ca = None
    if args.signing_ca_key:
        try:
            signing_ca = load_signing_ca(args.signing_ca or args.ca, args.signing_ca_key)
        except (OSError, ValueError) as err:
            log.error("cannot load the signing CA: %s", err)
            return 2
    provisioning = ProvisioningService(
        provisioning_store, publish, signing_ca,
        ProvisioningConfig(validity_days=args.cert_days, token_ttl_s=args.token_ttl))

    def on_message(topic: str, payload: bytes) -> None:
        if is_provisioning_topic(topic):
            provisioning.handle_message(topic, payload)
        elif is_metrics_topic(topic):
            metrics.handle_message(topic, payload)
        elif is_commands_topic(topic):
            commands.handle_message(topic, payload)
        elif is_jobs_topic(topic):
            jobs.handle_message(topic, payload)
        else:
            service.handle_message(topic, payload)

    link = MqttLink(args.host, args.port, args.ca, args.cert, args.key,
                    topics.subscriptions() + JOBS_SUBSCRIPTIONS + COMMANDS_SUBSCRIPTIONS
                    + METRICS_SUBSCRIPTIONS + PROVISIONING_SUBSCRIPTIONS, on_message,
                    client_id=args.client_id)
    server = make_server(service, args.http_port, jobs, commands, metrics, provisioning)
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
    jobs.start_ticker()
    commands.start_ticker()
    log.info("ready: shadow, jobs, commands, metrics and provisioning services on mqtts://%s:%d, "
             "HTTP API on http://127.0.0.1:%d",
             args.host, args.port, http_port)
    if args.ready_file:
        _write_ready(args.ready_file, http_port)
    stop.wait()
    log.info("stopping")
    server.shutdown()
    jobs.stop()
    commands.stop()
    link.stop()
    store.close()
    job_store.close()
    command_store.close()
    metrics_store.close()
    provisioning_store.close()
    return 0


# ------------------------------------------------------------------------------- operator CLI


def jobs_cmd(args: argparse.Namespace) -> int:
    if not args.api:
        print("cloudsim: no API address: pass --api http://127.0.0.1:PORT or set CLOUDSIM_API",
              file=sys.stderr)
        return 2
    path = "/jobs/" + quote(args.thing, safe="")
    if args.action == "list":
        return _api_call(args.api, "GET", path, None)
    if args.action == "cancel":
        return _api_call(args.api, "DELETE", path + "/" + quote(args.job_id, safe=""), None)
    try:
        document = json.loads(args.document)
    except ValueError as err:
        print(f"cloudsim: job document is not valid JSON: {err}", file=sys.stderr)
        return 2
    body: dict = {"jobId": args.job_id, "document": document}
    if args.step_timeout is not None:
        body["stepTimeoutInMinutes"] = args.step_timeout
    return _api_call(args.api, "POST", path, None, json.dumps(body).encode("utf-8"))


def commands_cmd(args: argparse.Namespace) -> int:
    if not args.api:
        print("cloudsim: no API address: pass --api http://127.0.0.1:PORT or set CLOUDSIM_API",
              file=sys.stderr)
        return 2
    path = "/commands/" + quote(args.thing, safe="")
    if args.action == "list":
        return _api_call(args.api, "GET", path, None)
    if args.action == "get":
        return _api_call(args.api, "GET", path + "/" + quote(args.execution_id, safe=""), None)
    try:
        payload = json.loads(args.payload)
    except ValueError as err:
        print(f"cloudsim: command payload is not valid JSON: {err}", file=sys.stderr)
        return 2
    body: dict = {"payload": payload, "format": "cbor" if args.cbor else "json"}
    if args.timeout is not None:
        body["timeoutSeconds"] = args.timeout
    if args.execution_id:
        body["executionId"] = args.execution_id
    if args.neutral:
        body["profile"] = "neutral"
    return _api_call(args.api, "POST", path, None, json.dumps(body).encode("utf-8"))


def metrics_cmd(args: argparse.Namespace) -> int:
    if not args.api:
        print("cloudsim: no API address: pass --api http://127.0.0.1:PORT or set CLOUDSIM_API",
              file=sys.stderr)
        return 2
    path = "/metrics/" + quote(args.thing, safe="")
    limit = f"?limit={args.limit}" if getattr(args, "limit", None) is not None else ""
    if args.action == "show":
        return _api_call(args.api, "GET", path + limit, None)
    if args.action == "violations":
        return _api_call(args.api, "GET", path + "/violations" + limit, None)
    if args.rules is None:
        return _api_call(args.api, "GET", path + "/profile", None)
    try:
        rules = json.loads(args.rules)
    except ValueError as err:
        print(f"cloudsim: profile is not valid JSON: {err}", file=sys.stderr)
        return 2
    return _api_call(args.api, "PUT", path + "/profile", None, json.dumps(rules).encode("utf-8"))


def provisioning_cmd(args: argparse.Namespace) -> int:
    if not args.api:
        print("cloudsim: no API address: pass --api http://127.0.0.1:PORT or set CLOUDSIM_API",
              file=sys.stderr)
        return 2
    if args.action == "certificates":
        query = {k: v for k, v in (("thing", args.thing), ("status", args.status)) if v}
        return _api_call(args.api, "GET",
                         "/certificates" + ("?" + urlencode(query) if query else ""), None)
    if args.action in ("certificate", "revoke"):
        path = "/certificates/" + quote(args.certificate_id, safe="")
        if args.action == "revoke":
            return _api_call(args.api, "POST", path + "/revoke", None, b"")
        return _api_call(args.api, "GET", path, None)
    if args.action == "issue-mode":
        if args.mode is None:
            return _api_call(args.api, "GET", "/provisioning/issue-mode", None)
        return _api_call(args.api, "PUT", "/provisioning/issue-mode", None,
                         json.dumps({"mode": args.mode}).encode("utf-8"))
    if args.action == "templates":
        return _api_call(args.api, "GET", "/provisioning-templates", None)
    path = "/provisioning-templates/" + quote(args.name, safe="")
    if args.action == "delete-template":
        return _api_call(args.api, "DELETE", path, None)
    if args.template is None:
        return _api_call(args.api, "GET", path, None)
    try:
        body = json.loads(args.template)
    except ValueError as err:
        print(f"cloudsim: template is not valid JSON: {err}", file=sys.stderr)
        return 2
    return _api_call(args.api, "PUT", path, None, json.dumps(body).encode("utf-8"))


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
    s.add_argument("--time-scale", type=float, default=1.0,
                   help="test only: job and command timeout clocks run this many times "
                        "faster (60: a timeout minute lasts 1 s)")
    s.add_argument("--jobs-timestamps", choices=("s", "ms"), default="s",
                   help="unit of Jobs timestamps (default: epoch seconds)")
    s.add_argument("--signing-ca", metavar="CERT",
                   help="Fleet Provisioning: CA certificate that signs issued certificates "
                        "(default: --ca)")
    s.add_argument("--signing-ca-key", metavar="KEY",
                   help="Fleet Provisioning: that CA's private key; without it "
                        "CreateCertificateFromCsr answers ServiceUnavailable")
    s.add_argument("--cert-days", type=float, default=365.0,
                   help="validity of issued certificates in days (capped at the CA's)")
    s.add_argument("--token-ttl", type=float, default=3600.0, metavar="SECONDS",
                   help="lifetime of a certificate ownership token (AWS: 3600)")
    s.add_argument("--provisioning-template", action="append", metavar="NAME=FILE|JSON",
                   help="add or replace a provisioning template (repeatable)")
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

    jb = sub.add_parser("jobs", help="create or list job executions of a running emulator")
    jb.add_argument("--api", default=os.environ.get("CLOUDSIM_API"),
                    help="operator API, e.g. http://127.0.0.1:8080 (default: $CLOUDSIM_API)")
    jactions = jb.add_subparsers(dest="action", required=True)
    c = jactions.add_parser("create", help="queue a job for a thing")
    c.add_argument("thing")
    c.add_argument("job_id")
    c.add_argument("document", help="job document, a JSON object, e.g. '{\"operation\":\"reboot\"}'")
    c.add_argument("--step-timeout", type=float, metavar="MINUTES",
                   help="in-progress timeout: TIMED_OUT when not finished in time")
    ls = jactions.add_parser("list", help="list a thing's job executions")
    ls.add_argument("thing")
    cn = jactions.add_parser("cancel", help="cancel a pending job execution")
    cn.add_argument("thing")
    cn.add_argument("job_id")
    jb.set_defaults(func=jobs_cmd)

    cm = sub.add_parser("commands", help="send or inspect command executions")
    cm.add_argument("--api", default=os.environ.get("CLOUDSIM_API"),
                    help="operator API, e.g. http://127.0.0.1:8080 (default: $CLOUDSIM_API)")
    cactions = cm.add_subparsers(dest="action", required=True)
    snd = cactions.add_parser("send", help="start a command execution on a thing")
    snd.add_argument("thing")
    snd.add_argument("payload", help="JSON payload, e.g. '{\"op\":\"reboot\"}'")
    snd.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="TIMED_OUT when no terminal status in time (default 10)")
    snd.add_argument("--cbor", action="store_true", help="send the payload CBOR-encoded on /cbor")
    snd.add_argument("--id", dest="execution_id", help="execution ID (default: random)")
    snd.add_argument("--neutral", action="store_true",
                     help="use the cloud-neutral topics cmd/<thing>/<id>/request")
    cg = cactions.add_parser("get", help="print one command execution")
    cg.add_argument("thing")
    cg.add_argument("execution_id")
    cl = cactions.add_parser("list", help="list a thing's command executions")
    cl.add_argument("thing")
    cm.set_defaults(func=commands_cmd)

    mt = sub.add_parser("metrics", help="Defender metrics: history, violations, profile")
    mt.add_argument("--api", default=os.environ.get("CLOUDSIM_API"),
                    help="operator API, e.g. http://127.0.0.1:8080 (default: $CLOUDSIM_API)")
    mactions = mt.add_subparsers(dest="action", required=True)
    for action, help_text in (("show", "accepted reports, newest first"),
                              ("violations", "security-profile violations, newest first")):
        a = mactions.add_parser(action, help=help_text)
        a.add_argument("thing")
        a.add_argument("--limit", type=int, help="at most this many (default 50)")
    mp = mactions.add_parser("profile", help="print or set a thing's security-profile rules")
    mp.add_argument("thing")
    mp.add_argument("rules", nargs="?",
                    help='JSON, e.g. \'{"allowedListeningTcpPorts":[22],"maxBytesOut":10000}\'')
    mt.set_defaults(func=metrics_cmd)

    pv = sub.add_parser("provisioning", help="Fleet Provisioning: certificates and templates")
    pv.add_argument("--api", default=os.environ.get("CLOUDSIM_API"),
                    help="operator API, e.g. http://127.0.0.1:8080 (default: $CLOUDSIM_API)")
    pactions = pv.add_subparsers(dest="action", required=True)
    pc = pactions.add_parser("certificates", help="list issued certificates")
    pc.add_argument("--thing", help="only those attached to this thing")
    pc.add_argument("--status", choices=("PENDING_ACTIVATION", "ACTIVE", "REVOKED"))
    for action, help_text in (("certificate", "print one certificate (with its PEM)"),
                              ("revoke", "set a certificate's status to REVOKED")):
        a = pactions.add_parser(action, help=help_text)
        a.add_argument("certificate_id")
    pactions.add_parser("templates", help="list provisioning templates")
    pt = pactions.add_parser("template", help="print or set a provisioning template")
    pt.add_argument("name")
    pt.add_argument("template", nargs="?",
                    help='JSON, e.g. \'{"thingName":"dev-{SerialNumber}"}\'')
    pd = pactions.add_parser("delete-template", help="remove a provisioning template")
    pd.add_argument("name")
    pi = pactions.add_parser("issue-mode", help="test knob: print or set how certificates are "
                                                "issued (bad ones a device must refuse)")
    pi.add_argument("mode", nargs="?", choices=ISSUE_MODES)
    pv.set_defaults(func=provisioning_cmd)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
