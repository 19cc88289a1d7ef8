"""Fault injection: one test per injected fault, each checking the four fail-open properties.

Run with ``pytest fault_injection/``; :mod:`fault_injection.harness` describes the checks.
"""
