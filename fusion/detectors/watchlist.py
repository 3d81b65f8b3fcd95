"""Watchlist: a vessel's MMSI, IMO or call sign equals a watchlist entry's, or its name is
close to the entry's name.

Names are compared after normalising (upper case, punctuation and the MV / MT / KM / KMN /
FV / FB prefixes dropped, spaces collapsed) with rapidfuzz's ratio, at
``watchlist_name_min_score`` or more. One alert per vessel and entry: opened on the first
match, updated with the vessel's latest position (at most once per cooldown), closed when
the entry is deleted or expires. The alert says which field matched and the score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from fusion.detectors.base import Detector, PositionInput, StaticInput, fix_evidence, vessel_label
from fusion.engine import AlertEngine
from fusion.settings import FusionSettings
from fusion.tracks import Identity, ShardState, Track
from schemas.alerts import AlertRule
from schemas.config import WatchlistEntry

NAME_PREFIXES = frozenset({"MV", "MT", "KM", "KMN", "FV", "FB", "M/V", "M/T", "F/V", "F/B"})
_PUNCTUATION = re.compile(r"[^A-Z0-9 ]+")


def normalise_name(name: str) -> str:
    """'K.M. Sinar-Jaya  01' -> 'SINAR JAYA 01'."""
    words = name.upper().replace("/", "").split()
    while words and _PUNCTUATION.sub("", words[0]) in NAME_PREFIXES:
        words = words[1:]
    return " ".join(_PUNCTUATION.sub(" ", " ".join(words)).split())


@dataclass(frozen=True)
class Match:
    entry: WatchlistEntry
    field: str
    value: str
    score: float


@dataclass
class WatchlistIndex:
    """The watchlist as lookup tables."""

    entries: dict[str, WatchlistEntry] = field(default_factory=dict)
    by_mmsi: dict[int, list[WatchlistEntry]] = field(default_factory=dict)
    by_imo: dict[int, list[WatchlistEntry]] = field(default_factory=dict)
    by_callsign: dict[str, list[WatchlistEntry]] = field(default_factory=dict)
    names: list[tuple[str, WatchlistEntry]] = field(default_factory=list)

    @classmethod
    def of(cls, entries: list[WatchlistEntry]) -> WatchlistIndex:
        index = cls({e.entry_id: e for e in entries})
        for entry in sorted(entries, key=lambda e: e.entry_id):
            if entry.mmsi is not None:
                index.by_mmsi.setdefault(entry.mmsi, []).append(entry)
            if entry.imo is not None:
                index.by_imo.setdefault(entry.imo, []).append(entry)
            if entry.callsign:
                index.by_callsign.setdefault(entry.callsign.upper(), []).append(entry)
            if entry.name and normalise_name(entry.name):
                index.names.append((normalise_name(entry.name), entry))
        return index

    def match_identity(self, identity: Identity, min_score: float) -> list[Match]:
        found: list[Match] = []
        if identity.imo is not None:
            found += [
                Match(e, "imo", str(identity.imo), 100.0) for e in self.by_imo.get(identity.imo, [])
            ]
        if identity.callsign:
            cs = identity.callsign.upper()
            found += [Match(e, "callsign", cs, 100.0) for e in self.by_callsign.get(cs, [])]
        if identity.name and self.names:
            name = normalise_name(identity.name)
            if name:
                for choice, score, index in process.extract(
                    name,
                    [n for n, _ in self.names],
                    scorer=fuzz.ratio,
                    score_cutoff=min_score,
                    limit=None,
                ):
                    del choice
                    found.append(
                        Match(self.names[index][1], "name", identity.name, round(score, 1))
                    )
        return found


def _live(entry: WatchlistEntry, t: float) -> bool:
    return entry.expires_at is None or t < entry.expires_at.timestamp()


class WatchlistDetector(Detector):
    def __init__(
        self, settings: FusionSettings, engine: AlertEngine, index: WatchlistIndex
    ) -> None:
        super().__init__(settings, engine)
        self.index = index

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        fix = position.fix
        for entry in self.index.by_mmsi.get(track.mmsi, ()):
            if _live(entry, fix.t):
                self._matched(
                    state, track, Match(entry, "mmsi", str(track.mmsi), 100.0), fix.t, position
                )
        if not track.watch:
            return
        # Entries matched earlier by name / IMO / call sign follow the vessel's position.
        for entry_id in self._open_entries(state, track):
            known = self.index.entries.get(entry_id)
            if known is not None and known.mmsi != track.mmsi:
                self.engine.update(
                    state,
                    AlertRule.WATCHLIST,
                    f"{track.mmsi}:{entry_id}",
                    at_t=fix.t,
                    lat=fix.lat,
                    lon=fix.lon,
                    evidence={
                        **self._opened_evidence(state, track, entry_id),
                        "position": fix_evidence(fix),
                    },
                )

    def on_static(
        self, state: ShardState, track: Track, static: StaticInput, before: Identity
    ) -> None:
        for match in self.index.match_identity(
            track.identity, self.settings.watchlist_name_min_score
        ):
            if _live(match.entry, static.t):
                self._matched(state, track, match, static.t, None)

    def expire(self, state: ShardState, watermark_t: float) -> None:
        """Close the alerts of entries that expired before the watermark (checked once per
        batch: the close carries the expiry time, whenever it is noticed)."""
        for key in [k for k in state.alerts if k.startswith(AlertRule.WATCHLIST.value + "|")]:
            opened = state.alerts[key]
            entry_id = opened.subject.split(":", 1)[1]
            entry = self.index.entries.get(entry_id)
            if entry is not None and entry.expires_at is not None and not _live(entry, watermark_t):
                self.engine.close(
                    state, AlertRule.WATCHLIST, opened.subject, at_t=entry.expires_at.timestamp()
                )

    def entry_removed(self, state: ShardState, entry_id: str, at_t: float) -> None:
        for key in [k for k in state.alerts if k.startswith(AlertRule.WATCHLIST.value + "|")]:
            opened = state.alerts[key]
            if opened.subject.split(":", 1)[1] == entry_id:
                self.engine.close(state, AlertRule.WATCHLIST, opened.subject, at_t=at_t)

    @staticmethod
    def _open_entries(state: ShardState, track: Track) -> list[str]:
        """The entries with an open alert for this vessel (kept on the track: scanning
        every open alert per position cost more than all the rest of fusion)."""
        prefix = f"{AlertRule.WATCHLIST.value}|{track.mmsi}:"
        track.watch = [e for e in track.watch if prefix + e in state.alerts]
        return sorted(track.watch)

    @staticmethod
    def _opened_evidence(state: ShardState, track: Track, entry_id: str) -> dict[str, object]:
        opened = state.alerts.get(f"{AlertRule.WATCHLIST.value}|{track.mmsi}:{entry_id}")
        return dict(opened.fields.get("evidence", {})) if opened is not None else {}

    def _matched(
        self,
        state: ShardState,
        track: Track,
        match: Match,
        t: float,
        position: PositionInput | None,
    ) -> None:
        entry = match.entry
        subject = f"{track.mmsi}:{entry.entry_id}"
        # A match on a static report carries no position: which positions were read
        # before it depends on batching; the vessel's next position updates the alert.
        fix = position.fix if position is not None else None
        evidence: dict[str, object] = {
            "entry_id": entry.entry_id,
            "matched_field": match.field,
            "matched_value": match.value,
            "score": match.score,
            "reason": entry.reason,
            "provenance": entry.provenance,
        }
        if fix is not None:
            evidence["position"] = fix_evidence(fix)
        if self.engine.is_open(state, AlertRule.WATCHLIST, subject):
            if fix is not None:
                self.engine.update(
                    state,
                    AlertRule.WATCHLIST,
                    subject,
                    at_t=t,
                    lat=fix.lat,
                    lon=fix.lon,
                    evidence={
                        **self._opened_evidence(state, track, entry.entry_id),
                        "position": fix_evidence(fix),
                    },
                )
            return
        name = vessel_label(track.mmsi, track.identity.name)
        if entry.entry_id not in track.watch:
            track.watch.append(entry.entry_id)
        self.engine.open(
            state,
            AlertRule.WATCHLIST,
            subject,
            started_t=t,
            severity=entry.severity.value,
            score=match.score / 100.0,
            title=f"{name}: watchlist {match.field} match ({entry.reason})",
            mmsis=[track.mmsi],
            lat=None if fix is None else fix.lat,
            lon=None if fix is None else fix.lon,
            evidence=evidence,
        )
