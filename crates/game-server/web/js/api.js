// The HTTP API, one function per endpoint. Every call resolves to
// `{ok, status, data}`; a network failure is status 0 with a message, never a throw.

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, data: { error: 'The server cannot be reached', code: 'unreachable' } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = { error: `Unexpected answer (HTTP ${response.status})`, code: 'bad_answer' };
  }
  return { ok: response.ok, status: response.status, data };
}

export const api = {
  session: () => call('GET', '/api/session'),
  login: (username, password) => call('POST', '/api/login', { username, password }),
  register: (username, password) => call('POST', '/api/register', { username, password }),
  logout: () => call('POST', '/api/logout'),
  world: () => call('GET', '/api/world'),
  worldSince: (version) => call('GET', `/api/world?since=${encodeURIComponent(version)}`),
  userStats: () => call('GET', '/api/user-stats'),
  shipStats: () => call('GET', '/api/ship-stats'),
  techTree: () => call('GET', '/api/techtree'),
  triggerResearch: (type) => call('POST', '/api/trigger-research', { type }),
  navigate: (course) => call('POST', '/api/navigate', course),
  collect: (objectId) => call('POST', '/api/collect', { objectId }),
};
