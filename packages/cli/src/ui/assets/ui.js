// The defstate status page. Plain browser JavaScript, no build step: `defstate ui` serves it and
// polls /api/status; `defstate status --html` inlines it beside the view it embeds. The server
// renders the rows into the HTML (render-html.ts), so the first paint shows them; this script
// takes them over, and keeps them in step with the view. Every value from the view goes into the
// DOM as text, never as HTML.

const boot = JSON.parse(document.getElementById('defstate-boot').textContent);
const live = boot.mode === 'live';
// The histories a static page carries, by key (a list in the page: a key may be any text).
const staticHistories = new Map((boot.histories ?? []).map((history) => [history.key, history]));
const POLL_MS = boot.pollMs ?? 5000;

// The health names, their labels and their order (most serious first) come from the server, so
// the page and `defstate status` always agree.
const HEALTH_ORDER = boot.health.order;
const HEALTH_LABELS = boot.health.labels;
const rank = (health) => {
  const index = HEALTH_ORDER.indexOf(health);
  return index === -1 ? HEALTH_ORDER.length : index;
};
const healthsOf = (key) => (key.problems?.length ? key.problems : [key.health]);

const COLUMNS = [
  { id: 'key', value: (k) => k.key },
  { id: 'management', value: (k) => k.management },
  // By the most serious problem; ties go by key, as the server orders them.
  { id: 'health', value: (k) => rank(k.health) },
  { id: 'version', value: (k) => k.version ?? '' },
  { id: 'createdAt', value: (k) => k.createdAt ?? '' },
  { id: 'size', value: (k) => k.size ?? -1 },
  { id: 'pinnedVersion', value: (k) => k.pinnedVersion ?? '' },
];

const $ = (id) => document.getElementById(id);
const state = {
  view: boot.view ?? null,
  // What needs attention first, as the server rendered it.
  sort: { id: 'health', dir: 1 },
  // The summary bar's choice: only keys with this health ('' for all).
  health: '',
  openKey: null,
  busy: false,
};
// The rows on screen by key, kept across renders so that a poll updates them in place and a
// focused button is never taken out from under the keyboard. The server's rows are adopted.
const rowsByKey = new Map();
for (const tr of $('rows').querySelectorAll('tr[data-key]')) rowsByKey.set(tr.dataset.key, tr);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || bytes < 0) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function formatAge(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

const formatTime = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

/** A relative time in the table, the exact one on hover. */
function age(iso) {
  if (!iso) return '—';
  return el('time', { datetime: iso, title: formatTime(iso) }, formatAge(iso));
}

/** An exact time with its age, in the details. */
function when(iso) {
  if (!iso) return '—';
  return el('time', { datetime: iso, title: iso }, `${formatTime(iso)} (${formatAge(iso)})`);
}

const mono = (text) => el('span', { class: 'mono', title: text }, text);

function healthBadge(health, reason) {
  return el(
    'span',
    { class: `health health-${health}`, title: reason },
    HEALTH_LABELS[health] ?? health,
  );
}

/** Every problem of a key as a badge, space-separated as the server renders them. */
function badges(key) {
  const nodes = [];
  for (const health of healthsOf(key)) {
    if (nodes.length) nodes.push(' ');
    nodes.push(healthBadge(health, key.reason));
  }
  return nodes;
}

function matches(key, filter) {
  if (state.health && !healthsOf(key).includes(state.health)) return false;
  if (!filter) return true;
  const labels = healthsOf(key).map((health) => HEALTH_LABELS[health]);
  const text = [key.key, key.management, ...labels, key.version, key.description]
    .join(' ')
    .toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

function sorted(keys) {
  const column = COLUMNS.find((c) => c.id === state.sort.id) ?? COLUMNS[0];
  return [...keys].sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    // Ties go by key, always A to Z.
    return order * state.sort.dir || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  });
}

// The headings are in the HTML; sorting only moves `aria-sort` (which also draws the arrow), so
// the focused sort button stays where it is.
function wireHead() {
  for (const th of $('head-row').children) {
    th.querySelector('button').addEventListener('click', () => {
      const id = th.dataset.column;
      const same = state.sort.id === id;
      state.sort = { id, dir: same ? -state.sort.dir : 1 };
      render();
    });
  }
}

function updateHead() {
  for (const th of $('head-row').children) {
    if (th.dataset.column === state.sort.id) {
      th.setAttribute('aria-sort', state.sort.dir === 1 ? 'ascending' : 'descending');
    } else {
      th.removeAttribute('aria-sort');
    }
  }
}

function cells(key) {
  const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);
  const pinned = !key.pinnedVersion
    ? '—'
    : key.pinnedVersion === key.version
      ? '= latest'
      : mono(key.pinnedVersion);
  return [
    cell('Type', key.management),
    cell('Status', ...badges(key)),
    cell('Latest version', key.version ? mono(key.version) : '—'),
    cell('Last updated', age(key.createdAt)),
    cell('Size', formatBytes(key.size)),
    cell('Pinned', pinned),
  ];
}

/** The key's row: its key cell (and button) stays, the other cells follow the view. */
function rowFor(key) {
  let tr = rowsByKey.get(key.key);
  if (!tr) {
    tr = el(
      'tr',
      { 'data-key': key.key },
      el(
        'td',
        { class: 'key', 'data-label': 'Key' },
        el(
          'button',
          { type: 'button', 'aria-haspopup': 'dialog', title: key.key },
          el('span', { class: 'key-text' }, key.key),
        ),
      ),
    );
    rowsByKey.set(key.key, tr);
  }
  tr.dataset.health = key.health;
  const fresh = cells(key);
  const old = [...tr.children].slice(1);
  if (old.length !== fresh.length) {
    tr.replaceChildren(tr.firstElementChild, ...fresh);
  } else {
    // Only cells whose content changed are replaced, so a poll that changes nothing changes
    // nothing on screen either.
    fresh.forEach((cell, index) => {
      const current = old[index];
      if (!current.isEqualNode(cell)) current.replaceWith(cell);
    });
  }
  return tr;
}

/** The key's button in the table, if its row is shown. */
function rowButton(keyName) {
  const tr = rowsByKey.get(keyName);
  return tr?.isConnected ? tr.querySelector('td.key button') : null;
}

/** Marks the key buttons whose text is cut short, so only they show the whole key on hover. */
function markTruncated() {
  for (const tr of $('rows').children) {
    const button = tr.querySelector('td.key button');
    const text = button?.firstElementChild;
    if (text) button.toggleAttribute('data-truncated', text.scrollWidth > text.clientWidth);
  }
}

/** The summary bar: a button per health that any key has, with its count; one pressed. */
function renderBar(view) {
  const bar = $('bar');
  const counts = new Map();
  for (const key of view.keys) {
    for (const health of healthsOf(key)) counts.set(health, (counts.get(health) ?? 0) + 1);
  }
  if (state.health && !counts.has(state.health)) state.health = '';
  const wanted = [
    ['', view.keys.length],
    ...HEALTH_ORDER.filter((h) => counts.has(h)).map((h) => [h, counts.get(h)]),
  ];
  const existing = new Map([...bar.children].map((button) => [button.dataset.health, button]));
  const buttons = wanted.map(([health, count]) => {
    let button = existing.get(health);
    if (!button) {
      button = el('button', {
        type: 'button',
        class: health ? `count count-${health}` : undefined,
        'data-health': health,
      });
    }
    const content = health
      ? [el('b', {}, String(count)), ` ${HEALTH_LABELS[health]}`]
      : [`All ${count}`];
    const probe = el('button', {}, ...content);
    if (button.innerHTML !== probe.innerHTML) button.replaceChildren(...content);
    button.setAttribute('aria-pressed', String(state.health === health));
    return button;
  });
  // Reordering keeps the same elements, so a focused button stays focused.
  if (
    buttons.some((button, index) => bar.children[index] !== button) ||
    bar.children.length !== buttons.length
  ) {
    const focused = document.activeElement;
    bar.replaceChildren(...buttons);
    if (focused && buttons.includes(focused)) focused.focus();
  }
}

function render() {
  const view = state.view;
  updateHead();
  if (!view) return;
  renderBar(view);
  const filter = $('filter').value.trim();
  const shown = sorted(view.keys.filter((key) => matches(key, filter))).map(rowFor);
  const body = $('rows');
  const current = [...body.children];
  if (current.length !== shown.length || shown.some((tr, index) => current[index] !== tr)) {
    // Moving rows takes a focused button out of the page for a moment, and focus with it.
    const focused = document.activeElement?.closest?.('tr[data-key]')?.dataset.key;
    body.replaceChildren(...shown);
    if (focused) rowButton(focused)?.focus();
  }
  for (const name of rowsByKey.keys()) {
    if (!view.keys.some((key) => key.key === name)) rowsByKey.delete(name);
  }
  markTruncated();
  $('empty').hidden = shown.length > 0;
  $('empty').textContent = view.keys.length === 0 ? 'No keys are declared.' : 'No key matches.';
  $('count').textContent =
    filter || state.health ? `${shown.length} of ${view.keys.length} shown` : '';

  const attention = view.keys.filter((key) => key.problems?.length).length;
  const undeclared = view.undeclared ?? [];
  const parts = [
    `${view.keys.length} key${view.keys.length === 1 ? '' : 's'}`,
    attention ? `${attention} need${attention === 1 ? 's' : ''} attention` : 'all up to date',
    undeclared.length ? `${undeclared.length} undeclared in the store` : null,
    view.store ? `store ${view.store}` : null,
    view.pinnedAt ? `pinned ${formatTime(view.pinnedAt)}` : null,
    `read ${formatTime(view.generatedAt)}`,
  ];
  const summary = parts.filter(Boolean).join(' · ');
  if ($('summary').textContent !== summary) $('summary').textContent = summary;
  $('project').textContent = view.project;
  renderUndeclared(undeclared);
  showError(view.error ? `${view.error.message} (${view.error.code})` : null);
  // The open details follow the view too; only the facts, which hold nothing focusable.
  const open = state.openKey && view.keys.find((key) => key.key === state.openKey);
  if (open) renderFacts(open);
}

/** Keys in the store that the project does not declare, under the table (as the server drew them). */
function renderUndeclared(undeclared) {
  const section = $('undeclared');
  const signature = JSON.stringify(undeclared);
  if (section.dataset.signature === signature) return;
  section.dataset.signature = signature;
  section.hidden = undeclared.length === 0;
  if (undeclared.length === 0) {
    section.replaceChildren();
    return;
  }
  const code = (text) => el('code', {}, text);
  section.replaceChildren(
    el('h2', {}, 'Undeclared keys'),
    el(
      'p',
      {},
      `The store holds ${undeclared.length === 1 ? 'a key' : `${undeclared.length} keys`} that this project does not declare (a component was removed or renamed, or another project shares the store). `,
      code('defstate forget <key>'),
      ' moves one out of the pointer; ',
      code('defstate prune --undeclared --older-than 30d'),
      ' collects those nothing was stored for in 30 days.',
    ),
    el(
      'ul',
      {},
      undeclared.map((entry) =>
        el(
          'li',
          {},
          code(entry.key),
          ' ',
          el(
            'span',
            { class: 'muted' },
            'latest ',
            mono(entry.version),
            ', ',
            age(entry.createdAt),
            `, ${formatBytes(entry.size)}`,
          ),
        ),
      ),
    ),
  );
}

function showError(message, prefix = 'Could not read all of the state.') {
  const box = $('error');
  const text = message ? `${prefix} ${message}` : '';
  // An alert is announced when it changes: leave the same message alone at each poll.
  if (box.textContent === text) return;
  box.hidden = !message;
  box.replaceChildren(...(message ? [el('strong', {}, prefix), ' ', message] : []));
}

async function api(path, body) {
  const init = body
    ? {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-defstate-token': boot.token },
        body: JSON.stringify(body),
      }
    : { headers: { accept: 'application/json' } };
  const response = await fetch(path, { ...init, cache: 'no-store', credentials: 'same-origin' });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return data;
}

let pollTimer;
async function poll() {
  clearTimeout(pollTimer);
  try {
    state.view = await api('/api/status');
    render();
  } catch (error) {
    showError(`${error.message}. Retrying…`, 'Lost contact with `defstate ui`.');
  }
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  if (!document.hidden) pollTimer = setTimeout(poll, POLL_MS);
}

function fact(term, ...value) {
  return [el('dt', {}, term), el('dd', {}, ...value)];
}

function renderFacts(key) {
  const last = key.lastRefresh;
  const facts = $('details-facts');
  // The reason already says why a refresh failed; the last refresh then gives only its time.
  const failureShown = healthsOf(key).includes('failed');
  const next = el(
    'dl',
    { id: 'details-facts' },
    ...fact('Status', ...badges(key), el('span', { class: 'reason' }, key.reason)),
    ...(key.description ? fact('Description', key.description) : []),
    ...fact('Type', key.management),
    ...fact('Latest version', key.version ? el('code', {}, key.version) : '—'),
    ...(key.generation !== null && key.generation !== undefined
      ? fact('Generation', String(key.generation))
      : []),
    ...fact('Last updated', when(key.createdAt)),
    ...fact(
      'Size',
      key.size === null
        ? '—'
        : key.size < 1024
          ? formatBytes(key.size)
          : `${formatBytes(key.size)} (${key.size} bytes)`,
    ),
    ...fact('SHA-256', key.sha256 ? el('code', {}, key.sha256) : '—'),
    ...fact('Pinned', key.pinnedVersion ? el('code', {}, key.pinnedVersion) : 'not pinned'),
    ...(last
      ? fact(
          'Last refresh',
          `${last.status} at ${formatTime(last.at)}`,
          last.error && !failureShown ? ` — ${last.error.message}` : '',
        )
      : []),
  );
  // Relative times aside, most polls change nothing: leave the text alone for screen readers.
  if (!facts.isEqualNode(next)) {
    facts.replaceChildren(...next.childNodes);
  }
}

function openDetails(keyName, { keepResult = false } = {}) {
  const key = state.view?.keys.find((k) => k.key === keyName);
  if (!key) return;
  state.openKey = keyName;
  $('details-title').textContent = key.key;
  renderFacts(key);
  const actions = $('details-actions');
  actions.replaceChildren();
  if (boot.writable) {
    actions.append(
      el(
        'button',
        {
          type: 'button',
          onclick: () =>
            act(
              `Refresh ${key.key}?`,
              `This runs the component's refresh now and stores its new state${key.management === 'versioned' ? ' as a new version' : ''}.`,
              '/api/refresh',
              { key: key.key },
            ),
        },
        'Refresh this key…',
      ),
    );
  }
  if (!keepResult) $('action-result').textContent = '';
  loadHistory(key);
  if (!$('details').open) $('details').showModal();
}

/**
 * The key's versions over time: a dot per version along a time axis (latest filled, pinned
 * ringed) and its size as a line, so when the state last changed and whether it grows shows at a
 * glance. Inline SVG: the page stays one file with no library.
 */
function timeline(key, entries) {
  const points = entries
    .filter((entry) => entry.createdAt && typeof entry.size === 'number')
    .map((entry) => ({ ...entry, time: Date.parse(entry.createdAt) }))
    .sort((a, b) => a.time - b.time);
  if (points.length === 0) return null;
  const width = 640;
  const height = 120;
  const pad = { left: 56, right: 16, top: 12, bottom: 26 };
  const first = points[0].time;
  const last = points[points.length - 1].time;
  const span = Math.max(last - first, 1);
  const maxSize = Math.max(...points.map((point) => point.size), 1);
  const x = (time) =>
    points.length === 1
      ? pad.left + (width - pad.left - pad.right) / 2
      : pad.left + ((time - first) / span) * (width - pad.left - pad.right);
  const y = (size) => pad.top + (1 - size / maxSize) * (height - pad.top - pad.bottom);
  const baseline = height - pad.bottom;
  // A step line: the size holds from one version to the next.
  const line = [];
  points.forEach((point, index) => {
    if (index > 0) line.push(`${x(point.time)},${y(points[index - 1].size)}`);
    line.push(`${x(point.time)},${y(point.size)}`);
  });
  const graphic = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-labelledby': 'timeline-caption',
      preserveAspectRatio: 'xMidYMid meet',
    },
    svg('line', { class: 'axis', x1: pad.left, y1: baseline, x2: width - pad.right, y2: baseline }),
    svg(
      'text',
      { class: 'tick', x: pad.left - 6, y: y(maxSize) + 4, 'text-anchor': 'end' },
      formatBytes(maxSize),
    ),
    svg('text', { class: 'tick', x: pad.left - 6, y: baseline + 4, 'text-anchor': 'end' }, '0'),
    svg(
      'text',
      { class: 'tick', x: pad.left, y: height - 6 },
      formatTime(points[0].createdAt).slice(0, 16),
    ),
    ...(points.length > 1
      ? [
          svg(
            'text',
            { class: 'tick', x: width - pad.right, y: height - 6, 'text-anchor': 'end' },
            formatTime(points[points.length - 1].createdAt).slice(0, 16),
          ),
        ]
      : []),
    svg('polyline', { class: 'size', points: line.join(' '), fill: 'none' }),
    ...points.map((point) =>
      svg(
        'circle',
        {
          class: `version${point.latest ? ' latest' : ''}${point.pinned ? ' pinned' : ''}`,
          cx: x(point.time),
          cy: y(point.size),
          r: point.pinned ? 6 : 4.5,
        },
        svg(
          'title',
          {},
          `${point.version}\n${formatTime(point.createdAt)} · ${formatBytes(point.size)}${point.latest ? ' · latest' : ''}${point.pinned ? ' · pinned' : ''}`,
        ),
      ),
    ),
  );
  const oldest = points[0];
  const newest = points[points.length - 1];
  const change = newest.size - oldest.size;
  const trend =
    points.length < 2
      ? 'one version'
      : change > 0
        ? `growing: ${formatBytes(oldest.size)} → ${formatBytes(newest.size)}`
        : change < 0
          ? `shrinking: ${formatBytes(oldest.size)} → ${formatBytes(newest.size)}`
          : `steady at ${formatBytes(newest.size)}`;
  const caption = el(
    'p',
    { id: 'timeline-caption', class: 'muted' },
    `${points.length} version${points.length === 1 ? '' : 's'} of ${key.key}; last changed ${formatAge(newest.createdAt)}; ${trend}.`,
  );
  return el('figure', { class: 'timeline' }, graphic, caption);
}

async function loadHistory(key) {
  const box = $('history');
  const chart = $('timeline');
  chart.replaceChildren();
  if (!live) {
    // A static page carries the histories `status --html` read, for its first keys only.
    const history = staticHistories.get(key.key);
    if (history) {
      showHistory(key, history);
      return;
    }
    const limit = boot.historyLimits?.keys;
    box.replaceChildren(
      el(
        'p',
        { class: 'muted' },
        limit
          ? `This page carries the history of ${limit} keys, those needing attention first; run `
          : 'This page carries no history; run ',
        el('code', {}, `defstate history ${key.key}`),
        ' or open the live page with ',
        el('code', {}, 'defstate ui'),
        '.',
      ),
    );
    return;
  }
  box.replaceChildren(el('p', { class: 'muted' }, 'Reading the history…'));
  try {
    const history = await api(`/api/history?key=${encodeURIComponent(key.key)}`);
    if (state.openKey !== key.key) return;
    showHistory(key, history);
  } catch (error) {
    box.replaceChildren(el('p', { role: 'alert' }, `Could not list the history: ${error.message}`));
  }
}

/** The timeline and the table of a key's versions, newest first. */
function showHistory(key, history) {
  const box = $('history');
  const chart = $('timeline');
  const note = history.note ? [el('p', { class: 'muted' }, history.note)] : [];
  if (history.entries.length === 0) {
    box.replaceChildren(...note, el('p', { class: 'muted' }, 'No versions stored.'));
    return;
  }
  const versions = boot.historyLimits?.versions;
  if (!live && history.entries.length >= versions) {
    note.push(
      el(
        'p',
        { class: 'muted' },
        `The newest ${versions} versions; \`defstate history\` lists all.`,
      ),
    );
  }
  const figure = timeline(key, history.entries);
  if (figure) chart.replaceChildren(figure);
  const head = ['Version', 'Created', 'Size', 'SHA-256', ''].map((title) =>
    el('th', { scope: 'col' }, title),
  );
  const rows = history.entries.map((entry) => {
    const flags = [
      entry.latest ? 'latest' : null,
      entry.pinned ? 'pinned' : null,
      entry.published ? null : 'never published',
    ].filter(Boolean);
    const canRollBack = boot.writable && key.management === 'versioned';
    const rollback =
      canRollBack && entry.published && !entry.latest
        ? el(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: () =>
                act(
                  `Roll back ${key.key}?`,
                  `The latest pointer of ${key.key} moves back to ${entry.version}. Deployments that load the latest state get this version; pinned ones keep theirs.`,
                  '/api/rollback',
                  { key: key.key, version: entry.version },
                ),
            },
            'Roll back to this…',
          )
        : null;
    return el(
      'tr',
      { 'data-version': entry.version },
      el('td', { 'data-label': 'Version' }, el('code', {}, entry.version)),
      el('td', { 'data-label': 'Created' }, when(entry.createdAt)),
      el('td', { 'data-label': 'Size' }, formatBytes(entry.size)),
      el('td', { 'data-label': 'SHA-256', class: 'mono' }, entry.sha256?.slice(0, 12) ?? '—'),
      el('td', { 'data-label': 'Notes' }, flags.join(', '), rollback ? ' ' : '', rollback),
    );
  });
  box.replaceChildren(
    ...note,
    el(
      'table',
      { class: 'history' },
      el('caption', { class: 'visually-hidden' }, `Versions of ${key.key}, newest first`),
      el('thead', {}, el('tr', {}, ...head)),
      el('tbody', {}, ...rows),
    ),
  );
}

/** Asks first, then POSTs; one write at a time. */
function act(title, text, path, body) {
  if (state.busy) return;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const dialog = $('confirm');
  dialog.returnValue = '';
  dialog.addEventListener(
    'close',
    async () => {
      if (dialog.returnValue !== 'ok') return;
      state.busy = true;
      const result = $('action-result');
      result.textContent = 'Working…';
      try {
        const outcome = await api(path, body);
        result.textContent = outcome.message;
      } catch (error) {
        result.textContent = `Failed: ${error.message}`;
      } finally {
        state.busy = false;
      }
      await poll();
      if (state.openKey) openDetails(state.openKey, { keepResult: true });
      // The button that was chosen may be gone (a rolled-back version is now the latest, and the
      // history is listed anew): the outcome is where the keyboard continues.
      result.focus();
    },
    { once: true },
  );
  dialog.showModal();
}

// One listener for every key button, the server's and this script's alike.
$('rows').addEventListener('click', (event) => {
  const button = event.target.closest?.('td.key button');
  const tr = button?.closest('tr[data-key]');
  if (tr) openDetails(tr.dataset.key);
});
$('bar').addEventListener('click', (event) => {
  const button = event.target.closest?.('button[data-health]');
  if (!button) return;
  const health = button.dataset.health;
  state.health = state.health === health ? '' : health;
  render();
});
$('filter').addEventListener('input', render);
$('details').addEventListener('close', () => {
  const opener = state.openKey;
  state.openKey = null;
  // The browser returns focus to the button that opened the dialog, unless that button has left
  // the page meanwhile; then the key's current row, or else the filter, takes it.
  const back = rowButton(opener);
  if (back) back.focus();
  else if (!document.activeElement || document.activeElement === document.body) $('filter').focus();
});
window.addEventListener('resize', markTruncated);
if (boot.locked) {
  const note = $('mode-note');
  note.textContent =
    'Refresh and rollback are on, but only from the address `defstate ui` printed in its terminal (it ends in ?token=…). This page is read-only.';
  note.hidden = false;
}
wireHead();
render();
// The server drew the rows before this script ran; from here on they answer clicks and keys.
document.documentElement.dataset.ready = 'true';
if (live) {
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) poll();
  });
  // Relative times move on between polls too.
  setInterval(() => state.view && render(), 30_000);
  schedulePoll();
}
