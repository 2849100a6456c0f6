"""`runyard.init` and `Run`: what a training script holds on to.

Nothing here waits for the server except `init` creating a run (bounded to about 2 s), a
checkpoint waiting for the local disk, and `finish` giving delivery `flush_timeout` seconds.
Bad input (a string as a value, a float as a step) raises at the call site, because that is a
bug in the caller; a server that is down, slow or refusing never raises into the loop.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import operator
import os
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson

from runyard.sdk import _exit, _media
from runyard.sdk._config import Config
from runyard.sdk._files import place
from runyard.sdk._spool import SPOOL_DIR, fsync_dir, write_run_file
from runyard.sdk._values import INT64, MAX_KEY_LEN, as_step, as_value, bad_key
from runyard.sdk.transport import WAKE_AT_ROWS, Transport

if TYPE_CHECKING:
    from runyard.sdk._upload import Uploader

log = logging.getLogger("runyard.sdk")
# runyard.config.Settings has the same default; importing it would pull in pydantic (~0.2 s).
DEFAULT_URL = "http://127.0.0.1:8420"
DEFAULT_FLUSH_TIMEOUT_S = 10.0
STATUSES = ("completed", "failed", "cancelled")


def _dumps(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in body.items() if v is not None}, default=str)


class Run:
    """A run being recorded. Use `runyard.init` to get one."""

    def __init__(
        self,
        run_id: str,
        run_dir: Path,
        transport: Transport,
        *,
        offline: bool,
        flush_timeout: float,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        url: str | None = None,
    ):
        self.id = run_id
        self.dir = run_dir
        self.offline = offline
        self._name = name
        # The run's page on the dashboard; None offline (there is no server to show it yet).
        page = None if offline or url is None else f"{url.rstrip('/')}/runs/{run_id}"
        self.url: str | None = page
        self._server = url
        self.config = Config(config, lambda changes: self._put("patch", {"params": changes}))
        self._pending: dict[str, Any] = {}  # log(..., commit=False) waits here for the next
        self.flush_timeout = flush_timeout
        resume = os.environ.get("RUNYARD_RESUME_FROM")
        self.resume_from: Path | None = Path(resume) if resume else None
        attempt = os.environ.get("RUNYARD_ATTEMPT", "")
        self.attempt: int | None = int(attempt) if attempt.isdigit() and int(attempt) else None
        self.delivered: bool | None = None  # after finish: was everything delivered in time
        self.dropped_points = 0  # after finish: points a full disk made the SDK drop
        self._transport = transport
        self._queue = transport.queue
        self._step = 0
        self._finished = False
        self._goals: dict[str, str] = {}
        self._done_epochs: int | None = None
        self._total_epochs: int | None = None
        self._stopped_at: int | None = None
        self._uploader: Uploader | None = None  # set when files must be sent (see _upload)

    def __repr__(self) -> str:
        return f"<runyard.Run {self.id} dir={str(self.dir)!r}>"

    @property
    def name(self) -> str | None:
        """The run's name: the one given, the server's generated one, or (for a job the runner
        started without one) read once from the server; None when offline."""
        if self._name is None and not self.offline and self._server:
            self._name = _fetch_name(self._server, self.id)
        return self._name

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish("completed" if kind is None else "failed")

    # --- metrics -------------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        epoch: int | None = None,
        commit: bool = True,
    ) -> None:
        """Queue one point per key at ``step`` (one more than the last step when None).

        ``commit=False`` holds the values back and merges them into the next call that
        commits (its values win on the same key), as ``wandb.log`` does."""
        if self._finished:
            raise RuntimeError(f"run {self.id} is finished; log before finish()")
        if not commit:
            try:
                self._pending.update(data)
            except (TypeError, ValueError):
                raise TypeError(
                    f"log() takes a dict of metrics, not {type(data).__name__}"
                ) from None
            return
        if self._pending:
            data = {**self._pending, **data}
            self._pending = {}
        if step is None:
            step = self._step
        elif type(step) is not int or not -INT64 <= step < INT64:
            step = as_step(step)
        self._step = step + 1
        try:
            items = data.items()
        except AttributeError:
            raise TypeError(f"log() takes a dict of metrics, not {type(data).__name__}") from None
        row: dict[Any, Any] = {0: step, 1: time.time()}  # see transport.Row
        for key, value in items:
            if type(key) is not str or not 0 < len(key) <= MAX_KEY_LEN:
                bad_key(key)
            row[key] = value if type(value) is float else as_value(key, value)
        if epoch is not None:
            row["epoch"] = as_value("epoch", epoch)
        queue = self._queue
        queue.append(row)
        if len(queue) >= WAKE_AT_ROWS:
            self._transport.backlog()

    def define_metric(self, key: str, goal: str = "min", primary: bool = False) -> None:
        """Say what "best" means for ``key``; the server recomputes its best from then on."""
        if goal not in ("min", "max"):
            raise ValueError(f"goal must be 'min' or 'max', not {goal!r}")
        if type(key) is not str or not 0 < len(key) <= MAX_KEY_LEN:
            bad_key(key)
        self._goals[key] = goal
        self._put("goals", {"goals": {key: goal}, "primary": key if primary else None})

    def goal_of(self, key: str) -> str | None:
        return self._goals.get(key)

    # --- run state -------------------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Merge ``params`` into the run's config (values that are not JSON become strings)."""
        self._put("patch", {"params": dict(params)})

    def progress(self, done: int, total: int | None = None) -> None:
        """``done`` epochs (or units) completed out of ``total``."""
        self._done_epochs = operator.index(done)
        if total is not None:
            self._total_epochs = operator.index(total)
        self._put("progress", {"epoch": self._done_epochs, "total_epochs": self._total_epochs})

    def early_stop(self, epoch: int) -> None:
        """Record that training stopped early at ``epoch`` (EarlyStopping calls this)."""
        self._stopped_at = operator.index(epoch)
        if self._done_epochs is None:
            self._done_epochs = self._stopped_at + 1
        self._put(
            "progress",
            {
                "epoch": self._done_epochs,
                "total_epochs": self._total_epochs,
                "early_stopped": True,
                "stopped_at_epoch": self._stopped_at,
            },
        )

    # --- files -----------------------------------------------------------------------------

    def checkpoint(
        self,
        path: str | os.PathLike[str],
        step: int | None = None,
        epoch: int | None = None,
        metrics: Mapping[str, float] | None = None,
        name: str | None = None,
    ) -> Path:
        """Place a checkpoint in the run dir and record it; durable when this returns.

        The record goes to ``checkpoints.jsonl`` in the run dir (fsynced, for the runner to
        find even if the process dies now) and, in order with the metrics, to the server.
        """
        placed = place(path, self.dir, "checkpoints", name)
        body = {
            "name": placed.relpath.split("/", 1)[1],
            "path": placed.relpath,
            "size": placed.size,
            "sha256": placed.sha256,
            "step": None if step is None else as_step(step),
            "epoch": None if epoch is None else operator.index(epoch),
            "metrics": None if metrics is None else {k: float(v) for k, v in metrics.items()},
            "attempt": self.attempt,
        }
        line = _dumps({**body, "created_at": time.time()}) + b"\n"
        index = self.dir / "checkpoints.jsonl"
        fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(index))
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # never a half-made record
                raise
        finally:
            os.close(fd)
        fsync_dir(self.dir)
        self._put("checkpoint", body)
        self._transport.spool_now(30.0)
        if self._uploader is not None:
            self._uploader.send(placed.relpath, known=(placed.sha256, placed.hashed))
        return placed.path

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Path:
        """Place a file under ``artifacts/`` in the run dir and record it."""
        placed = place(path, self.dir, "artifacts", name)
        body = {"path": placed.relpath, "size": placed.size, "sha256": placed.sha256}
        self._put("artifact", {**body, "attempt": self.attempt})
        if self._uploader is not None:
            self._uploader.send(placed.relpath, known=(placed.sha256, placed.hashed))
        return placed.path

    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        """Keep a text (a sample, a generated answer) under ``artifacts/media/`` at ``step``
        (the current step when None); the run page lists texts in a table."""
        self._media_key(key)
        _media.write_text(self.dir, key, text, self._media_step(step))

    def log_image(
        self, key: str, image: Any, step: int | None = None, caption: str | None = None
    ) -> Path:
        """Keep an image (a path Pillow reads, a PIL image, or an H×W[×C] array; floats in
        [0, 1] are intensities) as a PNG under ``artifacts/media/`` at ``step``; the run page
        shows each key's images with a step slider. ValueError if it is not an image."""
        self._media_key(key)
        path = _media.write_image(self.dir, key, image, self._media_step(step), caption)
        return path

    def _media_key(self, key: str) -> None:
        if self._finished:
            raise RuntimeError(f"run {self.id} is finished")
        if type(key) is not str or not 0 < len(key) <= MAX_KEY_LEN:
            bad_key(key)

    def _media_step(self, step: int | None) -> int:
        return max(self._step - 1, 0) if step is None else as_step(step)

    def use_dataset(self, ref: str) -> None:
        """Record that this run uses dataset version ``ref`` (``"name@version"``; a bare name
        means the version that is latest when the server gets this), so that the run and the
        dataset version each list the other."""
        if type(ref) is not str or not ref or ref.startswith("@") or len(ref) > 200:
            raise ValueError(f"use_dataset takes 'name@version', not {ref!r}")
        self._put("dataset", {"dataset": ref})

    def log_predictions(
        self,
        split: str,
        *,
        y_true: Any = None,
        y_score: Any = None,
        masks: Any = None,
        preds: Any = None,
        ids: Any = None,
        class_names: list[str] | None = None,
        threshold: str | float = "0.5",
    ) -> Path:
        """Store a split's predictions in ``eval/<split>.npz``; the server computes the metrics
        (``<split>/auc``, ``<split>/dice``, …) and the report from it. Bad arrays raise
        ValueError here, before anything is written."""
        from runyard.errors import BadRequest
        from runyard.evaluation import predictions

        try:
            arrays = predictions.build(
                y_true=y_true,
                y_score=y_score,
                masks=masks,
                preds=preds,
                ids=ids,
                class_names=class_names,
                threshold=threshold,
            )
            path = predictions.write(self.dir, split, arrays)
        except BadRequest as exc:
            raise ValueError(exc.message) from None
        self._put("predictions", {"split": split, "attempt": self.attempt})
        return path

    def log_saliency(
        self,
        images: Any,
        maps: Any = None,
        *,
        model: Any = None,
        target_layer: str | None = None,
        method: str = "gradcam",
        roi_masks: Any = None,
        ids: Any = None,
        labels: Any = None,
        class_idx: int | None = None,
    ) -> dict[str, Any]:
        """Write a saliency gallery under ``artifacts/visuals/<method>/``: per image the image,
        the map and an overlay (PNG), and with ``roi_masks`` the saliency-in-ROI score beside
        the ROI's share of the image. Give ``maps``, or ``model`` and ``target_layer`` to
        compute them with MONAI's Grad-CAM (``method="gradcam"``) or Grad-CAM++
        (``"gradcampp"``). Returns the gallery's index; bad input raises ValueError."""
        from runyard.errors import BadRequest
        from runyard.evaluation import visuals

        try:
            if maps is None:
                if model is None or target_layer is None:
                    raise BadRequest("give maps, or a model and its target_layer")
                from runyard.evaluation.explain import saliency

                maps = saliency(model, images, target_layer, method, class_idx)
            return visuals.write_gallery(
                self.dir, method, images, maps, roi_masks=roi_masks, ids=ids, labels=labels
            )
        except BadRequest as exc:
            raise ValueError(exc.message) from None

    # --- the end ---------------------------------------------------------------------------

    def finish(self, status: str = "completed") -> None:
        """End the run; waits at most ``flush_timeout`` s for delivery (see ``delivered``)."""
        self._finish_at_exit(status, time.monotonic() + self.flush_timeout)

    def _finish_at_exit(self, status: str, deadline: float) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if self._finished:
            return
        if self._pending:  # what log(..., commit=False) held back still counts
            pending, self._pending = self._pending, {}
            self.log(pending)
        self._finished = True
        _exit.unregister(self)
        body: dict[str, Any] = {"status": status}
        if self._stopped_at is not None:
            body.update(early_stopped=True, stopped_at_epoch=self._stopped_at)
        if self.offline:
            body["ended_at"] = time.time()
        self._transport.spool_now(max(0.0, deadline - time.monotonic()))
        if self._transport.dropped_points:  # a full disk outlasted the memory bound
            body["dropped_points"] = self._transport.dropped_points
        if self._uploader is not None:  # files first: the finish may end the attempt
            self._uploader.close(max(0.0, deadline - time.monotonic()))
        self._put("finish", body)
        self.delivered = self._transport.close(max(0.0, deadline - time.monotonic()))
        self.dropped_points = self._transport.dropped_points

    def _spool_now(self, timeout: float) -> None:
        self._transport.spool_now(timeout)

    def _put(self, kind: str, body: Mapping[str, Any]) -> None:
        if self._finished and kind != "finish":
            raise RuntimeError(f"run {self.id} is finished")
        self._transport.put(kind, _dumps(body))


def _create_online(url: str, token: str | None, body: dict[str, Any]) -> dict[str, Any] | None:
    """Create the run now if a server answers quickly; None means "record offline"."""
    import httpx

    headers = {"content-type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = httpx.post(
            url.rstrip("/") + "/api/runs",
            content=_dumps(body),
            headers=headers,
            timeout=httpx.Timeout(1.5, connect=0.5),  # init never waits much over 2 s
        )
    except httpx.HTTPError:
        return None
    if answer.status_code == 409:
        return {}
    if answer.is_success:
        data: dict[str, Any] = answer.json()
        return data
    if answer.status_code < 500:
        log.warning(
            "runyard: %s refused to create the run (HTTP %s: %s); recording offline",
            url,
            answer.status_code,
            answer.text[:200],
        )
    return None


def _fetch_name(url: str, run_id: str) -> str | None:
    import httpx

    token = os.environ.get("RUNYARD_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.get(
            f"{url.rstrip('/')}/api/runs/{run_id}",
            headers=headers,
            timeout=httpx.Timeout(1.5, connect=0.5),
        )
    except httpx.HTTPError:
        return None
    name = answer.json().get("name") if answer.is_success else None
    return name if isinstance(name, str) else None


def _default_url(env: Mapping[str, str]) -> str:
    """RUNYARD_URL, else the local server on RUNYARD_PORT, else the default port."""
    if env.get("RUNYARD_URL"):
        return env["RUNYARD_URL"]
    port = env.get("RUNYARD_PORT", "")
    return f"http://127.0.0.1:{port}" if port.isdigit() and int(port) else DEFAULT_URL


def _local_dir(path: object) -> Path | None:
    if isinstance(path, str) and os.path.isdir(path) and os.access(path, os.W_OK):
        return Path(path)
    return None


def init(
    experiment: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: list[str] | None = None,
    notes: str | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    flush_timeout: float | None = None,
    heartbeat_timeout_s: float | None = None,
) -> Run:
    """Start recording a run: the runner's (RUNYARD_RUN_ID), a new one, or an offline one."""
    env = os.environ
    url = url or _default_url(env)
    token = token or env.get("RUNYARD_TOKEN") or None
    if flush_timeout is None:
        flush_timeout = float(env.get("RUNYARD_FLUSH_TIMEOUT") or DEFAULT_FLUSH_TIMEOUT_S)
    params = dict(config) if config is not None else None
    first_ops: list[tuple[str, dict[str, Any]]] = []
    run_id = env.get("RUNYARD_RUN_ID")
    offline = False
    given_name = name
    if run_id:
        run_dir = Path(env.get("RUNYARD_RUN_DIR") or Path("runyard-runs", run_id))
        patch = {"name": name, "tags": tags, "notes": notes, "params": params}
        if any(v is not None for v in patch.values()):
            first_ops.append(("patch", patch))
    else:
        run_id = secrets.token_hex(8)
        create: dict[str, Any] = {
            "id": run_id,
            "experiment": experiment,
            "name": name,
            "params": params,
            "tags": tags,
            "notes": notes,
        }
        if heartbeat_timeout_s is not None:  # else the server's RUNYARD_HEARTBEAT_TIMEOUT_S
            create["heartbeat_timeout_s"] = heartbeat_timeout_s
        answer = _create_online(url, token, create)
        if answer is None:
            offline = True
            run_dir = Path("runyard-offline", run_id)
            # synced later: the run keeps its real start and end (see _finish_at_exit)
            first_ops.append(("create", {**create, "started_at": time.time()}))
            log.warning(
                "runyard: no server answered at %s; recording run %s offline in %s "
                "(send it later with `runyard sync`)",
                url,
                run_id,
                run_dir,
            )
        else:
            run_dir = _local_dir(answer.get("run_dir")) or Path("runyard-runs", run_id)
            given_name = answer.get("name") or name
    run_dir = run_dir.absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_run_file(run_dir, run_id)
    transport = Transport(run_id, run_dir / SPOOL_DIR, url, token, reached=not offline)
    run = Run(
        run_id,
        run_dir,
        transport,
        offline=offline,
        flush_timeout=flush_timeout,
        name=given_name,
        config=params,
        url=url,
    )
    if env.get("RUNYARD_UPLOAD") == "1" and not offline:  # a node without the server's disk
        from runyard.sdk import _upload

        run._uploader = _upload.Uploader(url, token, run_id, run_dir)
        run.resume_from = _upload.fetch_resume(url, token, run_id, run_dir)
    for kind, body in first_ops:
        run._put(kind, body)
    _exit.register(run)
    if run.url is not None and not env.get("RUNYARD_QUIET"):
        label = f"{given_name} ({run_id})" if given_name else run_id
        with contextlib.suppress(OSError, ValueError):  # stderr may be on a full disk
            sys.stderr.write(f"runyard: run {label}: {run.url}\n")
    return run
