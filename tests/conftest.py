"""Every test gets its own store: nothing writes `.statelane/` into the working tree."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATELANE_DB", f"sqlite:///{tmp_path}/statelane.db")
