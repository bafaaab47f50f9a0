"""Performance reports over GraphQL: exact figures on a small world, for each role."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.settings import Settings
from schema.relay import to_global_id
from tests.api.report_world import ReportWorld, make_report_world
from tests.conftest import GraphQLClient

REPORT = """
query($store: ID, $clerk: ID, $channel: String, $month: String, $from: Date, $to: Date) {
  performanceReport(store: $store, clerk: $clerk, channel: $channel, month: $month,
                    from: $from, to: $to) {
    scope firstDay lastDay currency
    sales { orders net { amount currencyCode } buyers repeatBuyers }
    onlineInfluenced { orders net { amount } buyers repeatBuyers }
    averageBasket { amount } repeatRate membersAcquired
    acquiredByCode { code kind members }
    commission { amount } tasksDone
  }
}"""


@pytest.fixture
async def rw(db: str, settings: Settings) -> ReportWorld:
    return await make_report_world(settings.secret_key)


async def report(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(REPORT, {"month": "2026-11", **variables}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["performanceReport"]
    return found


async def refused(gql: GraphQLClient, token: str, **variables: Any) -> str:
    body = await gql(REPORT, {"month": "2026-11", **variables}, token=token)
    assert body.get("data") is None or body["data"].get("performanceReport") is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def store(rw: ReportWorld, name: str) -> str:
    location = rw.world.bellecour if name == "bellecour" else rw.world.part_dieu
    return to_global_id("Location", location.id)


def clerk(rw: ReportWorld, name: str) -> str:
    return to_global_id("StaffUser", rw.staff[name])


async def test_a_store_month_is_exact(gql: GraphQLClient, rw: ReportWorld) -> None:
    found = await report(gql, rw.tokens["bella"], store=store(rw, "bellecour"))
    assert found["scope"] == "STORE"
    assert (found["firstDay"], found["lastDay"]) == ("2026-11-01", "2026-11-30")
    # orders 1, 2 (less its refund) and 3: 100.00 + 40.00 + 30.00; m1 bought twice
    assert found["sales"] == {
        "orders": 3,
        "net": {"amount": "170.00", "currencyCode": "EUR"},
        "buyers": 1,
        "repeatBuyers": 1,
    }
    assert found["averageBasket"] == {"amount": "56.67"}
    assert found["repeatRate"] == 1.0
    # orders 5, 6 and 7 (1 November in Paris); not 8 (1 December in Paris), not the till's 1
    assert found["onlineInfluenced"] == {
        "orders": 3,
        "net": {"amount": "165.00"},
        "buyers": 2,
        "repeatBuyers": 1,
    }
    assert found["acquiredByCode"] == [
        {"code": "REF-C1", "kind": "CLERK", "members": 2},
        {"code": "REF-S2", "kind": "STORE", "members": 1},
    ]
    assert found["membersAcquired"] == 3
    assert found["commission"] == {"amount": "3.00"}
    assert found["tasksDone"] == 2  # Alice's two of November


async def test_a_clerk_sees_their_own(gql: GraphQLClient, rw: ReportWorld) -> None:
    found = await report(gql, rw.tokens["alice"], clerk=clerk(rw, "alice"))
    assert found["scope"] == "CLERK"
    assert found["sales"]["orders"] == 3 and found["sales"]["net"]["amount"] == "170.00"
    assert found["onlineInfluenced"]["orders"] == 3
    assert found["onlineInfluenced"]["net"] == {"amount": "165.00"}
    assert found["acquiredByCode"] == [{"code": "REF-C1", "kind": "CLERK", "members": 2}]
    # 4.00 less 1.00 and 0.50 (dated in November, in December's statement); October's not
    assert found["commission"] == {"amount": "2.50"}
    assert found["tasksDone"] == 2
    assert await refused(gql, rw.tokens["alice"], clerk=clerk(rw, "bob")) == "PERMISSION_DENIED"
    for scope in ({"store": store(rw, "bellecour")}, {"channel": "web"}, {}):
        assert await refused(gql, rw.tokens["alice"], **scope) == "PERMISSION_DENIED"


async def test_a_store_manager_sees_their_stores_clerks_and_tills(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    bella = rw.tokens["bella"]
    assert (await report(gql, bella, clerk=clerk(rw, "alice")))["sales"]["orders"] == 3
    till = await report(gql, bella, channel="store-bellecour")
    assert till["sales"]["orders"] == 3 and till["onlineInfluenced"]["orders"] == 0
    assert till["tasksDone"] is None and till["acquiredByCode"] == []
    for scope in (
        {"store": store(rw, "part-dieu")},
        {"clerk": clerk(rw, "bob")},
        {"channel": "web"},
        {},
    ):
        assert await refused(gql, bella, **scope) == "PERMISSION_DENIED", scope
    # Part-Dieu's manager: the pick-up handed over there, no online influence of its own
    paul = await report(gql, rw.tokens["paul"], store=store(rw, "part-dieu"))
    assert paul["sales"]["orders"] == 1 and paul["sales"]["net"]["amount"] == "80.00"
    assert paul["onlineInfluenced"]["orders"] == 0
    assert paul["tasksDone"] == 1 and paul["commission"]["amount"] == "0.00"


async def test_the_owner_sees_the_brand_and_every_channel(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    owner = rw.tokens["owner"]
    brand = await report(gql, owner)
    assert brand["scope"] == "BRAND"
    # 1, 2, 3, 5, 6, 7 and 9: 170.00 + 165.00 + 15.00
    assert brand["sales"]["orders"] == 7 and brand["sales"]["net"]["amount"] == "350.00"
    assert brand["sales"]["buyers"] == 3 and brand["sales"]["repeatBuyers"] == 2
    assert brand["repeatRate"] == 0.6667
    assert brand["onlineInfluenced"]["orders"] == 3
    assert brand["membersAcquired"] == 3
    assert brand["commission"]["amount"] == "5.50"  # 4.00 - 1.00 - 0.50 + 3.00
    assert brand["tasksDone"] == 3
    web = await report(gql, owner, channel="web")
    assert web["sales"]["orders"] == 4 and web["sales"]["net"]["amount"] == "180.00"
    assert web["onlineInfluenced"]["orders"] == 3
    assert web["commission"]["amount"] == "5.50"
    for scope in ({"store": store(rw, "part-dieu")}, {"clerk": clerk(rw, "bob")}):
        assert (await report(gql, owner, **scope))["sales"]["orders"] >= 0


async def test_a_date_range_and_bad_periods(gql: GraphQLClient, rw: ReportWorld) -> None:
    owner = rw.tokens["owner"]
    body = await gql(
        REPORT, {"store": store(rw, "bellecour"), "from": "2026-11-01", "to": "2026-11-10"},
        token=owner,
    )  # fmt: skip
    found = body["data"]["performanceReport"]
    assert found["sales"]["orders"] == 2 and found["sales"]["net"]["amount"] == "140.00"
    assert found["onlineInfluenced"]["orders"] == 1  # order 7
    assert found["commission"]["amount"] == "0.00"
    for variables in (
        {"month": "2026-13"},
        {"month": None, "from": "2026-11-10", "to": "2026-11-01"},
        {"month": None, "from": "2025-01-01", "to": "2026-11-01"},
        {"month": None},
    ):
        assert await refused(gql, owner, **variables) == "BAD_PERIOD", variables


async def test_anonymous_and_members_are_refused(gql: GraphQLClient, rw: ReportWorld) -> None:
    body = await gql(REPORT, {"month": "2026-11"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
