"""Clerks' clienteling tasks."""
