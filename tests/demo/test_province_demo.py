"""The demo's 上传省厅 against `realname province-sim`: real refusals (a photo over 50 KB, an entry date in
the future) stay in the results, and the second project's fix goes again and turns it qualified."""
from __future__ import annotations

from server.config import Config
from server.demo.province_demo import seed_province
from server.store import qualification, uploads

from support import ProvinceSim, build_site, run_async


def test_refusals_for_real_reasons_and_one_project_fixed(mongo_uri, db_name, sdb):
    async def arrange(db):
        return [(await build_site(db, workers=3, devices=0, seed=s))["project_id"] for s in (11, 12)]
    first, second = run_async(mongo_uri, db_name, arrange)
    sim = ProvinceSim()
    try:
        config = Config.from_env({}, province_url=sim.url, province_retry_seconds=0.05)
        outcome = run_async(mongo_uri, db_name, lambda db: seed_province(db, config, (first, second)))
        assert "qualified" in outcome, outcome
        verdicts = run_async(mongo_uri, db_name, lambda db: qualification.qualification(db, [first, second]))
        assert verdicts[second] == (True, [])
        reasons = {d["kind"]: d["reason"] for d in sdb.uploads.find({"project_id": first, "state": uploads.FAILED})}
        assert "50KB" in reasons["worker"] and "不能晚于今天" in reasons["entry_exit"], reasons
        assert not verdicts[first][0] and "在职人员上传成功 2/3" in verdicts[first][1][0]
        # The fixed worker went twice: refused, then (after the new photo) accepted.
        fixed = sdb.uploads.find_one({"project_id": second, "kind": "worker", "history.state": uploads.FAILED})
        assert fixed["state"] == uploads.SUCCEEDED
        # A second seed run changes nothing on our side and stays qualified.
        again = run_async(mongo_uri, db_name, lambda db: seed_province(db, config, (first, second)))
        assert "qualified" in again
    finally:
        sim.stop()
