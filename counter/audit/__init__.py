"""Journal export for auditors and its offline verification.

``export_journal`` streams a branch's journal for a range of days, masked
by the bank's policy, as JSON Lines or CSV; ``verify_export`` checks such a
file with nothing but the file. The format is described for receivers in
docs/journal-export.md.
"""

from __future__ import annotations

from counter.audit._format import FORMATS, chunk_digest
from counter.audit.export import export_journal
from counter.audit.verify import ExportCheck, Problem, verify_export, verify_export_file

__all__ = [
    "FORMATS",
    "ExportCheck",
    "Problem",
    "chunk_digest",
    "export_journal",
    "verify_export",
    "verify_export_file",
]
