"""Images and texts a run logged with the SDK: GET /media, and the run page's Media panel
(a step slider per image key, a table of texts) at desktop and phone widths."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

import runyard
from tests.web.conftest import PHONE, Live

pytestmark = pytest.mark.browser


def _logged(live: Live, tmp_path_factory: pytest.TempPathFactory) -> str:
    with runyard.init(experiment="media", name="with-media", url=live.url) as run:
        for step in (0, 10, 20):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
            run.log_image("val/mask", np.full((16, 16), step / 20.0), caption=f"after {step}")
        run.log_text("samples", "first answer\nsecond line", step=3)
    return run.id


def test_media_api_and_panel(
    live: Live, page: Page, browser: Browser, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("RUNYARD_QUIET", "1")
    run_id = _logged(live, tmp_path_factory)
    media = live.get(f"/api/runs/{run_id}/media").json()
    steps = [(i["key"], i["step"]) for i in media["images"]]
    assert steps == [("val/mask", s) for s in (0, 10, 20)]
    assert media["texts"] == [{"key": "samples", "step": 3, "text": "first answer\nsecond line"}]
    png = live.get(f"/api/runs/{run_id}/artifacts/{media['images'][0]['path']}")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    for pg in (page, phone):
        pg.goto(f"{live.url}/runs/{run_id}")
        figure = pg.locator('[data-media-key="val/mask"]')
        expect(figure.get_by_test_id("media-step")).to_have_text("step 20")
        figure.get_by_role("slider").fill("0")
        expect(figure.get_by_test_id("media-step")).to_have_text("step 0")
        expect(figure.locator("img")).to_have_attribute("alt", "after 0")
        expect(pg.get_by_test_id("media-texts")).to_contain_text("first answer")
    phone.context.close()
