// The server's motion rules, mirrored exactly (same formula, same order of operations),
// so a position computed here equals the server's for the same stored state and time.

/** Units per minute are multiplied by this (the game's speed factor). */
export const SPEED_FACTOR = 50;

/** How far a ship can reach to collect an object, in world units. */
export const COLLECT_RANGE = 125;

/** `((v mod w) + w) mod w`: a coordinate folded into [0, w). */
export function wrap(value, size) {
  return ((value % size) + size) % size;
}

/**
 * Where a stored object state `{x, y, speed, angle, last_position_update_ms}` is at
 * `nowMs` (Unix milliseconds, server time) in a world of `size` `{width, height}`.
 */
export function positionAt(object, nowMs, size) {
  const dt = nowMs - object.last_position_update_ms;
  const radians = (object.angle * Math.PI) / 180;
  const distance = ((object.speed * dt) / 60000) * SPEED_FACTOR;
  return {
    x: wrap(object.x + Math.cos(radians) * distance, size.width),
    y: wrap(object.y + Math.sin(radians) * distance, size.height),
  };
}

/** The shortest signed offset from `from` to `to` on a circle of length `size`. */
export function wrappedDelta(from, to, size) {
  const d = wrap(to - from, size);
  return d >= size / 2 ? d - size : d;
}

/** Toroidal distance between two points. */
export function distance(a, b, size) {
  const dx = Math.abs(wrappedDelta(a.x, b.x, size.width));
  const dy = Math.abs(wrappedDelta(a.y, b.y, size.height));
  return Math.sqrt(dx * dx + dy * dy);
}

/** An angle in degrees folded into [0, 360). */
export function normalizeAngle(degrees) {
  return wrap(degrees, 360);
}
