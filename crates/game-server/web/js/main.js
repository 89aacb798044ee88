// The page's entry point: decides between the sign-in view and the game view, runs the
// animation loop, and exposes a small read-only view of its state for the browser tests.

import { api } from './api.js';
import { setUpAuth } from './auth.js';
import { setUpControls } from './controls.js';
import { positionAt } from './motion.js';
import { updatePanels } from './panels.js';
import { draw, objectAt, screenPointOf, viewRadius } from './render.js';
import { createResearchPanel } from './research.js';
import { ironNow, ownShip, positionsAt, reset, serverNow, state } from './state.js';
import { createSync } from './sync.js';

const byId = (id) => document.getElementById(id);
const els = {
  authView: byId('auth-view'),
  gameView: byId('game-view'),
  form: byId('auth-form'),
  authError: byId('auth-error'),
  authNotice: byId('auth-notice'),
  who: byId('who'),
  logout: byId('logout'),
  canvas: byId('space'),
  message: byId('message'),
  iron: byId('iron'),
  ironRate: byId('iron-rate'),
  shipSpeed: byId('ship-speed'),
  shipAngle: byId('ship-angle'),
  maxSpeed: byId('max-speed'),
  shipPosition: byId('ship-position'),
  speedInput: byId('speed'),
  speedValue: byId('speed-value'),
  connection: byId('connection'),
  research: byId('research'),
};

let messageTimer = null;
function say(text) {
  els.message.textContent = text;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { els.message.textContent = ''; }, 6000);
}

const sync = createSync({
  onSignedOut: () => showAuth('Your session has ended. Please sign in again.'),
  onChange: () => {},
  viewRadius: () => viewRadius(els.canvas),
});
const updateResearch = createResearchPanel(els.research, { say, sync });

/** The sign-in view, with an error `message` or a friendly `notice` (after logging out). */
function showAuth(message = '', notice = '') {
  sync.stop();
  reset();
  state.view = 'auth';
  els.gameView.hidden = true;
  els.logout.hidden = true;
  els.who.textContent = '';
  els.authView.hidden = false;
  els.authError.textContent = message;
  els.authNotice.textContent = notice;
}

/** Asks the server who is signed in and shows the matching view; retries while unreachable. */
async function enter() {
  const answer = await api.session();
  if (!answer.ok) {
    showAuth(answer.data.error);
    setTimeout(enter, 3000);
    return;
  }
  if (!answer.data.loggedIn) {
    showAuth();
    return;
  }
  state.username = answer.data.username;
  state.shipId = answer.data.shipId;
  state.view = 'game';
  els.authView.hidden = true;
  els.gameView.hidden = false;
  els.logout.hidden = false;
  els.who.textContent = `Pilot ${state.username}`;
  await sync.start();
  const ship = ownShip();
  els.speedInput.value = String(ship && ship.speed > 0 ? ship.speed : state.maxSpeed);
}

setUpAuth({ form: els.form, errorElement: els.authError, onSignedIn: enter });
setUpControls({ canvas: els.canvas, speedInput: els.speedInput, say, sync });
els.logout.addEventListener('click', async () => {
  const answer = await api.logout();
  if (answer.ok) {
    showAuth('', 'You have logged out. Sign in again to play.');
  } else {
    say(answer.data.error ?? `Could not log out (HTTP ${answer.status})`);
  }
});

function frame() {
  if (state.view === 'game') {
    draw(els.canvas);
    updatePanels(els);
    updateResearch();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
enter();

// Read-only, for the browser tests: copies of what the page knows and computes.
window.spacewarsTest = Object.freeze({
  snapshot() {
    const ship = ownShip();
    return {
      view: state.view,
      username: state.username,
      shipId: state.shipId,
      objectsKnown: state.objects.size,
      objectsDrawn: state.objectsDrawn,
      objectDraws: state.objectDraws,
      ship: ship ? positionAt(ship, serverNow(), state.worldSize) : null,
      iron: state.iron.value,
      ironShown: Number(els.iron.textContent),
      ironNow: ironNow(),
      maxSpeed: state.maxSpeed,
      research: state.research ? { ...state.research } : null,
      lastSyncServerTime: state.lastSyncServerTime,
      version: state.version,
      syncMode: state.syncMode,
      syncCount: state.syncCount,
      connected: state.connected,
      message: els.message.textContent,
    };
  },
  positionsAt: (serverMs) => positionsAt(serverMs),
  screenPointOf: (id) => screenPointOf(id, els.canvas),
  objectAt: (x, y) => objectAt(x, y),
  syncNow: () => sync.syncNow().then(() => state.syncCount),
});
