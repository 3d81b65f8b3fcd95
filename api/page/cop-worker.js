// Off the main thread: fetches and parses what is big (the COP, 10,000 vessels being a few
// megabytes of GeoJSON; the basemap's TopoJSON) and answers with typed arrays, transferred
// rather than copied. The page's main thread only swaps them in, so a refresh never stalls
// a pan or a zoom.
//
// The COP comes whole ("full") or as the vessels heard lately ("delta", the API's
// max_age_s): the worker keeps the last picture by MMSI and lays a delta over it.
"use strict";
importScripts("/page/categories.js");

self.onmessage = async (event) => {
  const { id, kind, url, full } = event.data;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) { postMessage({ id, status: response.status }); return; }
    const body = await response.json();
    const answer = kind === "cop" ? fleet(body, full) : land(body);
    postMessage({ id, status: response.status, ...answer.data }, answer.transfer);
  } catch (error) {
    postMessage({ id, status: 0, error: String(error) });
  }
};

// Vessels sorted by category, so the page fills each colour over one contiguous range:
// starts[c] .. starts[c + 1]. Heading in steps of 360 / HEADING_STEPS degrees (the page's
// sprites), NO_HEADING when unknown (drawn as a dot).
let known = new Map(); // MMSI -> the vessel's latest feature

function fleet(collection, full) {
  if (full) known = new Map();
  for (const f of collection.features) known.set(f.id, f);
  const features = [...known.values()];
  const n = features.length;
  const categories = TYPE_COLOURS.length;
  const of = new Uint8Array(n);
  const starts = new Int32Array(categories + 1);
  features.forEach((f, i) => { of[i] = categoryIndex(f.properties.ship_type); starts[of[i] + 1] += 1; });
  for (let c = 0; c < categories; c++) starts[c + 1] += starts[c];
  const next = starts.slice(0, categories);
  const mmsi = new Int32Array(n), lon = new Float64Array(n), lat = new Float64Array(n);
  const heading = new Uint8Array(n);
  const names = new Array(n);
  features.forEach((f, i) => {
    const j = next[of[i]]++;
    const p = f.properties;
    mmsi[j] = f.id;
    [lon[j], lat[j]] = f.geometry.coordinates;
    const deg = p.heading_deg ?? p.course_deg;
    heading[j] = deg == null ? NO_HEADING : Math.round((deg * HEADING_STEPS) / 360) % HEADING_STEPS;
    names[j] = p.name || "";
  });
  return {
    data: { n, mmsi, lon, lat, heading, starts, names },
    transfer: [mmsi.buffer, lon.buffer, lat.buffer, heading.buffer, starts.buffer],
  };
}

// TopoJSON (https://github.com/topojson/topojson-specification), just what land needs:
// every ring as a run of lon, lat pairs in one Float64Array; ringEnds[r] is where ring r ends.
function land(topo) {
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
  const rings = [];
  for (const g of topo.objects.land.geometries) {
    const list = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
    for (const polygon of list) for (const r of polygon) rings.push(unwrap(ring(r)));
  }
  const total = rings.reduce((sum, r) => sum + r.length, 0);
  const coords = new Float64Array(total * 2);
  const ringEnds = new Int32Array(rings.length);
  let at = 0;
  rings.forEach((r, i) => {
    for (const [lon, lat] of r) { coords[at++] = lon; coords[at++] = lat; }
    ringEnds[i] = at / 2;
  });
  return { data: { coords, ringEnds }, transfer: [coords.buffer, ringEnds.buffer] };
}
