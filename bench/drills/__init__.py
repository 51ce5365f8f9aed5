"""Reliability drills (SECURITY.md checks 31-35): mixed load, crash, disk full, write lock, limits, backup.

Short versions run in CI from tests/test_drills.py; `python -m bench.drills` runs the long versions.
"""
