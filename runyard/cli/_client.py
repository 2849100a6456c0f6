"""The CLI's HTTP client: RUNYARD_URL and RUNYARD_TOKEN, errors turned into one line and exit 1."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import httpx
import typer

from runyard.config import Settings

RETRYABLE = frozenset({503, 507})  # a busy database, a full disk: faults that pass
RETRY_FOR_S = 30.0


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase


def _retry_after(response: httpx.Response, tries: int) -> float:
    try:
        return max(0.1, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return float(min(2 ** (tries - 1), 5))


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit (1 failed, 2 usage)."""
    typer.echo(f"runyard: {message}", err=True)
    raise typer.Exit(code)


class Client:
    def __init__(self, settings: Settings):
        headers = {"Authorization": f"Bearer {settings.token_value}"} if settings.token else {}
        self.base = settings.url.rstrip("/")
        self._http = httpx.Client(base_url=self.base, headers=headers, timeout=30.0)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call; a busy database (503) or a full disk (507) is waited out for up to
        RETRY_FOR_S, saying so once, since the server wrote nothing of a refused request."""
        deadline = time.monotonic() + RETRY_FOR_S
        tries = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                self._unreachable(exc)
            if response.status_code not in RETRYABLE or time.monotonic() >= deadline:
                break
            tries += 1
            if tries == 1:
                typer.echo(f"runyard: {_message(response)}; retrying", err=True)
            time.sleep(min(_retry_after(response, tries), max(0.0, deadline - time.monotonic())))
        if response.is_error:
            self._failed(response)
        return response.json()

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A response to read in pieces (a big download); errors end the command as above."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.is_error:
                    response.read()
                    self._failed(response)
                yield response
        except httpx.TransportError as exc:
            self._unreachable(exc)

    def _unreachable(self, exc: Exception) -> NoReturn:
        fail(
            f"cannot reach the runyard server at {self.base} ({exc}); is `runyard server` running?"
        )

    @staticmethod
    def _failed(response: httpx.Response) -> NoReturn:
        fail(f"{_message(response)} (HTTP {response.status_code})")

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})


def client() -> Client:
    return Client(Settings())


def server_answers(settings: Settings | None = None) -> bool:
    """True when a runyard server answers at RUNYARD_URL (or RUNYARD_PORT) within a second:
    then commands that write data go through it, so the CLI and the dashboard share a store."""
    settings = settings or Settings()
    try:
        r = httpx.get(settings.url.rstrip("/") + "/api/health", timeout=1.0)
    except httpx.HTTPError:
        return False
    return r.status_code in (200, 401)  # 401: a server with a token; the request will say so


def print_json(data: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
