"""Stripe webhook verification: the `Stripe-Signature` header and the event it signs.

A header reads `t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac>...][,v0=...]`. The signature is
HMAC-SHA256 over `"{t}.{payload}"` keyed with the endpoint secret. Several `v1` values appear
while Stripe rolls a secret, and several secrets may be configured here while we roll ours:
any (secret, v1) pair that matches is accepted. The timestamp must lie within `tolerance`
seconds of the injected clock, in the past (a replay) or in the future (a forged date).
Refusals are typed (`WebhookRefusal.reason`) so the endpoint can count them per reason.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_TOLERANCE_SECONDS = 300
SIGNATURE_SCHEME = "v1"


class RefusalReason(enum.Enum):
    """Why a webhook delivery was refused (a stable label for counters)."""

    MISSING = "MISSING"
    MALFORMED = "MALFORMED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    STALE = "STALE"


class WebhookRefusal(Exception):
    """A webhook delivery that must not be applied; `reason` says why."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """The parts of a Stripe event the gateway acts on."""

    id: str
    type: str
    created: int
    object_id: str
    object_type: str
    livemode: bool = False


def compute_signature(*, payload: bytes, timestamp: int, secret: str) -> str:
    """Hex HMAC-SHA256 of `"{timestamp}.{payload}"` keyed with `secret` (Stripe's v1 scheme)."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_header(*, payload: bytes, timestamp: int, secrets: Sequence[str]) -> str:
    """A `Stripe-Signature` header value with one v1 entry per secret (for tests and fakes)."""
    parts = [f"t={timestamp}"]
    parts += [
        f"{SIGNATURE_SCHEME}={compute_signature(payload=payload, timestamp=timestamp, secret=s)}"
        for s in secrets
    ]
    return ",".join(parts)


def _parse_header(header: str | None) -> tuple[int, list[str]]:
    if header is None or not header.strip():
        raise WebhookRefusal(RefusalReason.MISSING, "no Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookRefusal(RefusalReason.MALFORMED, "an item is not key=value")
        if key == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                raise WebhookRefusal(RefusalReason.MALFORMED, "bad or repeated timestamp")
            timestamp = int(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise WebhookRefusal(RefusalReason.MALFORMED, "no timestamp")
    if not signatures:
        raise WebhookRefusal(RefusalReason.MISSING, f"no {SIGNATURE_SCHEME} signature")
    return timestamp, signatures


def _as_bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def verify_signature(
    payload: bytes | str,
    header: str | None,
    *,
    secrets: Sequence[str],
    now: Callable[[], float] = time.time,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header against the raw payload; return its timestamp or raise WebhookRefusal."""
    if not secrets or any(not s for s in secrets):
        raise ValueError("at least one non-empty webhook secret is required")
    timestamp, signatures = _parse_header(header)
    body = _as_bytes(payload)
    expected = [compute_signature(payload=body, timestamp=timestamp, secret=s) for s in secrets]
    matched = False
    for candidate in signatures:
        for good in expected:
            # Compare every pair so the time taken does not reveal which one matched.
            matched |= hmac.compare_digest(
                candidate.encode("ascii", "replace"), good.encode("ascii")
            )
    if not matched:
        raise WebhookRefusal(RefusalReason.BAD_SIGNATURE, "no signature matches the payload")
    if abs(now() - timestamp) > tolerance:
        raise WebhookRefusal(RefusalReason.STALE, f"timestamp outside the {tolerance} s tolerance")
    return timestamp


def parse_event(payload: bytes | str) -> StripeEvent:
    """Read a verified payload into a StripeEvent, or raise WebhookRefusal(MALFORMED)."""
    try:
        raw = json.loads(_as_bytes(payload))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefusal(RefusalReason.MALFORMED, "payload is not JSON") from exc
    try:
        obj = raw["data"]["object"]
        event = StripeEvent(
            id=str(raw["id"]),
            type=str(raw["type"]),
            created=int(raw["created"]),
            object_id=str(obj["id"]),
            object_type=str(obj["object"]),
            livemode=bool(raw.get("livemode", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRefusal(RefusalReason.MALFORMED, "not a Stripe event") from exc
    if raw.get("object") != "event" or not event.id.startswith("evt_"):
        raise WebhookRefusal(RefusalReason.MALFORMED, "not a Stripe event object")
    return event


def construct_event(
    payload: bytes | str,
    header: str | None,
    *,
    secrets: Sequence[str],
    now: Callable[[], float] = time.time,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> StripeEvent:
    """Verify the signature, then parse the event; raise WebhookRefusal on any refusal."""
    verify_signature(payload, header, secrets=secrets, now=now, tolerance=tolerance)
    return parse_event(payload)
