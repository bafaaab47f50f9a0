"""Attribution against the in-memory fakes: signed QR payloads, scans, bindings at sign-up, by
scan, at the till and by hand, the takeover delay at explicit times, the policy as data, and
who may manage codes and read bindings. Assertions are on state, events and error codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory.clock import FixedClock
from adapters.memory.shop import Shop, small_shop
from domain.attribution import services as svc
from domain.attribution.codes import QrSigner, check_code_text, landing_url
from domain.attribution.model import (
    Binding,
    BindingPolicy,
    BindingSource,
    CodeKind,
    may_take_over,
)
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.identity.ports import StaffDraft
from domain.members import services as members
from tests.domain.test_members_services import PASSWORD, PlainHasher

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
QR = QrSigner.from_secret("test-secret-key-0123456789-abcdefghijklmnop")


@pytest.fixture
async def shop() -> Shop:
    return await small_shop(FixedClock(T0))


async def add_staff(shop: Shop, role: Role, stores: tuple[int, ...], name: str) -> Principal:
    async with shop.uow() as uow:
        staff = await uow.identity.add_staff(
            StaffDraft(
                email=f"{name.lower().replace(' ', '.')}@example.com",
                name=name,
                password_hash="-",
                role=role.value,
                location_ids=stores,
            )
        )
    return Principal(
        PrincipalKind.STAFF,
        subject=f"staff:{staff.id}",
        role=role,
        location_ids=frozenset(stores),
    )


async def clerk_code(shop: Shop, clerk: Principal) -> str:
    code = await svc.create_code(
        shop.uow,
        shop.owner,
        kind=CodeKind.CLERK,
        name=None,
        location_id=None,
        staff_id=clerk.staff_id,
        code=None,
        landing_path="/welcome",
    )
    return QR.payload(code.code)


async def signup(shop: Shop, referral: str | None, *, visitor: str | None = None) -> int:
    await members.register(
        shop.uow,
        email=f"m{len(shop.state.members)}@example.com",
        phone=None,
        password=PASSWORD,
        name="Ada",
        referral=referral,
        hasher=PlainHasher(),
        clock=shop.clock,
        qr=QR,
        visitor=visitor,
    )
    return max(shop.state.members)


def bound_events(shop: Shop) -> list[dict[str, object]]:
    return [m.payload for m in shop.state.outbox.values() if m.topic == "member.bound"]


async def scan(shop: Shop, payload: str, *, member: int | None = None, visitor: str | None = None):
    who = shop.member(member) if member else Principal(PrincipalKind.ANONYMOUS)
    return await svc.scan(
        shop.uow, who, payload=payload, visitor=visitor, signer=QR, clock=shop.clock
    )


# --- signed payloads -------------------------------------------------------------------------


def test_a_payload_verifies_and_any_change_to_it_is_refused():
    payload = QR.payload("REF-C4")
    code, signature = payload.split(".")
    assert code == "REF-C4" and len(signature) == 16 and QR.verify(payload) == "REF-C4"
    assert QR.verify(payload.lower()) == "REF-C4"  # typed from a print: case does not matter
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_key = QrSigner.from_secret("another brand's secret, long enough to be real")
    for tampered in (
        f"REF-C5.{signature}",  # another clerk's code under this one's signature
        f"{code}.{flipped}",
        f"{code}.{signature[:8]}",
        code,
        f".{signature}",
        other_key.payload("REF-C4"),
        payload + "." + signature,
    ):
        with pytest.raises(DomainError) as refused:
            QR.verify(tampered)
        assert refused.value.code == "BAD_SIGNATURE", tampered


@given(st.from_regex(r"[A-Z0-9][A-Z0-9-]{2,39}", fullmatch=True))
def test_every_code_round_trips_through_its_payload_and_url(code):
    payload = QR.payload(code)
    assert QR.verify(payload) == code
    url = landing_url("https://shop.example/", "/welcome", payload)
    assert url == f"https://shop.example/welcome?a={payload}"


def test_staff_chosen_codes_are_checked():
    assert check_code_text(" winter-2026 ") == "WINTER-2026"
    for bad in ("ab", "REF-S2", "a.b", "x" * 41, "café"):
        with pytest.raises(DomainError) as refused:
            check_code_text(bad)
        assert refused.value.code == "INVALID_CODE"


# --- the takeover rule, at explicit times ----------------------------------------------------


def test_a_till_clerk_takes_over_only_after_the_delay_or_once_the_binding_ended():
    policy = BindingPolicy(bind_days=365, takeover_after_days=90)
    held = Binding(1, 5, 7, BindingSource.SIGNUP, T0, T0 + timedelta(days=365))
    assert may_take_over(None, policy, at=T0)
    assert not may_take_over(held, policy, at=T0 + timedelta(days=89, hours=23))
    assert may_take_over(held, policy, at=T0 + timedelta(days=90))
    short = Binding(1, 5, 7, BindingSource.SIGNUP, T0, T0 + timedelta(days=30))
    assert may_take_over(short, BindingPolicy(takeover_after_days=900), at=T0 + timedelta(days=30))
    assert not may_take_over(None, BindingPolicy(bind_at_till=False), at=T0)


async def test_till_takeover_follows_the_policy_and_records_old_and_new(shop):
    hugo = await add_staff(shop, Role.CLERK, (shop.store_id,), "Hugo Clerk")
    member = await signup(shop, await clerk_code(shop, shop.clerk))
    first = shop.state.bindings[member]
    assert (first.source, first.staff_id) == (BindingSource.SIGNUP, shop.clerk.staff_id)

    async def till(days: float) -> Binding | None:
        async with shop.uow() as uow:
            return await svc.bind_at_till(
                uow,
                member,
                location_id=shop.store_id,
                staff_id=hugo.staff_id,
                at=T0 + timedelta(days=days),
            )

    assert await till(89) is None and shop.state.bindings[member] == first
    # the owner shortens the delay: the next sale at the till takes the binding over
    await svc.update_policy(shop.uow, shop.owner, changes={"takeover_after_days": 30})
    taken = await till(31)
    assert taken is not None and shop.state.bindings[member] == taken
    assert (taken.source, taken.staff_id, taken.location_id) == (
        BindingSource.TILL,
        hugo.staff_id,
        shop.store_id,
    )
    assert taken.expires_at == T0 + timedelta(days=31 + 365)
    assert "served by Hugo Clerk at the till of Part-Dieu" in taken.rule
    assert "took over after 31 days (takeover after 30 days)" in taken.rule
    assert await till(200) is None  # the same clerk again: nothing changes
    events = bound_events(shop)
    assert [e["source"] for e in events] == ["SIGNUP", "TILL"]
    assert events[1]["old"]["staffId"] == shop.clerk.staff_id  # type: ignore[index]
    assert events[1]["new"]["staffId"] == hugo.staff_id  # type: ignore[index]


async def test_no_takeover_when_the_policy_turns_the_till_off(shop):
    hugo = await add_staff(shop, Role.CLERK, (shop.store_id,), "Hugo Clerk")
    member = await shop.add_member()
    await svc.update_policy(shop.uow, shop.owner, changes={"bind_at_till": False})
    async with shop.uow() as uow:
        none = await svc.bind_at_till(
            uow, member, location_id=shop.store_id, staff_id=hugo.staff_id, at=T0
        )
    assert none is None and member not in shop.state.bindings


# --- sign-up ---------------------------------------------------------------------------------


async def test_signup_with_a_clerks_qr_binds_with_the_rule_in_words(shop):
    payload = await clerk_code(shop, shop.clerk)
    member = await signup(shop, payload)
    binding = shop.state.bindings[member]
    code = next(iter(shop.state.attribution_codes.values()))
    assert (binding.location_id, binding.staff_id, binding.code_id) == (
        shop.store_id,
        shop.clerk.staff_id,
        code.id,
    )
    assert binding.rule == (
        f"signed up with Clerk's code (REF-C{shop.clerk.staff_id}) on 2026-12-02; bound 365 days"
    )
    assert binding.expires_at == T0 + timedelta(days=365)
    assert shop.state.members[member].referral_staff_id == shop.clerk.staff_id
    scans = list(shop.state.attribution_scans.values())
    assert [(s.code_id, s.member_id) for s in scans] == [(code.id, member)]


async def test_legacy_codes_still_sign_up_with_or_without_a_row(shop):
    # no row yet: the store itself is the code (as before codes were stored)
    member = await signup(shop, f"REF-S{shop.store_id}")
    binding = shop.state.bindings[member]
    assert (binding.location_id, binding.staff_id, binding.code_id) == (shop.store_id, None, None)
    assert binding.rule.startswith(f"signed up with Part-Dieu's code (REF-S{shop.store_id})")
    # with a row, the legacy text is that row's code: deactivating it refuses both forms
    payload = await clerk_code(shop, shop.clerk)
    legacy = payload.split(".")[0]
    second = await signup(shop, legacy)
    assert shop.state.bindings[second].code_id is not None
    code_id = shop.state.bindings[second].code_id
    assert code_id is not None
    await svc.deactivate_code(shop.uow, shop.owner, code_id=code_id)
    for referral in (legacy, payload):
        with pytest.raises(DomainError) as refused:
            await signup(shop, referral)
        assert (refused.value.code, refused.value.field) == ("CODE_INACTIVE", "referralCode")
    with pytest.raises(DomainError) as tampered:
        await signup(shop, payload[:-1] + ("A" if payload[-1] != "A" else "B"))
    assert tampered.value.code == "BAD_SIGNATURE"


async def test_anonymous_scans_join_the_member_who_signs_up_and_the_first_one_binds(shop):
    hugo = await add_staff(shop, Role.CLERK, (shop.store_id,), "Hugo Clerk")
    first = await clerk_code(shop, shop.clerk)
    later = await clerk_code(shop, hugo)
    visitor = "v-1234567890abcdef"
    await scan(shop, first, visitor=visitor)
    shop.clock.advance(hours=1)
    await scan(shop, later, visitor=visitor)
    shop.clock.advance(days=2)
    member = await signup(shop, None, visitor=visitor)
    assert {s.member_id for s in shop.state.attribution_scans.values()} == {member}
    binding = shop.state.bindings[member]
    assert (binding.source, binding.staff_id) == (BindingSource.SCAN, shop.clerk.staff_id)
    assert binding.rule.startswith(f"first scanned Clerk's code (REF-C{shop.clerk.staff_id})")


# --- scans -----------------------------------------------------------------------------------


async def test_the_same_scan_twice_records_and_binds_once(shop):
    payload = await clerk_code(shop, shop.clerk)
    member = await shop.add_member()
    first = await scan(shop, payload, member=member)
    shop.clock.advance(minutes=2)
    again = await scan(shop, payload, member=member)
    assert first.bound and not again.bound
    assert (first.clerk_name, first.store_name, first.code.kind) == (
        "Clerk",
        "Part-Dieu",
        CodeKind.CLERK,
    )
    assert len(shop.state.attribution_scans) == 1 and len(bound_events(shop)) == 1
    # a scan of another store's or clerk's code later does not move a live binding
    hugo = await add_staff(shop, Role.CLERK, (shop.store_id,), "Hugo Clerk")
    shop.clock.advance(days=1)
    other = await scan(shop, await clerk_code(shop, hugo), member=member)
    assert not other.bound and shop.state.bindings[member].staff_id == shop.clerk.staff_id
    assert len(shop.state.attribution_scans) == 2


async def test_scans_of_unknown_inactive_or_tampered_codes_are_refused(shop):
    payload = await clerk_code(shop, shop.clerk)
    cases = {
        QR.payload("NOPE-123"): "UNKNOWN_CODE",
        payload[:-2] + "ZZ": "BAD_SIGNATURE",
        "REF-C1": "BAD_SIGNATURE",  # a bare code is not a scan
    }
    for bad, code in cases.items():
        with pytest.raises(DomainError) as refused:
            await scan(shop, bad)
        assert (refused.value.code, refused.value.field) == (code, "payload"), bad
    with pytest.raises(DomainError) as visitor:
        await scan(shop, payload, visitor="bad id!")
    assert visitor.value.code == "INVALID_VISITOR"
    await svc.deactivate_code(shop.uow, shop.owner, code_id=1)
    with pytest.raises(DomainError) as inactive:
        await scan(shop, payload)
    assert inactive.value.code == "CODE_INACTIVE" and shop.state.attribution_scans == {}


async def test_no_binding_by_scan_or_signup_when_the_policy_says_so(shop):
    await svc.update_policy(
        shop.uow, shop.owner, changes={"bind_on_scan": False, "bind_on_signup": False}
    )
    member = await shop.add_member()
    payload = await clerk_code(shop, shop.clerk)
    found = await scan(shop, payload, member=member)
    assert not found.bound and shop.state.bindings == {}
    await scan(shop, payload, visitor="v-1234567890abcdef")
    signed_up = await signup(shop, payload, visitor="v-1234567890abcdef")
    assert shop.state.bindings == {} and bound_events(shop) == []
    assert signed_up in {s.member_id for s in shop.state.attribution_scans.values()}
    with pytest.raises(DomainError) as refused:
        await svc.update_policy(shop.uow, shop.owner, changes={"bind_days": 0})
    assert (refused.value.code, refused.value.field) == ("INVALID_POLICY", "bindDays")


# --- who may do what -------------------------------------------------------------------------


async def test_codes_by_role(shop):
    other_store = 99
    manager = await add_staff(shop, Role.STORE_MANAGER, (shop.store_id,), "Maud Manager")
    elsewhere = await add_staff(shop, Role.STORE_MANAGER, (other_store,), "Other Manager")
    mine = await svc.create_code(
        shop.uow,
        manager,
        kind=CodeKind.CLERK,
        name=None,
        location_id=None,
        staff_id=shop.clerk.staff_id,
        code=None,
        landing_path=None,
    )
    campaign = await svc.create_code(
        shop.uow,
        shop.owner,
        kind=CodeKind.CAMPAIGN,
        name="Winter sale flyer",
        location_id=None,
        staff_id=None,
        code="winter-flyer",
        landing_path="/winter",
    )
    assert campaign.code == "WINTER-FLYER" and mine.code == f"REF-C{shop.clerk.staff_id}"
    for who in (elsewhere, shop.clerk):
        with pytest.raises(DomainError) as refused:
            await svc.create_code(
                shop.uow,
                who,
                kind=CodeKind.STORE,
                name=None,
                location_id=shop.store_id,
                staff_id=None,
                code=None,
                landing_path=None,
            )
        assert refused.value.code == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as duplicate:
        await svc.create_code(
            shop.uow,
            shop.owner,
            kind=CodeKind.VENUE,
            name="Gym",
            location_id=None,
            staff_id=None,
            code="WINTER-FLYER",
            landing_path=None,
        )
    assert duplicate.value.code == "DUPLICATE_CODE"
    with pytest.raises(DomainError) as campaign_refused:
        await svc.deactivate_code(shop.uow, manager, code_id=campaign.id)
    assert campaign_refused.value.code == "PERMISSION_DENIED"

    async def seen(who: Principal) -> list[str]:
        return [c.code for c in await svc.list_codes(shop.uow, who, kind=None, limit=50)]

    assert await seen(shop.owner) == [mine.code, campaign.code]
    assert await seen(manager) == [mine.code]
    assert await seen(shop.clerk) == [mine.code]
    assert await seen(elsewhere) == []


async def test_manual_binding_by_a_manager_of_the_store_only(shop):
    manager = await add_staff(shop, Role.STORE_MANAGER, (shop.store_id,), "Maud Manager")
    elsewhere = await add_staff(shop, Role.STORE_MANAGER, (99,), "Other Manager")
    member = await shop.add_member()
    with pytest.raises(DomainError) as refused:
        await svc.bind_manually(
            shop.uow,
            elsewhere,
            member_id=member,
            location_id=shop.store_id,
            staff_id=None,
            clock=shop.clock,
        )
    assert refused.value.code == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as not_there:
        await svc.bind_manually(
            shop.uow,
            manager,
            member_id=member,
            location_id=shop.store_id,
            staff_id=elsewhere.staff_id,
            clock=shop.clock,
        )
    assert not_there.value.field == "staffId"
    bound = await svc.bind_manually(
        shop.uow,
        manager,
        member_id=member,
        location_id=shop.store_id,
        staff_id=shop.clerk.staff_id,
        clock=shop.clock,
    )
    assert bound.source is BindingSource.MANUAL and shop.state.bindings[member] == bound
    assert bound.rule == f"bound by hand by {manager.subject} on 2026-12-02; bound 365 days"
    record = shop.state.members[member]
    assert svc.binding_visible(manager, record, bound)
    assert svc.binding_visible(shop.clerk, record, bound)
    assert svc.binding_visible(shop.owner, record, bound)
    assert not svc.binding_visible(elsewhere, record, bound)
    assert not svc.binding_visible(shop.member(member), record, bound)
