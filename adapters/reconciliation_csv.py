"""The daily reconciliation as CSV, and its once-per-day file.

One CSV, four columns: ``kind,scope,metric,value``.

- ``report``   scope ``-``: ``day``, ``timezone``, ``channel``, ``locations``, ``mismatches``.
- ``orders``   scope ``channel:<handle>/location:<id|none>``: ``count``, ``total``, ``currency``.
- ``tender``   same scope, money tenders (CARD, ALIPAY, WECHAT_PAY, CASH, CARD_TERMINAL):
  ``<TENDER>.payments``, ``.amount`` (due), ``.received``, ``.refunded``.
- ``in_kind``  same scope, POINTS and VOUCHER, the same four metrics (no money moved).
- ``refunds``  same scope: ``succeeded``, ``succeeded_count``, ``pending``, ``pending_count``,
  ``failed``, ``failed_count``.
- ``till``     scope ``till:<id>/location:<id>``: ``opening_float``, ``expected``, ``counted``,
  ``difference`` (empty while open).
- ``provider`` scope ``account`` (brand-wide reports with a provider only): ``intents``,
  ``captured``, ``authorised``, ``charges``, ``refunds``, ``fees``, ``net``, ``payouts``,
  ``payout_ids`` (space-separated).
- ``webhook_refusals`` scope ``stripe``: one metric per reason, the count.
- ``mismatch`` scope the mismatch kind (ORDER_WITHOUT_PAYMENT, PAYMENT_WITHOUT_ORDER,
  AMOUNT_DIFFERS, TILL_DIFFERENCE, REFUND_FAILED); metric the ids (``order=12 payment=3
  refund= till= intent=pi_…``, empty ones left out); value the detail, with expected/actual.

Amounts are integers in minor units. ``write_once`` writes a day's file at most once across
processes: an exclusive lock file while the report is made, then a hard link from a temporary
file (which fails if the file exists), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from domain.payments.reconciliation import Mismatch, Report

HEADER = ("kind", "scope", "metric", "value")
STALE_LOCK_SECONDS = 3600  # a lock older than this was left by a process that died


def rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    """The report as ``(kind, scope, metric, value)`` rows, in a stable order."""
    locations = " ".join(str(i) for i in report.location_ids or ())
    yield "report", "-", "day", report.day.isoformat()
    yield "report", "-", "timezone", report.timezone
    yield "report", "-", "channel", report.channel or ""
    yield "report", "-", "locations", locations
    yield "report", "-", "mismatches", str(len(report.mismatches))
    for s in report.scopes:
        scope = f"channel:{s.channel}/location:{s.location_id if s.location_id else 'none'}"
        yield "orders", scope, "count", str(s.orders)
        yield "orders", scope, "total", str(s.orders_total)
        yield "orders", scope, "currency", s.currency
        for t in s.tenders:
            kind = "in_kind" if t.in_kind else "tender"
            for metric in ("payments", "amount", "received", "refunded"):
                yield kind, scope, f"{t.tender.value}.{metric}", str(getattr(t, metric))
        r = s.refunds
        for metric in (
            "succeeded",
            "succeeded_count",
            "pending",
            "pending_count",
            "failed",
            "failed_count",
        ):
            yield "refunds", scope, metric, str(getattr(r, metric))
    for till in report.tills:
        scope = f"till:{till.id}/location:{till.location_id}"
        yield "till", scope, "opening_float", str(till.opening_float)
        for metric, value in (
            ("expected", till.expected),
            ("counted", till.counted),
            ("difference", till.difference),
        ):
            yield "till", scope, metric, "" if value is None else str(value)
    if report.provider is not None:
        p = report.provider
        for metric in ("intents", "captured", "authorised", "charges", "refunds", "fees"):
            yield "provider", "account", metric, str(getattr(p, metric))
        yield "provider", "account", "net", str(p.net)
        yield "provider", "account", "payouts", str(p.payouts)
        yield "provider", "account", "payout_ids", " ".join(p.payout_ids)
    for reason, count in report.refusals.items():
        yield "webhook_refusals", "stripe", reason, str(count)
    for m in report.mismatches:
        yield "mismatch", m.kind.value, _ids(m), _detail(m)


def _ids(m: Mismatch) -> str:
    pairs = (
        ("order", m.order_id),
        ("payment", m.payment_id),
        ("refund", m.refund_id),
        ("till", m.till_session_id),
        ("intent", m.provider_ref),
    )
    return " ".join(f"{k}={v}" for k, v in pairs if v is not None)


def _detail(m: Mismatch) -> str:
    if m.expected is None and m.actual is None:
        return m.detail
    return f"{m.detail} (expected {m.expected}, actual {m.actual})"


def to_csv(report: Report) -> str:
    """The whole CSV, header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return out.getvalue()


def daily_path(data_dir: Path, day_iso: str) -> Path:
    """Where the scheduled run keeps a day's CSV."""
    return data_dir / "reconciliation" / f"{day_iso}.csv"


def write_new(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it exists; readers see all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)  # atomic, and refuses to replace a file
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def _day_lock(path: Path) -> Iterator[bool]:
    """An exclusive lock file beside ``path``: True when this process holds it."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
                    lock.unlink()  # its holder died: take over once
                    continue
            yield False
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        try:
            yield True
        finally:
            lock.unlink(missing_ok=True)
        return
    yield False


def _written(path: Path) -> bool:
    return path.exists()  # a local stat: quick enough for the event loop


async def write_once(path: Path, render: Callable[[], Awaitable[str]]) -> bool:
    """Make and write a day's file unless it exists or another process is making it; True
    when this call wrote it."""
    if _written(path):
        return False
    with _day_lock(path) as mine:
        if not mine or _written(path):
            return False
        return write_new(path, await render())
