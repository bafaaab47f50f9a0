"""A catalog file (CSV or JSON) read into products with their variants, and the problems of
its bad rows; ``adapters/db/importer.py`` then writes them through the use cases.

CSV (Shopify-like, one row per variant; rows sharing a ``handle`` are one product, whose fields
are taken from the first row that fills them)::

    handle,title,description,status,category,vendor,tags,image_urls,option1_name,option1_value,
    option2_name,option2_value,sku,barcode,weight_grams,price,currency

JSON: a list (or ``{"products": [...]}``) of ``{handle, title, description, status, category,
vendor, tags, image_urls, variants: [{sku, option_values, barcode, weight_grams, price,
currency}]}``.

``category`` is the handle of an existing category. ``tags`` and ``image_urls`` are lists, or
text separated by ``|`` or ``,``. A blank status creates ACTIVE products and leaves existing ones
as they are; a blank currency is EUR. A product whose handle exists is updated and its new SKUs
are added. A bad row becomes an :class:`ImportProblem` (CSV: the row in the file, the header
being row 1; JSON: the product's 1-based position) and every other row is still imported.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from domain.catalog.model import VariantDraft, slugify
from domain.errors import DomainError
from domain.money import Money

COLUMNS = (
    "handle",
    "title",
    "description",
    "status",
    "category",
    "vendor",
    "tags",
    "image_urls",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "sku",
    "barcode",
    "weight_grams",
    "price",
    "currency",
)
DEFAULT_CURRENCY = "EUR"
# Field names of the use cases' errors, in the file's terms.
_FIELDS = {
    "categoryId": "category",
    "imageUrls": "image_urls",
    "options": "option1_name",
    "optionValues": "option1_value",
    "weightGrams": "weight_grams",
    "amount": "price",
    "variantId": "sku",
}
_JSON_FIELDS = {"option1_name": "options", "option1_value": "option_values"}
INDEXED_FIELD = re.compile(r"^(?:variants|prices)\.(\d+)\.")


@dataclass(frozen=True)
class ImportProblem:
    """One refused row: where, which field, why."""

    row: int
    field: str
    message: str


@dataclass
class FileVariant:
    row: int
    prefix: str  # "" in CSV, "variants.<i>." in JSON
    sku: str
    option_values: dict[str, str]
    barcode: str | None
    weight_grams: int | None
    price: Money

    def draft(self) -> VariantDraft:
        return VariantDraft(
            sku=self.sku,
            option_values=dict(self.option_values),
            barcode=self.barcode,
            weight_grams=self.weight_grams,
        )


@dataclass
class FileProduct:
    row: int
    handle: str
    is_json: bool
    title: str = ""
    description: str | None = None
    status: str | None = None
    category: str | None = None
    category_row: int = 0
    vendor: str | None = None
    tags: list[str] | None = None
    image_urls: list[str] | None = None
    option_names: list[str] = field(default_factory=list)
    variants: list[FileVariant] = field(default_factory=list)
    failed_rows: int = 0

    def name(self, domain_field: str | None, prefix: str = "") -> str:
        """A use case's error field, named as the file names it."""
        plain = INDEXED_FIELD.sub("", domain_field or "product")
        plain = _FIELDS.get(plain, plain)
        return prefix + _JSON_FIELDS.get(plain, plain) if self.is_json else plain

    def problem(self, error: DomainError, variant: FileVariant | None = None) -> ImportProblem:
        row, prefix = (variant.row, variant.prefix) if variant else (self.row, "")
        return ImportProblem(row, self.name(error.field, prefix), error.message)


# ---------------------------------------------------------------- reading the file


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _split(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    items = value if isinstance(value, list) else re.split(r"[|,]", str(value))
    return [s for s in (_text(i) for i in items) if s]


def _money(price: Any, currency: Any) -> Money:
    code = _text(currency).upper() or DEFAULT_CURRENCY
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise DomainError("INVALID", f"{code!r} is not an ISO 4217 currency code", field="currency")
    try:
        money = Money.from_decimal_string(_text(price), code)
    except (InvalidOperation, ValueError):
        raise DomainError(
            "INVALID", f"{_text(price)!r} is not a price like 49.90", field="price"
        ) from None
    if money.amount < 0:
        raise DomainError("INVALID", "a price is 0 or more", field="price")
    return money


def _weight(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    if not text.isdigit():
        raise DomainError(
            "INVALID", f"{text!r} is not a whole number of grams", field="weight_grams"
        )
    return int(text)


def _fill(product: FileProduct, values: dict[str, Any], row: int) -> None:
    """Product fields from the first row (or object) that fills them."""
    product.title = product.title or _text(values.get("title"))
    for name in ("description", "status", "vendor"):
        if getattr(product, name) is None and _text(values.get(name)):
            setattr(product, name, _text(values.get(name)))
    for name in ("tags", "image_urls"):
        if getattr(product, name) is None:
            setattr(product, name, _split(values.get(name)))
    if product.category is None and _text(values.get("category")):
        product.category, product.category_row = _text(values.get("category")), row


def _add_variant(
    product: FileProduct,
    values: dict[str, Any],
    option_values: dict[str, str],
    *,
    row: int,
    prefix: str,
    seen: dict[str, int],
) -> None:
    """Check one variant's own fields; a bad one is a problem, the others go on."""
    sku = _text(values.get("sku"))
    if not sku:
        raise DomainError("REQUIRED", "a SKU is required", field="sku")
    if sku in seen:
        raise DomainError(
            "DUPLICATE_SKU", f"SKU {sku!r} is already in row {seen[sku]}", field="sku"
        )
    if not _text(values.get("price")):
        raise DomainError("REQUIRED", "a price is required", field="price")
    variant = FileVariant(
        row=row,
        prefix=prefix,
        sku=sku,
        option_values=option_values,
        barcode=_text(values.get("barcode")) or None,
        weight_grams=_weight(values.get("weight_grams")),
        price=_money(values.get("price"), values.get("currency")),
    )
    seen[sku] = row
    product.variants.append(variant)


def _csv_options(product: FileProduct, values: dict[str, Any]) -> dict[str, str]:
    """Option values of one CSV row; option names may be given on the first row only."""
    chosen: dict[str, str] = {}
    for i in (1, 2):
        name, value = _text(values.get(f"option{i}_name")), _text(values.get(f"option{i}_value"))
        if name and len(product.option_names) < i:
            product.option_names.append(name)
        known = product.option_names[i - 1] if len(product.option_names) >= i else ""
        if name and name != known:
            raise DomainError(
                "INVALID", f"option {i} is {known!r} for this product", field=f"option{i}_name"
            )
        if value and not known:
            raise DomainError("REQUIRED", f"option {i} has no name", field=f"option{i}_name")
        if value:
            chosen[known] = value
    return chosen


def _read_csv(path: Path, problems: list[ImportProblem]) -> list[FileProduct]:
    products: dict[str, FileProduct] = {}
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames = [_text(h).lower() for h in reader.fieldnames or []]
        missing = [c for c in ("sku", "price") if c not in reader.fieldnames]
        if "handle" not in reader.fieldnames and "title" not in reader.fieldnames:
            missing.insert(0, "handle")
        if missing:
            problems.append(ImportProblem(1, "header", f"missing columns: {', '.join(missing)}"))
            return []
        for row, values in enumerate(reader, start=2):
            handle_text = _text(values.get("handle")) or slugify(_text(values.get("title")))
            if not _text(values.get("handle")) and not _text(values.get("title")):
                problems.append(ImportProblem(row, "handle", "a handle or a title is required"))
                continue
            product = products.setdefault(handle_text, FileProduct(row, handle_text, is_json=False))
            _fill(product, values, row)
            try:
                options = _csv_options(product, values)
                _add_variant(product, values, options, row=row, prefix="", seen=seen)
            except DomainError as error:
                product.failed_rows += 1
                problems.append(ImportProblem(row, error.field or "row", error.message))
    return list(products.values())


def _read_json(path: Path, problems: list[ImportProblem]) -> list[FileProduct]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problems.append(ImportProblem(0, "file", f"not valid JSON: {error}"))
        return []
    items = data.get("products") if isinstance(data, dict) else data
    if not isinstance(items, list):
        problems.append(ImportProblem(0, "file", "expected a list of products"))
        return []
    products: list[FileProduct] = []
    seen: dict[str, int] = {}
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not (
            _text(item.get("handle")) or _text(item.get("title"))
        ):
            problems.append(ImportProblem(row, "handle", "a product with a handle or a title"))
            continue
        handle = _text(item.get("handle")) or slugify(_text(item.get("title")))
        product = FileProduct(row, handle, is_json=True)
        _fill(product, item, row)
        for i, variant in enumerate(item.get("variants") or []):
            prefix = f"variants.{i}."
            try:
                if not isinstance(variant, dict):
                    raise DomainError("INVALID", "a variant is an object", field="variant")
                options = {
                    _text(k): _text(v) for k, v in (variant.get("option_values") or {}).items()
                }
                for name in options:
                    if name not in product.option_names:
                        product.option_names.append(name)
                _add_variant(product, variant, options, row=row, prefix=prefix, seen=seen)
            except DomainError as error:
                product.failed_rows += 1
                problems.append(
                    ImportProblem(row, prefix + (error.field or "variant"), error.message)
                )
        products.append(product)
    return products


def read_catalog_file(path: Path) -> tuple[list[FileProduct], list[ImportProblem]]:
    """Parse a CSV or JSON catalog file into products and the problems of its bad rows."""
    problems: list[ImportProblem] = []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return _read_csv(path, problems), problems
        except (UnicodeDecodeError, csv.Error) as error:
            return [], [ImportProblem(0, "file", f"not a readable UTF-8 CSV file: {error}")]
    if suffix == ".json":
        return _read_json(path, problems), problems
    problems.append(
        ImportProblem(0, "file", f"unsupported file type {suffix!r}: use .csv or .json")
    )
    return [], problems
