// Keeps the page's state in step with the server. The world comes from the push stream
// (`/api/world/events`: what is near the ship, then what changes, enters and leaves it,
// reopened by the browser after a cut) when the server offers it; otherwise, and while the stream is down, from polling
// `/api/world?since=<version>` every few seconds. The player's own figures (iron, ship,
// research) are polled alongside. A failed poll marks the page disconnected and the next
// one tries again, so the page recovers by itself; a 401 means the session is gone.

import { api } from './api.js';
import { applyTechTree, applyUserStats, applyWorld, observeServerTime, state } from './state.js';

/** How often the server is polled. */
export const POLL_INTERVAL_MS = 3000;
/**
 * How long to wait before trying the stream again after the server refused it: 2 s,
 * doubling after each refusal up to 30 s, back to 2 s once events flow (a refusal
 * while no edge is ready lasts seconds; a server without streams refuses for good).
 */
const STREAM_RETRY_FIRST_MS = 2000;
const STREAM_RETRY_MAX_MS = 30000;

/**
 * A synchroniser. `onSignedOut` runs when the server no longer knows the session;
 * `onChange` after every poll or event; `viewRadius()` is how far (world units) the
 * player can see, the area the stream is asked to follow.
 */
export function createSync({ onSignedOut, onChange, viewRadius }) {
  let timer = null;
  let running = false;
  let current = null;
  let source = null;
  let streamRetry = null;
  let streamRetryMs = STREAM_RETRY_FIRST_MS;

  function onWorldEvent(event) {
    const world = JSON.parse(event.data);
    const now = Date.now();
    observeServerTime(world.currentTime, now, now);
    applyWorld(world);
    state.syncMode = 'stream';
    streamRetryMs = STREAM_RETRY_FIRST_MS;
    state.connected = true;
    state.syncCount += 1;
    onChange();
  }

  function openStream() {
    if (!running || source || typeof EventSource === 'undefined') return;
    // Only what is near the ship (the server adds a margin for what is about to come
    // into view); the server caps the radius.
    const radius = Math.min(2000, Math.max(200, Math.ceil(viewRadius())));
    source = new EventSource(`/api/world/events?radius=${radius}`);
    source.addEventListener('snapshot', onWorldEvent);
    source.addEventListener('delta', onWorldEvent);
    source.onerror = () => {
      // The browser reconnects by itself unless the server refused the stream; either
      // way, poll the world until events flow again. The stream knew only an area, so
      // the first poll asks for the whole world.
      if (state.syncMode === 'stream') state.version = null;
      state.syncMode = 'poll';
      if (source && source.readyState === EventSource.CLOSED) {
        closeStream();
        streamRetry = setTimeout(openStream, streamRetryMs);
        streamRetryMs = Math.min(streamRetryMs * 2, STREAM_RETRY_MAX_MS);
      }
    };
  }

  function closeStream() {
    if (source) source.close();
    source = null;
    clearTimeout(streamRetry);
    state.syncMode = 'poll';
  }

  async function pollWorld() {
    const sentAt = Date.now();
    const world = state.version === null ? await api.world() : await api.worldSince(state.version);
    const receivedAt = Date.now();
    if (world.ok) {
      observeServerTime(world.data.currentTime, sentAt, receivedAt);
      applyWorld(world.data);
    }
    return world;
  }

  async function poll() {
    const world = state.syncMode === 'stream' ? { ok: true, status: 200 } : await pollWorld();
    if (world.status === 401) return onSignedOut();
    if (!world.ok) {
      state.connected = false;
      return onChange();
    }
    const [stats, ship, tree] = await Promise.all([api.userStats(), api.shipStats(), api.techTree()]);
    if ([stats, ship, tree].some((answer) => answer.status === 401)) return onSignedOut();
    state.connected = stats.ok && ship.ok && tree.ok;
    if (stats.ok) applyUserStats(stats.data);
    if (ship.ok) state.maxSpeed = ship.data.maxSpeed;
    if (tree.ok) applyTechTree(tree.data);
    state.syncCount += 1;
    if (state.connected && !source) openStream();
    return onChange();
  }

  /** Polls now (joining a poll already under way) and schedules the next one. */
  function syncNow() {
    if (!running) return Promise.resolve();
    if (current) return current;
    clearTimeout(timer);
    current = poll().finally(() => {
      current = null;
      if (running) timer = setTimeout(syncNow, POLL_INTERVAL_MS);
    });
    return current;
  }

  return {
    start() {
      running = true;
      return syncNow();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      closeStream();
    },
    syncNow,
  };
}
