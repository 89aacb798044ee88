// Draws the space around the player's ship on the canvas, every animation frame, from the
// last synchronised states moved to "now" with the server's motion formula. The world is a
// torus: everything is drawn once, at its shortest offset from the ship. Where the view is
// wider (or taller) than the world, the one world around the ship is framed and what lies
// beyond it is dimmed, so no object appears twice.

import { COLLECT_RANGE, positionAt, wrappedDelta } from './motion.js';
import { serverNow, state } from './state.js';

/** How close (CSS pixels) a click must be to an object to mean it. */
const HIT_RADIUS_PX = 18;
const GRID_UNITS = 50;
const COLORS = {
  background: '#050814',
  beyond: '#010208',
  edge: 'rgba(120, 150, 255, 0.35)',
  grid: 'rgba(120, 150, 255, 0.08)',
  range: 'rgba(74, 222, 128, 0.55)',
  own: '#4ade80',
  other: '#fb923c',
  asteroid: '#9ca3af',
  shipwreck: '#b45309',
  pod: '#e0f2fe',
  podLight: '#22d3ee',
  highlight: 'rgba(250, 204, 21, 0.9)',
};

/** What the last frame drew, in CSS pixels: `[{id, x, y}]`, for clicks. */
let targets = [];

/** World units per CSS pixel for a canvas of this size: the collect range always fits,
 *  and a small world is shown whole across the shorter side. */
export function viewScale(width, height) {
  const { width: w, height: h } = state.worldSize;
  const radius = Math.max(COLLECT_RANGE + 25, Math.min(Math.min(w, h) / 2, 300));
  return Math.min(width, height) / 2 / radius;
}

/** How far from the ship (world units) the corners of `canvas` are. */
export function viewRadius(canvas) {
  const width = canvas.clientWidth || 800;
  const height = canvas.clientHeight || 600;
  return Math.hypot(width, height) / 2 / viewScale(width, height);
}

/** Draws one frame on `canvas`. */
export function draw(canvas) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, 0, width, height);

  const now = serverNow();
  const size = state.worldSize;
  const own = state.objects.get(state.shipId);
  const center = own ? positionAt(own, now, size) : { x: size.width / 2, y: size.height / 2 };
  const scale = viewScale(width, height);
  const world = oneWorld(scale, width, height, size);
  drawBeyond(ctx, world, width, height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(world.left, world.top, world.width, world.height);
  ctx.clip();
  drawGrid(ctx, center, scale, width, height);
  ctx.restore();

  ctx.strokeStyle = COLORS.range;
  ctx.setLineDash([6, 6]);
  ctx.beginPath();
  ctx.arc(width / 2, height / 2, COLLECT_RANGE * scale, 0, Math.PI * 2);
  ctx.stroke();
  ctx.setLineDash([]);

  const drawn = new Set();
  let draws = 0;
  const next = [];
  // The own ship last, so it is always on top.
  const ordered = [...state.objects.values()].sort((a, b) => (a.id === state.shipId) - (b.id === state.shipId));
  for (const object of ordered) {
    const at = positionAt(object, now, size);
    const dx = wrappedDelta(center.x, at.x, size.width);
    const dy = wrappedDelta(center.y, at.y, size.height);
    const inRange = object.id !== state.shipId && object.type !== 'player_ship' && Math.hypot(dx, dy) <= COLLECT_RANGE;
    const x = width / 2 + dx * scale;
    const y = height / 2 + dy * scale;
    if (x < -20 || y < -20 || x > width + 20 || y > height + 20) continue;
    drawObject(ctx, object, x, y, inRange);
    draws += 1;
    drawn.add(object.id);
    next.push({ id: object.id, x, y });
  }
  targets = next;
  state.objectsDrawn = drawn.size;
  state.objectDraws = draws;
}

/** The one world around the ship, in CSS pixels (every object is drawn inside it). */
function oneWorld(scale, width, height, size) {
  const w = size.width * scale;
  const h = size.height * scale;
  return { left: width / 2 - w / 2, top: height / 2 - h / 2, width: w, height: h };
}

/** Where the view is wider or taller than the world: dims what lies beyond the one world
 *  around the ship and frames its edge. */
function drawBeyond(ctx, world, width, height) {
  if (world.width >= width && world.height >= height) return;
  ctx.fillStyle = COLORS.beyond;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(world.left, world.top, world.width, world.height);
  ctx.strokeStyle = COLORS.edge;
  ctx.lineWidth = 1;
  ctx.strokeRect(world.left + 0.5, world.top + 0.5, world.width - 1, world.height - 1);
}

function drawGrid(ctx, center, scale, width, height) {
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  const halfW = width / 2 / scale;
  const halfH = height / 2 / scale;
  for (let wx = Math.floor((center.x - halfW) / GRID_UNITS) * GRID_UNITS; wx <= center.x + halfW; wx += GRID_UNITS) {
    const x = width / 2 + (wx - center.x) * scale;
    ctx.moveTo(x, 0);
    ctx.lineTo(x, height);
  }
  for (let wy = Math.floor((center.y - halfH) / GRID_UNITS) * GRID_UNITS; wy <= center.y + halfH; wy += GRID_UNITS) {
    const y = height / 2 + (wy - center.y) * scale;
    ctx.moveTo(0, y);
    ctx.lineTo(width, y);
  }
  ctx.stroke();
}

function drawObject(ctx, object, x, y, inRange) {
  ctx.save();
  ctx.translate(x, y);
  if (inRange) {
    ctx.strokeStyle = COLORS.highlight;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(0, 0, 15, 0, Math.PI * 2);
    ctx.stroke();
  }
  ctx.rotate((object.angle * Math.PI) / 180);
  switch (object.type) {
    case 'player_ship':
      drawShip(ctx, object.id === state.shipId);
      break;
    case 'asteroid':
      drawAsteroid(ctx, object.id);
      break;
    case 'shipwreck':
      drawWreck(ctx);
      break;
    default:
      drawPod(ctx);
  }
  ctx.restore();
}

function drawShip(ctx, own) {
  ctx.fillStyle = own ? COLORS.own : COLORS.other;
  ctx.strokeStyle = own ? '#bbf7d0' : '#7c2d12';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(12, 0);
  ctx.lineTo(-8, 7);
  ctx.lineTo(-4, 0);
  ctx.lineTo(-8, -7);
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
}

function drawAsteroid(ctx, id) {
  // A lumpy rock whose outline depends only on its id, so it keeps its shape.
  ctx.fillStyle = COLORS.asteroid;
  ctx.beginPath();
  for (let i = 0; i < 8; i += 1) {
    const r = 7 + ((id * 7919 + i * 104729) % 5);
    const a = (i / 8) * Math.PI * 2;
    ctx.lineTo(Math.cos(a) * r, Math.sin(a) * r);
  }
  ctx.closePath();
  ctx.fill();
}

function drawWreck(ctx) {
  ctx.fillStyle = COLORS.shipwreck;
  ctx.fillRect(-10, -4, 9, 8);
  ctx.beginPath();
  ctx.moveTo(2, -5);
  ctx.lineTo(11, 0);
  ctx.lineTo(2, 6);
  ctx.closePath();
  ctx.fill();
  ctx.strokeStyle = '#fcd34d';
  ctx.beginPath();
  ctx.moveTo(-1, -6);
  ctx.lineTo(1, 7);
  ctx.stroke();
}

function drawPod(ctx) {
  ctx.fillStyle = COLORS.pod;
  ctx.beginPath();
  ctx.ellipse(0, 0, 7, 4, 0, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = COLORS.podLight;
  ctx.beginPath();
  ctx.arc(3, 0, 2, 0, Math.PI * 2);
  ctx.fill();
}

/** The object drawn nearest to a CSS-pixel point of the canvas, other than the own ship. */
export function objectAt(x, y) {
  let best = null;
  for (const target of targets) {
    if (target.id === state.shipId) continue;
    const d = Math.hypot(target.x - x, target.y - y);
    if (d <= HIT_RADIUS_PX && (!best || d < best.d)) best = { id: target.id, d };
  }
  return best ? best.id : null;
}

/** Where the last frame drew object `id` (its copy nearest the centre), or null. */
export function screenPointOf(id, canvas) {
  let best = null;
  for (const target of targets) {
    if (target.id !== id) continue;
    const d = Math.hypot(target.x - canvas.clientWidth / 2, target.y - canvas.clientHeight / 2);
    if (!best || d < best.d) best = { x: target.x, y: target.y, d };
  }
  return best ? { x: best.x, y: best.y } : null;
}
