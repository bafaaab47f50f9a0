"""Tortoise's base for tables with created and updated times."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Timestamped(Model):
    """A table whose rows carry their creation and last update times."""

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
