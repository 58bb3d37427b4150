"""Every job kind a worker runs, by name. A new kind: a module with its `run`, and one line here."""
from __future__ import annotations

from . import mail_retry, province_upload, rollup_fold, roster_import_job
from .registry import JobKind

KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    roster_import_job.KIND,
    mail_retry.KIND,
    province_upload.KIND,
    rollup_fold.KIND,
)}
