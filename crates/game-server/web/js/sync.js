// Keeps the page's state in step with the server by polling every few seconds. A failed
// poll marks the page disconnected and the next one tries again, so the page recovers by
// itself when the server comes back; a 401 means the session is gone.

import { api } from './api.js';
import { applyTechTree, applyUserStats, applyWorld, observeServerTime, state } from './state.js';

/** How often the world is polled. */
export const POLL_INTERVAL_MS = 3000;

/**
 * A poller. `onSignedOut` runs when the server no longer knows the session; `onChange`
 * after every poll, successful or not.
 */
export function createSync({ onSignedOut, onChange }) {
  let timer = null;
  let running = false;
  let current = null;

  async function poll() {
    const sentAt = Date.now();
    const world = await api.world();
    const receivedAt = Date.now();
    if (world.status === 401) return onSignedOut();
    if (!world.ok) {
      state.connected = false;
      return onChange();
    }
    observeServerTime(world.data.currentTime, sentAt, receivedAt);
    applyWorld(world.data);
    const [stats, ship, tree] = await Promise.all([api.userStats(), api.shipStats(), api.techTree()]);
    if ([stats, ship, tree].some((answer) => answer.status === 401)) return onSignedOut();
    state.connected = stats.ok && ship.ok && tree.ok;
    if (stats.ok) applyUserStats(stats.data);
    if (ship.ok) state.maxSpeed = ship.data.maxSpeed;
    if (tree.ok) applyTechTree(tree.data);
    state.syncCount += 1;
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
    },
    syncNow,
  };
}
