// The sign-in / registration form. The server's session cookie does the rest: after a
// successful answer the page asks /api/session who is signed in.

import { api } from './api.js';

/** Wires `form` (with buttons valued "login" and "register"); `onSignedIn()` after success. */
export function setUpAuth({ form, errorElement, onSignedIn }) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const mode = event.submitter?.value === 'register' ? 'register' : 'login';
    const username = form.elements.username.value;
    const password = form.elements.password.value;
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((button) => { button.disabled = true; });
    errorElement.textContent = '';
    form.querySelectorAll('.notice').forEach((notice) => { notice.textContent = ''; });
    const answer = mode === 'register' ? await api.register(username, password) : await api.login(username, password);
    buttons.forEach((button) => { button.disabled = false; });
    if (!answer.ok) {
      errorElement.textContent = answer.data.error ?? `HTTP ${answer.status}`;
      return;
    }
    form.elements.password.value = '';
    onSignedIn();
  });
}
