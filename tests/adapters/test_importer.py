"""Catalog import from CSV and JSON into a real SQLite file, through the domain use cases."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.db import models as m
from adapters.db.importer import COLUMNS, ImportProblem, import_file

HEADER = ",".join(COLUMNS)
# Rows: 1 header, 2-3 one product with two variants, 4 and 6 good, 5 bad price, 7 duplicate SKU.
CSV = f"""{HEADER}
linen-shirt,Linen Shirt,Breezy.,active,shirts,Maison Rhône,"linen|Summer",https://images.example.com/ls/1.jpg,Colour,Ecru,Size,M,LS-ECR-M,3760123000017,240,59.90,EUR
linen-shirt,,,,,,,,,Ecru,,L,LS-ECR-L,3760123000024,250,59.90,EUR
silk-scarf,Silk Scarf,Lyon silk.,active,,Canut & Co,"silk, gift",,,,,,SS-1,,80,89.00,EUR
broken-mug,Broken Mug,,active,,,,,,,,,BM-1,,300,abc,EUR
stoneware-bowl,Stoneware Bowl,,draft,,,,,,,,,SB-1,,500,24.99,
copy-bowl,Copy Bowl,,active,,,,,,,,,SB-1,,500,19.99,EUR
"""


def _problems(report) -> list[tuple[int, str]]:
    return [(p.row, p.field) for p in report.problems]


async def _base_price(sku: str) -> int:
    price = await m.Price.get(variant__sku=sku, kind="BASE", currency="EUR")
    return price.amount


async def test_csv_imports_good_rows_and_reports_bad_ones(tmp_path: Path, db, settings):
    path = tmp_path / "catalog.csv"
    path.write_text(CSV, encoding="utf-8")
    await m.Category.create(name="Shirts", handle="shirts")

    report = await import_file(path, settings=settings)

    assert report.imported == 3
    assert _problems(report) == [(5, "price"), (7, "sku")]
    assert all(isinstance(p, ImportProblem) and p.message for p in report.problems)
    assert "abc" in report.problems[0].message
    assert await m.Product.all().count() == 3
    assert await m.Variant.all().count() == 4
    shirt = await m.Product.get(handle="linen-shirt").prefetch_related("category")
    assert shirt.title == "Linen Shirt" and shirt.status == "ACTIVE"
    assert shirt.category.handle == "shirts"
    assert shirt.tags == ["linen", "summer"]
    assert shirt.options == [
        {"name": "Colour", "values": ["Ecru"]},
        {"name": "Size", "values": ["M", "L"]},
    ]
    assert " ls-ecr-l " in shirt.search_text
    large = await m.Variant.get(sku="LS-ECR-L")
    assert large.option_values == {"Colour": "Ecru", "Size": "L"}
    assert large.title == "Ecru / L" and large.weight_grams == 250
    assert await _base_price("LS-ECR-L") == 5990
    bowl = await m.Product.get(handle="stoneware-bowl")
    assert bowl.status == "DRAFT"
    assert await _base_price("SB-1") == 2499  # a blank currency is EUR
    assert not await m.Product.filter(handle__in=["broken-mug", "copy-bowl"]).exists()


async def test_reimport_updates_instead_of_duplicating(tmp_path: Path, db, settings):
    path = tmp_path / "catalog.csv"
    path.write_text(CSV, encoding="utf-8")
    await m.Category.create(name="Shirts", handle="shirts")
    await import_file(path, settings=settings)

    again = await import_file(path, settings=settings)
    assert again.imported == 3
    assert _problems(again) == [(5, "price"), (7, "sku")]
    assert await m.Product.all().count() == 3
    assert await m.Variant.all().count() == 4
    assert await m.Price.all().count() == 4

    changed = CSV.replace("Linen Shirt,Breezy.", "Linen Shirt,Now in XL.").replace(
        "LS-ECR-M,3760123000017,240,59.90", "LS-ECR-M,3760123000017,240,54.90"
    )
    changed += "linen-shirt,,,,,,,,,Ecru,,XL,LS-ECR-XL,,260,59.90,EUR\n"
    path.write_text(changed, encoding="utf-8")
    third = await import_file(path, settings=settings)

    assert third.imported == 3
    assert await m.Product.all().count() == 3
    assert await m.Variant.filter(product__handle="linen-shirt").count() == 3
    shirt = await m.Product.get(handle="linen-shirt")
    assert shirt.description == "Now in XL."
    assert shirt.options[1] == {"name": "Size", "values": ["M", "L", "XL"]}
    assert await _base_price("LS-ECR-M") == 5490
    assert await m.Price.filter(variant__sku="LS-ECR-M").count() == 1


async def test_json_import(tmp_path: Path, db, settings):
    products = [
        {
            "handle": "canvas-tote",
            "title": "Canvas Tote",
            "tags": ["bag", "canvas"],
            "image_urls": "https://images.example.com/t/1.jpg|https://images.example.com/t/2.jpg",
            "variants": [
                {"sku": "TOTE-BLK", "option_values": {"Colour": "Black"}, "price": "39.00"},
                {"sku": "TOTE-CAM", "option_values": {"Colour": "Camel"}, "price": "39.00",
                 "barcode": "3760123000031", "weight_grams": 420, "currency": "EUR"},
            ],
        },
        {"handle": "mystery", "title": "Mystery", "category": "nope",
         "variants": [{"sku": "MYS-1", "price": "10.00"}]},
        {"title": "Copy Tote", "variants": [{"sku": "TOTE-BLK", "price": "10.00"}]},
        {"handle": "new-thing", "title": "New Thing",
         "variants": [{"sku": "OLD-1", "price": "12.00"}, {"sku": "NEW-1", "price": "-1"},
                      {"sku": "NEW-2", "price": "12.50"}]},
    ]  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(products), encoding="utf-8")
    old = await m.Product.create(title="Old", handle="old")
    await m.Variant.create(product=old, sku="OLD-1")

    report = await import_file(path, settings=settings)

    assert report.imported == 2
    assert _problems(report) == [
        (2, "category"),
        (3, "variants.0.sku"),
        (4, "variants.1.price"),
        (4, "variants.0.sku"),  # SKU OLD-1 belongs to another product
    ]
    tote = await m.Product.get(handle="canvas-tote")
    assert tote.status == "ACTIVE"
    assert tote.options == [{"name": "Colour", "values": ["Black", "Camel"]}]
    assert len(tote.image_urls) == 2
    assert (await m.Variant.get(sku="TOTE-CAM")).barcode == "3760123000031"
    assert await _base_price("TOTE-CAM") == 3900
    assert await m.Variant.filter(product__handle="new-thing").count() == 1
    assert await _base_price("NEW-2") == 1250
    assert (await m.Variant.get(sku="OLD-1")).product_id == old.id  # type: ignore[attr-defined]
    assert not await m.Product.filter(handle__in=["mystery", "copy-tote"]).exists()


async def test_unusable_files_are_reported_not_raised(tmp_path: Path, db, settings):
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("name,cost\nShirt,10\n", encoding="utf-8")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json", encoding="utf-8")
    header = await import_file(bad_header, settings=settings)
    broken = await import_file(bad_json, settings=settings)
    assert header.imported == 0 and _problems(header) == [(1, "header")]
    assert broken.imported == 0 and _problems(broken) == [(0, "file")]
