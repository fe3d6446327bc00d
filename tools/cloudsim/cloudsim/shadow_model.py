"""Device Shadow document logic as pure functions (no I/O, no clock, no broker).

A second reading of the AWS IoT Device Shadow service (see the project notes on the AWS IoT protocols, §1, and
https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html). Everything
here takes the current time as an argument so it is unit-testable.

Choices where the documentation leaves room (also in docs/cloudsim.md):
* Nesting: the `desired` and `reported` objects may hold at most MAX_DEPTH (6) levels of objects
  or arrays, the section object itself being level 1 (`{"desired": {"a": {"b": 1}}}` is 2).
  Counted from the document root that is 8 (`{}` root, `state`, then 6), which reconciles the
  "maximum is 6" error text with the "8 levels" figure quoted elsewhere.
* Size: the compact UTF-8 JSON of `desired` plus that of `reported` after the update must not
  exceed 8192 bytes (metadata is not counted) -> 413.
* Objects left empty by `null` deletions are removed; empty objects are never stored.
* `version` in a request is checked only when the shadow exists. Deleting a shadow keeps its
  version, so a shadow created again continues from it.
* `update/delta` is published when the request carried `desired` and desired differs from
  reported after the update.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .jsonutil import loads_strict

Json = Any
JsonObject = Dict[str, Any]

MAX_DEPTH = 6
MAX_STATE_BYTES = 8 * 1024
MAX_CLIENT_TOKEN_BYTES = 64
MAX_PAYLOAD_BYTES = 128 * 1024  # AWS IoT message size limit
SECTIONS = ("desired", "reported")

MSG_INVALID_JSON = "Invalid JSON"
MSG_MISSING_STATE = "Missing required node: state"
MSG_STATE_NOT_OBJECT = "State node must be an object"
MSG_DESIRED_NOT_OBJECT = "Desired node must be an object"
MSG_REPORTED_NOT_OBJECT = "Reported node must be an object"
MSG_INVALID_VERSION = "Invalid version"
MSG_INVALID_TOKEN = "Invalid clientToken"
MSG_TOO_DEEP = "JSON contains too many levels of nesting; maximum is 6"
MSG_INVALID_NODE = "State contains an invalid node"
MSG_VERSION_CONFLICT = "Version conflict"
MSG_TOO_LARGE = "The payload exceeds the maximum size allowed"
MSG_ENCODING = "Unsupported documented encoding; supported encoding is UTF-8"


class ShadowError(Exception):
    """A request the service rejects: becomes an error document on `.../rejected`."""

    def __init__(self, code: int, message: str, client_token: Optional[str] = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.client_token = client_token

    def document(self, now: int) -> JsonObject:
        doc: JsonObject = {"code": self.code, "message": self.message, "timestamp": now}
        if self.client_token is not None:
            doc["clientToken"] = self.client_token
        return doc


@dataclass
class Shadow:
    """Stored shadow. `exists` False is a tombstone (deleted, version kept)."""

    state: JsonObject = field(default_factory=dict)  # {"desired": {...}, "reported": {...}}
    metadata: JsonObject = field(default_factory=dict)  # same shape, leaves {"timestamp": n}
    version: int = 0
    exists: bool = False


@dataclass
class UpdateResult:
    shadow: Shadow
    accepted: JsonObject
    documents: JsonObject
    delta: Optional[JsonObject]


# --------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------


def parse_payload(payload: bytes, allow_empty: bool = False) -> JsonObject:
    """Decodes a request payload into a JSON object (empty -> {} when allowed)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ShadowError(413, MSG_TOO_LARGE)
    if allow_empty and not payload.strip():
        return {}
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ShadowError(415, MSG_ENCODING) from None
    try:
        doc = loads_strict(text)
    except ValueError:
        raise ShadowError(400, MSG_INVALID_JSON) from None
    if not isinstance(doc, dict):
        raise ShadowError(400, MSG_INVALID_JSON)
    return doc


def client_token_of(doc: JsonObject) -> Optional[str]:
    """The request's clientToken (None when absent); 400 when not a string or over 64 bytes."""
    if "clientToken" not in doc:
        return None
    token = doc["clientToken"]
    if not isinstance(token, str) or len(token.encode("utf-8")) > MAX_CLIENT_TOKEN_BYTES:
        raise ShadowError(400, MSG_INVALID_TOKEN)
    return token


def depth(value: Json) -> int:
    """Levels of objects/arrays: scalars 0, `{}` 1, `{"a": {}}` 2."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def _has_null_in_array(value: Json, in_array: bool = False) -> bool:
    if value is None:
        return in_array
    if isinstance(value, dict):
        return any(_has_null_in_array(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null_in_array(v, True) for v in value)
    return False


def validate_update(doc: JsonObject) -> Optional[str]:
    """Validates an update request; returns its clientToken. Raises ShadowError (400)."""
    token = client_token_of(doc)
    try:
        if "version" in doc:
            version = doc["version"]
            if isinstance(version, bool) or not isinstance(version, int) or version < 0:
                raise ShadowError(400, MSG_INVALID_VERSION)
        if "state" not in doc:
            raise ShadowError(400, MSG_MISSING_STATE)
        state = doc["state"]
        if not isinstance(state, dict):
            raise ShadowError(400, MSG_STATE_NOT_OBJECT)
        for section, message in (("desired", MSG_DESIRED_NOT_OBJECT),
                                 ("reported", MSG_REPORTED_NOT_OBJECT)):
            if section not in state or state[section] is None:
                continue
            value = state[section]
            if not isinstance(value, dict):
                raise ShadowError(400, message)
            if depth(value) > MAX_DEPTH:
                raise ShadowError(400, MSG_TOO_DEEP)
            if _has_null_in_array(value):
                raise ShadowError(400, MSG_INVALID_NODE)
    except ShadowError as err:
        err.client_token = token
        raise
    return token


# --------------------------------------------------------------------------------------------
# Merge, metadata, delta
# --------------------------------------------------------------------------------------------


def same(a: Json, b: Json) -> bool:
    """JSON equality (unlike ==, true is not 1; 1 and 1.0 are the same number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def merge(target: Optional[JsonObject], patch: JsonObject) -> JsonObject:
    """Applies `patch` to `target`: objects merge recursively, `null` deletes, arrays and
    scalars replace whole, objects left empty are dropped. Returns a new object."""
    result: JsonObject = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = merge(result.get(key) if isinstance(result.get(key), dict) else None, value)
            if merged:
                result[key] = merged
            else:
                result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


def metadata_for(value: Json, now: int) -> Json:
    """Metadata mirroring `value`: a `{"timestamp": now}` per leaf, a list per array."""
    if isinstance(value, dict):
        return {k: metadata_for(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [metadata_for(v, now) for v in value]
    return {"timestamp": now}


def _merge_metadata(meta: Json, old_state: Json, patch: JsonObject, now: int) -> JsonObject:
    """Metadata after merging `patch` into `old_state` (whose metadata is `meta`)."""
    was_object = isinstance(old_state, dict)
    result: JsonObject = copy.deepcopy(meta) if was_object and isinstance(meta, dict) else {}
    old_values: JsonObject = old_state if was_object else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _merge_metadata(result.get(key), old_values.get(key), value, now)
        else:
            result[key] = metadata_for(value, now)
    return result


def restrict(meta: Json, shape: Json) -> Json:
    """The part of `meta` that mirrors the keys present in `shape`."""
    if isinstance(shape, dict):
        src = meta if isinstance(meta, dict) else {}
        return {k: restrict(src.get(k), v) for k, v in shape.items()}
    if isinstance(shape, list):
        src_list = meta if isinstance(meta, list) else []
        return [restrict(src_list[i] if i < len(src_list) else None, v)
                for i, v in enumerate(shape)]
    if isinstance(meta, dict) and "timestamp" in meta:
        return meta
    return {"timestamp": 0}


def compute_delta(desired: Optional[JsonObject], reported: Optional[JsonObject]) -> JsonObject:
    """Desired keys whose value differs from reported (or is missing there). Nested objects
    keep their path from the root; differing arrays and scalars are copied whole."""
    delta: JsonObject = {}
    rep = reported or {}
    for key, want in (desired or {}).items():
        if key not in rep:
            delta[key] = copy.deepcopy(want)
        elif isinstance(want, dict) and isinstance(rep[key], dict):
            sub = compute_delta(want, rep[key])
            if sub:
                delta[key] = sub
        elif not same(want, rep[key]):
            delta[key] = copy.deepcopy(want)
    return delta


def state_size(state: JsonObject) -> int:
    return sum(len(json.dumps(state[s], separators=(",", ":"), ensure_ascii=False).encode())
               for s in SECTIONS if s in state)


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------


def _with_token(doc: JsonObject, token: Optional[str]) -> JsonObject:
    if token is not None:
        doc["clientToken"] = token
    return doc


def _snapshot(shadow: Shadow) -> JsonObject:
    return {"state": copy.deepcopy(shadow.state), "metadata": copy.deepcopy(shadow.metadata),
            "version": shadow.version}


def apply_update(shadow: Shadow, request: JsonObject, now: int) -> UpdateResult:
    """Applies a validated-or-not update request (validates it first). Raises ShadowError."""
    token = validate_update(request)
    if "version" in request and shadow.exists and request["version"] != shadow.version:
        raise ShadowError(409, MSG_VERSION_CONFLICT, token)
    patch_state: JsonObject = request["state"]

    new_state: JsonObject = copy.deepcopy(shadow.state) if shadow.exists else {}
    new_meta: JsonObject = copy.deepcopy(shadow.metadata) if shadow.exists else {}
    accepted_state: JsonObject = {}
    accepted_meta: JsonObject = {}
    for section in SECTIONS:
        if section not in patch_state:
            continue
        value = patch_state[section]
        accepted_state[section] = copy.deepcopy(value)
        accepted_meta[section] = metadata_for(value, now)
        if value is None:
            new_state.pop(section, None)
            new_meta.pop(section, None)
            continue
        merged = merge(new_state.get(section), value)
        merged_meta = restrict(
            _merge_metadata(new_meta.get(section), new_state.get(section), value, now), merged)
        if merged:
            new_state[section] = merged
            new_meta[section] = merged_meta
        else:
            new_state.pop(section, None)
            new_meta.pop(section, None)

    if state_size(new_state) > MAX_STATE_BYTES:
        raise ShadowError(413, MSG_TOO_LARGE, token)

    updated = Shadow(state=new_state, metadata=new_meta, version=shadow.version + 1, exists=True)
    accepted = _with_token({"state": accepted_state, "metadata": accepted_meta,
                            "version": updated.version, "timestamp": now}, token)
    documents: JsonObject = {}
    if shadow.exists:
        documents["previous"] = _snapshot(shadow)
    documents["current"] = _snapshot(updated)
    documents["timestamp"] = now
    _with_token(documents, token)

    delta_doc: Optional[JsonObject] = None
    if patch_state.get("desired") is not None:
        delta = compute_delta(new_state.get("desired"), new_state.get("reported"))
        if delta:
            delta_doc = _with_token(
                {"state": delta, "metadata": restrict(new_meta.get("desired"), delta),
                 "version": updated.version, "timestamp": now}, token)
    return UpdateResult(updated, accepted, documents, delta_doc)


def not_found(thing: str, shadow_name: str, token: Optional[str] = None) -> ShadowError:
    if shadow_name:
        return ShadowError(404, f"No shadow exists with name: {shadow_name}", token)
    return ShadowError(404, "Thing not found", token)


def get_document(shadow: Shadow, thing: str, shadow_name: str, token: Optional[str],
                 now: int) -> JsonObject:
    """The `get/accepted` document. Raises 404 for a missing shadow."""
    if not shadow.exists:
        raise not_found(thing, shadow_name, token)
    state = copy.deepcopy(shadow.state)
    delta = compute_delta(shadow.state.get("desired"), shadow.state.get("reported"))
    if delta:
        state["delta"] = delta
    return _with_token({"state": state, "metadata": copy.deepcopy(shadow.metadata),
                        "version": shadow.version, "timestamp": now}, token)


def delete_shadow(shadow: Shadow, thing: str, shadow_name: str, token: Optional[str],
                  now: int) -> "tuple[Shadow, JsonObject]":
    """Deletes: returns the tombstone (version kept) and the `delete/accepted` document."""
    if not shadow.exists:
        raise not_found(thing, shadow_name, token)
    tomb = Shadow(state={}, metadata={}, version=shadow.version, exists=False)
    return tomb, _with_token({"version": shadow.version, "timestamp": now}, token)


__all__: List[str] = [
    "ShadowError", "Shadow", "UpdateResult", "parse_payload", "client_token_of", "depth",
    "validate_update", "same", "merge", "metadata_for", "compute_delta", "apply_update",
    "get_document", "delete_shadow", "not_found", "restrict", "state_size",
]
