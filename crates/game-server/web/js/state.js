// What the page knows of the game: the last synchronised stored states and the few
// figures that tick locally between syncs. Every position is computed from these at
// draw time, so a new sync (the same analytic motion) changes nothing on screen.

import { positionAt } from './motion.js';

export const state = {
  /** 'loading', 'auth' or 'game'. */
  view: 'loading',
  username: null,
  shipId: null,
  worldSize: { width: 500, height: 500 },
  /** id -> stored state `{id, type, x, y, speed, angle, last_position_update_ms}`. */
  objects: new Map(),
  /** Server clock minus this page's clock, in ms; null before the first sync. */
  clockOffset: null,
  /** `currentTime` of the last world answer or event. */
  lastSyncServerTime: null,
  /** The world version the page's objects show (null before the first). */
  version: null,
  /** 'stream' while the push stream delivers the world, else 'poll'. */
  syncMode: 'poll',
  /** How many syncs completed since sign-in. */
  syncCount: 0,
  /** False while the server cannot be reached. */
  connected: true,
  /** Iron as of `atSecond` (server seconds), growing by `perSecond`. */
  iron: { value: 0, perSecond: 0, atSecond: 0 },
  maxSpeed: 25,
  /** The last /api/techtree answer. */
  techTree: null,
  /** Active research remaining seconds, as of server time `atMs`. */
  research: null,
  /** Set by the renderer: distinct objects drawn in the last frame. */
  objectsDrawn: 0,
  /** Set by the renderer: objects drawn in the last frame, counting each copy. */
  objectDraws: 0,
};

/** The server's clock now, as well as this page can tell. */
export function serverNow() {
  return Date.now() + (state.clockOffset ?? 0);
}

/**
 * Learns the clock difference from a server time seen between `sentAt` and `receivedAt`
 * (this page's clock). Small differences are smoothed, so jitter never makes objects jump;
 * a large one (server restarted, clock changed) is taken at once.
 */
export function observeServerTime(serverMs, sentAt, receivedAt) {
  const estimate = serverMs - (sentAt + receivedAt) / 2;
  if (state.clockOffset === null || Math.abs(estimate - state.clockOffset) > 1000) {
    state.clockOffset = estimate;
  } else {
    state.clockOffset += (estimate - state.clockOffset) * 0.2;
  }
}

/**
 * Takes a world answer or event: a whole world (`spaceObjects`, replacing what is known)
 * or a delta (`upserted` stored states and `removed` ids, applied to what is known).
 */
export function applyWorld(world) {
  state.worldSize = world.worldSize;
  if (world.spaceObjects) {
    state.objects = new Map(world.spaceObjects.map((object) => [object.id, object]));
  } else {
    for (const id of world.removed) state.objects.delete(id);
    for (const object of world.upserted) state.objects.set(object.id, object);
  }
  state.version = world.version ?? null;
  state.lastSyncServerTime = world.currentTime;
}

/** Takes a `/api/user-stats` answer. */
export function applyUserStats(stats) {
  state.iron = { value: stats.iron, perSecond: stats.ironPerSecond, atSecond: stats.last_updated };
}

/** Sets iron to `total` as of now (after a collect or a research). */
export function setIron(total) {
  state.iron = { ...state.iron, value: total, atSecond: serverNow() / 1000 };
}

/** Iron now, ticking at the known rate since the last answer. */
export function ironNow() {
  const elapsed = Math.max(0, serverNow() / 1000 - state.iron.atSecond);
  return state.iron.value + state.iron.perSecond * elapsed;
}

/** Takes a `/api/techtree` answer. */
export function applyTechTree(tree) {
  state.techTree = tree;
  const active = tree.techTree.activeResearch;
  state.research = active ? { type: active.type, remaining: active.remainingDuration, atMs: serverNow() } : null;
}

/** Seconds left of the active research, counting down locally; null when none runs. */
export function researchRemaining() {
  if (!state.research) return null;
  return Math.max(0, state.research.remaining - (serverNow() - state.research.atMs) / 1000);
}

/** The player's own ship's stored state, if known. */
export function ownShip() {
  return state.objects.get(state.shipId) ?? null;
}

/** Every known object's position at server time `nowMs`: `[{id, type, x, y}]`. */
export function positionsAt(nowMs) {
  return [...state.objects.values()].map((object) => ({
    id: object.id,
    type: object.type,
    ...positionAt(object, nowMs, state.worldSize),
  }));
}

/** Forgets everything of the signed-in player (sign-out). */
export function reset() {
  Object.assign(state, {
    username: null,
    shipId: null,
    objects: new Map(),
    lastSyncServerTime: null,
    version: null,
    syncMode: 'poll',
    syncCount: 0,
    connected: true,
    techTree: null,
    research: null,
    objectsDrawn: 0,
    objectDraws: 0,
    iron: { value: 0, perSecond: 0, atSecond: 0 },
  });
}
