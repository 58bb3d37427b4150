"""`realname simulate` against a real gateway process: the whole data flow, then a summary."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from support import VENDOR, build_site, run_async


def test_simulate_runs_devices_through_the_data_flow(gateway_process, mongo_uri, db_name, sdb):
    run_async(mongo_uri, db_name, lambda db: build_site(db, workers=4, devices=3))
    gw = gateway_process()
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "simulate", "--devices", "3", "--gateway", f"127.0.0.1:{gw.port}",
         "--punches-per-device", "8", "--vendor-code", VENDOR, "--device-prefix", "DEV-", "--drop-rate", "0.2",
         "--quiet"],
        env=dict(os.environ), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout

    def figure(label: str) -> int:
        return int(re.search(rf"^{label}\s+(\d+)", summary, re.M).group(1))

    explained = summary + "\n--- gateway log ---\n" + gw.log_text()
    assert figure("sent 已发送") == figure("acknowledged 已确认") == 24, explained
    assert figure("refused 被拒绝") == 0, explained
    assert figure("lost 丢失") == 0, explained
    # 843 → 852 → 849 → 845 → 848 all reached the database: enrollments, audited face fetches, punches.
    assert sdb.punches.count_documents({}) == 24
    assert sdb.people.count_documents({"last_enrollment.device_id": {"$regex": "^DEV-"}}) == 3
    assert sdb.audit_log.count_documents({"action": "device_person_fetch"}) >= 3
    # A re-send the database counts as such is one whose first write got through; never more than were sent.
    assert sum(p["resends"] for p in sdb.punches.find()) <= figure("re-sent 重传")
