"""A bad LOOKOUT_* setting is a user's mistake: one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys


def test_an_impossible_kafka_setting_gets_one_line_naming_the_variables() -> None:
    env = {**os.environ, "LOOKOUT_BUS": "kafka", "LOOKOUT_REPLICATION_FACTOR": "1"}
    env.pop("LOOKOUT_MIN_INSYNC_REPLICAS", None)
    done = subprocess.run(
        [sys.executable, "-m", "lookout.cli", "sink"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "LOOKOUT_MIN_INSYNC_REPLICAS (2) exceeds LOOKOUT_REPLICATION_FACTOR (1)" in line
    assert "Traceback" not in done.stdout + done.stderr
