"""Træningsguiden's own package: eligibility rules, profiles, copy and parsing.

Nothing in here imports Rasa; `actions/` adapts this package to Rasa.
"""
