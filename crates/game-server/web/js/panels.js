// The text around the canvas: iron (ticking locally between syncs), the ship's course and
// position, and the connection state. Cheap to call every frame: a text node is only
// written when its text changes.

import { positionAt } from './motion.js';
import { ironNow, ownShip, serverNow, state } from './state.js';

/** Writes `text` into `element` if it differs. */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** A number with at most two decimals, without trailing zeros. */
export function formatNumber(value) {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

/** Refreshes the panels from the state, as of now. */
export function updatePanels(els) {
  setText(els.iron, String(Math.floor(ironNow())));
  setText(els.ironRate, `+${formatNumber(state.iron.perSecond)} per second`);
  const ship = ownShip();
  if (ship) {
    const at = positionAt(ship, serverNow(), state.worldSize);
    setText(els.shipSpeed, formatNumber(ship.speed));
    setText(els.shipAngle, `${formatNumber(ship.angle)}°`);
    setText(els.shipPosition, `${at.x.toFixed(1)}, ${at.y.toFixed(1)}`);
  }
  setText(els.maxSpeed, formatNumber(state.maxSpeed));
  const max = String(state.maxSpeed);
  if (els.speedInput.max !== max) els.speedInput.max = max;
  setText(els.speedValue, formatNumber(Number(els.speedInput.value) || 0));
  els.connection.hidden = state.connected;
}
