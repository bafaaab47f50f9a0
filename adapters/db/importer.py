"""Bulk catalog import: a catalog file (``adapters/db/catalog_file.py`` says what it holds) written
through the catalog and price use cases, so every rule of the API holds for imported products.

A product whose handle exists is updated and its new SKUs are added; a row that a use case
refuses becomes an :class:`ImportProblem` and every other row is still imported.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from adapters.db import models as m
from adapters.db.catalog_file import (
    COLUMNS,
    INDEXED_FIELD,
    FileProduct,
    FileVariant,
    ImportProblem,
    read_catalog_file,
)
from adapters.db.queries import TortoiseCatalogQueries
from adapters.db.unit_of_work import invalidating_units_of_work
from adapters.kv import open_key_value
from adapters.settings import Settings
from domain.catalog.model import ProductDraft, ProductOption, check_option_values, check_sku
from domain.catalog.services import create_product, create_variant, update_product, update_variant
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.ports import UnitOfWorkFactory
from domain.pricing.model import PriceKind, PriceRule
from domain.pricing.services import PriceEntry, set_prices

__all__ = ["COLUMNS", "ImportProblem", "ImportReport", "import_file", "read_catalog_file"]

SYSTEM = Principal(kind=PrincipalKind.STAFF, role=Role.OWNER, subject="system:import")


@dataclass
class ImportReport:
    """How many products were created or updated, and every refused row."""

    imported: int = 0
    problems: list[ImportProblem] = field(default_factory=list)


def _options(
    names: list[str], variants: list[FileVariant], current: list[dict[str, Any]]
) -> list[ProductOption]:
    values: dict[str, list[str]] = {o["name"]: list(o.get("values", [])) for o in current}
    for name in names:
        values.setdefault(name, [])
    for variant in variants:
        for name, value in variant.option_values.items():
            if value not in values.setdefault(name, []):
                values[name].append(value)
    return [ProductOption(name, tuple(vals)) for name, vals in values.items()]


def _draft(
    p: FileProduct, category_id: int | None, options: list[ProductOption] | None, *, creating: bool
) -> ProductDraft:
    status = p.status or ("ACTIVE" if creating else None)
    return ProductDraft(
        title=p.title or None,
        handle=p.handle,
        description=p.description,
        status=status,
        category_id=category_id,
        vendor=p.vendor,
        tags=p.tags,
        image_urls=p.image_urls,
        options=options,
    )


def _failed_index(error: DomainError) -> int | None:
    match = INDEXED_FIELD.match(error.field or "")
    return int(match.group(1)) if match else None


async def _create(
    uow_factory: UnitOfWorkFactory,
    p: FileProduct,
    category_id: int | None,
    problems: list[ImportProblem],
) -> list[tuple[FileVariant, Any]]:
    """Create the product with every good variant; a variant the use case refuses is dropped."""
    remaining = list(p.variants)
    options = _options(p.option_names, remaining, [])
    for variant in list(remaining):
        try:
            check_sku(variant.sku)
            check_option_values(tuple(options), variant.option_values)
        except DomainError as error:
            problems.append(p.problem(error, variant))
            remaining.remove(variant)
            p.failed_rows += 1
    while remaining or not p.failed_rows:
        options = _options(p.option_names, remaining, [])
        try:
            draft = _draft(p, category_id, options, creating=True)
            variants = [v.draft() for v in remaining]
            _, created = await create_product(uow_factory, SYSTEM, draft=draft, variants=variants)
            return list(zip(remaining, created, strict=True))
        except DomainError as error:
            index = _failed_index(error)
            if index is None:
                raise
            problems.append(p.problem(error, remaining.pop(index)))
            p.failed_rows += 1
    return []


async def _update(
    uow_factory: UnitOfWorkFactory,
    p: FileProduct,
    row: m.Product,
    category_id: int | None,
    problems: list[ImportProblem],
) -> list[tuple[FileVariant, Any]]:
    """Update the product, change its known SKUs and add the new ones."""
    options = _options(p.option_names, p.variants, list(row.options or [])) or None
    await update_product(
        uow_factory,
        SYSTEM,
        product_id=row.id,
        draft=_draft(p, category_id, options, creating=False),
    )
    current = dict(await m.Variant.filter(product_id=row.id).values_list("sku", "id"))
    done = []
    for variant in p.variants:
        draft = variant.draft()
        try:
            if variant.sku in current:
                draft.sku, draft.option_values = None, draft.option_values or None
                draft.title = " / ".join(variant.option_values.values()) or None
                saved = await update_variant(
                    uow_factory, SYSTEM, variant_id=current[variant.sku], draft=draft
                )
            else:
                saved = await create_variant(uow_factory, SYSTEM, product_id=row.id, draft=draft)
            done.append((variant, saved))
        except DomainError as error:
            problems.append(p.problem(error, variant))
    return done


async def _set_base_prices(
    uow_factory: UnitOfWorkFactory,
    p: FileProduct,
    done: list[tuple[FileVariant, Any]],
    problems: list[ImportProblem],
) -> None:
    while done:
        entries = [PriceEntry(saved.id, PriceRule(PriceKind.BASE, v.price)) for v, saved in done]
        try:
            await set_prices(uow_factory, SYSTEM, entries=entries)
            return
        except DomainError as error:
            index = _failed_index(error)
            if index is None:
                raise
            problems.append(p.problem(error, done.pop(index)[0]))


async def _import_product(
    uow_factory: UnitOfWorkFactory,
    p: FileProduct,
    categories: dict[str, int],
    problems: list[ImportProblem],
) -> bool:
    category_id = categories.get(p.category) if p.category else None
    if p.category and category_id is None:
        problems.append(
            ImportProblem(p.category_row, "category", f"unknown category {p.category!r}")
        )
        return False
    if not p.variants and p.failed_rows:
        return False
    existing = await m.Product.filter(handle=p.handle).first()
    try:
        if existing is None:
            done = await _create(uow_factory, p, category_id, problems)
            if not done and p.failed_rows:
                return False
        else:
            done = await _update(uow_factory, p, existing, category_id, problems)
        await _set_base_prices(uow_factory, p, done, problems)
    except DomainError as error:
        problems.append(p.problem(error))
        return False
    return True


async def import_file(path: Path, *, settings: Settings) -> ImportReport:
    """Import a CSV or JSON catalog file; bad rows are reported, good rows are kept.

    ``imported`` counts the products created or updated. The database is open already.
    """
    products, problems = read_catalog_file(Path(path))
    report = ImportReport(problems=problems)
    await _import_all(products, report, settings, label=Path(path).name)
    report.problems.sort(key=lambda problem: problem.row)
    return report


async def _import_all(
    products: list[FileProduct], report: ImportReport, settings: Settings, *, label: str
) -> None:
    # The units of work invalidate the response cache of every server, as the API's do.
    cache = open_key_value(settings.redis_url, change_marker=TortoiseCatalogQueries().change_marker)
    uow_factory = invalidating_units_of_work(cache)
    categories = {str(h): int(i) for h, i in await m.Category.all().values_list("handle", "id")}
    bar = tqdm(
        products,
        desc=f"importing {label}",
        unit="product",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    )
    try:
        for product in bar:
            if await _import_product(uow_factory, product, categories, report.problems):
                report.imported += 1
    finally:
        bar.close()
        await cache.close()
