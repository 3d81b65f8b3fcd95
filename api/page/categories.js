// Ship-type categories and their colours (ITU-R M.1371 ship types), shared by the page
// (app.js) and the COP worker (cop-worker.js), which sorts vessels by category.
"use strict";

const TYPE_COLOURS = [
  // [category, colour, test of the ship type]
  ["fishing", "#f0883e", (t) => t === 30],
  ["passenger", "#58a6ff", (t) => t >= 60 && t <= 69],
  ["cargo", "#3fb950", (t) => t >= 70 && t <= 79],
  ["tanker", "#ff7b72", (t) => t >= 80 && t <= 89],
  ["tug", "#bc8cff", (t) => t === 31 || t === 32 || t === 52 || (t >= 50 && t <= 59)],
  ["government", "#e6edf3", (t) => t === 35 || t === 55],
  ["pleasure", "#ff9bce", (t) => t === 36 || t === 37],
  ["other", "#8b949e", () => true],
];

// A vessel's heading is drawn in steps of 10 degrees (a sprite per step); 255: unknown.
const HEADING_STEPS = 36;
const NO_HEADING = 255;

// Index into TYPE_COLOURS; an unknown type is "other" (the last).
function categoryIndex(shipType) {
  if (shipType == null) return TYPE_COLOURS.length - 1;
  for (let c = 0; c < TYPE_COLOURS.length; c++) if (TYPE_COLOURS[c][2](shipType)) return c;
  return TYPE_COLOURS.length - 1;
}
