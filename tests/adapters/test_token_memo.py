"""A verified access token is remembered until it expires: its signature is checked once, an
expired one is refused even when remembered, and a token differing by one character is checked
on its own."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

import adapters.security as security
from adapters.security import JwtTokenSigner


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = jwt.decode

    def decode(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(security.jwt, "decode", decode)
    return calls


def test_a_token_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    signer = JwtTokenSigner("s" * 40)
    token = signer.issue(subject="staff:1", claims={"kind": "staff"}, ttl_seconds=60)
    for _ in range(5):
        claims = signer.verify(token)
        assert claims is not None and claims["sub"] == "staff:1"
    assert len(calls) == 1


def test_a_remembered_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = JwtTokenSigner("s" * 40)
    token = signer.issue(subject="member:1", claims={"kind": "member"}, ttl_seconds=60)
    assert signer.verify(token) is not None
    later = security.time.time() + 61
    monkeypatch.setattr(security.time, "time", lambda: later)  # the memo's clock only
    assert signer.verify(token) is None
    assert token not in signer._verified


def test_a_forged_or_foreign_token_is_not_taken_for_a_remembered_one() -> None:
    signer = JwtTokenSigner("s" * 40)
    token = signer.issue(subject="staff:1", claims={"kind": "staff"}, ttl_seconds=60)
    assert signer.verify(token) is not None
    head, payload, signature = token.split(".")
    forged = ".".join([head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    assert signer.verify(forged) is None
    other = JwtTokenSigner("t" * 40).issue(subject="staff:1", claims={}, ttl_seconds=60)
    assert signer.verify(other) is None


def test_claims_handed_out_are_copies() -> None:
    signer = JwtTokenSigner("s" * 40)
    token = signer.issue(subject="staff:1", claims={"role": "CLERK"}, ttl_seconds=60)
    first = signer.verify(token)
    assert first is not None
    first["role"] = "OWNER"
    again = signer.verify(token)
    assert again is not None and again["role"] == "CLERK"
