// The research list: each research's level, current and next effect, next cost and
// duration, and a button to start it; a disabled button says why (the iron it needs, or
// the research running). The running one counts down locally and the tree is fetched
// again when it ends. Compact rows: at 1280 × 900 the whole panel fits without scrolling.

import { api } from './api.js';
import { formatNumber, setText } from './panels.js';
import { ironNow, researchRemaining, state } from './state.js';

/** The wire names, in the order shown. */
const ORDER = ['IronHarvesting', 'shipSpeed', 'Afterburner'];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function row(list, label) {
  const dt = element('dt', '', label);
  const dd = element('dd');
  list.append(dt, dd);
  return dd;
}

/** Builds the panel inside `container`; returns `update()`, to call every frame. */
export function createResearchPanel(container, { say, sync }) {
  const active = element('p', 'active-research');
  active.setAttribute('role', 'status');
  const items = element('ul', 'research-list');
  container.append(active, items);
  let askedAtZero = false;

  const rows = ORDER.map((type) => {
    const item = element('li', 'research');
    item.dataset.type = type;
    const title = element('h3', '', type);
    const description = element('p', 'description');
    const facts = element('dl');
    const level = row(facts, 'Level');
    const effect = row(facts, 'Effect');
    const cost = row(facts, 'Costs');
    const duration = row(facts, 'Takes');
    const button = element('button', 'start-research', 'Research');
    button.type = 'button';
    button.addEventListener('click', async () => {
      button.disabled = true;
      const answer = await api.triggerResearch(type);
      say(answer.ok ? `${title.textContent} research started` : answer.data.error);
      await sync.syncNow();
    });
    const head = element('div', 'research-head');
    head.append(title, button);
    item.append(head, description, facts);
    items.append(item);
    return { type, title, description, level, effect, cost, duration, button };
  });

  return function update() {
    const tree = state.techTree;
    if (!tree) return;
    const remaining = researchRemaining();
    for (const r of rows) {
      const research = tree.researches[r.type];
      if (!research) continue;
      setText(r.title, research.name);
      setText(r.description, research.description);
      setText(r.level, String(research.level));
      setText(r.effect, `${formatNumber(research.currentEffect)} → ${formatNumber(research.nextEffect)} ${research.unit}`);
      setText(r.cost, `${formatNumber(research.nextUpgradeCost)} iron`);
      setText(r.duration, `${formatNumber(research.nextUpgradeDuration)} s`);
      const why = blocked(r.type, research, remaining);
      const disabled = why !== null;
      if (r.button.disabled !== disabled) r.button.disabled = disabled;
      setText(r.button, why ?? 'Research');
      const label = `Research ${research.name} for ${formatNumber(research.nextUpgradeCost)} iron`;
      r.button.setAttribute('aria-label', why ? `${label}: ${why}` : label);
    }
    if (remaining === null) {
      setText(active, 'No research running.');
      askedAtZero = false;
      return;
    }
    const name = tree.researches[state.research.type]?.name ?? state.research.type;
    setText(active, `Researching ${name}: ${Math.ceil(remaining)} s left`);
    if (remaining === 0 && !askedAtZero) {
      askedAtZero = true;
      sync.syncNow();
    }
  };
}

/** Why the research `type` cannot start now (the button's text), or null if it can. */
function blocked(type, research, remaining) {
  if (remaining !== null) {
    if (state.research.type === type) return 'In progress';
    // Only one research runs at a time; the line above the list names it.
    return 'One at a time';
  }
  if (ironNow() < research.nextUpgradeCost) return `Needs ${formatNumber(research.nextUpgradeCost)} iron`;
  return null;
}
