"""Personal data in questions: detectors, the scanner, and the cache's PII policy.

Detectors (no extra needed): e-mail addresses, phone numbers (``phonenumbers``), payment cards
(network ranges + Luhn), IBANs (country length + mod-97), national IDs (US SSN, UK NINO), public
IP addresses, API keys and secrets, street addresses, and person names (introduction rules; with
the ``[pii]`` extra, spaCy's ``en_core_web_sm`` recogniser as well). See docs/pii.md.

    from cacheback.pii import Scanner
    Scanner().scan("my card 4539 1488 0343 6467 was declined")  # [Finding('card', 8, 27, ...)]
"""

from ._audit import PIIAudit, audit_storage, purge_storage
from ._findings import KINDS, PLACEHOLDERS, Finding, Kind
from ._guard import MODES, PIIGuard, Screening, check_mode
from ._names import ner_status
from ._scanner import Scanner

__all__ = ["KINDS", "MODES", "PLACEHOLDERS", "Finding", "Kind", "PIIAudit", "PIIGuard", "Scanner",
           "Screening", "audit_storage", "check_mode", "ner_status", "purge_storage"]
