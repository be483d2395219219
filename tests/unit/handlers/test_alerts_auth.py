"""The alert webhook's door: with a token file only ``Bearer <token>`` gets in, the token can
be rotated by rewriting the file, and an unreadable or empty file refuses everyone.

Requests that get in carry an invalid payload here, so the answer (400) proves they passed
the door without needing a cluster; recording alerts is tested end to end with a real
Alertmanager (tests/integration/test_delivery.py)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from modelwarden.handlers.alerts_webhook import TokenFile, app
from modelwarden.settings import OperatorSettings


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("s3cret-token\n")
    return path


@pytest.mark.parametrize(
    ("header", "admitted"),
    [
        pytest.param("Bearer s3cret-token", True, id="right-token"),
        pytest.param("bearer s3cret-token", True, id="scheme-case-insensitive"),
        pytest.param("Bearer wrong", False, id="wrong-token"),
        pytest.param("Bearer ", False, id="empty-token"),
        pytest.param("Basic s3cret-token", False, id="other-scheme"),
        pytest.param("", False, id="no-header"),
    ],
)
def test_token_file_admits_only_the_bearer_token(
    token_file: Path, header: str, admitted: bool
) -> None:
    assert TokenFile(token_file).admits(header) is admitted


def test_rewritten_token_file_rotates_the_token(token_file: Path) -> None:
    tokens = TokenFile(token_file)
    assert tokens.admits("Bearer s3cret-token")
    token_file.write_text("rotated")
    os.utime(token_file, (1, 1))  # a new mtime even within the filesystem's resolution
    assert not tokens.admits("Bearer s3cret-token")
    assert tokens.admits("Bearer rotated")


@pytest.mark.parametrize("content", [None, ""], ids=["missing-file", "empty-file"])
def test_unusable_token_file_refuses_everyone(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    assert not TokenFile(path).admits("Bearer ")
    assert not TokenFile(path).admits("Bearer anything")


async def _post(token_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    ctx = SimpleNamespace(settings=OperatorSettings(alerts_token_file=token_path))
    async with TestClient(TestServer(app(ctx))) as client:  # type: ignore[arg-type]
        response = await client.post("/alerts", data=b"not json", headers=headers)
        return response.status, dict(response.headers)


async def test_webhook_answers_401_without_the_token(token_file: Path) -> None:
    status, headers = await _post(str(token_file), {})
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")


async def test_webhook_lets_the_token_through(token_file: Path) -> None:
    status, _ = await _post(str(token_file), {"Authorization": "Bearer s3cret-token"})
    assert status == 400  # past the door, refused for its payload


async def test_webhook_without_token_file_accepts_anyone() -> None:
    status, _ = await _post("", {})
    assert status == 400
