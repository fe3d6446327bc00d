"""Operator HTTP JSON API on 127.0.0.1.

    GET    /shadows/<thing>[?name=<shadow>]          the shadow (as get/accepted) or 404
    POST   /shadows/<thing>/desired[?name=<shadow>]  body: JSON object -> desired update
    DELETE /shadows/<thing>[?name=<shadow>]          delete the shadow or 404
    POST   /jobs/<thing>                              body {"jobId", "document",
                                                      "stepTimeoutInMinutes"?} -> 201 execution
    GET    /jobs/<thing>                              {"thingName", "executions": [...]}
    DELETE /jobs/<thing>/<jobId>                      cancel a pending execution (CANCELED)
    POST   /commands/<thing>                          body {"executionId"?, "payload" |
                                                      "payloadBase64", "timeoutSeconds"?,
                                                      "format"?: json|cbor, "contentType"?,
                                                      "profile"?: aws|neutral} -> 201 execution
    GET    /commands/<thing>                          {"thingName", "executions": [...]}
    GET    /commands/<thing>/<executionId>            one execution or 404
    GET    /metrics/<thing>[?limit=N]                 {"thingName", "reports": [...]} newest first
    GET    /metrics/<thing>/violations[?limit=N]      {"thingName", "violations": [...]} newest first
    GET    /metrics/<thing>/profile                   {"thingName", "profile": {...}}
    PUT    /metrics/<thing>/profile                   body: the rules -> {"thingName", "profile"}
    GET    /certificates[?thing=T&status=S]           {"certificates": [{certificateId, status,
                                                      thingName, notAfter, ...}]}
    GET    /certificates/<certificateId>              one, with certificatePem, or 404
    POST   /certificates/<certificateId>/revoke       status REVOKED -> the certificate
    GET    /provisioning-templates                    {"templates": [{templateName, template}]}
    GET    /provisioning-templates/<name>             {"templateName", "template"} or 404
    PUT    /provisioning-templates/<name>             body: the template -> {"templateName", ...}
    DELETE /provisioning-templates/<name>             remove it or 404
    GET    /provisioning/issue-mode                   {"mode", "modes"} (test knob, see README)
    PUT    /provisioning/issue-mode                   body {"mode": normal|untrusted-ca|wrong-key|
                                                      expired} -> {"mode", "modes"}
    GET    /health                                    {"ok": true}

Errors: `{"code": <status>, "message": "..."}` with the same HTTP status.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from .commands_service import CommandsService
from .jobs_service import JobsService, OperatorError
from .metrics_service import MetricsService
from .provisioning_service import ProvisioningService
from .service import ShadowService
from .shadow_model import JsonObject, ShadowError

log = logging.getLogger("cloudsim.http")
MAX_BODY = 256 * 1024

class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

def _json_body(body: Optional[bytes]) -> Any:
    try:
        return json.loads((body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None


def _route(service: ShadowService, method: str, path: str, query: Dict[str, List[str]],
           body: Optional[bytes], jobs: Optional[JobsService] = None,
           commands: Optional[CommandsService] = None,
           metrics: Optional[MetricsService] = None,
           provisioning: Optional[ProvisioningService] = None) -> Tuple[int, JsonObject]:
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    name = query.get("name", [""])[0]
    if parts == ["health"] and method == "GET":
        return 200, {"ok": True}
    if jobs is not None and len(parts) in (2, 3) and parts[0] == "jobs":
        if len(parts) == 2 and method == "POST":
            return 201, jobs.operator_create(parts[1], _json_body(body))
        if len(parts) == 2 and method == "GET":
            return 200, jobs.operator_list(parts[1])
        if len(parts) == 3 and method == "DELETE":
            return 200, jobs.operator_cancel(parts[1], parts[2])
        raise ApiError(405, f"method {method} not allowed on {path}")
    if commands is not None and len(parts) in (2, 3) and parts[0] == "commands":
        if len(parts) == 2 and method == "POST":
            return 201, commands.operator_send(parts[1], _json_body(body))
        if len(parts) == 2 and method == "GET":
            return 200, commands.operator_list(parts[1])
        if len(parts) == 3 and method == "GET":
            return 200, commands.operator_get(parts[1], parts[2])
        raise ApiError(405, f"method {method} not allowed on {path}")
    if metrics is not None and len(parts) in (2, 3) and parts[0] == "metrics":
        if len(parts) == 2 and method == "GET":
            return 200, metrics.operator_history(parts[1], query)
        if len(parts) == 3 and parts[2] == "violations" and method == "GET":
            return 200, metrics.operator_violations(parts[1], query)
        if len(parts) == 3 and parts[2] == "profile" and method == "GET":
            return 200, metrics.operator_get_profile(parts[1])
        if len(parts) == 3 and parts[2] == "profile" and method == "PUT":
            return 200, metrics.operator_set_profile(parts[1], _json_body(body))
        if len(parts) == 3 and parts[2] not in ("violations", "profile"):
            raise ApiError(404, f"no such resource: {method} {path}")
        raise ApiError(405, f"method {method} not allowed on {path}")
    if provisioning is not None and parts and parts[0] in ("certificates", "provisioning",
                                                           "provisioning-templates"):
        return _route_provisioning(provisioning, method, path, parts, query, body)
    if len(parts) >= 2 and parts[0] == "shadows":
        thing = parts[1]
        if len(parts) == 2 and method == "GET":
            return 200, service.operator_get(thing, name)
        if len(parts) == 2 and method == "DELETE":
            return 200, service.operator_delete(thing, name)
        if len(parts) == 3 and parts[2] == "desired" and method == "POST":
            try:
                desired: Any = json.loads((body or b"").decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "request body is not valid JSON") from None
            if not isinstance(desired, dict):
                raise ApiError(400, "request body must be a JSON object (the desired state)")
            return 200, service.operator_desire(thing, name, desired)
        if len(parts) in (2, 3):
            raise ApiError(405, f"method {method} not allowed on {path}")
    raise ApiError(404, f"no such resource: {method} {path}")

def _route_provisioning(provisioning: ProvisioningService, method: str, path: str,
                        parts: List[str], query: Dict[str, List[str]],
                        body: Optional[bytes]) -> Tuple[int, JsonObject]:
    if parts[0] == "certificates":
        if len(parts) == 1 and method == "GET":
            return 200, provisioning.operator_list_certificates(query)
        if len(parts) == 2 and method == "GET":
            return 200, provisioning.operator_get_certificate(parts[1])
        if len(parts) == 3 and parts[2] == "revoke" and method == "POST":
            return 200, provisioning.operator_revoke(parts[1])
    elif parts[0] == "provisioning":
        if parts[1:] != ["issue-mode"]:
            raise ApiError(404, f"no such resource: {method} {path}")
        if method == "GET":
            return 200, provisioning.operator_get_issue_mode()
        if method == "PUT":
            return 200, provisioning.operator_set_issue_mode(_json_body(body))
        raise ApiError(405, f"method {method} not allowed on {path}")
    else:
        if len(parts) == 1 and method == "GET":
            return 200, provisioning.operator_list_templates()
        if len(parts) == 2 and method == "GET":
            return 200, provisioning.operator_get_template(parts[1])
        if len(parts) == 2 and method == "PUT":
            return 200, provisioning.operator_set_template(parts[1], _json_body(body))
        if len(parts) == 2 and method == "DELETE":
            return 200, provisioning.operator_delete_template(parts[1])
    if len(parts) <= 2 or (len(parts) == 3 and parts[2] == "revoke"):
        raise ApiError(405, f"method {method} not allowed on {path}")
    raise ApiError(404, f"no such resource: {method} {path}")


def make_server(service: ShadowService, port: int, jobs: Optional[JobsService] = None,
                commands: Optional[CommandsService] = None,
                metrics: Optional[MetricsService] = None,
                provisioning: Optional[ProvisioningService] = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cloudsim"

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            status: int
            doc: JsonObject
            try:
                body: Optional[bytes] = None
                if method in ("POST", "PUT"):
                    length = int(self.headers.get("Content-Length") or 0)
                    if length > MAX_BODY:
                        raise ApiError(413, "request body too large")
                    body = self.rfile.read(length)
                status, doc = _route(service, method, url.path, parse_qs(url.query), body,
                                     jobs, commands, metrics, provisioning)
            except OperatorError as err:
                status, doc = err.code, {"code": err.code, "message": err.message}
            except ShadowError as err:
                status, doc = err.code, {"code": err.code, "message": err.message}
            except ApiError as err:
                status, doc = err.code, {"code": err.code, "message": err.message}
            except Exception as err:  # pragma: no cover - keeps the server alive
                log.exception("internal error on %s %s", method, self.path)
                status, doc = 500, {"code": 500, "message": f"internal error: {err}"}
            data = json.dumps(doc).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._serve("DELETE")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def log_message(self, fmt: str, *args: Any) -> None:
            log.info("%s - %s", self.address_string(), fmt % args)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server

def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="cloudsim-http", daemon=True)
    thread.start()
    return thread
