"""Which way a scan goes: in (``badge_in``), out (``badge_out``), ignored or debounced.

Policy, in order:

1. The door: ``doors`` in the source maps a door name or id (names also case-insensitively)
   to ``in``, ``out`` or ``both``; an unlisted door uses ``default_direction``; ``None``
   ignores the scan (2xx, recorded).
2. Debounce: a scan by the same person (per source) less than ``debounce`` after the scan
   that opened the window is the same event (2xx, no trigger, recorded). Times are the
   vendor's event times, not receipt times.
3. A direction the vendor reports (Verkada Inbound/Outbound, generic ``badge.in`` /
   ``badge.out``) wins; else a door configured ``in`` / ``out`` decides.
4. A ``both`` door: the first scan of the person's local day (their zone from the people
   directory, else the zone the vendor reports, else ``AUTOCLOCK_TIMEZONE``) is ``in``;
   every later scan that day is ``out`` (the last one is the departure that counts).

The state (debounce window, first scan of the day) lives in Redis and is keyed by the
vendor event id, so a redelivery of the same event gets the same answer — a retry after a
failed enqueue is never mistaken for a double swipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import redis

from worker.models import TriggerKind
from worker.rules.schema import WebhookSource
from worker.store import Keys
from worker.webhooks.events import Scan

__all__ = [
    "DIRECTION_LUA",
    "DirectionDecision",
    "DirectionInputs",
    "DirectionPolicy",
    "door_direction",
]

#: How long the per-person day and debounce records are kept (seconds).
STATE_TTL_S = 2 * 86_400

#: Lua: ``direction(debounce_key, day_key, t_ms_text, event_id, window_ms, ttl_s)`` → a
#: verdict: ``{'debounced', id}`` (the scan that opened the window), ``{'first', id}`` (the
#: day's first scan) or ``{'later', id}`` (the day's first scan). Shared by :data:`_STATE`
#: and the receiver's one-round-trip script (:mod:`worker.webhooks.accept`).
DIRECTION_LUA = """
local function direction(debounce_key, day_key, t_text, id, window, ttl)
  local t = tonumber(t_text)
  local last = redis.call('GET', debounce_key)
  local update = true
  if last then
    local sep = string.find(last, '|', 1, true)
    local lt = tonumber(string.sub(last, 1, sep - 1))
    local lid = string.sub(last, sep + 1)
    if lid ~= id then
      if window > 0 and math.abs(t - lt) < window then return {'debounced', lid} end
      if t < lt then update = false end
    end
  end
  if update then redis.call('SET', debounce_key, t_text .. '|' .. id, 'EX', ttl) end
  local first = redis.call('GET', day_key)
  if first then
    local sep = string.find(first, '|', 1, true)
    local ft = tonumber(string.sub(first, 1, sep - 1))
    local fid = string.sub(first, sep + 1)
    if fid ~= id and t >= ft then return {'later', fid} end
  end
  redis.call('SET', day_key, t_text .. '|' .. id, 'EX', ttl)
  return {'first', id}
end
"""

_STATE = (
    DIRECTION_LUA
    + "return direction(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))"
)


@dataclass(frozen=True)
class DirectionDecision:
    """``kind`` None means no trigger; ``reason`` says why either way."""

    kind: TriggerKind | None
    reason: str
    debounced: bool = False


def door_direction(source: WebhookSource, scan: Scan) -> tuple[str | None, str]:
    """The configured direction of the scan's door (in/out/both or None) and why."""
    label = scan.door_name or scan.door_id or "?"
    for key in (scan.door_id, scan.door_name):
        if key is not None and key in source.doors:
            return source.doors[key], f"door {label!r} is configured {source.doors[key]}"
    if scan.door_name is not None:
        folded = scan.door_name.casefold()
        for name, direction in source.doors.items():
            if name.casefold() == folded:
                return direction, f"door {label!r} is configured {direction}"
    if source.default_direction is None:
        return None, f"door {label!r} is not configured and the source has no default_direction"
    return source.default_direction, f"door {label!r} uses default_direction"


@dataclass(frozen=True)
class DirectionInputs:
    """What deciding one scan needs from Redis (the script's keys and arguments), and how
    to read its verdict: :meth:`decision`."""

    door: str | None
    why: str
    keys: tuple[str, str]
    args: tuple[int, str, int, int]
    local_day: str
    zone: str
    debounce: timedelta
    reported: str | None

    @property
    def fixed(self) -> bool:
        """Whether the direction is known before the verdict (only debounce can change it)."""
        return self.reported is not None or self.door in ("in", "out")

    def decision(self, verdict: str, other: str) -> DirectionDecision:
        """The decision for the script's ``verdict`` (``other``: the id it names)."""
        if verdict == "debounced":
            return DirectionDecision(
                None, f"debounced: within {self.debounce} of scan {other!r}", debounced=True
            )
        if self.reported is not None:
            return DirectionDecision(_KIND[self.reported], f"vendor reported {self.reported}")
        if self.door in ("in", "out"):
            return DirectionDecision(_KIND[self.door], self.why)
        if verdict == "first":
            return DirectionDecision(
                TriggerKind.BADGE_IN,
                f"{self.why} (both): first scan of {self.local_day} ({self.zone})",
            )
        return DirectionDecision(
            TriggerKind.BADGE_OUT,
            f"{self.why} (both): a later scan on {self.local_day} ({self.zone})",
        )


class DirectionPolicy:
    """Decides in/out per scan, keeping first-scan-of-day and debounce state in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys, *, default_zone: str) -> None:
        self.client = client
        self.keys = keys
        self.default_zone = default_zone
        self._state = client.register_script(_STATE)

    def inputs(
        self,
        source: WebhookSource,
        scan: Scan,
        *,
        person_key: str,
        zone: str | None,
    ) -> DirectionInputs:
        """Everything about one scan's direction that needs no Redis."""
        door, why = door_direction(source, scan)
        tz = _zone(zone) or _zone(scan.zone) or ZoneInfo(self.default_zone)
        local_day = scan.occurred_at.astimezone(tz).date().isoformat()
        window_ms = int(source.debounce / timedelta(milliseconds=1))
        t_ms = int(scan.occurred_at.timestamp() * 1000)
        return DirectionInputs(
            door=door,
            why=why,
            keys=(
                self.keys("webhooks", "debounce", source.name, person_key),
                self.keys("webhooks", "day", person_key, local_day),
            ),
            args=(t_ms, scan.event_id, window_ms, STATE_TTL_S),
            local_day=local_day,
            zone=tz.key,
            debounce=source.debounce,
            reported=scan.direction,
        )

    def decide(
        self,
        source: WebhookSource,
        scan: Scan,
        *,
        person_key: str,
        zone: str | None,
    ) -> DirectionDecision:
        """Decide one scan; raises ``redis.RedisError`` when Redis is down."""
        inputs = self.inputs(source, scan, person_key=person_key, zone=zone)
        if inputs.door is None:
            return DirectionDecision(None, inputs.why)
        result = self._state(keys=list(inputs.keys), args=list(inputs.args))
        return inputs.decision(_text(result[0]), _text(result[1]))


_KIND = {"in": TriggerKind.BADGE_IN, "out": TriggerKind.BADGE_OUT}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _zone(value: object) -> ZoneInfo | None:
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str) and value:
        try:
            return ZoneInfo(value)
        except (ValueError, KeyError, OSError):
            return None
    return None
