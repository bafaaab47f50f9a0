"""Member use cases against the in-memory fakes: sign-up, verification, login, token rotation,
logout, staff look-ups and profile changes. Assertions are on state, events and error codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.kv import MemoryKeyValue
from adapters.memory.shop import Shop, small_shop
from adapters.security import JwtTokenSigner
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind
from domain.members import services as svc
from domain.members.model import MemberRecord
from domain.orders.model import Buyer

PASSWORD = "a long enough secret"
SIGNER = JwtTokenSigner("a signing secret of at least thirty-two bytes")


class PlainHasher:
    """A fast stand-in for argon2: the hash is the password, marked."""

    def hash(self, password: str) -> str:
        return f"plain:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"plain:{password}"

    def dummy_verify(self) -> None:
        return None


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def register(shop: Shop, **given: str | None) -> None:
    fields: dict[str, str | None] = {"email": None, "phone": None, "referral": None, **given}
    await svc.register(
        shop.uow,
        email=fields["email"],
        phone=fields["phone"],
        password=PASSWORD,
        name="Ada",
        referral=fields["referral"],
        hasher=PlainHasher(),
        clock=shop.clock,
    )


def events(shop: Shop, topic: str) -> list[dict[str, object]]:
    return [m.payload for m in shop.state.outbox.values() if m.topic == topic]


def only_member(shop: Shop) -> MemberRecord:
    (member,) = shop.state.members.values()
    return member


async def login(shop: Shop, identifier: str, password: str = PASSWORD) -> svc.Session:
    return await svc.login(
        shop.uow,
        identifier=identifier,
        password=password,
        client="test",
        hasher=PlainHasher(),
        signer=SIGNER,
        limiter=MemoryKeyValue(),
        clock=shop.clock,
    )


async def test_signup_through_a_store_code_asks_to_verify_the_email(shop: Shop) -> None:
    await register(shop, email=" Ada@Example.com", referral=f"REF-S{shop.store_id}")

    member = only_member(shop)
    assert (member.email, member.email_verified, member.tier) == (
        "ada@example.com",
        False,
        "BRONZE",
    )
    assert member.referral_location_id == shop.store_id
    assert member.tags == (f"store:{shop.store_id}",)
    assert len(member.member_code) == 12
    (asked,) = events(shop, "member.verification_requested")
    assert asked == {"memberId": member.id, "channel": "EMAIL"}  # no token, no address
    ((to_id, channel, to, body),) = shop.state.member_messages
    assert (to_id, channel, to) == (member.id, "EMAIL", "ada@example.com")
    assert body.startswith("your verification token is ")
    assert events(shop, "member.registered") == [
        {"memberId": member.id, "referral": f"REF-S{shop.store_id}"}
    ]


async def test_signup_through_a_clerk_code_and_by_phone(shop: Shop) -> None:
    await register(shop, phone="06 12 34 56 78", referral="REF-C2")

    member = only_member(shop)
    assert (member.phone, member.referral_staff_id, member.tags) == (
        "+33612345678",
        2,
        ("clerk:2",),
    )
    assert [e["channel"] for e in events(shop, "member.verification_requested")] == ["PHONE"]


async def test_signing_up_twice_creates_no_second_member_and_tells_the_owner(shop: Shop) -> None:
    await register(shop, email="ada@example.com")
    await register(shop, email="ADA@example.com")

    member = only_member(shop)
    assert events(shop, "member.duplicate_signup") == [{"memberId": member.id}]
    assert len(events(shop, "member.registered")) == 1


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({}, "IDENTIFIER_REQUIRED"),
        ({"email": "not an address"}, "INVALID_EMAIL"),
        ({"phone": "12"}, "INVALID_PHONE"),
        ({"email": "ada@example.com", "referral": "REF-S999"}, "INVALID_CODE"),
        ({"email": "ada@example.com", "referral": "nonsense"}, "INVALID_CODE"),
    ],
)
async def test_signup_refusals_store_nothing(shop: Shop, given: dict[str, str], code: str) -> None:
    with pytest.raises(DomainError) as refused:
        await register(shop, **given)

    assert refused.value.code == code
    assert shop.state.members == {} and shop.state.outbox == {}


async def test_verification_marks_the_email_and_attaches_guest_orders(shop: Shop) -> None:
    async with shop.uow() as uow:  # a guest order placed before signing up
        await uow.orders.add(shop.web_order(buyer=Buyer(email="ada@example.com")))
    await register(shop, email="ada@example.com")
    token = shop.state.member_messages[-1][3].rsplit(" ", 1)[1]

    attached = await svc.verify(shop.uow, token=token, clock=shop.clock)

    member = only_member(shop)
    assert (attached, member.email_verified) == (1, True)
    assert [o.member_id for o in shop.state.orders.values()] == [member.id]
    with pytest.raises(DomainError) as again:
        await svc.verify(shop.uow, token=token, clock=shop.clock)
    assert again.value.code == "INVALID_TOKEN"


async def test_an_expired_verification_token_is_refused(shop: Shop) -> None:
    await register(shop, email="ada@example.com")
    token = shop.state.member_messages[-1][3].rsplit(" ", 1)[1]
    shop.clock.advance(days=3)

    with pytest.raises(DomainError) as refused:
        await svc.verify(shop.uow, token=token, clock=shop.clock)

    assert refused.value.code == "INVALID_TOKEN"
    assert only_member(shop).email_verified is False


async def test_login_by_email_or_phone_opens_a_session(shop: Shop) -> None:
    await register(shop, email="ada@example.com", phone="0612345678")

    by_email = await login(shop, "ADA@example.com")
    by_phone = await login(shop, "+33 6 12 34 56 78")

    member = only_member(shop)
    assert by_email.member.id == by_phone.member.id == member.id
    claims = SIGNER.verify(by_email.access_token)
    assert claims is not None and claims["sub"] == f"member:{member.id}"
    assert len(shop.state.sessions) == 2
    assert all(s.revoked_at is None for s in shop.state.sessions.values())


@pytest.mark.parametrize("identifier", ["ada@example.com", "nobody@example.com", "bad"])
async def test_login_refusals_look_the_same(shop: Shop, identifier: str) -> None:
    await register(shop, email="ada@example.com")

    with pytest.raises(DomainError) as refused:
        await login(shop, identifier, password="wrong password!")

    assert (refused.value.code, refused.value.field) == ("INVALID_CREDENTIALS", "password")
    assert shop.state.sessions == {}


async def test_a_deactivated_member_cannot_log_in(shop: Shop) -> None:
    await register(shop, email="ada@example.com")
    member = only_member(shop)
    shop.state.members[member.id] = replace(member, active=False)

    with pytest.raises(DomainError) as refused:
        await login(shop, "ada@example.com")

    assert refused.value.code == "INVALID_CREDENTIALS"


async def test_refresh_rotates_and_a_reused_token_revokes_every_session(shop: Shop) -> None:
    await register(shop, email="ada@example.com")
    first = await login(shop, "ada@example.com")
    signer = SIGNER

    second = await svc.refresh(shop.uow, token=first.refresh_token, signer=signer, clock=shop.clock)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(DomainError) as stolen:
        await svc.refresh(shop.uow, token=first.refresh_token, signer=signer, clock=shop.clock)

    assert stolen.value.code == "INVALID_TOKEN"
    # the revocation was committed although the refresh was refused
    assert all(s.revoked_at is not None for s in shop.state.sessions.values())
    assert events(shop, "member.token_reuse") == [{"memberId": only_member(shop).id}]
    with pytest.raises(DomainError):
        await svc.refresh(shop.uow, token=second.refresh_token, signer=signer, clock=shop.clock)


async def test_logout_ends_one_session_or_all(shop: Shop) -> None:
    await register(shop, email="ada@example.com")
    one, two, three = [await login(shop, "ada@example.com") for _ in range(3)]
    anonymous = Principal(PrincipalKind.ANONYMOUS)

    await svc.logout(
        shop.uow, token=one.refresh_token, everywhere=False, principal=anonymous, clock=shop.clock
    )
    assert sum(s.revoked_at is None for s in shop.state.sessions.values()) == 2
    await svc.logout(
        shop.uow, token=two.refresh_token, everywhere=True, principal=anonymous, clock=shop.clock
    )
    assert all(s.revoked_at is not None for s in shop.state.sessions.values())
    await svc.logout(  # logging out twice is fine
        shop.uow, token=three.refresh_token, everywhere=True, principal=anonymous, clock=shop.clock
    )


async def test_staff_look_members_up_by_code_or_phone(shop: Shop) -> None:
    await register(shop, email="ada@example.com", phone="0612345678")
    member = only_member(shop)

    by_code = await svc.lookup(shop.uow, shop.clerk, code=member.member_code, phone=None)
    by_phone = await svc.lookup(shop.uow, shop.clerk, code=None, phone="06 12 34 56 78")
    nobody = await svc.lookup(shop.uow, shop.clerk, code=None, phone="0699999999")

    assert (by_code, by_phone, nobody) == (member, member, None)
    typo = member.member_code[:-1] + str((int(member.member_code[-1]) + 1) % 10)
    for code, principal, expected in (
        (typo, shop.clerk, "INVALID_CODE"),
        (member.member_code, shop.member(member.id), "PERMISSION_DENIED"),
        (None, shop.clerk, "IDENTIFIER_REQUIRED"),
    ):
        with pytest.raises(DomainError) as refused:
            await svc.lookup(shop.uow, principal, code=code, phone=None)
        assert refused.value.code == expected


async def test_a_member_edits_their_profile(shop: Shop) -> None:
    member = shop.state.members[await shop.add_member()]
    me = shop.member(member.id)

    updated = await svc.update_profile(
        shop.uow,
        me,
        name="  Ada Lovelace ",
        addresses=[{"city": "Lyon"}],
        consents={"marketingEmail": True},
    )

    assert updated == shop.state.members[member.id]
    assert (updated.name, updated.addresses, updated.consents) == (
        "Ada Lovelace",
        ({"city": "Lyon"},),
        {"marketingEmail": True},
    )
    for kwargs, code in (
        ({"addresses": [{}] * 11}, "INVALID"),
        ({"consents": {"marketingEmail": "yes"}}, "INVALID"),
    ):
        with pytest.raises(DomainError) as refused:
            await svc.update_profile(
                shop.uow, me, **{"name": None, "addresses": None, "consents": None, **kwargs}
            )
        assert refused.value.code == code
    with pytest.raises(DomainError) as anonymous:
        await svc.update_profile(
            shop.uow, Principal(PrincipalKind.ANONYMOUS), name="X", addresses=None, consents=None
        )
    assert anonymous.value.code == "NOT_FOUND"
    assert shop.state.members[member.id] == updated
