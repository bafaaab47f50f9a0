"""Demo brand and staff accounts: `python app.py seed`, `serve --seed-if-empty`, `create-owner`.

The demo is deterministic (``random.Random(42)``): the same catalog, prices and stock on every
machine. It is written in one transaction with bulk inserts, and only into an empty catalog.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from adapters.db import demo_data as d
from adapters.db import models as m
from adapters.db.demo_data import plan_catalog, plan_collections, price_rules
from adapters.db.unit_of_work import TortoiseUnitOfWork
from adapters.security import Argon2PasswordHasher
from domain.attribution.codes import QrSigner, landing_url
from domain.catalog.model import search_text
from domain.channels.model import LocationDraft
from domain.channels.services import check_location
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role, check_password_strength
from domain.identity.services import create_staff
from domain.inventory.model import MovementKind
from domain.pricing.model import PriceRule, validate_rule

SYSTEM = Principal(kind=PrincipalKind.STAFF, role=Role.OWNER, subject="system:seed")
BATCH = 500


class StaffAccountError(click.ClickException, ValueError):
    """A staff account could not be created (duplicate email, weak password, unknown store)."""


async def create_staff_account(
    *,
    email: str,
    password: str,
    role: str,
    location_ids: list[int],
    name: str = "",
) -> None:
    """Create a staff account through the domain's rules (argon2id hash), in an open database.

    Refuses a taken email, a password under 12 characters, an unknown role, store roles
    without stores: :class:`StaffAccountError`.
    """
    await _add_staff(
        email=email, password=password, role=role, location_ids=location_ids, name=name
    )


async def _add_staff(
    *, email: str, password: str, role: str, location_ids: list[int], name: str
) -> None:
    try:
        await create_staff(
            TortoiseUnitOfWork,
            SYSTEM,
            email=email,
            name=name,
            password=password,
            role=role,
            location_ids=location_ids,
            hasher=Argon2PasswordHasher(),
        )
    except DomainError as error:
        raise StaffAccountError(f"cannot create staff account {email!r}: {error.message}") from None


async def seed_demo(settings: Any) -> None:
    """Seed the demo brand into an empty catalog; refuses (with a message) when products exist."""
    if await m.Product.exists():
        click.echo("The catalog already has products: seed refused (it only fills an empty one).")
        return
    await _seed(settings)


async def seed_if_database_empty(settings: Any) -> None:
    """Seed the demo brand only when the catalog has no products (``serve --seed-if-empty``)."""
    if not await m.Product.exists():
        await _seed(settings)


# ---------------------------------------------------------------- writing rows


async def _write_commission_rules(conn: BaseDBAsyncClient) -> None:
    rows = [
        m.CommissionRule(role=role, channel_kind=kind, percent_bp=bp)
        for role, kind, bp in d.COMMISSION_RULES
    ]
    await m.CommissionRule.bulk_create(rows, using_db=conn)


async def _ids(model: Any, conn: BaseDBAsyncClient, key: str = "handle") -> dict[str, int]:
    return {k: int(v) for k, v in await model.all().using_db(conn).values_list(key, "id")}


async def _write_categories(conn: BaseDBAsyncClient) -> dict[str, int]:
    roots = [
        m.Category(name=n, handle=h, position=i) for i, (h, n, _) in enumerate(d.CATEGORY_TREE)
    ]
    await m.Category.bulk_create(roots, using_db=conn)
    ids = await _ids(m.Category, conn)
    children = [
        m.Category(name=leaf.name, handle=leaf.handle, parent_id=ids[root], position=j)
        for root, _, leaves in d.CATEGORY_TREE
        for j, leaf in enumerate(leaves)
    ]
    await m.Category.bulk_create(children, using_db=conn)
    return await _ids(m.Category, conn)


async def _write_locations(conn: BaseDBAsyncClient) -> dict[str, int]:
    rows = []
    for spec in (d.WAREHOUSE, *d.STORES):
        store = spec.kind == "STORE"
        draft = LocationDraft(
            handle=spec.handle,
            name=spec.name,
            kind=spec.kind,
            address=spec.address(),
            latitude=spec.latitude,
            longitude=spec.longitude,
            opening_hours=spec.opening_hours,
            pickup_enabled=store,
            local_delivery_radius_km=spec.local_delivery_radius_km,
            active=True,
        )
        check_location(draft, creating=True)  # the demo obeys the same rules as the API
        rows.append(m.Location(**asdict(draft)))
    await m.Location.bulk_create(rows, using_db=conn)
    return await _ids(m.Location, conn)


async def _write_channels(conn: BaseDBAsyncClient, locations: dict[str, int]) -> int:
    stores = [s.handle for s in d.STORES]
    everywhere = [d.WAREHOUSE.handle, *stores]
    specs: list[tuple[str, str, str, str | None, list[str], dict[str, Any]]] = [
        ("web", f"{d.BRAND} web shop", "WEB", None, everywhere, {}),
        ("app", f"{d.BRAND} app", "APP", None, everywhere, {}),
        *((f"store-{s.handle}", s.name, "STORE", s.handle, [s.handle], {}) for s in d.STORES),
        *((handle, name, "MARKETPLACE", None, everywhere,
           {"allocation_share_percent": share, "allocation_buffer": buffer, "currency": currency,
            "tax_rate_bp": 0 if currency == "USD" else d.TAX_RATE_BP})
          for handle, name, currency, share, buffer in d.MARKETPLACES),
    ]  # fmt: skip
    await m.Channel.bulk_create(
        [
            m.Channel(
                handle=h,
                name=n,
                kind=k,
                store_id=locations[s] if s else None,
                **({"currency": d.CURRENCY, "tax_rate_bp": d.TAX_RATE_BP} | rule),
            )
            for h, n, k, s, _, rule in specs
        ],
        using_db=conn,
    )
    ids = await _ids(m.Channel, conn)
    links = [
        m.ChannelLocation(channel_id=ids[h], location_id=locations[loc])
        for h, _, _, _, served, _ in specs
        for loc in served
    ]
    await m.ChannelLocation.bulk_create(links, using_db=conn)
    return len(specs)


async def _write_catalog(
    conn: BaseDBAsyncClient, plans: list[d.ProductPlan], categories: dict[str, int]
) -> tuple[dict[str, int], dict[str, int]]:
    products = [
        m.Product(
            title=p.title,
            handle=p.handle,
            description=p.description,
            status=p.status,
            category_id=categories[p.category],
            vendor=p.vendor,
            tags=p.tags,
            image_urls=p.image_urls,
            options=p.options,
            search_text=search_text(p.title, [v.sku for v in p.variants], p.tags),
        )
        for p in plans
    ]
    await m.Product.bulk_create(products, batch_size=BATCH, using_db=conn)
    product_ids = await _ids(m.Product, conn)
    variants = [
        m.Variant(
            product_id=product_ids[p.handle],
            sku=v.sku,
            title=v.title,
            option_values=v.option_values,
            barcode=v.barcode,
            weight_grams=v.weight_grams,
            position=v.position,
        )
        for p in plans
        for v in p.variants
    ]
    await m.Variant.bulk_create(variants, batch_size=BATCH, using_db=conn)
    return product_ids, await _ids(m.Variant, conn, key="sku")


async def _write_collections(
    conn: BaseDBAsyncClient, members: dict[str, list[str]], products: dict[str, int]
) -> None:
    await m.Collection.bulk_create(
        [m.Collection(handle=h, title=t, description=text) for h, t, text in d.COLLECTIONS],
        using_db=conn,
    )
    ids = await _ids(m.Collection, conn)
    rows = [
        m.CollectionProduct(collection_id=ids[h], product_id=products[handle], position=i)
        for h, handles in members.items()
        for i, handle in enumerate(handles)
    ]
    await m.CollectionProduct.bulk_create(rows, batch_size=BATCH, using_db=conn)


async def _write_prices(
    conn: BaseDBAsyncClient, rules: list[tuple[str, PriceRule]], variants: dict[str, int]
) -> int:
    rows = []
    for sku, rule in rules:
        validate_rule(rule)
        rows.append(
            m.Price(
                variant_id=variants[sku],
                kind=rule.kind.value,
                currency=rule.amount.currency,
                amount=rule.amount.amount,
                channel=rule.channel,
                tier=rule.tier,
                starts_at=rule.starts_at,
                ends_at=rule.ends_at,
            )
        )
    await m.Price.bulk_create(rows, batch_size=BATCH, using_db=conn)
    return len(rows)


async def _write_stock(
    conn: BaseDBAsyncClient, rng: random.Random, variants: dict[str, int], locations: dict[str, int]
) -> int:
    """Deep warehouse, shallow stores (some empty); every unit arrives as a RECEIPT movement."""
    stocks, movements = [], []
    for variant_id in sorted(variants.values()):
        levels = {d.WAREHOUSE.handle: 0 if rng.random() < 0.04 else rng.randint(20, 240)}
        for store in d.STORES:
            if rng.random() < 0.7:
                levels[store.handle] = rng.choice((0, 0, 1, 2, 3, 4, 5, 6, 8, 10, 12))
        for handle, on_hand in levels.items():
            safety = (
                1 if handle != d.WAREHOUSE.handle and on_hand >= 2 and rng.random() < 0.25 else 0
            )
            location_id = locations[handle]
            stocks.append(
                m.Stock(
                    variant_id=variant_id,
                    location_id=location_id,
                    on_hand=on_hand,
                    safety_stock=safety,
                )
            )
            if on_hand:
                movements.append(
                    m.StockMovement(
                        variant_id=variant_id,
                        location_id=location_id,
                        kind=MovementKind.RECEIPT.value,
                        delta=on_hand,
                        on_hand_after=on_hand,
                        reason="initial stock",
                        actor="seed",
                        reference="seed",
                    )
                )
    await m.Stock.bulk_create(stocks, batch_size=BATCH, using_db=conn)
    await m.StockMovement.bulk_create(movements, batch_size=BATCH, using_db=conn)
    return len(stocks)


async def _write_tiers(conn: BaseDBAsyncClient) -> None:
    tiers = [
        m.MemberTier(
            code=c, name=n, threshold_minor=t, currency=d.CURRENCY, points_multiplier_pct=p
        )
        for c, n, t, p in d.MEMBER_TIERS
    ]
    await m.MemberTier.bulk_create(tiers, ignore_conflicts=True, using_db=conn)


# ---------------------------------------------------------------- the seed


async def _seed(settings: Any = None) -> None:
    rng = random.Random(42)
    now = datetime.now(UTC)
    plans = plan_catalog(rng)
    members = plan_collections(rng, plans)
    rules = price_rules(rng, plans, set(members["summer-sale"]), now)
    passwords = _demo_passwords()
    async with in_transaction() as conn:
        categories = await _write_categories(conn)
        locations = await _write_locations(conn)
        channels = await _write_channels(conn, locations)
        await _write_tiers(conn)
        products, variants = await _write_catalog(conn, plans, categories)
        await _write_collections(conn, members, products)
        prices = await _write_prices(conn, rules, variants)
        stock_rows = await _write_stock(conn, rng, variants, locations)
        await _write_loyalty(conn)
        wholesale = await _write_franchise(conn, rules, variants, locations)
        await _write_commission_rules(conn)
    staff = await _create_demo_staff(locations, passwords)
    codes_written = await _write_attribution_codes(locations)
    click.echo(
        f"Seeded {d.BRAND} ({d.CITY}, {d.CURRENCY}): {len(products)} products, "
        f"{len(variants)} variants, {len(categories)} categories, {len(members)} collections, "
        f"1 warehouse + {len(d.STORES)} stores, {channels} channels, "
        f"{len(d.MEMBER_TIERS)} member tiers, {prices} price rules, {stock_rows} stock rows."
    )
    _echo_staff(staff)
    for _, name, stores in d.FRANCHISEES:
        click.echo(
            f"Franchisee {name} owns {', '.join(stores)}; wholesale prices "
            f"({d.WHOLESALE_PERCENT_OF_BASE} % of the base price) for {wholesale} variants."
        )
    codes = ", ".join(f"{handle} REF-S{ident}" for handle, ident in sorted(locations.items()))
    click.echo(f"Store sign-up codes: {codes}")
    _echo_attribution_codes(codes_written, settings)
    click.echo(
        "Loyalty: 1 point per euro, 100 points = 1.00 EUR (at most 50 % of an order);\n"
        '  automatic "spend 100, save 10" (per each 100); coupon WELCOME10 (10 % off, once each).'
    )
    click.echo(
        "Commissions: bound clerk 3 %, fulfilling store 2 %, referring store 1 %, selling clerk "
        "1 % of till sales, venue 5 %, franchisee 2 % (of the net paid amount)."
    )


async def _write_franchise(
    conn: BaseDBAsyncClient,
    rules: list[tuple[str, PriceRule]],
    variants: dict[str, int],
    locations: dict[str, int],
) -> int:
    """The franchisees and their stores, and a wholesale price (a share of the base price,
    half up) for every variant with a base price in the brand's currency."""
    for handle, name, stores in d.FRANCHISEES:
        franchisee = await m.Franchisee.create(using_db=conn, handle=handle, name=name)
        await m.FranchiseLocation.bulk_create(
            [
                m.FranchiseLocation(location_id=locations[s], franchisee_id=franchisee.id)
                for s in stores
            ],
            using_db=conn,
        )
    share = d.WHOLESALE_PERCENT_OF_BASE
    prices = {
        variants[sku]: (rule.amount.amount * share + 50) // 100
        for sku, rule in rules
        if rule.kind.value == "BASE"
        and rule.amount.currency == d.CURRENCY
        and rule.channel is None
        and rule.tier is None
    }
    await m.WholesalePrice.bulk_create(
        [
            m.WholesalePrice(variant_id=v, currency=d.CURRENCY, amount=a)
            for v, a in sorted(prices.items())
        ],
        batch_size=BATCH,
        using_db=conn,
    )
    return len(prices)


async def _write_loyalty(conn: BaseDBAsyncClient) -> None:
    """The points program and two promotions, so the member flows work on a fresh demo."""
    await m.LoyaltyProgram.create(
        using_db=conn,
        earn={
            "pointsPerUnit": 1,
            "lotLifetimeDays": 365,
            "channelMultipliers": {"app": 150},
            "tierMultipliers": {"SILVER": 125, "GOLD": 150},
        },
        redeem={"pointsPerCurrencyUnit": 100, "maxSharePercent": 50},
    )
    await m.Promotion.create(
        using_db=conn,
        name="Spend 100, save 10",
        kind="SPEND_THRESHOLD",
        terms={"amount": 1000, "threshold": 10000, "currency": d.CURRENCY, "repeat": True},
        priority=10,
    )
    await m.Promotion.create(
        using_db=conn,
        name="Welcome 10 %",
        kind="PERCENTAGE",
        code="WELCOME10",
        terms={"percent": 10},
        per_member_limit=1,
        usage_limit=1000,
    )


async def _write_attribution_codes(locations: dict[str, int]) -> list[m.AttributionCode]:
    """A code per store and per demo clerk (the REF- codes), a campaign's and a venue's; a
    code that exists already is kept."""
    wanted: list[dict[str, Any]] = []
    stores = {spec.handle: spec.name for spec in d.STORES}
    for handle, name in stores.items():
        ident = locations[handle]
        wanted.append(
            {"code": f"REF-S{ident}", "kind": "STORE", "name": name, "location_id": ident}
        )
    for email, name, role, store, _, _ in d.STAFF:
        user = await m.StaffUser.filter(email=email).first()
        if role == "CLERK" and user is not None and store:
            wanted.append(
                {
                    "code": f"REF-C{user.id}",
                    "kind": "CLERK",
                    "name": user.name or name,
                    "location_id": locations[store],
                    "staff_id": user.id,
                }
            )
    for kind, code, name, store, path in d.ATTRIBUTION_CODES:
        location_id = locations[store] if store else None
        wanted.append(
            {"code": code, "kind": kind, "name": name, "location_id": location_id,
             "landing_path": path}
        )  # fmt: skip
    written = []
    for values in wanted:
        row, _ = await m.AttributionCode.get_or_create(
            defaults={**values, "created_by": "system:seed"}, code=values["code"]
        )
        written.append(row)
    return written


def _echo_attribution_codes(codes: list[m.AttributionCode], settings: Any) -> None:
    """The codes, with the payload their QR carries and where it leads (with the settings)."""
    signer = QrSigner.from_secret(str(settings.secret_key)) if settings is not None else None
    click.echo("Attribution codes (QR payload → landing page):")
    for row in codes:
        line = f"  {row.kind:<9} {row.code:<13} {row.name:<28}"
        if signer is not None:
            payload = signer.payload(row.code)
            line += f" {landing_url(settings.public_base_url, row.landing_path, payload)}"
        click.echo(line.rstrip())


def _demo_passwords() -> dict[str, str]:
    """Each demo account's password: from its environment variable, else the demo default."""
    passwords = {}
    for email, _, _, _, env_var, default in d.STAFF:
        passwords[email] = os.environ.get(env_var) or default
        try:
            check_password_strength(passwords[email])
        except DomainError as error:
            raise StaffAccountError(f"${env_var}: {error.message}") from None
    return passwords


async def _create_demo_staff(
    locations: dict[str, int], passwords: dict[str, str]
) -> list[tuple[str, str, str]]:
    """The demo accounts; an account whose email exists already is kept as it is."""
    created = []
    for email, name, role, store, env_var, default in d.STAFF:
        password = passwords[email]
        shown = default if password == default else f"(password from ${env_var})"
        if await m.StaffUser.filter(email=email).exists():
            created.append((role, email, "(existing account kept)"))
            continue
        scope = [locations[store]] if store else []
        await _add_staff(email=email, password=password, role=role, location_ids=scope, name=name)
        created.append((role, email, shown + (f"  [{store}]" if store else "")))
    return created


def _echo_staff(staff: list[tuple[str, str, str]]) -> None:
    click.echo("Staff accounts (demo passwords, for a demo only):")
    for role, email, shown in staff:
        click.echo(f"  {role:<14} {email:<28} {shown}")
    click.echo(
        "Try it: python app.py serve, open http://127.0.0.1:8000/graphql and run\n"
        '  { products(first: 3, query: "linen", channel: "web") { nodes { title\n'
        "      variants(first: 2) { nodes { sku price { amount currencyCode } quantityAvailable\n"
        "        storeAvailability(near: {latitude: 45.7606, longitude: 4.8590}, first: 3) {\n"
        "          location { name } quantityAvailable distanceKm } } } } } }\n"
        '  staff: mutation { staffLogin(email: "owner@demo.o2o", password: "…") { accessToken } }'
    )
