"""Device Defender device-side metrics (PROTOCOLS.md §4): pure logic, no I/O.

`check_report(doc, thing, last_report_id, now)` validates one report (long or short keys) and
returns it normalised to long keys; `accepted`/`rejected` build the answer documents;
`validate_profile` and `evaluate` implement simple security-profile rules.

Time is passed in as `now` (epoch seconds, float); documents carry epoch milliseconds.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

JsonObject = Dict[str, Any]

JSON = "json"
CBOR = "cbor"
FORMATS = (JSON, CBOR)
VERSION = "1.0"
MAX_THING = 128
MAX_PAYLOAD = 128 * 1000  # the C reference agent's MAX_REPORT_SIZE (the MQTT payload limit)

# The one documented rejection code/message (device-defender-troubleshoot.md).
INVALID_PAYLOAD = "InvalidPayload"
MALFORMED = "Malformed metrics report"
INVALID_THING = "Invalid thing name"
DUPLICATE = "Duplicate or out-of-order report_id"

CUSTOM_TYPES = ("number", "number_list", "string_list", "ip_list")
_METRIC_NAME = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_STRING_LIST_CHARS = re.compile(r"^[A-Za-z:_\-/.]*$")

# long key -> short key
SHORT = {
    "header": "hed", "report_id": "rid", "version": "v", "metrics": "met",
    "custom_metrics": "cmet", "tcp_connections": "tc", "established_connections": "ec",
    "connections": "cs", "remote_addr": "rad", "local_port": "lp", "local_interface": "li",
    "total": "t", "listening_tcp_ports": "tp", "listening_udp_ports": "up", "ports": "pts",
    "port": "pt", "interface": "if", "network_stats": "ns", "bytes_in": "bi", "bytes_out": "bo",
    "packets_in": "pi", "packets_out": "po",
}
NETWORK_STATS = ("bytes_in", "bytes_out", "packets_in", "packets_out")


class MetricsError(Exception):
    """A rejected report: `message` is the ErrorMessage sent, `detail` says why (for logs)."""

    def __init__(self, message: str, detail: str = "", report_id: Optional[int] = None) -> None:
        super().__init__(detail or message)
        self.code = INVALID_PAYLOAD
        self.message = message
        self.detail = detail or message
        self.report_id = report_id


def stamp(now: float) -> int:
    return int(now * 1000)


def _bad(detail: str) -> MetricsError:
    return MetricsError(MALFORMED, detail)


def valid_thing(thing: str) -> bool:
    raw = thing.encode("utf-8", "surrogatepass")
    if not 1 <= len(raw) <= MAX_THING:
        return False
    return all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in thing)


class _Keys:
    """Key lookup in one key form (long or short); keys of the other form are unknown."""

    def __init__(self, short: bool) -> None:
        self.short = short

    def k(self, long_key: str) -> str:
        return SHORT[long_key] if self.short else long_key

    def obj(self, value: Any, where: str, allowed: Tuple[str, ...]) -> JsonObject:
        if not isinstance(value, dict) or not all(isinstance(x, str) for x in value):
            raise _bad(f"{where} must be an object")
        names = {self.k(a): a for a in allowed}
        unknown = [x for x in value if x not in names]
        if unknown:
            raise _bad(f"unknown keys in {where}: {sorted(unknown)}")
        return {names[x]: v for x, v in value.items()}


def _count(value: Any, where: str, minimum: int = 0, maximum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{where} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        raise _bad(f"{where} out of range: {value}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string")
    return value


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def valid_remote_addr(text: str) -> bool:
    """"ip:port": IPv4 `a.b.c.d:p`, IPv6 `[addr]:p` (Python agent) or `addr:p`."""
    if text.startswith("["):
        addr, sep, port = text[1:].partition("]:")
        if not sep:
            return False
    else:
        addr, sep, port = text.rpartition(":")
        if not sep:
            return False
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return False
    return valid_ip(addr)


def _ports(value: Any, where: str, keys: _Keys) -> JsonObject:
    sec = keys.obj(value, where, ("ports", "total"))
    out: JsonObject = {}
    if "ports" in sec:
        if not isinstance(sec["ports"], list):
            raise _bad(f"{where}.ports must be a list")
        out["ports"] = []
        for i, item in enumerate(sec["ports"]):
            p = keys.obj(item, f"{where}.ports[{i}]", ("port", "interface"))
            if "port" not in p:
                raise _bad(f"{where}.ports[{i}] has no port")
            entry: JsonObject = {"port": _count(p["port"], f"{where}.ports[{i}].port", 1, 65535)}
            if "interface" in p:
                entry["interface"] = _text(p["interface"], f"{where}.ports[{i}].interface")
            out["ports"].append(entry)
    if "total" in sec:
        out["total"] = _count(sec["total"], f"{where}.total")
    return out


def _connections(value: Any, keys: _Keys) -> JsonObject:
    tc = keys.obj(value, "tcp_connections", ("established_connections",))
    out: JsonObject = {}
    if "established_connections" in tc:
        where = "established_connections"
        ec = keys.obj(tc["established_connections"], where, ("connections", "total"))
        est: JsonObject = {}
        if "connections" in ec:
            if not isinstance(ec["connections"], list):
                raise _bad(f"{where}.connections must be a list")
            est["connections"] = []
            for i, item in enumerate(ec["connections"]):
                w = f"{where}.connections[{i}]"
                c = keys.obj(item, w, ("remote_addr", "local_port", "local_interface"))
                if "remote_addr" not in c:
                    raise _bad(f"{w} has no remote_addr")
                addr = _text(c["remote_addr"], f"{w}.remote_addr")
                if not valid_remote_addr(addr):
                    raise _bad(f"{w}.remote_addr is not ip:port: {addr!r}")
                conn: JsonObject = {"remote_addr": addr}
                if "local_port" in c:
                    conn["local_port"] = _count(c["local_port"], f"{w}.local_port", 0, 65535)
                if "local_interface" in c:
                    conn["local_interface"] = _text(c["local_interface"], f"{w}.local_interface")
                est["connections"].append(conn)
        if "total" in ec:
            est["total"] = _count(ec["total"], f"{where}.total")
        out["established_connections"] = est
    return out


def _metrics(value: Any, keys: _Keys) -> JsonObject:
    met = keys.obj(value, "metrics", ("tcp_connections", "listening_tcp_ports",
                                      "listening_udp_ports", "network_stats"))
    out: JsonObject = {}
    if "tcp_connections" in met:
        out["tcp_connections"] = _connections(met["tcp_connections"], keys)
    for sec in ("listening_tcp_ports", "listening_udp_ports"):
        if sec in met:
            out[sec] = _ports(met[sec], sec, keys)
    if "network_stats" in met:
        ns = keys.obj(met["network_stats"], "network_stats", NETWORK_STATS)
        out["network_stats"] = {k: _count(v, f"network_stats.{k}") for k, v in ns.items()}
    return out


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and not (isinstance(v, float) and not math.isfinite(v)))


def _fits_precision(v: Any) -> bool:
    """At most 15 significant digits."""
    text = str(abs(v)) if isinstance(v, int) else repr(abs(v)).split("e")[0].replace(".", "")
    return len(text.strip("0")) <= 15


def _custom(value: Any) -> Tuple[JsonObject, List[str]]:
    """(retained custom metrics, names dropped by the data rules). Keys are never shortened."""
    if not isinstance(value, dict) or not all(isinstance(x, str) for x in value):
        raise _bad("custom_metrics must be an object")
    kept: JsonObject = {}
    dropped: List[str] = []
    for name, arr in value.items():
        if not _METRIC_NAME.match(name):
            raise _bad(f"invalid custom metric name {name!r}")
        if not isinstance(arr, list) or len(arr) != 1:
            raise _bad(f"custom metric {name!r} must be an array with one object")
        item = arr[0]
        if not isinstance(item, dict) or len(item) != 1:
            raise _bad(f"custom metric {name!r} must hold one object with one typed value")
        kind, v = next(iter(item.items()))
        if kind not in CUSTOM_TYPES:
            raise _bad(f"custom metric {name!r} has unknown type {kind!r}")
        if kind == "number":
            if not _is_number(v):
                raise _bad(f"custom metric {name!r}: number must be a number")
            ok = _fits_precision(v)
        else:
            if not isinstance(v, list):
                raise _bad(f"custom metric {name!r}: {kind} must be a list")
            if kind == "number_list":
                if not all(_is_number(x) for x in v):
                    raise _bad(f"custom metric {name!r}: number_list holds a non-number")
                ok = all(_fits_precision(x) for x in v)
            else:
                if not all(isinstance(x, str) for x in v):
                    raise _bad(f"custom metric {name!r}: {kind} holds a non-string")
                ok = all(_STRING_LIST_CHARS.match(x) for x in v) if kind == "string_list" \
                    else all(valid_ip(x) for x in v)
        if ok:
            kept[name] = [{kind: v}]
        else:
            dropped.append(name)
    return kept, dropped


@dataclass
class Report:
    thing: str
    report_id: int
    short_keys: bool
    metrics: Optional[JsonObject]
    custom_metrics: Optional[JsonObject]
    dropped_custom: List[str]

    def to_json(self) -> JsonObject:
        """The retained report, long keys."""
        doc: JsonObject = {"header": {"report_id": self.report_id, "version": VERSION}}
        if self.metrics is not None:
            doc["metrics"] = self.metrics
        if self.custom_metrics is not None:
            doc["custom_metrics"] = self.custom_metrics
        return doc


def report_id_of(doc: Any) -> Optional[int]:
    """Best-effort report id of a (possibly invalid) report, for the rejected document."""
    if isinstance(doc, dict):
        for h, r in (("header", "report_id"), ("hed", "rid")):
            hdr = doc.get(h)
            if isinstance(hdr, dict):
                rid = hdr.get(r)
                if isinstance(rid, int) and not isinstance(rid, bool):
                    return rid
    return None


def check_report(doc: Any, thing: str, last_report_id: Optional[int]) -> Report:
    """Validates a decoded report; raises MetricsError (with report_id when known)."""
    rid = report_id_of(doc)
    try:
        if not valid_thing(thing):
            raise MetricsError(INVALID_THING, f"invalid thing name {thing!r}")
        if not isinstance(doc, dict) or not all(isinstance(x, str) for x in doc):
            raise _bad("report must be an object")
        has_long, has_short = "header" in doc, "hed" in doc
        if has_long == has_short:
            raise _bad("report needs exactly one of header / hed")
        keys = _Keys(short=has_short)
        root = keys.obj(doc, "report", ("header", "metrics", "custom_metrics"))
        hdr = keys.obj(root["header"], "header", ("report_id", "version"))
        if "report_id" not in hdr or "version" not in hdr:
            raise _bad("header needs report_id and version")
        report_id = _count(hdr["report_id"], "header.report_id", 1)
        version = _text(hdr["version"], "header.version")
        if version != VERSION:
            raise _bad(f"unsupported version {version!r} (expected {VERSION!r})")
        if "metrics" not in root and "custom_metrics" not in root:
            raise _bad("report needs metrics or custom_metrics")
        metrics = _metrics(root["metrics"], keys) if "metrics" in root else None
        custom, dropped = (_custom(root["custom_metrics"]) if "custom_metrics" in root
                           else (None, []))
        if last_report_id is not None and report_id <= last_report_id:
            raise MetricsError(DUPLICATE, f"report_id {report_id} <= last accepted "
                                          f"{last_report_id}")
        return Report(thing, report_id, has_short, metrics, custom, dropped)
    except MetricsError as err:
        err.report_id = rid
        raise


def accepted(thing: str, report_id: int, now: float) -> JsonObject:
    return {"thingName": thing, "reportId": report_id, "status": "ACCEPTED",
            "timestamp": stamp(now)}


def rejected(thing: str, err: MetricsError, now: float) -> JsonObject:
    doc: JsonObject = {"thingName": thing}
    if err.report_id is not None:
        doc["reportId"] = err.report_id
    doc.update({"status": "REJECTED",
                "statusDetails": {"ErrorCode": err.code, "ErrorMessage": err.message},
                "timestamp": stamp(now)})
    return doc


# ------------------------------------------------------------------------ security profile

PROFILE_KEYS = ("allowedListeningTcpPorts", "allowedListeningUdpPorts",
                "maxEstablishedConnections", "maxBytesOut", "customMetrics")


def validate_profile(doc: Any) -> JsonObject:
    """The rules as stored; raises ValueError with a message for the operator."""
    if not isinstance(doc, dict):
        raise ValueError("profile must be a JSON object")
    unknown = set(doc) - set(PROFILE_KEYS)
    if unknown:
        raise ValueError(f"unknown profile keys: {sorted(unknown)}; known: {list(PROFILE_KEYS)}")
    for key in ("allowedListeningTcpPorts", "allowedListeningUdpPorts"):
        if key in doc:
            v = doc[key]
            if not isinstance(v, list) or not all(
                    isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in v):
                raise ValueError(f"{key} must be a list of port numbers 1..65535")
    for key in ("maxEstablishedConnections", "maxBytesOut"):
        if key in doc:
            v = doc[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{key} must be an integer >= 0")
    if "customMetrics" in doc:
        cm = doc["customMetrics"]
        if not isinstance(cm, dict):
            raise ValueError("customMetrics must be an object {name: {min?, max?}}")
        for name, rule in cm.items():
            if not isinstance(rule, dict) or not rule or set(rule) - {"min", "max"} or not all(
                    _is_number(x) for x in rule.values()):
                raise ValueError(f"customMetrics[{name!r}] must be {{\"min\"?: n, \"max\"?: n}}")
    return dict(doc)


def _violation(report: Report, metric: str, rule: str, value: Any, limit: Any,
               now: float) -> JsonObject:
    return {"thingName": report.thing, "reportId": report.report_id, "metric": metric,
            "rule": rule, "value": value, "limit": limit, "timestamp": stamp(now)}


def evaluate(report: Report, profile: Optional[JsonObject], now: float) -> List[JsonObject]:
    """Violation records of one accepted report against a profile (empty when none)."""
    if not profile:
        return []
    out: List[JsonObject] = []
    met = report.metrics or {}
    for key, sec, metric in (("allowedListeningTcpPorts", "listening_tcp_ports",
                              "aws:listening-tcp-ports"),
                             ("allowedListeningUdpPorts", "listening_udp_ports",
                              "aws:listening-udp-ports")):
        if key in profile and sec in met:
            allowed = set(profile[key])
            bad = sorted({p["port"] for p in met[sec].get("ports", [])} - allowed)
            if bad:
                out.append(_violation(report, metric, "in-port-set", bad, sorted(allowed), now))
    if "maxEstablishedConnections" in profile and "tcp_connections" in met:
        est = met["tcp_connections"].get("established_connections", {})
        n = est.get("total", len(est.get("connections", [])))
        if n > profile["maxEstablishedConnections"]:
            out.append(_violation(report, "aws:num-established-tcp-connections", "less-than-equals",
                                  n, profile["maxEstablishedConnections"], now))
    if "maxBytesOut" in profile and "network_stats" in met:
        bo = met["network_stats"].get("bytes_out")
        if bo is not None and bo > profile["maxBytesOut"]:
            out.append(_violation(report, "aws:all-bytes-out", "less-than-equals", bo,
                                  profile["maxBytesOut"], now))
    for name, rule in (profile.get("customMetrics") or {}).items():
        arr = (report.custom_metrics or {}).get(name)
        if not arr:
            continue
        kind, v = next(iter(arr[0].items()))
        if kind not in ("number", "number_list"):
            continue
        for x in ([v] if kind == "number" else v):
            if "max" in rule and x > rule["max"]:
                out.append(_violation(report, name, "less-than-equals", x, rule["max"], now))
                break
            if "min" in rule and x < rule["min"]:
                out.append(_violation(report, name, "greater-than-equals", x, rule["min"], now))
                break
    return out
