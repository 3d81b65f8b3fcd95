"""``lookout db migrate``: applies the schema, then says it is up to date."""

from __future__ import annotations

import psycopg
import pytest
from typer.main import get_command

from lookout.cli import app
from lookout.commands.db import migrate_command
from store.migrate import discover

pytestmark = pytest.mark.postgres


def test_lookout_db_migrate_applies_then_reports_up_to_date(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert {"db", "sink"} <= set(get_command(app).commands)  # type: ignore[attr-defined]
    monkeypatch.setenv("LOOKOUT_DATABASE_URL", empty_db_url)
    migrate_command()
    first = capsys.readouterr().out
    assert "applied 002_positions" in first and "native" in first
    migrate_command()
    assert "schema up to date" in capsys.readouterr().out
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert row == (len(discover()),)
