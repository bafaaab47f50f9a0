"""The demo brand: a Lyon fashion and lifestyle label with a warehouse and seven stores.

The static data first, then the pure, deterministic expansion of it into a product plan (titles,
variants, SKUs, EAN-13 barcodes, prices). ``adapters/db/seed.py`` writes the plan as rows.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.catalog.model import normalize_tags, slugify
from domain.money import Money
from domain.pricing.model import PriceKind, PriceRule

BRAND = "Maison Rhône"
CITY = "Lyon"
CURRENCY = "EUR"
TAX_RATE_BP = 2000  # French VAT, 20 %, included in shelf prices
SKU_PREFIX = "MR"
EAN_PREFIX = "3760123"  # GS1 France range; 7 digits + 5 digits of counter + check digit
IMAGE_BASE = "https://images.example.com/maison-rhone"
VENDORS = ("Maison Rhône", "Canut & Co", "Atelier Presqu'île", "Fourvière Studio")
MARKETPLACE = "marketplace-amazon-fr"
# one channel per marketplace account: (handle, name, currency, share %, buffer); each is served
# by the warehouse and the stores (ship from store), keeping part of the stock back
MARKETPLACES = (
    (MARKETPLACE, "Amazon.fr", "EUR", 80, 2),
    ("marketplace-walmart-us", "Walmart Marketplace", "USD", 50, 2),
    ("marketplace-ebay-fr", "eBay.fr", "EUR", 60, 1),
)
USD_PER_EUR_PCT = 110  # the demo's US price list: the euro price x 1.10, ending in .99

STAFF = (
    # email, name, role, store handle (None: brand-wide), env var, default password
    ("owner@demo.o2o", "Camille Owner", "OWNER", None,
     "DEMO_OWNER_PASSWORD", "demo-owner-password"),
    ("manager.partdieu@demo.o2o", "Louis Manager", "STORE_MANAGER", "part-dieu",
     "DEMO_MANAGER_PASSWORD", "demo-manager-password"),
    ("clerk.partdieu@demo.o2o", "Inès Clerk", "CLERK", "part-dieu",
     "DEMO_CLERK_PASSWORD", "demo-clerk-password"),
    ("clerk.bellecour@demo.o2o", "Hugo Clerk", "CLERK", "bellecour",
     "DEMO_CLERK_PASSWORD", "demo-clerk-password"),
    ("manager.bellecour@demo.o2o", "Léa Manager", "STORE_MANAGER", "bellecour",
     "DEMO_MANAGER_PASSWORD", "demo-manager-password"),
    # Confluence belongs to a franchisee (Rhône Franchise SARL): its own clerk
    ("clerk.confluence@demo.o2o", "Nadia Clerk", "CLERK", "confluence",
     "DEMO_CLERK_PASSWORD", "demo-clerk-password"),
)  # fmt: skip

# attribution codes besides one per store (REF-S<id>) and one per clerk (REF-C<id>):
# kind, code, name, store handle (None: the brand's), landing path
ATTRIBUTION_CODES = (
    ("CAMPAIGN", "WINTER-FLYER", "Winter sale flyer", None, "/"),
    ("VENUE", "GYM-LYON-7", "Gym Lyon 7", "gerland", "/"),
)

COMMISSION_RULES = (
    # role, channel kind (None: any), basis points of the net paid amount
    ("BOUND_CLERK", None, 300),  # the clerk a buyer is bound to: 3 % of every order
    ("FULFILLING_STORE", None, 200),  # the store that hands over or sends: 2 %
    ("REFERRING_STORE", None, 100),  # the store a buyer is bound to: 1 %
    ("SELLING_CLERK", "STORE", 100),  # the clerk at the till: 1 % of till sales
    ("VENUE_PARTNER", None, 500),  # a partner venue whose QR the buyer scanned last: 5 %
    ("FRANCHISEE", None, 200),  # the dealer owning a credited franchised store: 2 %
)

MEMBER_TIERS = (
    # code, name, spend threshold in minor EUR, points multiplier in percent
    ("BRONZE", "Bronze", 0, 100),
    ("SILVER", "Silver", 50_000, 125),
    ("GOLD", "Gold", 150_000, 150),
)


def _hours(days: str, opens: str, closes: str) -> list[dict[str, str]]:
    return [{"day": d, "opens": opens, "closes": closes} for d in days.split()]


_HIGH_STREET = _hours("MON TUE WED THU FRI SAT", "10:00", "19:30")
_MALL = _hours("MON TUE WED THU FRI SAT", "09:30", "20:00") + _hours("SUN", "11:00", "19:00")


@dataclass(frozen=True)
class LocationSpec:
    """A warehouse or store of the demo brand."""

    handle: str
    name: str
    kind: str
    line1: str
    postal_code: str
    city: str
    latitude: float
    longitude: float
    opening_hours: list[dict[str, str]]
    local_delivery_radius_km: float | None = None

    def address(self) -> dict[str, Any]:
        return {
            "line1": self.line1,
            "postalCode": self.postal_code,
            "city": self.city,
            "country": "FR",
        }


WAREHOUSE = LocationSpec(
    "warehouse-saint-priest", "Entrepôt Saint-Priest", "WAREHOUSE", "14 Rue Pierre Mendès France",
    "69800", "Saint-Priest", 45.6960, 4.9440, _hours("MON TUE WED THU FRI", "07:00", "17:00"),
)  # fmt: skip

STORES = (
    LocationSpec("part-dieu", "Maison Rhône Part-Dieu", "STORE", "17 Rue du Docteur Bouchut",
                 "69003", "Lyon", 45.7606, 4.8590, _MALL, 6.0),
    LocationSpec("bellecour", "Maison Rhône Bellecour", "STORE", "31 Rue de la République",
                 "69002", "Lyon", 45.7578, 4.8320, _HIGH_STREET, 4.0),
    LocationSpec("croix-rousse", "Maison Rhône Croix-Rousse", "STORE",
                 "112 Boulevard de la Croix-Rousse", "69004", "Lyon", 45.7744, 4.8318,
                 _HIGH_STREET),
    LocationSpec("confluence", "Maison Rhône Confluence", "STORE", "112 Cours Charlemagne",
                 "69002", "Lyon", 45.7413, 4.8176, _MALL, 5.0),
    LocationSpec("vieux-lyon", "Maison Rhône Vieux Lyon", "STORE", "24 Rue Saint-Jean",
                 "69005", "Lyon", 45.7622, 4.8272, _HIGH_STREET),
    LocationSpec("villeurbanne", "Maison Rhône Villeurbanne", "STORE",
                 "45 Avenue Henri Barbusse", "69100", "Villeurbanne", 45.7688, 4.8826,
                 _HIGH_STREET, 5.0),
    LocationSpec("gerland", "Maison Rhône Gerland", "STORE", "40 Avenue Tony Garnier",
                 "69007", "Lyon", 45.7297, 4.8306, _HIGH_STREET),
)  # fmt: skip

# franchised stores: a dealer owning two of the stores (the others are company-owned), and the
# wholesale price the brand charges it for goods transferred there, a share of the base price
FRANCHISEES = (
    ("rhone-franchise", "Rhône Franchise SARL", ("confluence", "villeurbanne")),
)  # fmt: skip
WHOLESALE_PERCENT_OF_BASE = 50

COLOURS = {
    "Black": "BLK", "Navy": "NAV", "Ecru": "ECR", "Sage": "SAG", "Terracotta": "TER",
    "Sky Blue": "SKY", "Charcoal": "CHA", "Camel": "CAM", "Burgundy": "BUR", "Olive": "OLV",
    "White": "WHT", "Sand": "SND", "Rust": "RST", "Stone": "STN", "Gold": "GLD",
    "Silver": "SLV",
}  # fmt: skip
_CLOTHES = ("Black", "Navy", "Ecru", "Sage", "Terracotta", "Sky Blue", "Charcoal", "Camel",
            "Burgundy", "Olive", "White", "Sand")  # fmt: skip
_LEATHER = ("Black", "Camel", "Burgundy", "Stone", "Rust", "Navy")
_HOME = ("White", "Sand", "Sage", "Terracotta", "Stone", "Charcoal", "Rust")
_METAL = ("Gold", "Silver")

APPAREL = ("XS", "S", "M", "L", "XL")
SHOES_W = ("36", "37", "38", "39", "40", "41")
SHOES_M = ("40", "41", "42", "43", "44", "45")


@dataclass(frozen=True)
class LeafSpec:
    """A leaf category and how its products look."""

    handle: str
    name: str
    count: int
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    price_eur: tuple[int, int]
    weight_g: tuple[int, int]
    colours: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def _leaf(handle: str, name: str, count: int, nouns: str, materials: str, *rest: Any) -> LeafSpec:
    return LeafSpec(
        handle, name, count, tuple(nouns.split(",")), tuple(materials.split(",")), *rest
    )


# (root handle, root name, leaves)
CATEGORY_TREE: tuple[tuple[str, str, tuple[LeafSpec, ...]], ...] = (
    ("women", "Women", (
        _leaf("women-dresses", "Dresses", 16, "Wrap Dress,Midi Dress,Shirt Dress,Slip Dress",
              "Linen,Silk,Cotton Poplin,Viscose", (59, 189), (250, 450), _CLOTHES, APPAREL,
              ("dress",)),
        _leaf("women-tops", "Tops", 16, "Blouse,Tank Top,T-Shirt,Camisole",
              "Silk,Organic Cotton,Linen,Jersey", (24, 109), (120, 260), _CLOTHES, APPAREL,
              ("top",)),
        _leaf("women-knitwear", "Knitwear", 12, "Cardigan,Sweater,Knit Vest",
              "Merino,Cashmere,Cotton", (69, 219), (300, 550), _CLOTHES, APPAREL, ("knit",)),
        _leaf("women-trousers", "Trousers", 12, "Wide-Leg Trousers,Cigarette Pants,Culottes",
              "Linen,Wool,Twill", (59, 149), (350, 600), _CLOTHES, APPAREL, ("trousers",)),
        _leaf("women-shoes", "Shoes", 12, "Ballet Flats,Loafers,Espadrilles,Ankle Boots",
              "Leather,Suede,Canvas", (69, 229), (450, 900), _LEATHER, SHOES_W, ("shoes",)),
    )),
    ("men", "Men", (
        _leaf("men-shirts", "Shirts", 14, "Oxford Shirt,Overshirt,Camp Collar Shirt",
              "Linen,Cotton Oxford,Flannel", (49, 129), (250, 420), _CLOTHES, APPAREL,
              ("shirt",)),
        _leaf("men-t-shirts", "T-Shirts", 14, "Crew Tee,Pocket Tee,Henley,Polo",
              "Organic Cotton,Slub Jersey,Pique", (22, 69), (150, 280), _CLOTHES, APPAREL,
              ("t-shirt",)),
        _leaf("men-knitwear", "Knitwear", 12, "Crewneck Sweater,Quarter-Zip,Cardigan",
              "Merino,Lambswool,Cashmere", (79, 239), (350, 650), _CLOTHES, APPAREL, ("knit",)),
        _leaf("men-trousers", "Trousers", 12, "Chinos,Pleated Trousers,Carpenter Pants",
              "Cotton Twill,Wool,Canvas", (59, 149), (400, 700), _CLOTHES, APPAREL,
              ("trousers",)),
        _leaf("men-shoes", "Shoes", 12, "Derbies,Sneakers,Chelsea Boots,Loafers",
              "Leather,Suede,Canvas", (79, 249), (700, 1300), _LEATHER, SHOES_M, ("shoes",)),
    )),
    ("home", "Home", (
        _leaf("home-bedding", "Bedding", 12, "Duvet Cover,Sheet Set,Pillowcase Pair",
              "Washed Linen,Percale,Cotton Satin", (39, 149), (600, 2200), _HOME,
              ("140x200", "160x200", "240x220"), ("bedroom",)),
        _leaf("home-tableware", "Tableware", 12, "Dinner Plate Set,Mug Pair,Serving Bowl,Carafe",
              "Stoneware,Porcelain,Glass", (24, 119), (500, 2500), _HOME, (), ("kitchen",)),
        _leaf("home-candles", "Candles", 10, "Scented Candle,Pillar Candle,Candle Trio",
              "Fig,Linden,Cedar,Orange Blossom", (19, 49), (200, 900), (),
              ("Small", "Medium", "Large"), ("candle", "gift-idea")),
        _leaf("home-decor", "Decor", 12, "Cushion Cover,Throw,Vase,Wall Print",
              "Linen,Wool,Ceramic,Recycled Paper", (24, 179), (200, 1800), _HOME, (),
              ("decor",)),
    )),
    ("accessories", "Accessories", (
        _leaf("accessories-bags", "Bags", 12, "Tote Bag,Crossbody Bag,Backpack,Weekender",
              "Leather,Canvas,Recycled Nylon", (39, 249), (300, 1400), _LEATHER, (), ("bag",)),
        _leaf("accessories-scarves", "Scarves", 12, "Silk Scarf,Square Scarf,Wool Scarf",
              "Lyon Silk,Merino,Cashmere", (35, 179), (60, 250), _CLOTHES, (),
              ("scarf", "made-in-lyon")),
        _leaf("accessories-jewellery", "Jewellery", 12,
              "Hoop Earrings,Chain Necklace,Signet Ring,Bangle",
              "Recycled Brass,Sterling Silver", (29, 159), (10, 80), _METAL, (), ("jewellery",)),
        _leaf("accessories-hats", "Hats", 10, "Beanie,Bucket Hat,Cap,Beret",
              "Merino,Cotton Canvas,Wool Felt", (25, 89), (60, 200), _CLOTHES, (), ("hat",)),
    )),
)  # fmt: skip

STYLES = ("Relaxed", "Classic", "Essential", "Tailored", "Soft", "Everyday", "Heritage",
          "Canut", "Presqu'île", "Saône", "Fourvière", "Riverside", "Atelier", "Weekend",
          "Sunday", "Oversized", "Fine", "Washed")  # fmt: skip

EXTRA_TAGS = ("organic", "made-in-france", "recycled", "gift-idea", "limited-edition", "vegan")

SENTENCES_WEAR = (
    "Designed in our Lyon atelier and made to be worn for years.",
    "Cut from {material} chosen for its hand-feel and durability.",
    "Pairs easily with the rest of the collection.",
    "Produced in small runs by family workshops in France and Portugal.",
    "Care: gentle wash, dry flat, no tumble dryer.",
    "Available for pick-up today in our Lyon stores.",
)
SENTENCES_HOME = (
    "Designed in our Lyon atelier for everyday use.",
    "Made in small batches by workshops in France and Portugal.",
    "Every piece is checked by hand before it leaves the warehouse.",
    "Gift-wrapped for free in every Lyon store.",
    "Available for pick-up today in our Lyon stores.",
)

COLLECTIONS = (
    # handle, title, description
    ("new-arrivals", "New Arrivals", "Just landed in the Lyon stores and online."),
    ("summer-sale", "Summer Sale", "Up to 25 % off, for two weeks only."),
    ("bestsellers", "Bestsellers", "What Lyon is wearing this season."),
    ("made-in-lyon", "Made in Lyon", "Silk and wool from the Croix-Rousse workshops."),
)


# ---------------------------------------------------------------- the plan (pure, deterministic)


def ean13(body: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _shelf_price(rng: random.Random, low_eur: int, high_eur: int) -> int:
    """A believable shelf price in minor units: 49.99, 49.90 or 49.00."""
    return rng.randint(low_eur, high_eur - 1) * 100 + rng.choice((99, 90, 0))


def _ending_99(minor: int) -> int:
    """The nearest price ending in .99 (e.g. 53.47 -> 52.99)."""
    return max(round(minor / 100) * 100 - 1, 99)


def _eur(minor: int) -> Money:
    return Money(minor, CURRENCY)


@dataclass
class VariantPlan:
    sku: str
    title: str
    option_values: dict[str, str]
    barcode: str
    weight_grams: int
    position: int
    price: int


@dataclass
class ProductPlan:
    number: int
    title: str
    handle: str
    description: str
    status: str
    category: str
    vendor: str
    tags: list[str]
    image_urls: list[str]
    options: list[dict[str, Any]]
    variants: list[VariantPlan] = field(default_factory=list)


def _pick_options(rng: random.Random, leaf: LeafSpec) -> list[dict[str, Any]]:
    """Colour and/or Size options whose combinations make 1 to 6 variants."""
    colours: list[str] = []
    sizes: tuple[str, ...] = ()
    if leaf.sizes:
        n_colours = rng.choice((1, 1, 2)) if leaf.colours else 0
        per_colour = 6 // max(n_colours, 1)
        run = rng.randint(min(3, per_colour, len(leaf.sizes)), min(per_colour, len(leaf.sizes)))
        start = rng.randint(0, len(leaf.sizes) - run)
        sizes = leaf.sizes[start : start + run]
        colours = rng.sample(leaf.colours, n_colours)
    elif leaf.colours and rng.random() > 0.15:
        colours = rng.sample(leaf.colours, rng.randint(1, min(4, len(leaf.colours))))
    options = [{"name": "Colour", "values": colours}] if colours else []
    return options + ([{"name": "Size", "values": list(sizes)}] if sizes else [])


def _plan_variants(
    rng: random.Random, leaf: LeafSpec, number: int, options: list[dict[str, Any]], barcodes: Any
) -> list[VariantPlan]:
    base = _shelf_price(rng, *leaf.price_eur)
    weight = rng.randint(*leaf.weight_g)
    sized_price = leaf.sizes not in (APPAREL, SHOES_W, SHOES_M)
    names = [o["name"] for o in options]
    plans = []
    for i, combo in enumerate(itertools.product(*(o["values"] for o in options))):
        values = dict(zip(names, combo, strict=True))
        size_step = leaf.sizes.index(values["Size"]) if "Size" in values else 0
        codes = [COLOURS[values["Colour"]]] if "Colour" in values else []
        codes += [re.sub(r"[^A-Za-z0-9]", "", values["Size"]).upper()] if "Size" in values else []
        price = _ending_99(base * (100 + 30 * size_step) // 100) if sized_price else base
        plans.append(
            VariantPlan(
                sku="-".join([SKU_PREFIX, f"{number:04d}", *codes]),
                title=" / ".join(combo) or "Default",
                option_values=values,
                barcode=ean13(f"{EAN_PREFIX}{next(barcodes):05d}"),
                weight_grams=weight + 15 * size_step,
                position=i,
                price=price,
            )
        )
    return plans


def _plan_product(
    rng: random.Random, leaf: LeafSpec, number: int, titles: set[str], barcodes: Any
) -> ProductPlan:
    while True:
        material, noun = rng.choice(leaf.materials), rng.choice(leaf.nouns)
        title = f"{rng.choice(STYLES)} {material} {noun}"
        if title not in titles:
            break
    titles.add(title)
    handle = slugify(title)
    pool = SENTENCES_HOME if leaf.handle.startswith("home") else SENTENCES_WEAR
    sentences = rng.sample(pool, 3)
    description = " ".join([f"{title}.", *sentences]).format(material=material.lower())
    extra = rng.sample(EXTRA_TAGS, rng.randint(0, 2))
    options = _pick_options(rng, leaf)
    return ProductPlan(
        number=number,
        title=title,
        handle=handle,
        description=description,
        status="DRAFT" if number % 56 == 0 else "ACTIVE",
        category=leaf.handle,
        vendor=BRAND if rng.random() < 0.6 else rng.choice(VENDORS[1:]),
        tags=list(normalize_tags([*leaf.tags, slugify(material), *extra])),
        image_urls=[f"{IMAGE_BASE}/{handle}/{i}.jpg" for i in range(1, rng.randint(2, 4))],
        options=options,
        variants=_plan_variants(rng, leaf, number, options, barcodes),
    )


def plan_catalog(rng: random.Random) -> list[ProductPlan]:
    """Every product of the demo, in category order."""
    plans: list[ProductPlan] = []
    titles: set[str] = set()
    barcodes = itertools.count(1)
    for _, _, leaves in CATEGORY_TREE:
        for leaf in leaves:
            for _ in range(leaf.count):
                plans.append(_plan_product(rng, leaf, len(plans) + 1, titles, barcodes))
    return plans


def plan_collections(rng: random.Random, plans: list[ProductPlan]) -> dict[str, list[str]]:
    """Product handles of each collection."""
    active = [p for p in plans if p.status == "ACTIVE"]
    summery = [p for p in active if p.category.split("-")[0] in ("women", "men", "accessories")]
    return {
        "new-arrivals": [p.handle for p in rng.sample(active, 24)],
        "summer-sale": [p.handle for p in rng.sample(summery, 30)],
        "bestsellers": [p.handle for p in rng.sample(active, 20)],
        "made-in-lyon": [
            p.handle for p in active if "made-in-lyon" in p.tags or p.vendor == "Canut & Co"
        ],
    }


def price_rules(
    rng: random.Random, plans: list[ProductPlan], on_sale: set[str], now: datetime
) -> list[tuple[str, PriceRule]]:
    """BASE for every variant; marketplace and GOLD prices on some; the current and next sales."""
    sale = (now - timedelta(days=1), now + timedelta(days=14))
    autumn = (now + timedelta(days=7), now + timedelta(days=21))
    rules: list[tuple[str, PriceRule]] = []
    for p in plans:
        marketplace, gold = rng.random() < 0.3, rng.random() < 0.2
        for v in p.variants:
            rules.append((v.sku, PriceRule(PriceKind.BASE, _eur(v.price))))
            usd = _ending_99(v.price * USD_PER_EUR_PCT // 100)
            rules.append((v.sku, PriceRule(PriceKind.BASE, Money(usd, "USD"))))
            if marketplace:
                amount = max(_ending_99(v.price * 108 // 100), v.price + 100)
                rules.append((v.sku, PriceRule(PriceKind.CHANNEL, _eur(amount), MARKETPLACE)))
            if gold:
                amount = min(v.price * 90 // 100 // 100 * 100 + 90, v.price - 100)
                rules.append((v.sku, PriceRule(PriceKind.TIER, _eur(amount), tier="GOLD")))
            if p.handle in on_sale:
                amount = _ending_99(v.price * 75 // 100)
                rules.append((v.sku, PriceRule(PriceKind.SALE, _eur(amount), None, None, *sale)))
            if p.category == "home-bedding":
                amount = _ending_99(v.price * 80 // 100)
                rules.append((v.sku, PriceRule(PriceKind.SALE, _eur(amount), None, None, *autumn)))
    return rules
