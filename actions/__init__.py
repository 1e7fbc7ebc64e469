"""Rasa SDK adapters over `bot/`."""
