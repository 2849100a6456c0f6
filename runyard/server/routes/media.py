"""Texts and images a run logged (`run.log_text`, `run.log_image`), read from the index the
SDK appends to in the run dir (``artifacts/media/index.jsonl``). Image files are downloaded
through `/api/runs/{id}/artifacts/{path}` like any other file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel

from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS

router = APIRouter(prefix="/api/runs/{run_id}", tags=["files"], responses=ERRORS)
INDEX = Path("artifacts", "media", "index.jsonl")
MAX_ITEMS = 10_000  # the newest are kept past this


class TextOut(BaseModel):
    key: str
    step: int
    text: str


class ImageOut(BaseModel):
    key: str
    step: int
    path: str  # inside the run dir: GET /api/runs/{id}/artifacts/{path}
    caption: str | None = None


class MediaOut(BaseModel):
    texts: list[TextOut]
    images: list[ImageOut]


def _items(index: Path) -> list[dict[str, Any]]:
    if not index.is_file():
        return []
    out = []
    with index.open("rb") as f:
        for line in f:
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a line cut short by a crash
            if isinstance(item, dict):
                out.append(item)
    return out[-MAX_ITEMS:]


@router.get("/media")
def get_media(run_id: str, store: StoreDep) -> MediaOut:
    """Logged texts and images in step order; a run that logged none has empty lists."""
    run = store.runs.get(run_id)
    texts, images = [], []
    for item in _items(Path(run.run_dir) / INDEX):
        try:
            if item.get("kind") == "text":
                texts.append(TextOut.model_validate(item))
            elif item.get("kind") == "image":
                path = str(item.get("path", ""))
                if path.startswith("artifacts/media/") and ".." not in path.split("/"):
                    images.append(ImageOut.model_validate(item))
        except ValueError:
            continue  # a hand-edited line that does not fit is skipped, not fatal
    texts.sort(key=lambda t: (t.key, t.step))
    images.sort(key=lambda i: (i.key, i.step))
    return MediaOut(texts=texts, images=images)
