"""`lookout config load`: zones and watchlist entries validated line by line, kind
defaults filled in, stable ids, and published onto the config topics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bus import BusSettings
from bus.kafka import KafkaBus
from bus.table_reader import TableReader
from fusion.config_files import load_watchlist, load_zones
from schemas.config import Geofence, WatchlistEntry
from schemas.topics import Topic

NOW = datetime(2026, 1, 5, tzinfo=UTC)
SQUARE = [[[115.0, -9.0], [115.1, -9.0], [115.1, -8.9], [115.0, -8.9], [115.0, -9.0]]]


def feature(fid: object, **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": fid,
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": SQUARE},
    }


def collection(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def test_a_zone_gets_its_kinds_default_rules_unless_it_says_otherwise() -> None:
    loaded = load_zones(
        collection(
            feature("mpa-1", name="Reef", kind="marine_protected_area"),
            feature("r-1", name="Range", kind="restricted", on_exit=False),
        ),
        NOW,
    )
    assert loaded.problems == []
    mpa, restricted = loaded.zones
    assert mpa.rules.ship_types == [30] and mpa.rules.dwell_s == 7200 and mpa.rules.on_enter
    assert restricted.rules.on_enter and not restricted.rules.on_exit


def test_every_bad_zone_is_one_line_naming_it() -> None:
    bad_geometry = feature("open-ring", name="x", kind="restricted")
    bad_geometry["geometry"] = {"type": "Polygon", "coordinates": [SQUARE[0][:-1]]}
    loaded = load_zones(
        collection(
            feature(None, name="no id", kind="restricted"),
            feature("k", name="bad kind", kind="harbour"),
            bad_geometry,
            feature("speed", name="x", kind="restricted", min_speed_kn=-1),
            feature("ok", name="fine", kind="port"),
        ),
        NOW,
    )
    assert [z.geofence_id for z in loaded.zones] == ["ok"]
    assert len(loaded.problems) == 4
    assert "feature 1: no id" in loaded.problems[0]
    assert "kind 'harbour' is not one of" in loaded.problems[1]
    assert "open-ring" in loaded.problems[2] and "closed" in loaded.problems[2]
    assert "speed" in loaded.problems[3] and "min_speed_kn" in loaded.problems[3]


CSV = """name,imo,mmsi,callsign,reason
KM Sinar Jaya,,,,unlicensed fishing
,9123456,525001234,YBAB,smuggling
"""


def test_watchlist_ids_derive_from_identifiers_so_a_reload_updates() -> None:
    first = load_watchlist(CSV, NOW, as_json=False)
    again = load_watchlist(CSV.replace("KM Sinar Jaya", "K.M. SINAR-JAYA"), NOW, as_json=False)
    assert first.problems == [] and again.problems == []
    assert [e.entry_id for e in first.entries] == [e.entry_id for e in again.entries]
    assert first.entries[1].mmsi == 525001234 and first.entries[1].imo == 9123456


def test_a_bad_watchlist_row_is_reported_by_line() -> None:
    loaded = load_watchlist(CSV + "nobody,,,,\n,IMO-X,,,not a number\n", NOW, as_json=False)
    assert len(loaded.entries) == 2
    assert loaded.problems[0].startswith("line 4: ") and "reason" in loaded.problems[0]
    assert loaded.problems[1].startswith("line 5: ") and "imo" in loaded.problems[1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lookout.cli", "--log-console", "config", "load", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_the_command_refuses_a_bad_file_with_one_line_per_problem(tmp_path: Path) -> None:
    zones = tmp_path / "zones.geojson"
    zones.write_text(collection(feature("k", name="x", kind="harbour"), feature(None, kind="port")))
    result = run_cli(str(zones), str(tmp_path / "missing.csv"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "3 problem(s); nothing published"
    assert len(lines) == 4


@pytest.mark.kafka
async def test_the_command_publishes_onto_the_config_topics(
    tmp_path: Path, kafka_settings: BusSettings
) -> None:
    zones = tmp_path / "zones.geojson"
    zones.write_text(
        collection(feature("cfg-test-zone", name="Reef", kind="marine_protected_area"))
    )
    entries = tmp_path / "watch.csv"
    entries.write_text(CSV)
    env = {
        "LOOKOUT_BUS": "kafka",
        "LOOKOUT_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "LOOKOUT_KAFKA_IDEMPOTENCE": "1" if kafka_settings.kafka_idempotence else "0",
    }
    result = run_cli(str(zones), str(entries), env=env)
    assert result.returncode == 0, result.stderr
    assert "1 zone(s), 2 watchlist entr(ies) published" in result.stdout
    async with KafkaBus(kafka_settings, source="/tests") as bus:
        zone_table = TableReader(bus, Topic.CONFIG_GEOFENCES, Geofence)
        watch_table = TableReader(bus, Topic.CONFIG_WATCHLIST, WatchlistEntry)
        await zone_table.start()
        await watch_table.start()
        try:
            assert zone_table.rows["cfg-test-zone"].rules.ship_types == [30]
            ids = {e.entry_id for e in load_watchlist(CSV, NOW, as_json=False).entries}
            assert ids <= set(watch_table.rows)
        finally:
            await zone_table.stop()
            await watch_table.stop()


def test_zone_files_are_read_with_geopandas_in_any_gis_format_and_crs(tmp_path: Path) -> None:
    import geopandas
    import shapely

    from fusion.config_files import load_file

    square = shapely.Polygon(SQUARE[0])
    frame = geopandas.GeoDataFrame(
        {
            "id": ["reef", "range"],
            "name": ["Reef", "Range"],
            "kind": ["marine_protected_area", "restricted"],
        },
        geometry=[square, shapely.affinity.translate(square, 0.2)],
        crs=4326,
    )
    path = tmp_path / "zones.gpkg"
    frame.to_crs(32750).to_file(path)  # a GeoPackage in UTM zone 50S, metres
    loaded = load_file(path, NOW)
    assert loaded.problems == []
    reef, restricted = loaded.zones
    assert reef.geofence_id == "reef" and reef.rules.ship_types == [30]
    assert restricted.rules.on_exit
    back = shapely.from_geojson(reef.geometry.model_dump_json())
    assert back.equals_exact(square, tolerance=1e-6)  # reprojected to WGS 84 degrees


def test_a_geojson_file_with_an_unreadable_feature_names_it_and_checks_the_rest(
    tmp_path: Path,
) -> None:
    from fusion.config_files import load_file

    open_ring = feature("open-ring", name="x", kind="restricted")
    open_ring["geometry"] = {"type": "Polygon", "coordinates": [SQUARE[0][:-1]]}
    path = tmp_path / "zones.geojson"
    path.write_text(
        collection(
            feature("ok", name="fine", kind="port"),
            open_ring,
            feature("k", name="bad kind", kind="harbour"),
        )
    )
    loaded = load_file(path, NOW)
    assert [z.geofence_id for z in loaded.zones] == ["ok"]
    assert len(loaded.problems) == 2
    assert "open-ring" in loaded.problems[0] and "closed" in loaded.problems[0]
    assert "harbour" in loaded.problems[1]


TOUCHING_RING = [
    *[[115, -9], [115.4, -9], [115.4, -8.6], [115.2, -8.6], [115.2, -8.8]],
    *[[115.1, -8.7], [115.2, -8.6], [115, -8.6], [115, -9]],
]
"""A ring that touches itself at one point (115.2, -8.6): valid once repaired, same inside."""


def test_a_zone_whose_edges_cross_is_refused_saying_where(tmp_path: Path) -> None:
    """A bow tie and a figure eight (positions out of order) have no single inside: fusion
    would repair them into other zones than the ones meant. A ring that only touches itself
    at a point (common in GIS exports) still loads."""
    bow_tie = feature("bow-tie", name="x", kind="restricted")
    bow_tie["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[115, -8], [116, -9], [116, -8], [115, -9], [115, -8]]],
    }
    eight = feature("eight", name="x", kind="restricted")
    eight["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [[115, -8], [117, -8], [117, -10], [116, -10], [116, -7], [115, -7], [115, -8]]
        ],
    }
    touching = feature("touching", name="x", kind="restricted")
    touching["geometry"] = {
        "type": "Polygon",
        "coordinates": [TOUCHING_RING],
    }
    zones = tmp_path / "zones.geojson"
    zones.write_text(collection(bow_tie, eight, touching))
    result = run_cli("--dry-run", str(zones))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "2 problem(s); nothing published", lines
    assert "feature 1 (bow-tie)" in lines[0] and "Self-intersection at 115.5, -8.5" in lines[0]
    assert "feature 2 (eight)" in lines[1] and "Self-intersection at 116, -8" in lines[1]
    touching_only = tmp_path / "touching.geojson"
    touching_only.write_text(collection(touching))
    assert run_cli("--dry-run", str(touching_only)).returncode == 0


def test_each_problem_names_its_file_once_and_a_directory_is_no_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = run_cli("--dry-run", str(tmp_path), str(broken), str(notes))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"{tmp_path}: a directory, not a file", lines
    assert lines[1].startswith("broken.geojson: cannot read zones: "), lines
    assert lines[2].startswith("notes.txt: expected zones ("), lines
    assert lines[3] == "3 problem(s); nothing published"
