// The watch-floor page: the picture on a canvas, live alerts, a vessel's last 24 h.
// Plain JavaScript, no library. It stays smooth with 10,000 vessels (bench/page):
// - the COP and the basemap are fetched and parsed by a worker (cop-worker.js), which hands
//   over typed arrays, so a refresh never stalls the map;
// - vessels are stamped as small pre-rendered sprites straight into one pixel buffer, put
//   on the canvas in one drawImage: measured in headless chromium (software raster), one
//   canvas path per colour of 10,000 triangles took about 100 ms a frame to rasterise,
//   while with the pixel buffer 10,000 vessels pan at the empty map's frame rate
//   (bench/RESULTS.md, "Watch-floor page");
// - vessels arrive sorted by ship-type category (one colour over a contiguous range), with
//   screen coordinates computed in the same pass (no object or array per vessel per frame);
// - land is one Path2D in degrees, built once, drawn through the canvas transform;
// - zoomed out, a vessel is a 3 px square (a heading would not show); zoomed in, a
//   triangle along its heading; further in, with its name;
// - a click finds its vessel through a grid of cells, not a scan of every vessel.
// Every string comes from i18n/<lang>.json; ship-type colours from categories.js.
"use strict";

const SEVERITY_RANK = { critical: 3, high: 2, medium: 1, low: 0 };
const SEA = "#0e2a44";
const LAND = "#22384d";
// Pixels per degree of longitude from which the finer basemap (1:50m) is drawn.
const FINE_LAND_SCALE = 30;
// Headings show from this zoom (px per degree), or whenever few vessels are on screen; names
// from LABEL_SCALE when at most MAX_LABELS are on screen (more would be unreadable anyway).
const HEADING_SCALE = 40;
const HEADING_MAX_VESSELS = 2000;
const LABEL_SCALE = 150;
const MAX_LABELS = 300;
// Hit-testing grid: cells of this many degrees (about 28 km; tens of vessels each at most).
const CELL_DEG = 0.25;
const CLICK_RADIUS_PX = 10;
// The COP is refreshed every 10 s, or every refresh_s seconds given in the page's address
// (/?refresh_s=30 on a slow link): as the vessels heard since the last refresh (and
// DELTA_MARGIN_S before, for reports still on their way to the store), whole every
// FULL_EVERY refreshes: a report that reached the store later than the margin, and a
// vessel gone from it, show by then. 10,000 vessels are about 4 MB of GeoJSON: a watch
// floor's link should not carry that every 10 seconds.
const REFRESH_MS = 1000 * (Number(new URLSearchParams(location.search).get("refresh_s")) || 10);
const DELTA_MARGIN_S = 30;
const FULL_EVERY = 6;

const state = {
  lang: localStorage.getItem("lookout.lang") || "en",
  strings: {},
  // The COP as typed arrays from the worker, sorted by category (see cop-worker.js), with
  // screen coordinates of the last frame (sx, sy) and the hit-testing grid.
  fleet: { n: 0, starts: new Int32Array(TYPE_COLOURS.length + 1) },
  zones: [],
  alerts: new Map(),
  closed: new Map(),  // alert id -> updated_at of its closing, as the stream told it
  track: null,
  selected: null,
  view: { lon: 118.0, lat: -2.5, scale: 20 }, // scale: pixels per degree of longitude
  land: { coarse: null, fine: null },
  vesselCount: 0,
  lastDrawMs: 0,
  onScreen: 0, // vessels in the last frame
  copError: null, // why the last COP refresh failed, shown until one succeeds
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
const ctx = canvas.getContext("2d", { alpha: false });

// --- The worker: each question numbered, its answer (typed arrays) matched by number.
const worker = new Worker("/page/cop-worker.js");
const waiting = new Map();
let asked = 0;
function ask(kind, url, full) {
  return new Promise((resolve, reject) => {
    asked += 1;
    waiting.set(asked, { resolve, reject });
    worker.postMessage({ id: asked, kind, url, full });
  });
}
worker.onerror = (event) => { // the worker itself failed: every question waiting fails
  for (const asker of waiting.values()) asker.reject(new Error(event.message || "worker failed"));
  waiting.clear();
};
worker.onmessage = (event) => {
  const answer = event.data;
  const asker = waiting.get(answer.id);
  waiting.delete(answer.id);
  if (answer.status === 200) { asker.resolve(answer); return; }
  if (answer.status === 401) showLogin();
  asker.reject(new Error(answer.error || `HTTP ${answer.status}`));
};

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

// --- Basemap: rings of lon, lat from the worker, one Path2D in degrees (y = -lat), drawn
// through the canvas transform: the map pans and zooms without touching a vertex in script.
const landAsked = {};
async function loadLand(which) {
  if (landAsked[which]) return;
  landAsked[which] = true;
  let answer;
  try {
    answer = await ask("land", `/page/basemap/land-${which === "fine" ? "50m" : "110m"}.json`);
  } catch (error) {
    landAsked[which] = false; // asked again on the next zoom
    console.warn(`basemap ${which}: ${error}`);
    return;
  }
  const { coords, ringEnds } = answer;
  const path = new Path2D();
  let start = 0;
  for (const end of ringEnds) {
    path.moveTo(coords[2 * start], -coords[2 * start + 1]);
    for (let i = start + 1; i < end; i++) path.lineTo(coords[2 * i], -coords[2 * i + 1]);
    path.closePath();
    start = end;
  }
  state.land[which] = path;
  redraw();
}

// --- Projection: equirectangular around the view's centre (latitude-corrected).
function project(lon, lat) {
  const k = Math.cos((state.view.lat * Math.PI) / 180);
  return [
    canvas.width / 2 + (lon - state.view.lon) * state.view.scale * k,
    canvas.height / 2 - (lat - state.view.lat) * state.view.scale,
  ];
}
// The view as x = lon * a + bx, y = by - lat * s: one multiply-add per coordinate.
function viewTransform() {
  const s = state.view.scale;
  const a = s * Math.cos((state.view.lat * Math.PI) / 180);
  return { a, s, bx: canvas.width / 2 - state.view.lon * a, by: canvas.height / 2 + state.view.lat * s };
}
state.project = project; // the browser test finds a vessel on screen with it
function unproject(x, y) {
  const k = Math.cos((state.view.lat * Math.PI) / 180);
  return [
    state.view.lon + (x - canvas.width / 2) / (state.view.scale * k),
    state.view.lat - (y - canvas.height / 2) / state.view.scale,
  ];
}

function draw() {
  const started = performance.now();
  const W = canvas.width, H = canvas.height;
  const view = viewTransform();
  ctx.fillStyle = SEA;
  ctx.fillRect(0, 0, W, H);
  const land = view.s > FINE_LAND_SCALE && state.land.fine ? state.land.fine : state.land.coarse;
  if (land) {
    ctx.setTransform(view.a, 0, 0, view.s, view.bx, view.by);
    ctx.fillStyle = LAND;
    ctx.fill(land, "evenodd");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
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
  drawFleet(view, W, H);
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

// --- Vessel sprites: a shape's pixels (offset and coverage) rendered once per size with the
// canvas's own antialiasing, all shapes of a size side by side on one canvas read back once,
// then stamped into the vessel layer's pixel buffer. Shapes 0 .. HEADING_STEPS - 1 are
// triangles along a heading; then a dot (no heading) and a square (zoomed out).
const DOT = HEADING_STEPS, SQUARE = HEADING_STEPS + 1;
const spriteSets = new Map();
function spritesOf(size) {
  if (spriteSets.has(size)) return spriteSets.get(size);
  const r = Math.ceil(size * 1.4) + 1, d = 2 * r + 1, shapes = SQUARE + 1;
  const g = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  g.canvas.width = d * shapes;
  g.canvas.height = d;
  g.fillStyle = "#fff";
  for (let shape = 0; shape < shapes; shape++) {
    const x = shape * d + r + 0.5, y = r + 0.5; // the centre of the vessel's own pixel
    g.beginPath();
    if (shape === SQUARE) g.rect(x - 1.5, y - 1.5, 3, 3);
    else if (shape === DOT) g.arc(x, y, size / 2, 0, 2 * Math.PI);
    else {
      const a = (shape * 2 * Math.PI) / HEADING_STEPS; // clockwise from north
      const sn = Math.sin(a), cs = Math.cos(a);
      g.moveTo(x + sn * size * 1.4, y - cs * size * 1.4);
      g.lineTo(x + (-sn * size - cs * size * 0.7) * 0.7, y + (cs * size - sn * size * 0.7) * 0.7);
      g.lineTo(x + (-sn * size + cs * size * 0.7) * 0.7, y + (cs * size + sn * size * 0.7) * 0.7);
      g.closePath();
    }
    g.fill();
  }
  const alpha = g.getImageData(0, 0, d * shapes, d).data;
  const set = [];
  for (let shape = 0; shape < shapes; shape++) {
    const dx = [], dy = [], cover = [];
    for (let row = 0; row < d; row++) {
      for (let col = 0; col < d; col++) {
        const c = alpha[4 * (row * d * shapes + shape * d + col) + 3];
        if (c) { dx.push(col - r); dy.push(row - r); cover.push(c); }
      }
    }
    set.push({ dx, dy, cover: Uint32Array.from(cover, (c) => c << 24), offsets: null, stride: 0 });
  }
  set.r = r;
  spriteSets.set(size, set);
  return set;
}

// The vessel layer: a pixel buffer with a margin a sprite never overruns, on its own canvas.
const MARGIN = 32;
const layer = { canvas: document.createElement("canvas"), image: null, pixels: null, width: 0 };
function layerFor(W, H) {
  if (layer.image && layer.canvas.width === W + 2 * MARGIN && layer.canvas.height === H + 2 * MARGIN) return layer;
  layer.canvas.width = layer.width = W + 2 * MARGIN;
  layer.canvas.height = H + 2 * MARGIN;
  layer.context = layer.canvas.getContext("2d");
  layer.image = layer.context.createImageData(layer.canvas.width, layer.canvas.height);
  layer.pixels = new Uint32Array(layer.image.data.buffer);
  return layer;
}
// Category colours as little-endian RGBA words without alpha (the sprite gives it).
const CATEGORY_RGB = TYPE_COLOURS.map(([, colour]) => {
  const n = parseInt(colour.slice(1), 16);
  return ((n & 0xff) << 16) | (n & 0xff00) | (n >> 16);
});

// One pass over the vessels, a category (colour) at a time: screen position computed inline
// (kept in sx, sy for the names), off-screen vessels skipped, the sprite stamped into the
// buffer (a stronger coverage wins where two overlap); then one drawImage.
function drawFleet({ a, s, bx, by }, W, H) {
  const f = state.fleet;
  if (!f.n) { state.onScreen = 0; return; }
  const headings = s >= HEADING_SCALE || state.onScreen <= HEADING_MAX_VESSELS;
  const size = Math.round(Math.max(3, Math.min(8, s / 6)));
  const { pixels, width } = layerFor(W, H);
  pixels.fill(0);
  const shapes = spritesOf(size);
  for (const sp of shapes) {
    if (sp.stride === width) continue;
    sp.offsets = Int32Array.from(sp.dx, (dx, k) => sp.dy[k] * width + dx);
    sp.stride = width;
  }
  const { lon, lat, heading, sx, sy, starts } = f;
  const reach = shapes.r, square = shapes[SQUARE];
  let onScreen = 0;
  for (let c = 0; c < TYPE_COLOURS.length; c++) {
    const rgb = CATEGORY_RGB[c];
    for (let i = starts[c]; i < starts[c + 1]; i++) {
      const x = lon[i] * a + bx, y = by - lat[i] * s;
      if (x < -reach || y < -reach || x >= W + reach || y >= H + reach) { sx[i] = NaN; continue; }
      sx[i] = x; sy[i] = y; onScreen++;
      const sp = !headings ? square : heading[i] === NO_HEADING ? shapes[DOT] : shapes[heading[i]];
      const base = ((y | 0) + MARGIN) * width + (x | 0) + MARGIN;
      const { offsets, cover } = sp;
      for (let k = 0; k < offsets.length; k++) {
        const o = base + offsets[k];
        if (cover[k] >= pixels[o]) pixels[o] = cover[k] | rgb;
      }
    }
  }
  layer.context.putImageData(layer.image, 0, 0);
  ctx.drawImage(layer.canvas, -MARGIN, -MARGIN);
  state.onScreen = onScreen;
  if (s < LABEL_SCALE || onScreen > MAX_LABELS) return;
  ctx.fillStyle = "#e6edf3";
  ctx.font = "11px system-ui, sans-serif";
  for (let i = 0; i < f.n; i++) if (sx[i] === sx[i] && f.names[i]) ctx.fillText(f.names[i], sx[i] + size + 3, sy[i] + 4);
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
  return TYPE_COLOURS[categoryIndex(shipType)][0];
}

// The worker fetched and parsed the COP; here it is only swapped in, with a new grid.
// A refresh that fails leaves the last picture up, marked as not updated with the reason,
// until one succeeds: an officer must not take a stale picture for a live one.
const cop = { refreshes: 0, lastAt: 0, busy: false };
async function refreshVessels() {
  if (cop.busy) return; // the last one is still on its way (a slow link): not two at once
  const full = cop.refreshes % FULL_EVERY === 0;
  const startedAt = Date.now();
  const heardWithinS = Math.ceil((startedAt - cop.lastAt) / 1000) + DELTA_MARGIN_S;
  let fleet;
  cop.busy = true;
  try {
    fleet = await ask("cop", full ? "/v1/cop/vessels" : `/v1/cop/vessels?max_age_s=${heardWithinS}`, full);
  } catch (error) {
    state.copError = String(error.message || error);
    renderCount();
    throw error;
  } finally {
    cop.busy = false;
  }
  cop.refreshes += 1;
  cop.lastAt = startedAt;
  state.copError = null;
  fleet.sx = new Float32Array(fleet.n).fill(NaN);
  fleet.sy = new Float32Array(fleet.n);
  fleet.grid = grid(fleet);
  if (!state.fleet.n) state.onScreen = fleet.n; // the first picture: no headings for a crowd
  state.fleet = fleet;
  state.vesselCount = fleet.n;
  renderCount();
  redraw();
}

// Vessel indexes by cell of CELL_DEG degrees: a click looks in the few cells around it.
const cellKey = (cx, cy) => cx * 100000 + cy;
function grid(fleet) {
  const cells = new Map();
  for (let i = 0; i < fleet.n; i++) {
    const key = cellKey(Math.floor(fleet.lon[i] / CELL_DEG), Math.floor(fleet.lat[i] / CELL_DEG));
    const cell = cells.get(key);
    if (cell) cell.push(i); else cells.set(key, [i]);
  }
  return cells;
}

// The vessel nearest to a point of the canvas, within CLICK_RADIUS_PX, or null.
function vesselAt(px, py) {
  const f = state.fleet;
  if (!f.n) return null;
  const { a, s, bx, by } = viewTransform();
  const [lon, lat] = unproject(px, py);
  const dLon = CLICK_RADIUS_PX / a, dLat = CLICK_RADIUS_PX / s;
  let best = -1, bestDistance = CLICK_RADIUS_PX ** 2;
  for (let cx = Math.floor((lon - dLon) / CELL_DEG); cx <= Math.floor((lon + dLon) / CELL_DEG); cx++) {
    for (let cy = Math.floor((lat - dLat) / CELL_DEG); cy <= Math.floor((lat + dLat) / CELL_DEG); cy++) {
      for (const i of f.grid.get(cellKey(cx, cy)) || []) {
        const d = (f.lon[i] * a + bx - px) ** 2 + (by - f.lat[i] * s - py) ** 2;
        if (d < bestDistance) { best = i; bestDistance = d; }
      }
    }
  }
  return best < 0 ? null : f.mmsi[best];
}

async function refreshZones() {
  state.zones = (await (await api("/v1/cop/zones")).json()).features;
  redraw();
}

function renderCount() {
  const stale = state.copError ? ` · ${t("vessels.stale", { reason: state.copError })}` : "";
  $("count").textContent = `${state.vesselCount} ${t("vessels")}${stale}`;
  $("count").className = state.copError ? "stale" : "";
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
  if (alert.status === "closed") {
    state.alerts.delete(alert.alert_id);
    state.closed.set(alert.alert_id, alert.updated_at);  // so an older list cannot revive it
  } else state.alerts.set(alert.alert_id, alert);
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
  // Merged, not replaced: a change the stream delivered while this list was on its way is
  // newer than the list's copy and is kept.
  for (const alert of page.items) {
    const known = state.alerts.get(alert.alert_id)?.updated_at ?? state.closed.get(alert.alert_id);
    if (!known || known <= alert.updated_at) state.alerts.set(alert.alert_id, alert);
  }
  renderAlerts();
}

let source = null;
// Resolves once the stream is ready (or has failed to open): a stream that starts "from now"
// misses what was committed before it opened, so the list is read only after that moment and
// nothing falls between the two.
function followAlerts() {
  if (source) source.close();
  return new Promise((opened) => {
    // EventSource sends the session cookie and, on reconnecting, Last-Event-ID by itself.
    source = new EventSource("/v1/alerts/stream");
    source.addEventListener("alert", (event) => upsertAlert(JSON.parse(event.data)));
    // "ready" comes once the server follows every change (the HTTP open may come before).
    source.addEventListener("ready", () => opened());
    source.onopen = () => { state.live = true; liveBadge(); };
    source.onerror = () => { state.live = false; liveBadge(); opened(); };
  });
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
  const mmsi = vesselAt(e.offsetX, e.offsetY);
  if (mmsi != null) selectVessel(mmsi);
});
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const [lon, lat] = unproject(e.offsetX, e.offsetY);
  state.view.scale = Math.min(2000, Math.max(2, state.view.scale * (e.deltaY < 0 ? 1.25 : 0.8)));
  const [lon2, lat2] = unproject(e.offsetX, e.offsetY);
  state.view.lon += lon - lon2;
  state.view.lat += lat - lat2;
  if (state.view.scale > FINE_LAND_SCALE) loadLand("fine");
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
  await Promise.all([
    refreshVessels(), refreshZones(), followAlerts().then(loadAlerts), refreshAssets(),
  ]);
  // The fine basemap parsed in the background (the worker) once the picture is up, so that
  // the first zoom past FINE_LAND_SCALE finds it ready and the first picture never waits.
  loadLand("fine");
  clearInterval(timer);
  timer = setInterval(() => {
    refreshVessels().catch(() => {});
    refreshAssets().catch(() => {});
  }, REFRESH_MS);
}

window.addEventListener("resize", resize);
(async () => {
  await loadLanguage(state.lang);
  resize();
  loadLand("coarse");
  // Every sprite size drawn ahead, while idle, so no zoom waits for one.
  requestIdleCallback(() => { for (let size = 3; size <= 8; size++) spritesOf(size); });
  const me = await fetch("/v1/me", { credentials: "same-origin" });
  if (me.ok) start(await me.json()); else showLogin();
})();
