"""Stripe-Signature verification: valid, forged, replayed-stale, future-dated, rotated, tampered."""

from __future__ import annotations

import json

import pytest

from adapters.payments.webhooks import (
    RefusalReason,
    StripeEvent,
    WebhookRefusal,
    compute_signature,
    construct_event,
    sign_header,
    verify_signature,
)

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
NOW = 1_800_000_000


def clock(at: float = NOW):
    return lambda: at


def _payload(**over: object) -> bytes:
    event = {
        "id": "evt_1Test",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": NOW - 5,
        "livemode": False,
        "data": {"object": {"id": "pi_1Test", "object": "payment_intent", "amount": 1099}},
    }
    event.update(over)
    return json.dumps(event, separators=(",", ":")).encode()


def _refusal(payload: bytes | str, header: str | None, **kw: object) -> RefusalReason:
    kw.setdefault("secrets", [SECRET])
    kw.setdefault("now", clock())
    with pytest.raises(WebhookRefusal) as info:
        construct_event(payload, header, **kw)  # type: ignore[arg-type]
    return info.value.reason


def test_a_valid_delivery_gives_the_typed_event() -> None:
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW - 10, secrets=[SECRET])
    event = construct_event(body, header, secrets=[SECRET], now=clock())
    assert event == StripeEvent(
        id="evt_1Test",
        type="payment_intent.succeeded",
        created=NOW - 5,
        object_id="pi_1Test",
        object_type="payment_intent",
    )
    # a str payload (already decoded) verifies the same
    assert construct_event(body.decode(), header, secrets=[SECRET], now=clock()).id == "evt_1Test"


def test_the_signature_is_stripes_v1_scheme() -> None:
    # Stripe's documented scheme: HMAC-SHA256(secret, f"{t}.{payload}"), hex; cross-check with the SDK.
    import stripe

    body = _payload()
    header = sign_header(payload=body, timestamp=NOW, secrets=[SECRET])
    assert header == f"t={NOW},v1={compute_signature(payload=body, timestamp=NOW, secret=SECRET)}"
    assert stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, tolerance=None)


def test_a_forged_signature_is_refused() -> None:
    body = _payload()
    forged = sign_header(payload=body, timestamp=NOW, secrets=["whsec_attacker"])
    assert _refusal(body, forged) is RefusalReason.BAD_SIGNATURE
    assert _refusal(body, f"t={NOW},v1={'0' * 64}") is RefusalReason.BAD_SIGNATURE
    assert _refusal(body, f"t={NOW},v1=not-hex-at-all-\u00e9") is RefusalReason.BAD_SIGNATURE


def test_a_tampered_payload_is_refused() -> None:
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW, secrets=[SECRET])
    tampered = body.replace(b'"amount":1099', b'"amount":1')
    assert tampered != body
    assert _refusal(tampered, header) is RefusalReason.BAD_SIGNATURE
    # the timestamp is signed too: moving it invalidates the signature
    moved = header.replace(f"t={NOW}", f"t={NOW + 1}")
    assert _refusal(body, moved) is RefusalReason.BAD_SIGNATURE


def test_a_replayed_delivery_older_than_the_tolerance_is_stale() -> None:
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW - 301, secrets=[SECRET])
    assert _refusal(body, header) is RefusalReason.STALE
    # at exactly the tolerance it still passes
    edge = sign_header(payload=body, timestamp=NOW - 300, secrets=[SECRET])
    assert construct_event(body, edge, secrets=[SECRET], now=clock()).id == "evt_1Test"
    # the tolerance is configurable
    assert _refusal(body, edge, tolerance=60) is RefusalReason.STALE


def test_a_future_dated_delivery_beyond_the_tolerance_is_refused() -> None:
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW + 301, secrets=[SECRET])
    assert _refusal(body, header) is RefusalReason.STALE
    near = sign_header(payload=body, timestamp=NOW + 30, secrets=[SECRET])
    assert construct_event(body, near, secrets=[SECRET], now=clock()).id == "evt_1Test"


def test_rotated_secrets_on_either_side() -> None:
    body = _payload()
    # Stripe rolls the endpoint secret: the header carries one v1 per active secret
    both = sign_header(payload=body, timestamp=NOW, secrets=[OLD_SECRET, SECRET])
    assert construct_event(body, both, secrets=[SECRET], now=clock()).id == "evt_1Test"
    assert construct_event(body, both, secrets=[OLD_SECRET], now=clock()).id == "evt_1Test"
    # we roll ours: several configured secrets, a delivery signed with the old one still passes
    old_only = sign_header(payload=body, timestamp=NOW, secrets=[OLD_SECRET])
    assert (
        construct_event(body, old_only, secrets=[SECRET, OLD_SECRET], now=clock()).id == "evt_1Test"
    )
    assert _refusal(body, old_only, secrets=[SECRET]) is RefusalReason.BAD_SIGNATURE
    # v0 (test-mode legacy) entries are ignored, never accepted
    v0 = f"t={NOW},v0={compute_signature(payload=body, timestamp=NOW, secret=SECRET)}"
    assert _refusal(body, v0) is RefusalReason.MISSING


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, RefusalReason.MISSING),
        ("", RefusalReason.MISSING),
        (f"t={NOW}", RefusalReason.MISSING),
        ("v1=abc", RefusalReason.MALFORMED),
        ("garbage", RefusalReason.MALFORMED),
        ("t=yesterday,v1=abc", RefusalReason.MALFORMED),
        (f"t={NOW},t={NOW},v1=abc", RefusalReason.MALFORMED),
        ("t=-5,v1=abc", RefusalReason.MALFORMED),
    ],
)
def test_missing_and_malformed_headers(header: str | None, reason: RefusalReason) -> None:
    assert _refusal(_payload(), header) is reason


def test_a_signed_payload_that_is_not_an_event_is_malformed() -> None:
    for body in (b"not json", b"[]", json.dumps({"id": "evt_1", "object": "event"}).encode()):
        header = sign_header(payload=body, timestamp=NOW, secrets=[SECRET])
        assert _refusal(body, header) is RefusalReason.MALFORMED
    odd = _payload(object="charge")
    assert (
        _refusal(odd, sign_header(payload=odd, timestamp=NOW, secrets=[SECRET]))
        is RefusalReason.MALFORMED
    )


def test_the_signature_is_checked_before_the_clock() -> None:
    # a forged stale delivery counts as BAD_SIGNATURE (an attack), not STALE (a slow retry)
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW - 10_000, secrets=["whsec_attacker"])
    assert _refusal(body, header) is RefusalReason.BAD_SIGNATURE


def test_no_secret_configured_is_a_programming_error() -> None:
    body = _payload()
    header = sign_header(payload=body, timestamp=NOW, secrets=[SECRET])
    with pytest.raises(ValueError):
        verify_signature(body, header, secrets=[], now=clock())
    with pytest.raises(ValueError):
        verify_signature(body, header, secrets=[""], now=clock())
