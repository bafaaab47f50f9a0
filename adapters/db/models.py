"""Tortoise ORM tables: the persistent shape of the domain.

Money columns are integer minor units beside a currency code. Every table change goes through a
migration in ``adapters/db/migrations`` (``python app.py makemigrations``).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Timestamped(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class Category(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    handle = fields.CharField(max_length=200, unique=True)
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "category"


class Product(Timestamped):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    handle = fields.CharField(max_length=255, unique=True)
    description = fields.TextField(default="")
    status = fields.CharField(max_length=16, default="ACTIVE", db_index=True)
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="products", null=True, on_delete=fields.SET_NULL
    )
    vendor = fields.CharField(max_length=120, default="")
    tags = fields.JSONField(default=list)
    image_urls = fields.JSONField(default=list)
    options = fields.JSONField(default=list)  # [{"name": "Colour", "values": ["Red", ...]}]
    search_text = fields.TextField(default="")  # lower-cased title + SKUs, for `query`

    class Meta:
        table = "product"


class Collection(Timestamped):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    handle = fields.CharField(max_length=255, unique=True)
    description = fields.TextField(default="")

    class Meta:
        table = "collection"


class CollectionProduct(Model):
    id = fields.IntField(primary_key=True)
    collection: fields.ForeignKeyRelation[Collection] = fields.ForeignKeyField(
        "models.Collection", related_name="memberships", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="memberships", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "collection_product"
        unique_together = (("collection", "product"),)


class Variant(Timestamped):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="variants", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=255, default="")
    option_values = fields.JSONField(default=dict)
    barcode = fields.CharField(max_length=64, null=True)
    weight_grams = fields.IntField(null=True)
    position = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "variant"


class Location(Timestamped):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # WAREHOUSE | STORE
    address = fields.JSONField(default=dict)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    opening_hours = fields.JSONField(default=list)
    pickup_enabled = fields.BooleanField(default=False)
    local_delivery_radius_km = fields.FloatField(null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "location"


class Channel(Timestamped):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # WEB | APP | STORE | MARKETPLACE
    currency = fields.CharField(max_length=3)
    store: fields.ForeignKeyNullableRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="store_channels", null=True, on_delete=fields.RESTRICT
    )
    allocation_share_percent = fields.IntField(default=100)
    allocation_buffer = fields.IntField(default=0)
    prices_include_tax = fields.BooleanField(default=True)
    tax_rate_bp = fields.IntField(default=0)  # basis points, 2000 = 20%
    shipping_fee = fields.IntField(default=490)  # minor units of the channel's currency
    free_shipping_over = fields.IntField(null=True)
    local_delivery_fee = fields.IntField(default=290)

    class Meta:
        table = "channel"


class ChannelLocation(Model):
    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="serving", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="serves", on_delete=fields.CASCADE
    )

    class Meta:
        table = "channel_location"
        unique_together = (("channel", "location"),)


class MemberTier(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    threshold_minor = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="EUR")
    points_multiplier_pct = fields.IntField(default=100)

    class Meta:
        table = "member_tier"


class Price(Timestamped):
    """One price rule: base, channel override, tier price or scheduled sale."""

    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "models.Variant", related_name="prices", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)  # BASE | CHANNEL | TIER | SALE
    currency = fields.CharField(max_length=3)
    amount = fields.BigIntField()
    channel = fields.CharField(max_length=100, null=True)
    tier = fields.CharField(max_length=32, null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)

    class Meta:
        table = "price"
        indexes = (("variant_id", "currency"),)


class Stock(Timestamped):
    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "models.Variant", related_name="stocks", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="stocks", on_delete=fields.CASCADE
    )
    on_hand = fields.IntField(default=0)
    reserved = fields.IntField(default=0)
    safety_stock = fields.IntField(default=0)

    class Meta:
        table = "stock"
        unique_together = (("variant", "location"),)


class StockMovement(Model):
    """Append-only ledger: every change of on-hand or reserved stock, with its reason."""

    id = fields.BigIntField(primary_key=True)
    variant_id = fields.IntField(db_index=True)
    location_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=16)
    delta = fields.IntField()
    on_hand_after = fields.IntField()
    reason = fields.CharField(max_length=255, default="")
    actor = fields.CharField(max_length=120, default="")
    reference = fields.CharField(max_length=120, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_movement"


class IdempotencyRecord(Model):
    """The first result of a mutation with money or stock effects, keyed by caller scope."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=120)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)


class StaffUser(Timestamped):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=255, unique=True)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16)  # OWNER | ADMIN | STORE_MANAGER | CLERK
    location_ids = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)

    class Meta:
        table = "staff_user"


class Partner(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)

    class Meta:
        table = "partner"


class ApiKey(Timestamped):
    id = fields.IntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200, default="")
    prefix = fields.CharField(max_length=32, unique=True)
    secret_hash = fields.CharField(max_length=128)
    scopes = fields.JSONField(default=list)
    rate_limit_per_minute = fields.IntField(default=600)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class ChangeLog(Model):
    """Append-only marks of committed catalog, price or stock changes.

    Processes without a shared Redis poll ``MAX(id)`` (at most once a second) to invalidate their
    response cache when another process (an import, a second server) changed what it shows.
    Inserts never contend with each other, unlike a single counter row would.
    """

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "change_log"


class Cart(Timestamped):
    """A shopper's cart, whose lines the domain reprices on every read."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=64, unique=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="carts", on_delete=fields.RESTRICT
    )
    buyer = fields.JSONField(default=dict)  # {"email", "phone", "name"}
    delivery = fields.JSONField(default=dict)  # {"method", "locationId", "address"}
    discount_codes = fields.JSONField(default=list)
    expires_at = fields.DatetimeField()
    order_id = fields.IntField(null=True)
    member_id = fields.IntField(null=True, db_index=True)
    points_to_redeem = fields.IntField(default=0)

    class Meta:
        table = "cart"


class CartLine(Model):
    id = fields.IntField(primary_key=True)
    cart: fields.ForeignKeyRelation[Cart] = fields.ForeignKeyField(
        "models.Cart", related_name="lines", on_delete=fields.CASCADE
    )
    variant_id = fields.IntField()
    quantity = fields.IntField()
    position = fields.IntField(default=0)

    class Meta:
        table = "cart_line"
        unique_together = (("cart", "variant_id"),)


class Order(Timestamped):
    """One order model for every channel: web, app, store till, marketplace, import."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    channel_id = fields.IntField(db_index=True)
    channel_handle = fields.CharField(max_length=100)
    source = fields.CharField(max_length=16)
    external_reference = fields.CharField(max_length=120, null=True)
    status = fields.CharField(max_length=20, db_index=True)
    payment_status = fields.CharField(max_length=16)
    currency = fields.CharField(max_length=3)
    subtotal = fields.BigIntField()
    delivery_total = fields.BigIntField()
    tax_total = fields.BigIntField()
    total = fields.BigIntField()
    refunded_total = fields.BigIntField(default=0)
    buyer = fields.JSONField(default=dict)
    member_id = fields.IntField(null=True)
    delivery = fields.JSONField(default=dict)
    routing = fields.JSONField(default=dict)  # {"reason", "split", "locations"}
    location_ids = fields.JSONField(default=list)  # locations serving it, for store filters
    attributed_location_id = fields.IntField(null=True)
    attributed_staff_id = fields.IntField(null=True)
    access_token = fields.CharField(max_length=64)  # lets a guest buyer read their order
    discount_total = fields.BigIntField(default=0)
    discounts = fields.JSONField(default=list)  # [{"promotionId", "lineId", "amount", "why"}]
    points_redeemed = fields.IntField(default=0)
    points_value = fields.BigIntField(default=0)  # paid with points, part of `total`
    points_earned = fields.IntField(default=0)

    class Meta:
        table = "order"


class OrderLine(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    variant_id = fields.IntField()
    sku = fields.CharField(max_length=64)
    title = fields.CharField(max_length=512)
    quantity = fields.IntField()
    unit_price = fields.BigIntField()
    compare_at_price = fields.BigIntField(null=True)
    line_total = fields.BigIntField()
    discount = fields.BigIntField(default=0)  # promotions on this line, inside line_total
    returned_quantity = fields.IntField(default=0)

    class Meta:
        table = "order_line"


class Fulfilment(Timestamped):
    """The part of an order served from one location."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="fulfilments", on_delete=fields.CASCADE
    )
    location_id = fields.IntField()
    method = fields.CharField(max_length=20)
    status = fields.CharField(max_length=20)
    lines = fields.JSONField(default=list)  # [{"variantId", "quantity"}]
    pickup_code = fields.CharField(max_length=12, null=True)
    carrier = fields.CharField(max_length=60, null=True)
    tracking_number = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "fulfilment"


class Reservation(Model):
    """Stock held for an order at one location until it leaves, is cancelled or expires."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    variant_id = fields.IntField()
    location_id = fields.IntField()
    quantity = fields.IntField()
    status = fields.CharField(max_length=16, default="ACTIVE", db_index=True)
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reservation"


class OrderEvent(Model):
    """The order's history: who did what, when."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=40)
    actor = fields.CharField(max_length=120)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_event"


class OrderReturn(Model):
    """Returned lines, where they came back and the refund due."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    location_id = fields.IntField()
    lines = fields.JSONField(default=list)  # [{"orderLineId", "quantity"}]
    restock = fields.BooleanField(default=True)
    refund_due = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    actor = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_return"


class OutboxEvent(Model):
    """Facts written in the same transaction as the change they describe, published later."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=60, db_index=True)
    aggregate_id = fields.CharField(max_length=60)
    payload = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "outbox_event"


class Member(Timestamped):
    """One identity across channels: normalised email and phone, a code scanned at the till."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True, null=True)
    phone = fields.CharField(max_length=20, unique=True, null=True)
    email_verified = fields.BooleanField(default=False)
    phone_verified = fields.BooleanField(default=False)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    member_code = fields.CharField(max_length=20, unique=True)
    tier = fields.CharField(max_length=32, default="BRONZE")
    referral_location_id = fields.IntField(null=True)
    referral_staff_id = fields.IntField(null=True)
    tags = fields.JSONField(default=list)
    tags_text = fields.TextField(default=" ")  # " tag1 tag2 ": staff find members by tag
    addresses = fields.JSONField(default=list)
    consents = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "member"


class MemberSession(Model):
    """A refresh token (stored hashed), rotated on every use and revocable."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member_session"


class Verification(Model):
    """A one-time token proving an email or phone belongs to a member (stored hashed)."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    channel = fields.CharField(max_length=8)  # EMAIL | PHONE
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "verification"


class PointsLot(Model):
    """Points that can be spent: created by an earn (or a positive adjustment, or points given
    back after a return), consumed oldest-expiring first."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    points = fields.IntField()
    remaining = fields.IntField()
    earned_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    order_id = fields.IntField(null=True)

    class Meta:
        table = "points_lot"


class PointsEntry(Model):
    """The append-only points ledger, from which the balance is derived."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=16)
    points = fields.IntField()  # signed
    balance_after = fields.IntField()
    order_id = fields.IntField(null=True, db_index=True)
    lot_id = fields.IntField(null=True)
    dedupe_key = fields.CharField(max_length=80, unique=True, null=True)
    reason = fields.CharField(max_length=255, default="")
    actor = fields.CharField(max_length=120, default="")
    meta = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "points_entry"


class TierChange(Model):
    """Tier history of a member."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    from_tier = fields.CharField(max_length=32)
    to_tier = fields.CharField(max_length=32)
    spend_12m = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tier_change"


class Promotion(Timestamped):
    """A promotion rule (its terms in `terms`), automatic or by code, with usage limits."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=20)
    terms = fields.JSONField(default=dict)
    code = fields.CharField(max_length=64, unique=True, null=True)
    usage_limit = fields.IntField(null=True)
    per_member_limit = fields.IntField(null=True)
    used_count = fields.IntField(default=0)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    exclusive = fields.BooleanField(default=False)
    priority = fields.IntField(default=0)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "promotion"


class PromotionUse(Model):
    """One use of a promotion by an order (for usage limits per code and per member)."""

    id = fields.IntField(primary_key=True)
    promotion_id = fields.IntField(db_index=True)
    order_id = fields.IntField()
    member_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "promotion_use"
        unique_together = (("promotion_id", "order_id"),)


class Voucher(Timestamped):
    """A single-use voucher owned by a member, transferable, usable online or at the till."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    member_id = fields.IntField(db_index=True)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=16, default="ACTIVE")  # ACTIVE | USED | EXPIRED
    issued_by = fields.CharField(max_length=120, default="")
    order_id = fields.IntField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "voucher"


class LoyaltyProgram(Model):
    """The brand's points rules as data: earning and redemption (one row)."""

    id = fields.IntField(primary_key=True)
    earn = fields.JSONField(default=dict)
    redeem = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "loyalty_program"
