"""Shadow topic names for the two profiles (AWS and the cloud-neutral IoT Atlas scheme).

| profile | prefix                                              |
|---------|-----------------------------------------------------|
| aws     | `$aws/things/<thing>/shadow[/name/<shadow>]`         |
| neutral | `state/<thing>[/<shadow>]`                           |

Requests: `<prefix>/get|update|delete`; responses `<prefix>/<op>/accepted|rejected`, plus
`<prefix>/update/delta` and `<prefix>/update/documents`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

AWS = "aws"
NEUTRAL = "neutral"
PROFILES = (AWS, NEUTRAL)
OPERATIONS = ("get", "update", "delete")
MAX_THING = 128
MAX_SHADOW_NAME = 64
_AWS_NAME = re.compile(r"^[A-Za-z0-9:_-]+$")


def subscriptions() -> List[str]:
    """Request filters only, so the emulator never receives its own responses."""
    filters: List[str] = []
    for op in OPERATIONS:
        filters += [f"$aws/things/+/shadow/{op}", f"$aws/things/+/shadow/name/+/{op}",
                    f"state/+/{op}", f"state/+/+/{op}"]
    return filters


@dataclass(frozen=True)
class ShadowRequest:
    profile: str
    thing: str
    shadow: str  # '' = classic
    op: str


def valid_name(name: str, profile: str, limit: int) -> bool:
    raw = name.encode("utf-8")
    if not 1 <= len(raw) <= limit or name.startswith("$"):
        return False
    if any(c in name for c in "+#/\0"):
        return False
    if profile == AWS:
        return bool(_AWS_NAME.match(name))
    return all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in name)


def parse(topic: str) -> Optional[ShadowRequest]:
    """The request a topic addresses, or None when it is not a shadow request topic or holds an
    invalid thing or shadow name."""
    parts = topic.split("/")
    req: Optional[ShadowRequest] = None
    if len(parts) == 5 and parts[:2] == ["$aws", "things"] and parts[3] == "shadow":
        req = ShadowRequest(AWS, parts[2], "", parts[4])
    elif (len(parts) == 7 and parts[:2] == ["$aws", "things"] and parts[3] == "shadow"
          and parts[4] == "name"):
        req = ShadowRequest(AWS, parts[2], parts[5], parts[6])
    elif len(parts) == 3 and parts[0] == "state":
        req = ShadowRequest(NEUTRAL, parts[1], "", parts[2])
    elif len(parts) == 4 and parts[0] == "state":
        req = ShadowRequest(NEUTRAL, parts[1], parts[2], parts[3])
    if req is None or req.op not in OPERATIONS:
        return None
    if not valid_name(req.thing, req.profile, MAX_THING):
        return None
    if req.shadow and (not valid_name(req.shadow, req.profile, MAX_SHADOW_NAME)
                       or (req.profile == NEUTRAL and req.shadow in OPERATIONS)):
        return None
    return req


def prefix(profile: str, thing: str, shadow: str) -> str:
    if profile == AWS:
        return f"$aws/things/{thing}/shadow" + (f"/name/{shadow}" if shadow else "")
    return f"state/{thing}" + (f"/{shadow}" if shadow else "")
