"""Settings of the fusion service (environment prefix ``LOOKOUT_FUSION_``).

Every detector threshold is here, typed, with its unit and the source of its default.
Zone rules (``schemas.config.GeofenceRules``) override some of them per zone.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

HOUR_S = 3600.0


class FusionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_FUSION_", extra="ignore")

    # --- the service -------------------------------------------------------------------
    group: str = Field(default="fusion", description="Consumer group of the fusion service.")
    batch_max_records: int = Field(default=5000, ge=1, description="Records per micro-batch.")
    poll_timeout_s: float = Field(default=0.5, gt=0, description="Longest wait for a batch, s.")
    checkpoint_every_records: int = Field(
        default=20_000,
        ge=1,
        description="Checkpoint state and commit offsets after this many records (and on "
        "every revocation); a restart re-reads at most this many.",
    )
    held_max_records: int = Field(
        default=10_000,
        ge=1,
        description="Records buffered per input partition while fusion waits for another "
        "input to catch up in event time; past this, fetching from that partition pauses "
        "until it drains (Kafka Streams' buffered.records.per.partition, 1000 there; here two "
        "micro-batches of the default size, as fusion fetches 5000 records at a time).",
    )
    retry_initial_s: float = Field(
        default=0.5, gt=0, description="First wait after a failed publish or checkpoint."
    )
    retry_max_s: float = Field(default=15.0, gt=0, description="Longest wait between retries.")
    allowed_lateness_s: float = Field(
        default=60.0,
        ge=0,
        description="Watermark = latest event time seen minus this, s. Positions older than "
        "the watermark are late: counted and not applied (receivers forward within seconds; "
        "quix-streams' grace period habit).",
    )
    update_cooldown_s: float = Field(
        default=HOUR_S,
        ge=0,
        description="An open alert publishes new evidence at most this often, event time, s "
        "(opening and closing are never held back).",
    )

    # --- geofence ----------------------------------------------------------------------
    geofence_hysteresis_m: float = Field(
        default=200.0,
        ge=0,
        description="A vessel inside a zone counts as leaving only once this far outside "
        "it, so GPS jitter on the border does not flap (AIS class A fixes are ~10 m; "
        "200 m is two ship lengths).",
    )
    geofence_dwell_s: float = Field(
        default=2 * HOUR_S,
        gt=0,
        description="Dwell alert after this long inside a zone whose rules ask for dwell "
        "without a time (GFW loitering duration, 2 h).",
    )

    # --- AIS gap -----------------------------------------------------------------------
    gap_s: float = Field(
        default=12 * HOUR_S,
        gt=0,
        description="Silence longer than this is a gap, s (Global Fishing Watch AIS "
        "disabling events: 12 h).",
    )
    gap_min_shore_nm: float = Field(
        default=50.0,
        ge=0,
        description="Only gaps starting at least this far from shore, nm (GFW: 50 nm).",
    )
    gap_coverage_slack_s: float = Field(
        default=600.0,
        ge=0,
        description="For the coverage check, a station counts as heard during a vessel's "
        "silence only if heard this long after the vessel's last fix, s: the other vessels "
        "of an outage fall silent within one reporting interval of each other (class B and "
        "anchored class A report every 3 min; 10 min leaves margin).",
    )
    gap_coverage_check: bool = Field(
        default=True,
        description="A gap whose receiving station fell silent too is a coverage gap, not a "
        "vessel going dark: no alert.",
    )

    # --- loitering ---------------------------------------------------------------------
    loiter_max_speed_kn: float = Field(
        default=2.0, gt=0, description="Loitering speed ceiling, kn (GFW loitering: 2 kn)."
    )
    loiter_min_s: float = Field(
        default=2 * HOUR_S, gt=0, description="Loitering at least this long, s (GFW: 2 h)."
    )
    loiter_min_shore_nm: float = Field(
        default=20.0, ge=0, description="Loitering at least this far from shore, nm (GFW: 20 nm)."
    )

    # --- rendezvous --------------------------------------------------------------------
    rendezvous_max_distance_m: float = Field(
        default=500.0, gt=0, description="Two vessels this close, m (GFW encounters: 500 m)."
    )
    rendezvous_max_speed_kn: float = Field(
        default=2.0, gt=0, description="Both slower than this, kn (GFW encounters: 2 kn)."
    )
    rendezvous_min_s: float = Field(
        default=2 * HOUR_S, gt=0, description="Together at least this long, s (GFW: 2 h)."
    )
    rendezvous_min_shore_nm: float = Field(
        default=5.4,
        ge=0,
        description="Only encounters at least this far from shore, nm (GFW's public "
        "encounters layer leaves out the 10 km nearest the coast; 0: anywhere but in a port "
        "or anchorage zone).",
    )
    rendezvous_max_fix_age_s: float = Field(
        default=600.0,
        gt=0,
        description="Two vessels are compared only while each one's latest slow fix is at "
        "most this old, s; a pair not seen together for this long has parted (GFW resamples "
        "tracks to 10 minutes for its encounters).",
    )

    # --- the cell stage (rendezvous, dark target) ----------------------------------------
    cell_group: str = Field(
        default="fusion-cells", description="Consumer group of the cell stage (fusion.cells)."
    )
    cell_deg: float = Field(
        default=0.1,
        gt=0,
        description="Grid cell of the pair detectors, degrees (~11 km: far above the 2 km "
        "and 500 m pair distances, so a pair is always in one cell or a neighbour's).",
    )

    # --- spoofing / identity -----------------------------------------------------------
    spoof_max_speed_kn: float = Field(
        default=50.0,
        gt=0,
        description="Implied speed between consecutive fixes above this is impossible, kn "
        "(AISdb's denoiser bound: 50 kn).",
    )
    spoof_min_jump_m: float = Field(
        default=1852.0,
        ge=0,
        description="Only jumps longer than this count, m, so GPS noise between fixes a "
        "second apart is not a jump (1 nm).",
    )
    spoof_min_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Fixes closer in time than this are judged as this far apart, s (AIS "
        "reception times have one-second resolution).",
    )

    spoof_clear_s: float = Field(
        default=6 * HOUR_S,
        gt=0,
        description="A spoofing alert closes after this long of consistent track, s (a "
        "quarter day: long enough that an MMSI shared by two vessels keeps jumping).",
    )

    # --- watchlist ---------------------------------------------------------------------
    watchlist_name_min_score: float = Field(
        default=90.0,
        ge=0,
        le=100,
        description="A vessel name matches a watchlist name at this rapidfuzz ratio or more "
        "(after normalising case, punctuation and MV/MT/KM/KMN/FV/FB prefixes).",
    )

    # --- dark target -------------------------------------------------------------------
    dark_target_radius_m: float = Field(
        default=2000.0,
        gt=0,
        description="A sighting with no AIS position within this distance is dark, m.",
    )
    dark_target_window_s: float = Field(
        default=1800.0,
        gt=0,
        description="...within this time before it (and a position this long after it "
        "closes the alert as matched), s (30 min).",
    )
    dark_target_history_s: float = Field(
        default=3600.0,
        gt=0,
        description="How long a cell keeps positions to judge sightings that arrive late, s "
        "(the 30 min window plus 30 min for a report to come in). A sighting older than that "
        "still raises its alert, marked as judged on incomplete AIS history.",
    )
    dark_target_sample_s: float = Field(
        default=60.0,
        ge=0,
        description="A cell keeps one position per vessel per this many seconds for the "
        "dark-target rule (a vessel at 30 kn covers 0.93 km in 60 s, within half the 2 km "
        "radius; class A AIS reports every 2-10 s under way).",
    )

    report_max_inland_nm: float = Field(
        default=5.0,
        ge=0,
        description="A sighting farther than this inside the land is refused (dead letter, "
        "with the reason), nm. Natural Earth 1:50m land puts some beaches a mile inland and "
        "fills estuaries; 5 nm keeps those and refuses a mistyped position.",
    )

    # --- distress (safety of life) ---------------------------------------------------------
    distress_cluster_radius_nm: float = Field(
        default=2.0,
        gt=0,
        description="A distress signal this close to a device still heard in an open "
        "incident joins it, nm (survivors of one boat drift together; an AIS-SART is "
        "detected at about 5 nm, IMO MSC.246(83), so 2 nm keeps two scenes apart).",
    )
    distress_device_silence_s: float = Field(
        default=600.0,
        gt=0,
        description="A device or report not heard for this long leaves an incident's active "
        "count, s (an active AIS-SART transmits every minute, IEC 61097-14: ten missed).",
    )
    distress_close_after_s: float = Field(
        default=6 * HOUR_S,
        gt=0,
        description="An incident with nothing heard for this long closes, s (a watch officer "
        "has long since taken it over).",
    )
    distress_persons_threshold: int = Field(
        default=20,
        ge=0,
        description="A report of more persons on board than this, on a vessel described as "
        "small, overcrowded or unseaworthy, is distress (issue 17; a 10-15 m wooden boat "
        "carries a crew of a few).",
    )
    distress_vessel_words: list[str] = Field(
        default=["small", "overcrowded", "over-crowded", "crowded", "unseaworthy", "sinking"],
        description="Words of a report's vessel description that make many persons on "
        "board distress (matched as whole words, any case).",
    )

    # --- shore ------------------------------------------------------------------------
    shore_search_nm: float = Field(
        default=100.0,
        gt=0,
        description="Distances to shore are computed up to this, nm; farther counts as this.",
    )
