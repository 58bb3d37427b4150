"""Schemathesis against /api/openapi.json: no server errors and no response that breaks the document.

Runs the schemathesis command against a live web process on the real database (seeded with a
small site so lookups find records), authenticated with the admin token so every operation is
reachable. Positive and negative data both: a malformed request must get a documented 4xx.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import ADMIN_TOKEN

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.mark.slow
def test_api_keeps_to_its_openapi_document(web, site, tmp_path):
    st = os.path.join(os.path.dirname(sys.executable), "st")
    command = [st, "run", f"http://127.0.0.1:{web.port}/api/openapi.json", "-H", f"Authorization: Bearer {ADMIN_TOKEN}",
               "--checks", CHECKS, "--max-examples", os.environ.get("REALNAME_SCHEMATHESIS_EXAMPLES", "25"),
               "--phases", "examples,coverage,fuzzing,stateful", "--seed", "20261124", "--workers", "1",
               "--generation-database", "none", "--no-color", "--request-timeout", "20",
               "--suppress-health-check", "all",
               # Logging out would end nothing (token auth) but is harmless; captcha/login are public.
               "--report", "junit", "--report-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
