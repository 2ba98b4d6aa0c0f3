import { formatAge, formatBytes, formatTimestamp } from '../output/format.js';
import {
  HEALTH_LABELS,
  HEALTH_ORDER,
  type KeyHealth,
  type StatusView,
  type StatusViewKey,
} from './status-view.js';

/**
 * The parts of the status page that show data, as HTML, so the first paint already has every key
 * (and a browser without scripts still shows them). ui.js builds the same elements when the view
 * changes; a browser test compares the two.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** `attribute="value"` pairs, escaped; `undefined` leaves one out. */
function attributes(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeHtml(value)}"`)
    .join('');
}

/** Keys with problems first, most serious first; then by key. The page's default order. */
export function attentionOrder(keys: readonly StatusViewKey[]): StatusViewKey[] {
  const rank = (key: StatusViewKey) => HEALTH_ORDER.indexOf(key.health);
  return [...keys].sort(
    (a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

export function healthsOf(key: StatusViewKey): KeyHealth[] {
  return key.problems.length ? key.problems : ['up-to-date'];
}

function badges(key: StatusViewKey): string {
  return healthsOf(key)
    .map(
      (health) =>
        `<span${attributes({ class: `health health-${health}`, title: key.reason })}>${escapeHtml(HEALTH_LABELS[health])}</span>`,
    )
    .join(' ');
}

function mono(text: string): string {
  return `<span${attributes({ class: 'mono', title: text })}>${escapeHtml(text)}</span>`;
}

export function rowHtml(key: StatusViewKey, now: Date): string {
  const cell = (label: string, content: string) =>
    `<td${attributes({ 'data-label': label })}>${content}</td>`;
  const updated = key.createdAt
    ? `<time${attributes({ datetime: key.createdAt, title: formatTimestamp(key.createdAt) })}>${escapeHtml(formatAge(new Date(key.createdAt), now))}</time>`
    : '—';
  const pinned = !key.pinnedVersion
    ? '—'
    : key.pinnedVersion === key.version
      ? '= latest'
      : mono(key.pinnedVersion);
  return [
    `<tr${attributes({ 'data-key': key.key, 'data-health': key.health })}>`,
    `<td class="key" data-label="Key"><button${attributes({ type: 'button', 'aria-haspopup': 'dialog', title: key.key })}><span class="key-text">${escapeHtml(key.key)}</span></button></td>`,
    cell('Type', escapeHtml(key.management)),
    cell('Status', badges(key)),
    cell('Latest version', key.version ? mono(key.version) : '—'),
    cell('Last updated', updated),
    cell('Size', escapeHtml(formatBytes(key.size ?? -1, '—'))),
    cell('Pinned', pinned),
    '</tr>',
  ].join('');
}

export function rowsHtml(view: StatusView): string {
  const now = new Date(view.generatedAt);
  return attentionOrder(view.keys)
    .map((key) => rowHtml(key, now))
    .join('\n');
}

/** How many keys have each health (a key counts under each of its problems). */
export function healthCounts(keys: readonly StatusViewKey[]): Array<[KeyHealth, number]> {
  return HEALTH_ORDER.map((health): [KeyHealth, number] => [
    health,
    keys.filter((key) => healthsOf(key).includes(health)).length,
  ]).filter(([, count]) => count > 0);
}

export function barHtml(view: StatusView): string {
  const all = `<button type="button" data-health="" aria-pressed="true">All ${view.keys.length}</button>`;
  const counts = healthCounts(view.keys).map(
    ([health, count]) =>
      `<button${attributes({ type: 'button', class: `count count-${health}`, 'data-health': health, 'aria-pressed': 'false' })}><b>${count}</b> ${escapeHtml(HEALTH_LABELS[health])}</button>`,
  );
  return [all, ...counts].join(' ');
}

export function summaryText(view: StatusView): string {
  const attention = view.keys.filter((key) => key.problems.length > 0).length;
  const undeclared = view.undeclared.length;
  return [
    `${view.keys.length} key${view.keys.length === 1 ? '' : 's'}`,
    attention ? `${attention} need${attention === 1 ? 's' : ''} attention` : 'all up to date',
    undeclared ? `${undeclared} undeclared in the store` : null,
    view.store ? `store ${view.store}` : null,
    view.pinnedAt ? `pinned ${formatTimestamp(view.pinnedAt)}` : null,
    `read ${formatTimestamp(view.generatedAt)}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * The keys in the store that the project does not declare: a warning under the table, with what
 * to run. Empty (and hidden) when there are none.
 */
export function undeclaredHtml(view: StatusView): string {
  const now = new Date(view.generatedAt);
  if (view.undeclared.length === 0) return '';
  const items = view.undeclared.map(
    (entry) =>
      `<li><code>${escapeHtml(entry.key)}</code> <span class="muted">latest ${mono(entry.version)}, <time${attributes({ datetime: entry.createdAt, title: formatTimestamp(entry.createdAt) })}>${escapeHtml(formatAge(new Date(entry.createdAt), now))}</time>, ${escapeHtml(formatBytes(entry.size))}</span></li>`,
  );
  return [
    `<h2>Undeclared keys</h2>`,
    `<p>The store holds ${view.undeclared.length === 1 ? 'a key' : `${view.undeclared.length} keys`} that this project does not declare (a component was removed or renamed, or another project shares the store). <code>defstate forget &lt;key&gt;</code> moves one out of the pointer; <code>defstate prune --undeclared --older-than 30d</code> collects those nothing was stored for in 30 days.</p>`,
    `<ul>${items.join('')}</ul>`,
  ].join('');
}
