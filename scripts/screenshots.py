#!/usr/bin/env python
"""Screenshots of the dashboard for the docs (`make screenshots` → docs/screenshots/*.png).

Starts `runyard server` in a temp home, submits a demo-like set of real jobs (the digits
example: a baseline, an early stop, a crash that resumes, a FAIL in the checklist, a timeout, a
small pipeline, one run still training), waits for them, then photographs each page with
Debian's Chromium at 1280×800 and the run page at phone size (390×844).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "digits.py"
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def log(message: str) -> None:
    sys.stderr.write(f"[screenshots] {message}\n")


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"screenshots: gave up waiting for {what}")


def digits(name: str, *args: str, **spec: Any) -> dict[str, Any]:
    return {
        "name": name,
        "experiment": "digits",
        "cwd": str(DIGITS.parent),
        "retry_delay_s": 1,
        "command": [sys.executable, str(DIGITS), *args],
        **spec,
    }


def submit_all(http: httpx.Client) -> dict[str, str]:
    ids: dict[str, str] = {}

    def post(job: dict[str, Any]) -> str:
        r = http.post("/api/runs", json=job)
        r.raise_for_status()
        ids[job["name"]] = r.json()["id"]
        return ids[job["name"]]

    ckpts = [{"name": "checkpoints saved", "glob": "checkpoints/*.pt", "min_count": 3}]
    scaler = [{"name": "scaler saved", "glob": "artifacts/scaler.pkl",
               "hint": "this example has no scaler: the checklist shows a FAIL"}]  # fmt: skip
    prepare = post(
        {"name": "prepare-data", "experiment": "digits", "tags": ["pipeline"],
         "command": [sys.executable, "-c", "print('split 1797 images: 1257/270/270')"]}
    )  # fmt: skip
    post(digits("baseline", "--lr", "1e-3", "--epochs", "16", params={"lr": 1e-3, "hidden": 64},
                tags=["pipeline"], depends_on=[prepare], expect=ckpts))  # fmt: skip
    post(digits("wide", "--lr", "1e-3", "--hidden", "256", "--epochs", "12",
                params={"lr": 1e-3, "hidden": 256}, tags=["pipeline"], depends_on=[prepare],
                expect=scaler))  # fmt: skip
    post({"name": "evaluate", "experiment": "digits", "tags": ["pipeline"],
          "depends_on": [ids["baseline"], ids["wide"]],
          "command": [sys.executable, "-c", "print('test accuracy 0.97')"]})  # fmt: skip
    post(digits("fast-lr-early-stop", "--lr", "2e-2", "--epochs", "100", "--patience", "3",
                params={"lr": 2e-2, "hidden": 64}))  # fmt: skip
    post(digits("crash-then-resume", "--lr", "3e-3", "--hidden", "32", "--epochs", "12",
                "--fail-at-epoch", "4", params={"lr": 3e-3, "hidden": 32}))  # fmt: skip
    post(digits("too-slow", "--lr", "1e-4", "--epochs", "200", "--epoch-sleep", "1",
                params={"lr": 1e-4, "hidden": 64}, max_retries=0, timeout_s=4))  # fmt: skip
    return ids


def fundus_dataset(root: Path) -> Path:
    """An ImageFolder of small generated fundus images (normal/glaucoma per split), with a
    metadata CSV in which one patient sits in both train and test: the leak the checks find."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    rows = ["filename,patient_id"]
    patient = 0
    for split, n in (("train", 14), ("val", 4), ("test", 4)):
        for label in ("normal", "glaucoma"):
            for i in range(n if label == "normal" else n // 2):
                patient += 1
                pid = (
                    "P007"
                    if (split, label, i) in (("train", "normal", 0), ("test", "normal", 0))
                    else f"P{patient:03d}"
                )
                yy, xx = np.mgrid[:48, :48]
                img = rng.integers(0, 40, (48, 48, 3), dtype=np.uint8)
                disc = (yy - 24) ** 2 + (xx - 24) ** 2 < (18 if label == "normal" else 12) ** 2
                img[disc] = rng.integers(80, 220, (int(disc.sum()), 3), dtype=np.uint8)
                path = root / split / label / f"{pid}_{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(path)
                rows.append(f"{path.name},{pid}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def add_dataset(http: httpx.Client, tmp: Path) -> str:
    import io
    import zipfile

    src = fundus_dataset(tmp / "fundus")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(src).as_posix())
    r = http.post("/api/datasets", data={"name": "fundus", "description": "retina photographs"},
                  files={"file": ("fundus.zip", buf.getvalue(), "application/zip")})  # fmt: skip
    r.raise_for_status()
    version = r.json()["version"]
    job = http.post(f"/api/datasets/fundus/versions/{version}/transform",
                    json={"steps": "clahe:channel=green,resize:32"}).json()  # fmt: skip
    ended = ("succeeded", "failed")
    until(lambda: http.get(f"/api/datasets/jobs/{job['id']}").json()["status"] in ended,
          120, "the transform job")  # fmt: skip
    return str(version)


def settle(page: Page, ms: int = 1200) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(ms)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--port", type=int, default=8471)
    p.add_argument("--full", action="store_true", help="whole pages, for a review by eye")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{a.port}"
    with tempfile.TemporaryDirectory(prefix="runyard-shots-") as tmp:
        env = {**os.environ, "RUNYARD_HOME": tmp}
        for name in ("RUNYARD_DATABASE_URL", "RUNYARD_TOKEN"):
            env.pop(name, None)
        server = subprocess.Popen(
            [sys.executable, "-m", "runyard", "server", "--port", str(a.port), "--slots", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                until(lambda: _healthy(http), 60, "the server")
                dataset_root = add_dataset(http, Path(tmp))
                ids = submit_all(http)
                log(f"submitted {len(ids)} jobs; waiting for them")
                live_id = _post_live(http)
                until(lambda: _all_ended(http, set(ids.values())), 600, "the jobs to end")
                until(lambda: _epochs(http, live_id) >= 3, 120, "the live run to train")
                shoot(a.out, url, ids, live_id, dataset_root, a.full)
                http.post(f"/api/runs/{live_id}/cancel")
        finally:
            server.terminate()
            server.wait(20)
    log(f"wrote {a.out}")
    return 0


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/api/health").status_code == 200
    except httpx.TransportError:
        return False


def _post_live(http: httpx.Client) -> str:
    job = digits("live-training", "--lr", "5e-3", "--epochs", "300", "--epoch-sleep", "0.6",
                 params={"lr": 5e-3, "hidden": 64})  # fmt: skip
    r = http.post("/api/runs", json=job)
    r.raise_for_status()
    return str(r.json()["id"])


def _all_ended(http: httpx.Client, ids: set[str]) -> bool:
    runs = http.get("/api/runs", params={"limit": 100}).json()["runs"]
    ended = {r["id"] for r in runs if r["status"] in ("completed", "failed", "cancelled")}
    return ids <= ended


def _epochs(http: httpx.Client, run_id: str) -> int:
    return int(http.get(f"/api/runs/{run_id}").json()["progress"]["epoch"] or 0)


def shoot(
    out: Path, url: str, ids: dict[str, str], live_id: str, dataset: str, full: bool = False
) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        desk = browser.new_context(viewport={"width": 1280, "height": 800})
        page = desk.new_page()
        compare = ",".join(ids[n] for n in ("baseline", "wide", "fast-lr-early-stop"))
        shots = [
            ("overview", "/"),
            ("runs", "/runs"),
            ("run", f"/runs/{ids['baseline']}"),
            ("run-live", f"/runs/{live_id}"),
            ("compare", f"/compare?runs={compare}&baseline={ids['baseline']}"),
            ("pipelines", "/pipelines"),
            ("datasets", "/datasets"),
            ("dataset", f"/datasets/fundus?v={dataset}"),
        ]
        for name, path in shots:
            page.goto(url + path)
            settle(page)
            page.screenshot(path=str(out / f"{name}.png"), full_page=full)
            log(f"{name}.png")
        page.goto(f"{url}/runs/{ids['crash-then-resume']}#attempts")
        settle(page)
        page.screenshot(path=str(out / "run-attempts.png"))
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
        )
        page = phone.new_page()
        phone_shots = [("phone-run", f"/runs/{ids['baseline']}"), ("phone-runs", "/runs")]
        if full:
            phone_shots += [("phone-overview", "/"), ("phone-compare", shots[4][1]),
                            ("phone-pipelines", "/pipelines"),
                            ("phone-dataset", shots[-1][1])]  # fmt: skip
        for name, path in phone_shots:
            page.goto(url + path)
            settle(page)
            page.screenshot(path=str(out / f"{name}.png"), full_page=full)
            log(f"{name}.png")
        browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
