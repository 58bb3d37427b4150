"""Demonstration contracts (合同管理): a contract with a small generated PDF scan for about a third
of each demo project's workers, through the same store function the API uses. Idempotent: a
worker who already has a contract on that project is skipped, so a second run adds nothing.
"""
from __future__ import annotations

import datetime as dt
import random

from pymongo.asynchronous.database import AsyncDatabase

from ..store import contracts
from ..domain.site_clock import site_day, site_today

EVERY_NTH_WORKER = 3


def demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ASCII text lines: a stand-in scan, valid enough for any PDF viewer."""
    text = "BT /F1 14 Tf 60 760 Td 18 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


async def seed_contracts(db: AsyncDatabase) -> int:
    """Contracts for every third worker entered on each demo project; returns how many were added."""
    added = 0
    async for project in db.projects.find({"demo_complete": True}, {"name": 1, "county": 1}).sort("_id", 1):
        rng = random.Random(project["_id"] * 104729)
        have = set(await db.contracts.distinct("worker_no", {"project_id": project["_id"]}))
        entries = [e async for e in db.roster.find({"project_id": project["_id"]}, {"worker_no": 1, "entry_date": 1})]
        for i, entry in enumerate(sorted(entries, key=lambda e: e["worker_no"])):
            # Draw before skipping, so a resumed run gives every worker the same terms.
            term = rng.choice(contracts.TERM_TYPES)
            monthly = rng.random() < 0.3
            price = rng.randrange(5500, 9500, 100) if monthly else rng.randrange(260, 480, 10)
            years, signed_before, ends_in = rng.choice((1, 2)), rng.randint(0, 300), rng.randint(5, 25)
            if i % EVERY_NTH_WORKER or entry["worker_no"] in have:
                continue
            # Signed on or before entry; one contract in six ends within the month, so the
            # 即将到期 filter has something to show.
            effective = site_day(entry["entry_date"]) - dt.timedelta(days=signed_before)
            expiry = None if term == contracts.OPEN_ENDED else effective + dt.timedelta(days=365 * years)
            if expiry and i % (EVERY_NTH_WORKER * 6) == 0:
                expiry = max(site_today() + dt.timedelta(days=ends_in), effective + dt.timedelta(days=1))
            scan = demo_pdf(["Labour contract (demo scan)", f"Project {project['_id']}",
                             f"Worker no. {entry['worker_no']}", f"Effective {effective.isoformat()}",
                             f"Expiry {expiry.isoformat() if expiry else 'open-ended'}"])
            await contracts.register(db, project=project, worker_no=entry["worker_no"], effective=effective,
                                     expiry=expiry, term_type=term, pay_unit="按月" if monthly else "按天",
                                     unit_price=price, scan=scan, actor="demo")
            added += 1
    return added
