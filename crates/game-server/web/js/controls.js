// The player's input: a click or tap on an object collects it, anywhere else steers the
// ship toward that point; the speed slider and the arrow keys / WASD steer too.

import { api } from './api.js';
import { normalizeAngle, positionAt } from './motion.js';
import { objectAt } from './render.js';
import { ownShip, serverNow, setIron, state } from './state.js';

/** Degrees one key press turns the ship. */
const TURN_STEP = 15;
/** Speed units one key press adds or takes. */
const SPEED_STEP = 5;
/** Key presses within this many ms are sent as one navigate. */
const KEY_DEBOUNCE_MS = 150;

const OBJECT_NAMES = { asteroid: 'an asteroid', shipwreck: 'a shipwreck', escape_pod: 'an escape pod' };

/**
 * Wires the controls. `say(text)` shows a message to the player; `sync` is the poller,
 * asked for fresh state after a collect.
 */
export function setUpControls({ canvas, speedInput, say, sync }) {
  let pending = null;
  let pendingTimer = null;

  async function navigate(course) {
    const answer = await api.navigate(course);
    if (!answer.ok) {
      say(answer.data.error);
      if (answer.status === 401) sync.syncNow();
      return;
    }
    // Take the new course at once instead of waiting for the next sync; the sync that
    // follows carries the same analytic motion.
    const ship = ownShip();
    if (ship) {
      const now = serverNow();
      const at = positionAt(ship, now, state.worldSize);
      state.objects.set(ship.id, { ...ship, ...at, speed: answer.data.speed, angle: answer.data.angle, last_position_update_ms: now });
    }
    state.maxSpeed = answer.data.maxSpeed;
    speedInput.value = String(answer.data.speed);
  }

  async function collect(id) {
    const answer = await api.collect(id);
    if (!answer.ok) {
      say(answer.data.error);
      return;
    }
    const { ironReward, totalIron, objectType } = answer.data;
    state.objects.delete(id);
    setIron(totalIron);
    say(`+${ironReward} iron from ${OBJECT_NAMES[objectType] ?? objectType}`);
    sync.syncNow();
  }

  function currentSpeed() {
    return Number(speedInput.value) || 0;
  }

  canvas.addEventListener('click', (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    const id = objectAt(x, y);
    if (id !== null) {
      collect(id);
      return;
    }
    const angle = normalizeAngle((Math.atan2(y - rect.height / 2, x - rect.width / 2) * 180) / Math.PI);
    // Clicking somewhere means "go there": a stopped ship starts at full speed.
    const speed = currentSpeed() > 0 ? currentSpeed() : state.maxSpeed;
    navigate({ speed, angle });
  });

  speedInput.addEventListener('change', () => navigate({ speed: Math.min(currentSpeed(), state.maxSpeed) }));

  function queue(change) {
    const ship = ownShip();
    if (!ship) return;
    const base = pending ?? { speed: ship.speed, angle: ship.angle };
    pending = change(base);
    clearTimeout(pendingTimer);
    pendingTimer = setTimeout(() => {
      const course = pending;
      pending = null;
      navigate(course);
    }, KEY_DEBOUNCE_MS);
  }

  document.addEventListener('keydown', (event) => {
    if (state.view !== 'game' || event.target.closest('input, button, textarea, select')) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const turn = { ArrowLeft: -TURN_STEP, a: -TURN_STEP, ArrowRight: TURN_STEP, d: TURN_STEP }[key];
    const accelerate = { ArrowUp: SPEED_STEP, w: SPEED_STEP, ArrowDown: -SPEED_STEP, s: -SPEED_STEP }[key];
    if (turn !== undefined) {
      queue((course) => ({ ...course, angle: normalizeAngle(course.angle + turn) }));
    } else if (accelerate !== undefined) {
      queue((course) => ({ ...course, speed: Math.min(state.maxSpeed, Math.max(0, course.speed + accelerate)) }));
    } else {
      return;
    }
    event.preventDefault();
  });
}
