"""Data directories for embedded PostgreSQL servers in tests.

Not under pytest's tmp_path: pytest chmods its base temp folder to 0700 whenever a session
starts, and the server runs as the unprivileged `embedded_postgres` user (initdb refuses
root), which then loses access mid-run. A folder of its own under /tmp avoids that.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def postgres_data_dir() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="lookout-pg-"))
    parent.chmod(0o755)
    try:
        yield parent / "data"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
