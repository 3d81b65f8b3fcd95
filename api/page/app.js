// The watch-floor page: the picture on a canvas, live alerts, a vessel's last 24 h.
// Plain JavaScript, no library: the basemap is Natural Earth land as TopoJSON (decoded
// below), vessels are drawn as one canvas path per colour, so 10,000 of them redraw in a
// few milliseconds. Every string comes from i18n/<lang>.json.
"use strict";

const SEVERITY_RANK = { critical: 3, high: 2, medium: 1, low: 0 };
const TYPE_COLOURS = [
  // [category, colour, ITU-R M.1371 ship types]
  ["fishing", "#f0883e", (t) => t === 30],
  ["passenger", "#58a6ff", (t) => t >= 60 && t <= 69],
  ["cargo", "#3fb950", (t) => t >= 70 && t <= 79],
  ["tanker", "#ff7b72", (t) => t >= 80 && t <= 89],
  ["tug", "#bc8cff", (t) => t === 31 || t === 32 || t === 52 || (t >= 50 && t <= 59)],
  ["government", "#e6edf3", (t) => t === 35 || t === 55],
  ["pleasure", "#ff9bce", (t) => t === 36 || t === 37],
  ["other", "#8b949e", () => true],
];

const state = {
  lang: localStorage.getItem("lookout.lang") || "en",
  strings: {},
  vessels: [], // [{mmsi, lon, lat, heading, category, props}]
  zones: [],
  alerts: new Map(),
  track: null,
  selected: null,
  view: { lon: 118.0, lat: -2.5, scale: 20 }, // scale: pixels per degree of longitude
  land: { coarse: null, fine: null },
  vesselCount: 0,
  lastDrawMs: 0,
  live: false,
  // Safety of life: distress alerts are pinned on top; a new one sounds when sound is on.
  sound: localStorage.getItem("lookout.sound") === "on",
  alarms: 0, // distress alarms sounded (read by the browser test)
  assets: [], // own and partners' shared assets, from /v1/assets
  nearest: null, // {alert, assets}: the nearest help of the clicked alert, drawn on the map
};
window.lookout = state; // read by the browser test and handy in the console

const $ = (id) => document.getElementById(id);
const canvas = $("map");
const ctx = canvas.getContext("2d");

function t(key, values) {
  let text = state.strings[key] ?? key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

async function loadLanguage(lang) {
  const response = await fetch(`/page/i18n/${lang}.json`);
  state.strings = await response.json();
  state.lang = lang;
  localStorage.setItem("lookout.lang", lang);
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  renderLegend();
  renderAlerts();
  renderVessel();
  renderCount();
  renderNearest();
  soundButton();
}

// --- TopoJSON (https://github.com/topojson/topojson-specification), just what land needs.
function topology(topo, name) {
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  const arcs = topo.arcs.map((arc) => {
    let x = 0, y = 0;
    return arc.map(([dx, dy]) => { x += dx; y += dy; return [x * sx + tx, y * sy + ty]; });
  });
  const ring = (indexes) => {
    const points = [];
    for (const i of indexes) {
      const arc = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
      points.push(...(points.length ? arc.slice(1) : arc));
    }
    return points;
  };
  // A ring that crosses the antimeridian (Fiji, Chukotka) is unwrapped to run on past
  // 180 degrees, or it would be filled as a band across the whole map. Antarctica, which
  // goes all the way round (it crosses an odd number of times), is left as it is.
  const unwrap = (points) => {
    let jumps = 0;
    for (let i = 1; i < points.length; i++) if (Math.abs(points[i][0] - points[i - 1][0]) > 180) jumps++;
    if (jumps % 2 === 1) return points; // goes round the pole
    let shift = 0;
    return points.map(([lon, lat], i) => {
      if (i > 0) {
        const step = lon + shift - (points[i - 1][0] + shift);
        if (step > 180) shift -= 360; else if (step < -180) shift += 360;
      }
      return [lon + shift, lat];
    });
  };
  const polygons = [];
  for (const g of topo.objects[name].geometries) {
    const list = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
    for (const polygon of list) polygons.push(polygon.map((r) => unwrap(ring(r))));
  }
  return polygons;
}

async function loadLand(which) {
  const response = await fetch(`/page/basemap/land-${which === "fine" ? "50m" : "110m"}.json`);
  state.land[which] = topology(await response.json(), "land");
  draw();
}

// --- Projection: equirectangular around the view's centre (latitude-corrected).
function project(lon, lat) {
  const k = Math.cos((state.view.lat * Math.PI) / 180);
  return [
    canvas.width / 2 + (lon - state.view.lon) * state.view.scale * k,
    canvas.height / 2 - (lat - state.view.lat) * state.view.scale,
  ];
}
function unproject(x, y) {
  const k = Math.cos((state.view.lat * Math.PI) / 180);
  return [
    state.view.lon + (x - canvas.width / 2) / (state.view.scale * k),
    state.view.lat - (y - canvas.height / 2) / state.view.scale,
  ];
}

function draw() {
  const started = performance.now();
  ctx.fillStyle = "#0e2a44";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const land = state.view.scale > 30 && state.land.fine ? state.land.fine : state.land.coarse;
  if (land) {
    const path = new Path2D();
    for (const polygon of land) {
      for (const ring of polygon) {
        ring.forEach(([lon, lat], i) => {
          const [x, y] = project(lon, lat);
          if (i === 0) path.moveTo(x, y); else path.lineTo(x, y);
        });
        path.closePath();
      }
    }
    ctx.fillStyle = "#22384d";
    ctx.fill(path, "evenodd");
  }
  ctx.lineWidth = 1.5;
  for (const zone of state.zones) {
    const rings = zone.geometry.type === "Polygon" ? [zone.geometry.coordinates] : zone.geometry.coordinates;
    ctx.strokeStyle = "#d29922";
    ctx.beginPath();
    for (const polygon of rings) for (const ring of polygon) {
      ring.forEach(([lon, lat], i) => {
        const [x, y] = project(lon, lat);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
    }
    ctx.stroke();
  }
  if (state.track && state.track.length > 1) {
    ctx.strokeStyle = "#ffffff";
    ctx.beginPath();
    state.track.forEach(([lon, lat], i) => {
      const [x, y] = project(lon, lat);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  // One path per colour: a few fill calls for any number of vessels.
  const size = Math.max(3, Math.min(8, state.view.scale / 6));
  for (const [category, colour] of TYPE_COLOURS) {
    ctx.fillStyle = colour;
    ctx.beginPath();
    for (const v of state.vessels) {
      if (v.category !== category) continue;
      const [x, y] = project(v.lon, v.lat);
      if (x < -10 || y < -10 || x > canvas.width + 10 || y > canvas.height + 10) continue;
      if (v.heading == null) {
        ctx.moveTo(x + size / 2, y);
        ctx.arc(x, y, size / 2, 0, 2 * Math.PI);
        continue;
      }
      const a = (v.heading * Math.PI) / 180; // clockwise from north
      const s = Math.sin(a), c = Math.cos(a);
      ctx.moveTo(x + s * size * 1.4, y - c * size * 1.4);
      ctx.lineTo(x + (-s * size - c * size * 0.7) * 0.7, y + (c * size - s * size * 0.7) * 0.7);
      ctx.lineTo(x + (-s * size + c * size * 0.7) * 0.7, y + (c * size + s * size * 0.7) * 0.7);
      ctx.closePath();
    }
    ctx.fill();
  }
  drawAssets();
  if (state.selected) {
    const [x, y] = project(state.selected.lon, state.selected.lat);
    ctx.strokeStyle = "#ffffff";
    ctx.beginPath();
    ctx.arc(x, y, 10, 0, 2 * Math.PI);
    ctx.stroke();
  }
  state.lastDrawMs = performance.now() - started;
}

// Assets: own ones filled, partners' shared ones hollow; the nearest help of the clicked
// alert as its routes (by sea around land, or straight), each from the asset to the alert.
function drawAssets() {
  for (const asset of state.assets) {
    if (asset.lat == null) continue;
    const [x, y] = project(asset.lon, asset.lat);
    ctx.strokeStyle = ctx.fillStyle = "#39d3f2";
    if (asset.own) ctx.fillRect(x - 5, y - 5, 10, 10); else ctx.strokeRect(x - 5, y - 5, 10, 10);
  }
  if (!state.nearest) return;
  ctx.save();
  ctx.strokeStyle = "#39d3f2";
  ctx.lineWidth = 2;
  ctx.setLineDash([6, 4]);
  for (const help of state.nearest.assets) {
    ctx.beginPath();
    help.route.forEach(([lat, lon], i) => {
      const [x, y] = project(lon, lat);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.restore();
  const alert = state.nearest.alert;
  const [x, y] = project(alert.lon, alert.lat);
  ctx.strokeStyle = "#ff3b30";
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.arc(x, y, 12, 0, 2 * Math.PI);
  ctx.stroke();
}

let drawPending = false;
function redraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); });
}

function resize() {
  canvas.width = canvas.clientWidth;
  canvas.height = canvas.clientHeight;
  redraw();
}

// --- Data
async function api(path, options) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { showLogin(); throw new Error("unauthorised"); }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response;
}

function category(shipType) {
  for (const [name, , test] of TYPE_COLOURS) if (shipType != null && test(shipType)) return name;
  return "other";
}

async function refreshVessels() {
  const collection = await (await api("/v1/cop/vessels")).json();
  state.vessels = collection.features.map((f) => ({
    mmsi: f.id,
    lon: f.geometry.coordinates[0],
    lat: f.geometry.coordinates[1],
    heading: f.properties.heading_deg ?? f.properties.course_deg ?? null,
    category: category(f.properties.ship_type),
    props: f.properties,
  }));
  state.vesselCount = state.vessels.length;
  renderCount();
  redraw();
}

async function refreshZones() {
  state.zones = (await (await api("/v1/cop/zones")).json()).features;
  redraw();
}

function renderCount() {
  $("count").textContent = `${state.vesselCount} ${t("vessels")}`;
}

function renderLegend() {
  $("legend").replaceChildren(...TYPE_COLOURS.map(([name, colour]) => {
    const li = document.createElement("li");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    li.append(swatch, t(`type.${name}`));
    return li;
  }));
}

// --- Alerts: newest and most severe first; closed ones leave the list.
function upsertAlert(alert) {
  const known = state.alerts.has(alert.alert_id);
  if (alert.status === "closed") state.alerts.delete(alert.alert_id);
  else state.alerts.set(alert.alert_id, alert);
  if (alert.rule === "distress" && !known && alert.status === "open") alarm();
  renderAlerts();
}

// A short three-tone alarm made by the browser (no sound file to ship); only when the
// officer turned sound on (browsers allow audio after a click, which the toggle is).
let audio = null;
function alarm() {
  if (!state.sound) return;
  state.alarms += 1;
  audio = audio || new AudioContext();
  [0, 0.35, 0.7].forEach((at) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(audio.destination);
    tone.start(audio.currentTime + at);
    tone.stop(audio.currentTime + at + 0.25);
  });
}

function soundButton() {
  $("sound").textContent = t(state.sound ? "sound.on" : "sound.off");
  $("sound").setAttribute("aria-pressed", String(state.sound));
}

$("sound").addEventListener("click", () => {
  state.sound = !state.sound;
  localStorage.setItem("lookout.sound", state.sound ? "on" : "off");
  if (state.sound) audio = audio || new AudioContext();
  soundButton();
});

const pinned = (alert) => (alert.rule === "distress" ? 1 : 0);

function renderAlerts() {
  const items = [...state.alerts.values()].sort(
    (a, b) => pinned(b) - pinned(a) || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.updated_at.localeCompare(a.updated_at),
  );
  $("no-alerts").hidden = items.length > 0;
  $("alerts").replaceChildren(...items.map((alert) => {
    const li = document.createElement("li");
    li.className = alert.rule === "distress" ? `${alert.severity} distress` : alert.severity;
    li.dataset.alertId = alert.alert_id;
    li.dataset.status = alert.status;
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = alert.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${t(`severity.${alert.severity}`)} · ${t(`status.${alert.status}`)} · ${ago(alert.updated_at)}`;
    li.append(title, meta);
    if (alert.status === "open") {
      const button = document.createElement("button");
      button.className = "ack";
      button.textContent = t("acknowledge");
      button.addEventListener("click", async (event) => {
        event.stopPropagation();
        button.disabled = true;
        const response = await api(`/v1/alerts/${alert.alert_id}/acknowledge`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ note: "" }),
        });
        upsertAlert(await response.json());
      });
      li.append(button);
    }
    li.addEventListener("click", () => {
      if (alert.lon != null) { state.view.lon = alert.lon; state.view.lat = alert.lat; redraw(); }
      // A device not (yet) in the store (a SART heard once) has no vessel card: no error.
      if (alert.mmsis.length) selectVessel(alert.mmsis[0]).catch(() => {});
      showNearest(alert).catch(() => {});
    });
    return li;
  }));
}

// The nearest available assets the officer may see, ranked by time to reach (by sea).
async function showNearest(alert) {
  if (alert.lon == null) { state.nearest = null; renderNearest(); redraw(); return; }
  const assets = await (await api(`/v1/alerts/${alert.alert_id}/nearest-assets`)).json();
  state.nearest = { alert, assets };
  renderNearest();
  redraw();
}

function renderNearest() {
  const help = state.nearest;
  $("nearest").hidden = !help;
  if (!help) return;
  $("nearest-none").hidden = help.assets.length > 0;
  $("nearest-list").replaceChildren(...help.assets.map((asset) => {
    const li = document.createElement("li");
    li.dataset.assetId = asset.asset_id;
    li.className = asset.own ? "own" : "partner";
    li.textContent = t("nearest.item", {
      name: asset.name,
      agency: asset.own ? t("nearest.own") : asset.agency_id,
      nm: asset.distance_nm.toFixed(1),
      min: Math.round(asset.time_to_reach_min),
      method: t(`nearest.${asset.method}`),
    });
    return li;
  }));
}

async function refreshAssets() {
  state.assets = await (await api("/v1/assets")).json();
  redraw();
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 120) return t("ago.s", { n: Math.round(s) });
  if (s < 7200) return t("ago.m", { n: Math.round(s / 60) });
  return t("ago.h", { n: Math.round(s / 3600) });
}

async function loadAlerts() {
  const params = "status=open&status=acknowledged&status=escalated&limit=500";
  const page = await (await api(`/v1/alerts?${params}`)).json();
  state.alerts.clear();
  for (const alert of page.items) state.alerts.set(alert.alert_id, alert);
  renderAlerts();
}

let source = null;
function followAlerts() {
  if (source) source.close();
  // EventSource sends the session cookie and, on reconnecting, Last-Event-ID by itself.
  source = new EventSource("/v1/alerts/stream");
  source.addEventListener("alert", (event) => upsertAlert(JSON.parse(event.data)));
  source.onopen = () => { state.live = true; liveBadge(); };
  source.onerror = () => { state.live = false; liveBadge(); };
}
function liveBadge() {
  $("live").textContent = state.live ? t("alerts.live") : t("alerts.offline");
  $("live").className = state.live ? "" : "offline";
}

// --- A vessel: identity and last 24 h
async function selectVessel(mmsi) {
  const [vessel, track] = await Promise.all([
    api(`/v1/vessels/${mmsi}`).then((r) => r.json()),
    api(`/v1/vessels/${mmsi}/track?max_points=2000`).then((r) => r.json()),
  ]);
  state.selected = vessel;
  const line = track.features.find((f) => f.geometry.type === "LineString");
  state.track = line ? line.geometry.coordinates : [];
  state.trackPoints = track.properties.returned_points;
  renderVessel();
  redraw();
}

function renderVessel() {
  const v = state.selected;
  $("vessel").hidden = !v;
  if (!v) return;
  const rows = [
    ["vessel.mmsi", v.mmsi], ["vessel.name", v.name], ["vessel.callsign", v.callsign],
    ["vessel.imo", v.imo], ["vessel.type", v.ship_type != null ? `${v.ship_type} · ${t(`type.${category(v.ship_type)}`)}` : null],
    ["vessel.speed", v.speed_kn], ["vessel.course", v.course_deg],
    ["vessel.seen", v.time ? ago(v.time) : null],
  ];
  $("vessel-facts").replaceChildren(...rows.flatMap(([key, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = t(key);
    const dd = document.createElement("dd");
    dd.textContent = value ?? "–";
    return [dt, dd];
  }));
  $("vessel-track").textContent = t("vessel.track", { n: state.trackPoints ?? 0 });
}

// --- Map interaction: drag to pan, wheel to zoom, click a vessel.
let drag = null;
canvas.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, y: e.offsetY, moved: false }; });
canvas.addEventListener("mousemove", (e) => {
  if (!drag) return;
  const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
  const k = Math.cos((state.view.lat * Math.PI) / 180);
  state.view.lon -= dx / (state.view.scale * k);
  state.view.lat += dy / state.view.scale;
  drag.x = e.offsetX; drag.y = e.offsetY;
  redraw();
});
canvas.addEventListener("mouseup", (e) => {
  const click = drag && !drag.moved;
  drag = null;
  if (!click) return;
  let best = null, bestDistance = 100; // within 10 px
  for (const v of state.vessels) {
    const [x, y] = project(v.lon, v.lat);
    const d = (x - e.offsetX) ** 2 + (y - e.offsetY) ** 2;
    if (d < bestDistance) { best = v; bestDistance = d; }
  }
  if (best) selectVessel(best.mmsi);
});
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const [lon, lat] = unproject(e.offsetX, e.offsetY);
  state.view.scale = Math.min(2000, Math.max(2, state.view.scale * (e.deltaY < 0 ? 1.25 : 0.8)));
  const [lon2, lat2] = unproject(e.offsetX, e.offsetY);
  state.view.lon += lon - lon2;
  state.view.lat += lat - lat2;
  if (state.view.scale > 30 && !state.land.fine) loadLand("fine");
  redraw();
}, { passive: false });
$("vessel-close").addEventListener("click", () => { state.selected = null; state.track = null; renderVessel(); redraw(); });

// --- Session
function showLogin() {
  if (!$("login").open) $("login").showModal();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/v1/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: $("key").value }),
  });
  if (!response.ok) { $("login-error").textContent = t("login.failed"); return; }
  $("key").value = "";
  $("login-error").textContent = "";
  $("login").close();
  start(await response.json());
});

$("logout").addEventListener("click", async () => {
  await fetch("/v1/session", { method: "DELETE" });
  if (source) source.close();
  location.reload();
});

$("lang").addEventListener("change", (e) => loadLanguage(e.target.value));

let timer = null;
async function start(me) {
  $("who").textContent = `${me.agency} · ${me.role}`;
  $("logout").hidden = false;
  await Promise.all([refreshVessels(), refreshZones(), loadAlerts(), refreshAssets()]);
  followAlerts();
  clearInterval(timer);
  timer = setInterval(() => {
    refreshVessels().catch(() => {});
    refreshAssets().catch(() => {});
  }, 10000);
}

window.addEventListener("resize", resize);
(async () => {
  await loadLanguage(state.lang);
  resize();
  loadLand("coarse");
  const me = await fetch("/v1/me", { credentials: "same-origin" });
  if (me.ok) start(await me.json()); else showLogin();
})();
