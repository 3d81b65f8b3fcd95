"""Zones and watchlist entries from files, validated, for ``lookout config load``.

* Zones: a GeoJSON FeatureCollection; each feature has an ``id`` (or ``properties.id``),
  properties ``name``, ``kind`` (a ``ZoneKind``) and optional rule fields
  (``GeofenceRules``). The kind's default rules are filled in for fields not given, so the
  config topic holds complete rules.
* Watchlist: CSV with columns ``name, imo, mmsi, callsign, reason`` and optional
  ``entry_id``, ``severity``, ``provenance``, ``expires_at``; or a JSON list of objects
  with the same fields. Without an ``entry_id`` the id derives from the normalised
  identifiers, so loading the same file twice updates the entries instead of doubling them.

Every problem is reported as one line naming the feature or row; nothing is published from
a file that has any.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from pydantic import ValidationError

from fusion.detectors.watchlist import normalise_name
from schemas.config import Geofence, GeofenceRules, WatchlistEntry, ZoneKind, default_rules

RULE_FIELDS = frozenset(GeofenceRules.model_fields)


@dataclass
class Loaded:
    zones: list[Geofence] = field(default_factory=list)
    entries: list[WatchlistEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _why(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
    )


def load_zones(text: str, now: datetime) -> Loaded:
    loaded = Loaded()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        loaded.problems.append(f"not JSON: {exc}")
        return loaded
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        loaded.problems.append("not a GeoJSON FeatureCollection")
        return loaded
    for n, feature in enumerate(doc.get("features") or [], start=1):
        props: dict[str, Any] = dict(feature.get("properties") or {})
        zone_id = feature.get("id", props.pop("id", None))
        label = f"feature {n}" + (f" ({zone_id})" if zone_id else "")
        if zone_id is None:
            loaded.problems.append(f"{label}: no id (feature 'id' or properties.id)")
            continue
        try:
            kind = ZoneKind(str(props.get("kind")))
        except ValueError:
            kinds = ", ".join(k.value for k in ZoneKind)
            loaded.problems.append(f"{label}: kind {props.get('kind')!r} is not one of {kinds}")
            continue
        given = {k: v for k, v in props.items() if k in RULE_FIELDS}
        rules = {**default_rules(kind).model_dump(), **given}
        try:
            zone = Geofence(
                geofence_id=str(zone_id),
                name=props.get("name") or str(zone_id),
                kind=kind,
                geometry=feature.get("geometry"),
                rules=GeofenceRules(**rules),
                owner_agency=props.get("owner_agency"),
                active=props.get("active", True),
                updated_at=now,
            )
        except ValidationError as exc:
            loaded.problems.append(f"{label}: {_why(exc)}")
            continue
        shape = shapely.from_geojson(zone.geometry.model_dump_json())
        if shapely.is_empty(shapely.make_valid(shape)) or shapely.area(shape) == 0:
            loaded.problems.append(f"{label}: the polygon has no area")
            continue
        loaded.zones.append(zone)
    ids = [z.geofence_id for z in loaded.zones]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        loaded.problems.append(f"zone id {dup!r} appears more than once")
    return loaded


def derived_entry_id(row: dict[str, Any]) -> str:
    """A stable id from the normalised identifiers (same vessel, same id)."""
    parts = [
        str(row.get("mmsi") or "").strip(),
        str(row.get("imo") or "").strip(),
        str(row.get("callsign") or "").strip().upper(),
        normalise_name(str(row.get("name") or "")),
    ]
    return "wl-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _entry(row: dict[str, Any], label: str, now: datetime, loaded: Loaded) -> None:
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
    values = {k: v for k, v in values.items() if v not in ("", None)}
    values.setdefault("entry_id", derived_entry_id(values))
    try:
        loaded.entries.append(WatchlistEntry(**values, updated_at=now))
    except ValidationError as exc:
        loaded.problems.append(f"{label}: {_why(exc)}")
    except TypeError as exc:
        loaded.problems.append(f"{label}: {exc}")


def load_watchlist(text: str, now: datetime, *, as_json: bool) -> Loaded:
    loaded = Loaded()
    if as_json:
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            loaded.problems.append(f"not JSON: {exc}")
            return loaded
        if not isinstance(rows, list):
            loaded.problems.append("a JSON watchlist is a list of entries")
            return loaded
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                loaded.problems.append(f"entry {n}: not an object")
                continue
            _entry(row, f"entry {n}", now, loaded)
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = {"name", "imo", "mmsi", "callsign", "reason"} - set(reader.fieldnames or [])
        if missing:
            loaded.problems.append(f"CSV header lacks column(s): {', '.join(sorted(missing))}")
            return loaded
        for n, row in enumerate(reader, start=2):
            _entry(dict(row), f"line {n}", now, loaded)
    ids = [e.entry_id for e in loaded.entries]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        loaded.problems.append(f"entry id {dup!r} appears more than once")
    return loaded


def load_file(path: Path, now: datetime) -> Loaded:
    """Zones from .geojson (or a JSON FeatureCollection), a watchlist from .csv or .json."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_watchlist(text, now, as_json=False)
    if suffix == ".geojson":
        return load_zones(text, now)
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return Loaded(problems=[f"not JSON: {exc}"])
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            return load_zones(text, now)
        return load_watchlist(text, now, as_json=True)
    return Loaded(problems=[f"{path.name}: expected .geojson, .json or .csv"])
