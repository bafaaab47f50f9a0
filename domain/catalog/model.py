"""Catalog: products, variants, categories, collections, and the rules for editing them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError


class CatalogErrorCode(StrEnum):
    """Stable codes of catalog userErrors."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    DUPLICATE_HANDLE = "DUPLICATE_HANDLE"
    DUPLICATE_SKU = "DUPLICATE_SKU"
    INVALID_HANDLE = "INVALID_HANDLE"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_OPTION_VALUES = "INVALID_OPTION_VALUES"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    NOT_FOUND = "NOT_FOUND"
    TOO_LONG = "TOO_LONG"
    SEARCH_TOO_LONG = "SEARCH_TOO_LONG"


class ProductStatus(StrEnum):
    """Only ACTIVE products are shown to shoppers."""

    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


class HandleOwner(StrEnum):
    """What a handle names: each kind keeps its handles unique among its own."""

    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    COLLECTION = "COLLECTION"


_HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")


@dataclass(frozen=True, slots=True)
class ProductOption:
    """A product's option, e.g. Colour with its values."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Product:
    """A product as the catalog holds it."""

    id: int
    title: str
    handle: str
    description: str
    status: ProductStatus
    category_id: int | None
    vendor: str
    tags: tuple[str, ...]
    image_urls: tuple[str, ...]
    options: tuple[ProductOption, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Variant:
    """The sellable unit of a product."""

    id: int
    product_id: int
    sku: str
    title: str
    option_values: dict[str, str]
    barcode: str | None
    weight_grams: int | None
    position: int
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Category:
    """A node of the category tree."""

    id: int
    name: str
    handle: str
    parent_id: int | None
    position: int = 0


@dataclass(frozen=True, slots=True)
class Collection:
    """A hand-picked group of products."""

    id: int
    title: str
    handle: str
    description: str


@dataclass(slots=True)
class ProductDraft:
    """The editable fields of a product; None on update means 'leave as is'."""

    title: str | None = None
    handle: str | None = None
    description: str | None = None
    status: str | None = None
    category_id: int | None = None
    vendor: str | None = None
    tags: list[str] | None = None
    image_urls: list[str] | None = None
    options: list[ProductOption] | None = None


@dataclass(slots=True)
class VariantDraft:
    """The editable fields of a variant; None on update means 'leave as is'."""

    sku: str | None = None
    title: str | None = None
    option_values: dict[str, str] | None = None
    barcode: str | None = None
    weight_grams: int | None = None
    position: int | None = None


def slugify(text: str) -> str:
    """A URL handle from a title: lower case ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:200] or "item"


def check_handle(handle: str, *, field_name: str = "handle") -> str:
    """Refuse a handle that is not lower-case words joined by hyphens."""
    if not _HANDLE.match(handle) or len(handle) > 200:
        raise DomainError(
            CatalogErrorCode.INVALID_HANDLE,
            "a handle is lower-case letters and digits joined by single hyphens",
            field=field_name,
        )
    return handle


def check_sku(sku: str) -> str:
    """Refuse an empty or malformed SKU."""
    sku = sku.strip()
    if not _SKU.match(sku):
        raise DomainError(
            CatalogErrorCode.INVALID,
            "a SKU is 1-64 letters, digits or . _ - / and starts with a letter or digit",
            field="sku",
        )
    return sku


def check_title(title: str, *, field_name: str = "title") -> str:
    """Refuse an empty or overlong title."""
    title = title.strip()
    if not title:
        raise DomainError(CatalogErrorCode.REQUIRED, "a title is required", field=field_name)
    if len(title) > 255:
        raise DomainError(CatalogErrorCode.TOO_LONG, "at most 255 characters", field=field_name)
    return title


def check_status(status: str) -> ProductStatus:
    """Parse a product status."""
    try:
        return ProductStatus(status.upper())
    except ValueError:
        raise DomainError(
            CatalogErrorCode.INVALID_STATUS, f"unknown status {status!r}", field="status"
        ) from None


def check_option_values(options: tuple[ProductOption, ...], values: dict[str, str]) -> None:
    """A variant names one value for each option of its product, and only those."""
    names = {o.name for o in options}
    if set(values) != names:
        raise DomainError(
            CatalogErrorCode.INVALID_OPTION_VALUES,
            f"option values must name exactly the product's options {sorted(names)}",
            field="optionValues",
        )
    for option in options:
        if option.values and values[option.name] not in option.values:
            raise DomainError(
                CatalogErrorCode.INVALID_OPTION_VALUES,
                f"{values[option.name]!r} is not a value of option {option.name!r}",
                field="optionValues",
            )


def normalize_tags(tags: list[str]) -> tuple[str, ...]:
    """Trimmed, lower-cased, de-duplicated tags in their first order."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if clean:
            seen.setdefault(clean[:64], None)
    return tuple(seen)


def search_text(title: str, skus: list[str], tags: list[str] | tuple[str, ...] = ()) -> str:
    """What the storefront's `query` matches: title words, SKUs and `#tag` markers, lower-cased.

    Padded with spaces so that a tag filter can match `" #tag "` exactly.
    """
    words = [title.lower(), *(s.lower() for s in skus), *(f"#{t}" for t in tags)]
    return " " + " ".join(words) + " "


MAX_SEARCH_LENGTH = 256  # characters of a storefront `query`
MAX_SEARCH_TERMS = 12  # words and filters
MAX_SEARCH_TERM_LENGTH = 64  # characters of one word or filter


def search_terms(text: str | None) -> list[str]:
    """The terms of a storefront search, refused with SEARCH_TOO_LONG beyond the bounds (each
    word is one more condition over every product: the bounds keep a search cheap)."""
    if not text:
        return []
    if len(text) > MAX_SEARCH_LENGTH:
        raise DomainError(
            CatalogErrorCode.SEARCH_TOO_LONG,
            f"a search has at most {MAX_SEARCH_LENGTH} characters",
            field="query",
        )
    terms = text.split()
    if len(terms) > MAX_SEARCH_TERMS:
        raise DomainError(
            CatalogErrorCode.SEARCH_TOO_LONG,
            f"a search has at most {MAX_SEARCH_TERMS} words and filters",
            field="query",
        )
    if any(len(term) > MAX_SEARCH_TERM_LENGTH for term in terms):
        raise DomainError(
            CatalogErrorCode.SEARCH_TOO_LONG,
            f"a search word has at most {MAX_SEARCH_TERM_LENGTH} characters",
            field="query",
        )
    return terms


def check_category_parent(
    *, category_id: int, parent_id: int | None, parents: dict[int, int | None]
) -> None:
    """Refuse a parent that would make the category tree a cycle."""
    seen = {category_id}
    current = parent_id
    while current is not None:
        if current in seen:
            raise DomainError(
                CatalogErrorCode.CATEGORY_CYCLE,
                "a category cannot be its own ancestor",
                field="parentId",
            )
        seen.add(current)
        current = parents.get(current)
