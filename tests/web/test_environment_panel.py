"""Config → Environment on the run page: what the job was started with, secrets masked."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Live

pytestmark = pytest.mark.browser


def test_the_config_tab_shows_the_jobs_environment(live: Live, page: Page) -> None:
    r = live.post(
        "/api/runs",
        json={
            "name": "env-shown",
            "command": [sys.executable, "-c", "pass"],
            "env": {"PATH": "/opt/venv/bin:/usr/bin", "HF_TOKEN": "hf_do_not_show"},
            "captured_env": ["PATH"],
            "executable": sys.executable,
            "max_retries": 0,
        },
    )
    assert r.status_code == 201, r.text
    run = r.json()
    page.goto(f"{live.url}/runs/{run['id']}#config")
    panel = page.get_by_test_id("environment")
    expect(panel).to_contain_text(sys.executable)
    expect(panel).to_contain_text("/opt/venv/bin:/usr/bin")
    expect(panel).to_contain_text("your shell")
    expect(panel).to_contain_text("HF_TOKEN")
    expect(panel).to_contain_text("••••••")
    expect(panel).not_to_contain_text("hf_do_not_show")
