"""The synthetic estate: site descriptions and per-site point lists (deterministic).

Everything here is drawn from ``numpy.random.default_rng([seed, site_index])``, so a site's
points do not depend on how many other sites the world has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

MODEL_ANALOG = 0
MODEL_BINARY = 1

INTERVALS = (30, 60, 120, 300, 600)
PROFILES = ("mixed", "uniform60")


@dataclass(frozen=True)
class SiteInfo:
    """One site as the API describes it, plus the stand-in's per-site quirks."""

    index: int  # seeds the site's random stream
    site_id: int
    name: str
    client: str
    nice_name: str
    address: str
    latitude: float
    longitude: float
    station: str
    archived: bool = False
    collect_enabled: bool = True
    #: key of the list in the points envelope: items / configured_points / points
    list_key: str = "items"
    #: ok / inflated (pages and total too high) / understated (pages=1, total=per_page)
    meta_mode: str = "ok"

    def item(self) -> dict[str, Any]:
        """The ``/sites`` item (no time-zone field, as in the real API)."""
        return {
            "id": self.site_id,
            "name": self.name,
            "client": self.client,
            "nice_name": self.nice_name,
            "address": self.address,
            "geo_location": f"{self.latitude:.6f},{self.longitude:.6f}",
            "latitude": self.latitude,
            "longitude": self.longitude,
            "mqtt_prefix": f"{self.client}/{self.name}",
            "archived": self.archived,
            "collect_enabled": self.collect_enabled,
            "vtron_ip": f"10.8.{self.index % 250}.{10 + self.index % 200}",
            "vtron_user": "volttron",
            "ibms_ip": f"192.168.{96 + self.index % 4}.3",
            "deployment_type": "aerodrome" if self.index % 2 else "standalone",
            "commissioned": f"2023-{1 + self.index % 12:02d}-15",
        }


# client, name, nice name, address, latitude, longitude, Niagara station
_CATALOGUE: tuple[tuple[str, str, str, str, float, float, str], ...] = (
    ("ses", "ses_falls_city", "Falls City Schools - CMC", "1200 Harrison St, Falls City, NE 68355",
     40.0608, -95.6019, "FallsCity_CMC"),
    ("acme", "acme_hq", "ACME Headquarters", "500 Market St, Denver, CO 80202",
     39.7487, -104.9962, "AcmeHQ_JACE1"),
    ("ses", "ses_riverside_elem", "Riverside Elementary", "41 River Rd, Humboldt, NE 68376",
     40.1647, -95.9448, "Riverside_JACE"),
    ("northwind", "northwind_dc", "Northwind Distribution Center",
     "9001 Logistics Pkwy, Joliet, IL 60436", 41.4930, -88.1500, "NWDC_Main"),
    ("harbor", "harbor_medical_tower", "Harbor Medical Tower", "3 Pier Ave, Norfolk, VA 23510",
     36.8468, -76.2852, "HMT_Station"),
    ("metro", "metro_central_library", "Metro Central Library", "100 Civic Plz, Tulsa, OK 74103",
     36.1540, -95.9928, "MCL_N4"),
    ("pinecrest", "pinecrest_ms", "Pinecrest Middle School", "2250 Pine Ridge Dr, Bend, OR 97701",
     44.0582, -121.3153, "Pinecrest_JACE2"),
    ("valley", "valley_arena", "Valley Events Arena", "77 Stadium Way, Fresno, CA 93721",
     36.7378, -119.7871, "ValleyArena_Sup"),
)
_LIST_KEYS = ("items", "configured_points", "points")
_META_MODES = ("ok", "inflated", "ok", "understated")
ARCHIVED_INDEX = 10_000
DISABLED_INDEX = 10_001


def build_sites(count: int) -> tuple[list[SiteInfo], SiteInfo, SiteInfo]:
    """``count`` active sites, one archived site, one site with collection disabled."""
    if count < 1:
        raise ValueError("a world needs at least one site")
    active: list[SiteInfo] = []
    for i in range(count):
        if i < len(_CATALOGUE):
            client, name, nice, address, lat, lon, station = _CATALOGUE[i]
        else:
            client = "fleet"
            name = f"fleet_bldg_{i:04d}"
            nice = f"Fleet Building {i}"
            address = f"{100 + i} Industrial Blvd, Omaha, NE 68102"
            lat = round(41.0 + (i % 97) / 100.0, 4)
            lon = round(-96.0 + (i % 89) / 100.0, 4)
            station = f"Bldg{i:04d}_JACE"
        active.append(
            SiteInfo(
                index=i, site_id=101 + i, name=name, client=client, nice_name=nice,
                address=address, latitude=lat, longitude=lon, station=station,
                list_key=_LIST_KEYS[i % 3], meta_mode=_META_MODES[i % 4],
            )
        )
    archived = SiteInfo(
        index=ARCHIVED_INDEX, site_id=90, name="ses_old_annex", client="ses",
        nice_name="Falls City Old Annex (demolished)",
        address="1190 Harrison St, Falls City, NE 68355",
        latitude=40.0601, longitude=-95.6025, station="OldAnnex_JACE", archived=True,
        list_key="configured_points",
    )
    disabled = SiteInfo(
        index=DISABLED_INDEX, site_id=99, name="acme_pilot_lab", client="acme",
        nice_name="ACME Pilot Lab", address="510 Market St, Denver, CO 80202",
        latitude=39.7490, longitude=-104.9958, station="AcmeLab_JACE", collect_enabled=False,
        list_key="points",
    )
    return active, archived, disabled


@dataclass(frozen=True)
class _Template:
    kind: str
    unit: str
    model: int
    base: tuple[float, float] = (0.0, 0.0)
    amp: tuple[float, float] = (0.0, 0.0)
    noise: float = 0.0
    lo: float = -1e9
    hi: float = 1e9
    decimals: tuple[int, ...] = (1,)
    markers: tuple[str, ...] = ()
    object_types: tuple[str, ...] = ("analogValue",)


def _t(kind: str, unit: str, base: tuple[float, float], amp: tuple[float, float], noise: float,
       lo: float, hi: float, decimals: tuple[int, ...], markers: tuple[str, ...],
       object_types: tuple[str, ...]) -> _Template:
    return _Template(kind, unit, MODEL_ANALOG, base, amp, noise, lo, hi, decimals, markers,
                     object_types)


def _b(markers: tuple[str, ...], object_types: tuple[str, ...]) -> _Template:
    return _Template("binary", "on/off", MODEL_BINARY, markers=markers, object_types=object_types)


_AI = ("analogInput", "analogValue")
TEMPLATES: dict[str, _Template] = {
    "zone_temp": _t("temperature", "degF", (66, 74), (1, 3), 0.3, -40, 150, (1, 2, 4),
                    ("zone", "air", "temp", "sensor"), _AI),
    "zone_sp": _t("temperature", "degF", (68, 74), (0, 2), 0.0, -40, 150, (1,),
                  ("zone", "air", "temp", "sp"), ("analogValue",)),
    "sat": _t("temperature", "degF", (52, 60), (1, 4), 0.4, -40, 150, (2, 4),
              ("discharge", "air", "temp", "sensor"), ("analogInput",)),
    "rat": _t("temperature", "degF", (68, 76), (1, 2), 0.2, -40, 150, (2, 4),
              ("return", "air", "temp", "sensor"), ("analogInput",)),
    "mat": _t("temperature", "degF", (55, 70), (2, 6), 0.5, -40, 150, (2, 4),
              ("mixed", "air", "temp", "sensor"), ("analogInput",)),
    "hwst": _t("temperature", "degF", (140, 180), (5, 12), 1.0, 0, 250, (1, 2),
               ("hot", "water", "supply", "temp", "sensor"), ("analogInput",)),
    "hwrt": _t("temperature", "degF", (120, 160), (5, 10), 1.0, 0, 250, (1, 2),
               ("hot", "water", "return", "temp", "sensor"), ("analogInput",)),
    "chwst": _t("temperature", "degF", (42, 46), (0.5, 2), 0.2, 20, 90, (2, 4),
                ("chilled", "water", "supply", "temp", "sensor"), ("analogInput",)),
    "dsp": _t("pressure", "inWC", (0.6, 1.6), (0.1, 0.3), 0.03, 0, 5, (3, 4),
              ("duct", "air", "pressure", "sensor"), ("analogInput",)),
    "loop_dp": _t("pressure", "psi", (8, 25), (1, 4), 0.5, 0, 150, (1, 2),
                  ("water", "pressure", "sensor"), ("analogInput",)),
    "damper": _t("damper", "%", (-30, 50), (20, 60), 2.0, 0, 100, (1,),
                 ("damper", "cmd"), ("analogOutput", "analogValue")),
    "valve": _t("valve", "%", (-60, 30), (20, 60), 2.0, 0, 100, (1,),
                ("valve", "cmd"), ("analogOutput",)),
    "fan_status": _b(("fan", "run", "sensor"), ("binaryInput",)),
    "fan_cmd": _b(("fan", "run", "cmd"), ("binaryOutput",)),
    "occ": _b(("occupied", "sensor"), ("binaryValue",)),
    "enable": _b(("enable", "cmd"), ("binaryValue",)),
    # weather (one feed per site, every 600 s in the mixed profile)
    "w_temp": _t("weather", "degF", (-20, 75), (8, 15), 0.5, -60, 130, (4,),
                 ("weather", "air", "temp"), ()),
    "w_humidity": _t("weather", "%RH", (40, 80), (10, 20), 1.0, 0, 100, (1,),
                     ("weather", "air", "humidity"), ()),
    "w_dewpoint": _t("weather", "degF", (-25, 60), (4, 8), 0.4, -80, 90, (4,),
                     ("weather", "air", "dewpoint"), ()),
    "w_wind_speed": _t("weather", "mph", (2, 10), (2, 6), 1.5, 0, 80, (1,),
                       ("weather", "wind", "speed"), ()),
    "w_pressure": _t("weather", "inHg", (29.6, 30.3), (0.05, 0.15), 0.01, 25, 32, (2,),
                     ("weather", "air", "pressure"), ()),
    "w_cloud_cover": _t("weather", "%", (-20, 80), (30, 60), 5.0, 0, 100, (0,),
                        ("weather", "cloud"), ()),
}
WEATHER = ("temp", "humidity", "dewpoint", "wind_speed", "pressure", "cloud_cover")

_EQUIPMENT: dict[str, tuple[tuple[str, str], ...]] = {
    "AHU": (("Supply_Air_Temp", "sat"), ("Return_Air_Temp", "rat"), ("Mixed_Air_Temp", "mat"),
            ("Duct_Static_Pressure", "dsp"), ("Exhaust_Damper", "damper"),
            ("Outside_Air_Damper", "damper"), ("Cooling_Valve_Cmd", "valve"),
            ("Heating_Valve_Cmd", "valve"), ("Supply_Fan_Status", "fan_status"),
            ("Supply_Fan_Cmd", "fan_cmd")),
    "VAV": (("Zone_Temp", "zone_temp"), ("Zone_Temp_Setpoint", "zone_sp"),
            ("Damper_Position", "damper"), ("Reheat_Valve_Cmd", "valve"), ("Occupancy", "occ")),
    "HWPlant": (("HW_Supply_Temp", "hwst"), ("HW_Return_Temp", "hwrt"),
                ("HW_Loop_Diff_Pressure", "loop_dp"), ("Boiler_1_Enable", "enable"),
                ("HW_Pump_1_Status", "fan_status")),
    "CHWPlant": (("CHW_Supply_Temp", "chwst"), ("CHW_Loop_Diff_Pressure", "loop_dp"),
                 ("Chiller_1_Enable", "enable"), ("CHW_Pump_1_Status", "fan_status")),
}
_EQUIP_WEIGHTS = (("AHU", 0.25), ("VAV", 0.5), ("HWPlant", 0.15), ("CHWPlant", 0.10))
_NETWORKS = ("LonNetwork1", "BacnetNetwork", "ModbusTcpNetwork")
_LONG_AREAS = (
    "Penthouse_Mechanical_Room_East_Serving_North_Classroom_Wing_And_Gymnasium",
    "Basement_Central_Plant_Serving_Administration_Offices_And_Media_Center",
    "Second_Floor_Open_Office_Area_Perimeter_Zone_Adjacent_To_Conference_Rooms",
)
_LONG_SUFFIXES = (
    "Sensor_Averaging_Element_Field_Calibrated_Reading",
    "Analog_Value_From_Field_Controller_Trunk_A_Override_Aware",
    "Feedback_Signal_Reported_By_Unitary_Controller",
)


@dataclass
class PointDraft:
    """Everything known about one point before it is turned into API items and arrays."""

    name: str
    template: str
    kind: str
    unit: str
    model: int
    interval_s: int
    collect_interval: int
    phase_us: int
    reporting: bool
    collect_enabled: bool
    base: float
    amp: float
    noise: float
    lo: float
    hi: float
    decimals: int
    day_phase: float
    p_on: float
    run_len: int
    z_mode: int  # 0 never "Z", 1 always "Z", 2 per sample
    point_type: str
    markers: tuple[str, ...]
    kv_tags: dict[str, str]
    bacnet: dict[str, Any] | None
    created: str
    updated: str
    collect_config: dict[str, Any] = field(default_factory=dict)


def _iso_variant(rng: np.random.Generator, when: datetime) -> str:
    """``created``/``updated`` text: usually aware ISO, sometimes naive with a space."""
    choice = int(rng.integers(0, 4))
    if choice == 0:
        return when.replace(tzinfo=None).isoformat(sep=" ")
    if choice == 1:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.isoformat()


def _intervals(rng: np.random.Generator, m: int, profile: str) -> list[int]:
    if profile == "uniform60":
        return [60] * m
    shares = {30: 0.10, 120: 0.10, 300: 0.13, 600: 0.05}
    pool: list[int] = []
    for interval, share in shares.items():
        pool += [interval] * (max(1, round(share * m)) if m >= 10 else round(share * m))
    pool = pool[:m]
    pool += [60] * (m - len(pool))
    return [int(x) for x in rng.permutation(np.array(pool, dtype=np.int64))]


def build_points(seed: int, site: SiteInfo, count: int, profile: str) -> list[PointDraft]:
    """The configured points of one site, in API order."""
    if profile not in PROFILES:
        raise ValueError(f"interval_profile must be one of {PROFILES}")
    rng = np.random.default_rng([seed, site.index])
    hidden = site.archived or not site.collect_enabled
    n = count if not hidden else min(count, 12)
    n_weather = 0 if n < 4 else min(len(WEATHER), max(1, n // 12))
    # name, template, point type, bacnet data, equipment
    slots: list[tuple[str, str, str, dict[str, Any] | None, str]] = []
    for w in WEATHER[:n_weather]:
        slots.append((f"{site.client}/{site.name}/weather/{w}", f"w_{w}", "weather", None,
                      "weather"))
    equip_names = [e for e, _ in _EQUIP_WEIGHTS]
    equip_p = np.array([p for _, p in _EQUIP_WEIGHTS])
    counters: dict[str, int] = {}
    eq = 0
    while len(slots) < n:
        etype = equip_names[int(rng.choice(len(equip_names), p=equip_p))]
        counters[etype] = counters.get(etype, 0) + 1
        number = counters[etype]
        niagara = bool(rng.random() < 0.6)
        long_names = bool(rng.random() < 0.2)
        net = (8000, 2001, 5)[eq % 3]
        mac = 10 + eq
        object_counts: dict[str, int] = {}
        ip = f"192.168.{96 + site.index % 4}.{3 + eq // 8}"
        network = _NETWORKS[eq % len(_NETWORKS)]
        if etype == "VAV":
            equip = f"VAV_{1 + number // 20}_{number % 20:02d}"
        else:
            equip = f"{etype}{number}"
        if long_names:
            equip = f"Building_{1 + eq % 3}_{_LONG_AREAS[eq % len(_LONG_AREAS)]}_{equip}"
        device_name = f"{equip[:40]}-{net}:{mac}"
        for point_name, template in _EQUIPMENT[etype]:
            if len(slots) >= n:
                break
            t = TEMPLATES[template]
            otype = t.object_types[int(rng.integers(0, len(t.object_types)))]
            object_counts[otype] = object_counts.get(otype, 0) + 1
            oindex = (100 if otype.startswith("analog") else 1) + object_counts[otype] + 1
            if niagara:
                leaf = point_name
                if long_names:
                    leaf = f"{point_name}_{_LONG_SUFFIXES[len(slots) % len(_LONG_SUFFIXES)]}"
                name = (f"{site.client}/{site.name}/{ip}/n4/{site.station}/C.Drivers.{network}."
                        f"{equip}.points.{leaf}")
                ptype = "LAN"
            else:
                name = f"{site.client}/{site.name}/{net}:{mac}-{net + mac}/{otype}/{oindex}"
                ptype = "BACnet" if len(slots) % 5 else ""
            bacnet: dict[str, Any] = {
                "device_address": f"{net}:{mac}" if not niagara else ip,
                "device_id": net + mac,
                "device_name": device_name,
                "object_type": otype,
                "object_index": oindex,
                "object_name": point_name.replace("_", " ") if niagara else f"{equip}.{point_name}",
                "object_description": f"{equip} {point_name.replace('_', ' ').lower()}",
                "scrape_interval": 0,  # filled in below
                "scrape_enabled": True,
                "present_value": "",
                "reliability": "no-fault-detected",
            }
            slots.append((name, template, ptype, bacnet, equip))
        eq += 1

    m = n - n_weather
    intervals = [600] * n_weather + _intervals(rng, m, profile)
    if profile == "uniform60":
        intervals = [60] * n
    non_reporting: set[int] = set()
    disabled: set[int] = set()
    if hidden:
        non_reporting = set(range(n))
        disabled = set(range(n)) if not site.collect_enabled else set()
    elif profile == "mixed" and m >= 5:
        k = max(1, round(0.12 * m))
        chosen = [n_weather + int(x) for x in rng.choice(m, size=k, replace=False)]
        non_reporting = set(chosen)
        disabled = set(chosen[: max(1, k // 3)])
    start = datetime(2023, 3, 1, tzinfo=UTC)
    drafts: list[PointDraft] = []
    for i, (name, template, ptype, bn, equip_name) in enumerate(slots):
        t = TEMPLATES[template]
        interval = intervals[i]
        collect_interval = interval
        if profile == "mixed" and interval == 300 and rng.random() < 0.35:
            collect_interval = 60  # configured at 1 min, arrives every 5 min
        base = float(rng.uniform(*t.base))
        amp = float(rng.uniform(*t.amp))
        decimals = int(t.decimals[int(rng.integers(0, len(t.decimals)))])
        z_draw = float(rng.random())
        z_mode = 1 if z_draw < 0.10 else (2 if z_draw < 0.20 else 0)
        created = start + timedelta(seconds=int(rng.integers(0, 400 * 86_400)),
                                    microseconds=int(rng.integers(0, 1_000_000)))
        updated = created + timedelta(seconds=int(rng.integers(0, 200 * 86_400)))
        enabled = i not in disabled
        if bn is not None:
            bn = {**bn}
            bn["scrape_interval"] = collect_interval
            bn["scrape_enabled"] = enabled
            bn["present_value"] = (
                f"{float(rng.integers(0, 2)):.1f}" if t.model == MODEL_BINARY
                else f"{round(base, max(decimals, 1))}"
            )
        kv = {"unit": t.unit, "kind": t.kind, "template": template, "equip": equip_name}
        drafts.append(
            PointDraft(
                name=name, template=template, kind=t.kind, unit=t.unit, model=t.model,
                interval_s=interval, collect_interval=collect_interval,
                phase_us=int(rng.integers(0, interval * 1_000_000)),
                reporting=i not in non_reporting, collect_enabled=enabled,
                base=base, amp=amp, noise=t.noise, lo=t.lo, hi=t.hi, decimals=decimals,
                day_phase=float(rng.uniform(0, 2 * np.pi)), p_on=float(rng.uniform(0.2, 0.8)),
                run_len=int(rng.integers(5, 120)), z_mode=z_mode, point_type=ptype,
                markers=t.markers, kv_tags=kv, bacnet=bn,
                created=_iso_variant(rng, created), updated=_iso_variant(rng, updated),
                collect_config=(
                    {} if i % 7 == 3 else
                    {"collect_enabled": enabled, "collect_interval": collect_interval,
                     "cov": t.model == MODEL_BINARY}
                ),
            )
        )
    names = [d.name for d in drafts]
    if len(set(names)) != len(names):  # pragma: no cover - a generator bug, not a runtime case
        raise RuntimeError(f"duplicate point names generated for {site.name}")
    return drafts


def point_item(draft: PointDraft, point_id: int, site: SiteInfo) -> dict[str, Any]:
    """The ``configured_points`` item of one point."""
    return {
        "id": point_id,
        "name": draft.name,
        "client": site.client,
        "site": site.name,
        "kv_tags": draft.kv_tags,
        "marker_tags": list(draft.markers),
        "bacnet_data": draft.bacnet,
        "collect_config": draft.collect_config,
        "point_type": draft.point_type,
        "collect_enabled": draft.collect_enabled,
        "collect_interval": draft.collect_interval,
        "created": draft.created,
        "updated": draft.updated,
    }
