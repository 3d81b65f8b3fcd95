"""Zones and watchlist entries from files, validated, for ``lookout config load``.

* Zones: a GeoJSON FeatureCollection, or any file GDAL reads (Shapefile, GeoPackage, KML
  ...), read with geopandas and reprojected to WGS 84; each feature has an ``id`` (or an
  ``id`` property or column), properties ``name``, ``kind`` (a ``ZoneKind``) and optional
  rule fields (``GeofenceRules``). The kind's default rules are filled in for fields not
  given, so the config topic holds complete rules.
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
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
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


ZONE_FILE_SUFFIXES = frozenset({".geojson", ".shp", ".gpkg", ".kml", ".fgb", ".gml"})
"""Zone files read with geopandas (GDAL): GeoJSON, Shapefile, GeoPackage, KML, FlatGeobuf, GML."""


def load_zones(text: str, now: datetime) -> Loaded:
    """Zones from the text of a GeoJSON FeatureCollection (the API's and the tests' path)."""
    loaded = Loaded()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        loaded.problems.append(f"not JSON: {exc}")
        return loaded
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        loaded.problems.append("not a GeoJSON FeatureCollection")
        return loaded
    return zones_of(list(doc.get("features") or []), now)


def read_zone_file(path: Path, now: datetime) -> Loaded:
    """Zones from a file, read with geopandas: any format GDAL reads (GeoJSON, Shapefile,
    GeoPackage, KML ...), reprojected to WGS 84 from the file's CRS (a file without one is
    taken as WGS 84, as GeoJSON is). A feature GDAL cannot read as a geometry (a ring that
    is not closed ...) is one problem line, the others are still checked."""
    import geopandas  # slow to import; only `lookout config load` needs it

    try:
        with warnings.catch_warnings():
            # GDAL warns of what it cannot read (an unclosed ring ...): each such feature
            # becomes a problem line below, so the warning would only say it twice.
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = geopandas.read_file(path, engine="pyogrio", on_invalid="ignore")
    except Exception as exc:  # GDAL's errors are many types; each is this file's problem
        return Loaded(problems=[f"cannot read zones: {exc}"])  # the caller names the file
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    features: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        geometry = row.pop(frame.geometry.name, None)
        props = {k: _plain(v) for k, v in row.items()}
        props = {k: v for k, v in props.items() if v is not None}
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": None if geometry is None else json.loads(shapely.to_geojson(geometry)),
            }
        )
    return zones_of(features, now)


def _plain(value: object) -> object:
    """A cell of the frame as JSON would have it: missing values None, arrays lists."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    try:
        if value != value:  # NaN, NaT
            return None
    except TypeError:  # pandas' NA will not be a truth value: missing too
        return None
    return value


def zones_of(features: list[dict[str, Any]], now: datetime) -> Loaded:
    """Validate GeoJSON-like features as zones, one problem line per bad feature."""
    loaded = Loaded()
    for n, feature in enumerate(features, start=1):
        props: dict[str, Any] = dict(feature.get("properties") or {})
        zone_id = feature.get("id", props.pop("id", None))
        label = f"feature {n}" + (f" ({zone_id})" if zone_id else "")
        if zone_id is None:
            loaded.problems.append(f"{label}: no id (feature 'id' or properties.id)")
            continue
        if feature.get("geometry") is None:
            loaded.problems.append(f"{label}: no readable polygon (is every ring closed?)")
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
    """Zones from a GIS file (or a JSON FeatureCollection), a watchlist from .csv or .json."""
    suffix = path.suffix.lower()
    if suffix in ZONE_FILE_SUFFIXES:
        return read_zone_file(path, now)
    text = path.read_text(encoding="utf-8")
    if suffix == ".csv":
        return load_watchlist(text, now, as_json=False)
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return Loaded(problems=[f"not JSON: {exc}"])
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            return read_zone_file(path, now)
        return load_watchlist(text, now, as_json=True)
    kinds = ", ".join(sorted(ZONE_FILE_SUFFIXES))
    return Loaded(problems=[f"expected zones ({kinds}), .json or .csv"])
