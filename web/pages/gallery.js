// @ts-check
// The particle gallery of a sample with keyboard-driven validation, as in EcoTaxa:
//
//   ← → ↑ ↓, Home, End   move the cursor          Shift + move   select a range
//   Space                 select / deselect          Ctrl+A         select all, Esc: none
//   v                     validate the selection (else the cursor's particle) as labelled (an
//                         uncertain particle: as the model's best guess, its top class)
//   d                     mark dubious               r or a letter  relabel (class picker)
//   u                     undo the newest change of the cursor's particle
//
// Particles come from GET …/particles (filters: class, status, size; pages), their vignettes
// from …/image.png fetched with the token. Every action is one POST …/validations (or …/undo);
// the tiles it touched are then refreshed from …/history, so their badges show what the server
// now counts.

import { get, imageUrl, learnIdentity, post, samplePath } from '../api.js';
import { fill, formatNumber, formatPercent, h, hashHref, messageOf, pager, say } from '../dom.js';

const STATUSES = ['validated', 'predicted', 'uncertain', 'unlabelled'];
const PAGE_SIZES = [50, 100, 200];
const DEFAULT_PAGE_SIZE = 100;
// Requests in flight at once when loading vignettes or refreshing tiles.
const PARALLEL_REQUESTS = 6;
// FlowCam vignettes are small (a 10 µm cell is ~20 pixels): tiles show them twice as large, the
// panel of the particle under the cursor four times (both within their box), so that sizes
// still compare between particles.
const TILE_SCALE = 2;
const DETAIL_SCALE = 4;

/**
 * A particle as listed, with what the gallery knows of its label now.
 * @typedef {{number: number, label: string | null, status: string, probability: number | null,
 *            identified_by: string | null, top1: string | null, dubious?: boolean,
 *            esd_um: number | null,
 *            abd_um: number | null, biovolume_abd_um3: number | null,
 *            particles_per_chain: number, top_k: {name: string, probability: number}[],
 *            image_url: string}} Particle
 */

/**
 * Runs `work` over `items`, at most `limit` at a time.
 * @template T
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<void>} work
 */
async function inParallel(items, limit, work) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(workers);
}

/** @type {import('../app.js').PageRender} */
export async function render(main, { params, query, signal }) {
  const id = params.id;
  const base = samplePath(id);
  const sampleHref = hashHref(`/samples/${encodeURIComponent(id)}`);
  document.title = `Particles of ${id} — phytoflow`;

  const filters = {
    label: query.get('label') ?? '',
    status: query.get('status') ?? '',
    min_esd_um: query.get('min_esd_um') ?? '',
    max_esd_um: query.get('max_esd_um') ?? '',
    limit: Number(query.get('limit')) || DEFAULT_PAGE_SIZE,
    offset: Math.max(0, Number(query.get('offset')) || 0),
  };
  /** @param {Partial<typeof filters>} changes */
  const hrefWith = (changes) => {
    const next = { ...filters, ...changes };
    return hashHref(`/samples/${encodeURIComponent(id)}/gallery`, {
      ...next,
      limit: next.limit === DEFAULT_PAGE_SIZE ? undefined : next.limit,
      offset: next.offset || undefined,
    });
  };

  const [sample, page, models] = await Promise.all([
    get(base, undefined, signal),
    get(
      `${base}/particles`,
      {
        label: filters.label,
        status: filters.status,
        min_esd_um: filters.min_esd_um,
        max_esd_um: filters.max_esd_um,
        limit: filters.limit,
        offset: filters.offset,
      },
      signal,
    ),
    get('/api/v1/models', undefined, signal).catch(() => ({ models: [] })),
  ]);

  // The classes offered: those labelling the sample, and those of the served models.
  /** @type {Set<string>} */
  const sampleClasses = new Set();
  for (const entry of sample.labels ?? []) {
    for (const name of Object.keys(entry.classes ?? {})) {
      if (name !== 'dubious' && name !== 'uncertain') {
        sampleClasses.add(name);
      }
    }
  }
  /** @type {Set<string>} */
  const knownClasses = new Set(sampleClasses);
  for (const model of models.models ?? []) {
    for (const entry of model.classes ?? []) {
      knownClasses.add(entry.name);
    }
  }
  const classList = h(
    'datalist',
    { id: 'known-classes' },
    [...knownClasses].sort().map((name) => h('option', { value: name })),
  );

  main.append(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: '#/samples' }, 'Samples'),
      ' / ',
      h('a', { href: sampleHref }, id),
      ' / ',
    ),
    h('h1', {}, 'Particles'),
    filterForm(filters, sampleClasses, (changes) => {
      location.hash = hrefWith({ ...changes, offset: 0 });
    }),
    classList,
  );

  /** @type {Particle[]} */
  const particles = page.particles;
  if (particles.length === 0) {
    main.append(h('p', { class: 'empty' }, 'No particle matches these filters.'));
    return;
  }

  const announcer = h('p', { class: 'status', role: 'status', id: 'gallery-status' });
  const selectionCount = h('span', { class: 'selection-count', id: 'selection-count' });
  const grid = h('ul', {
    class: 'gallery',
    id: 'gallery',
    role: 'listbox',
    tabindex: '0',
    'aria-multiselectable': 'true',
    'aria-label':
      `Particles ${filters.offset + 1} to ${filters.offset + particles.length}; arrows move, ` +
      'space selects, v validates, d dubious, r relabels, u undoes',
  });
  const detail = h('aside', {
    class: 'particle-detail',
    'aria-label': 'Particle under the cursor',
    id: 'particle-detail',
  });
  const pickerInput = h('input', {
    id: 'relabel-input',
    list: 'known-classes',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const allowNew = h('input', { id: 'relabel-new', type: 'checkbox' });
  const picker = h(
    'form',
    { class: 'picker', id: 'relabel-form', hidden: true },
    h('label', { for: 'relabel-input' }, 'New class'),
    pickerInput,
    h('label', { class: 'inline' }, allowNew, ' allow a class no model knows'),
    h('button', { type: 'submit' }, 'Apply'),
    h('button', { type: 'button', onclick: () => closePicker() }, 'Cancel'),
  );

  /** @param {string} label @param {string} key @param {() => void} action */
  const actionButton = (label, key, action) =>
    h('button', { type: 'button', 'aria-keyshortcuts': key, onclick: action }, label, ' ', h('kbd', {}, key));

  main.append(
    h(
      'div',
      { class: 'action-bar' },
      actionButton('Validate', 'v', () => validateTargets()),
      actionButton('Dubious', 'd', () => markDubious()),
      actionButton('Relabel…', 'r', () => openPicker('')),
      actionButton('Undo', 'u', () => undoCursor()),
      selectionCount,
      picker,
    ),
    announcer,
    h('div', { class: 'gallery-layout' }, grid, detail),
    pager({
      total: page.total,
      limit: filters.limit,
      offset: filters.offset,
      label: 'Pages of particles',
      href: (offset) => hrefWith({ offset }),
    }),
    shortcutsHelp(),
  );

  // --- state -------------------------------------------------------------------------------
  let cursor = 0;
  let anchor = 0;
  /** @type {Set<number>} indices of selected tiles */
  const selected = new Set();
  /** @type {string[]} object URLs to revoke when the page is left */
  const objectUrls = [];
  /** @type {Map<number, string>} particle number → object URL of its vignette */
  const images = new Map();
  let busy = false;

  const tiles = particles.map((particle, index) => {
    const image = h('img', { alt: `particle ${particle.number}`, decoding: 'async' });
    image.addEventListener('load', () => {
      image.width = image.naturalWidth * TILE_SCALE;
    });
    const tile = h(
      'li',
      {
        class: 'tile',
        role: 'option',
        id: `particle-${particle.number}`,
        'aria-selected': 'false',
        dataset: { number: String(particle.number) },
        onclick: (/** @type {MouseEvent} */ event) => clickTile(index, event),
      },
      h('div', { class: 'thumb' }, image),
      h('div', { class: 'caption' }),
    );
    return tile;
  });
  grid.append(...tiles);
  particles.forEach((_, index) => drawTile(index));
  moveCursor(0, false, false);

  // Vignettes, fetched with the token, a few at a time.
  inParallel(particles, PARALLEL_REQUESTS, async (particle) => {
    const index = particles.indexOf(particle);
    const image = /** @type {HTMLImageElement} */ (tiles[index].querySelector('img'));
    try {
      const url = await imageUrl(particle.image_url, signal);
      objectUrls.push(url);
      images.set(particle.number, url);
      image.src = url;
      if (index === cursor) {
        drawDetail();
      }
    } catch (error) {
      if (!signal.aborted) {
        image.alt = `particle ${particle.number}: no image (${messageOf(error)})`;
        tiles[index].classList.add('no-image');
      }
    }
  });

  // --- drawing -----------------------------------------------------------------------------
  /** @param {Particle} particle @returns {string} what its badge says */
  function badgeOf(particle) {
    return particle.dubious ? 'dubious' : particle.status;
  }

  /**
   * The class that v validates: the current label, or for an uncertain particle the model's
   * best guess (its top class, which missed its threshold); null when there is none.
   * @param {Particle} particle
   * @returns {string | null}
   */
  function classToValidate(particle) {
    if (particle.label && particle.label !== 'uncertain') {
      return particle.label;
    }
    return particle.top1 ?? null;
  }

  /** @param {Particle} particle @returns {string} the label as a tile shows it */
  function shownLabel(particle) {
    if (particle.label === 'uncertain' && particle.top1) {
      return `${particle.top1}?`;
    }
    return particle.label ?? '(no label)';
  }

  /** @param {number} index */
  function drawTile(index) {
    const particle = particles[index];
    const caption = /** @type {HTMLElement} */ (tiles[index].querySelector('.caption'));
    const badge = badgeOf(particle);
    tiles[index].dataset.status = badge;
    fill(
      caption,
      h('span', { class: 'number' }, `#${particle.number}`),
      h('span', { class: `badge status-${badge}` }, badge),
      h('span', { class: 'label' }, shownLabel(particle)),
      particle.status !== 'validated' && particle.probability !== null
        ? h('span', { class: 'probability' }, formatPercent(particle.probability))
        : null,
    );
    tiles[index].title =
      `#${particle.number}: ${shownLabel(particle)} (${badge}${particle.identified_by ? `, by ${particle.identified_by}` : ''})`;
  }

  function drawDetail() {
    const particle = particles[cursor];
    const url = images.get(particle.number);
    fill(
      detail,
      h('h2', {}, `Particle ${particle.number}`),
      url ? enlarged(url, `particle ${particle.number}, enlarged`) : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Label'),
        h(
          'dd',
          {},
          shownLabel(particle),
          ' ',
          h('span', { class: `badge status-${badgeOf(particle)}` }, badgeOf(particle)),
        ),
        h('dt', {}, 'Identified by'),
        h('dd', {}, particle.identified_by ?? '–'),
        h('dt', {}, 'ESD / ABD'),
        h('dd', {}, `${formatNumber(particle.esd_um, 3)} / ${formatNumber(particle.abd_um, 3)} µm`),
        h('dt', {}, 'Cells in chain'),
        h('dd', {}, formatNumber(particle.particles_per_chain)),
      ),
      particle.top_k?.length
        ? h(
            'ol',
            { class: 'top-k', 'aria-label': 'model top classes' },
            particle.top_k.map((score) =>
              h(
                'li',
                {},
                `${score.name} `,
                h('span', { class: 'probability' }, formatPercent(score.probability)),
              ),
            ),
          )
        : null,
    );
  }

  function drawSelection() {
    tiles.forEach((tile, index) => {
      tile.setAttribute('aria-selected', selected.has(index) ? 'true' : 'false');
      tile.classList.toggle('cursor', index === cursor);
    });
    grid.setAttribute('aria-activedescendant', tiles[cursor].id);
    selectionCount.textContent =
      selected.size > 0
        ? `${selected.size} selected`
        : 'no selection: actions apply to the particle under the cursor';
  }

  // --- selection ---------------------------------------------------------------------------
  /**
   * @param {number} index
   * @param {boolean} extend select from the anchor to here (Shift)
   * @param {boolean} [scroll] bring the tile into view
   */
  function moveCursor(index, extend, scroll = true) {
    cursor = Math.min(Math.max(index, 0), tiles.length - 1);
    if (extend) {
      selected.clear();
      const [from, to] = anchor <= cursor ? [anchor, cursor] : [cursor, anchor];
      for (let i = from; i <= to; ++i) {
        selected.add(i);
      }
    } else {
      anchor = cursor;
    }
    drawSelection();
    drawDetail();
    if (scroll) {
      tiles[cursor].scrollIntoView({ block: 'nearest' });
    }
  }

  /**
   * @param {number} index
   * @param {MouseEvent} event
   */
  function clickTile(index, event) {
    if (event.shiftKey) {
      moveCursor(index, true);
    } else if (event.ctrlKey || event.metaKey) {
      if (selected.has(index)) {
        selected.delete(index);
      } else {
        selected.add(index);
      }
      moveCursor(index, false);
    } else {
      selected.clear();
      selected.add(index);
      moveCursor(index, false);
    }
    grid.focus({ preventScroll: true });
  }

  /** @returns {number} tiles per row, from where they are laid out */
  function columns() {
    const top = tiles[0].offsetTop;
    const inFirstRow = tiles.findIndex((tile) => tile.offsetTop !== top);
    return inFirstRow === -1 ? tiles.length : inFirstRow;
  }

  /** @returns {number[]} the tiles an action applies to: the selection, else the cursor's */
  function targets() {
    return selected.size > 0 ? [...selected].sort((a, b) => a - b) : [cursor];
  }

  // --- actions -----------------------------------------------------------------------------
  /**
   * Refreshes tiles from each particle's history: what the server counts it as now.
   * @param {number[]} indices
   */
  async function refresh(indices) {
    await inParallel(indices, PARALLEL_REQUESTS, async (index) => {
      const particle = particles[index];
      const history = await get(`${base}/particles/${particle.number}/history`, undefined, signal);
      const resolved = history.resolved;
      particle.label = resolved.label;
      particle.status = resolved.status;
      particle.probability = resolved.probability;
      particle.identified_by = resolved.identified_by;
      particle.dubious = Boolean(resolved.dubious);
      drawTile(index);
    });
    drawDetail();
  }

  /**
   * One validation request over the target tiles, then their refresh.
   * @param {number[]} indices
   * @param {{label?: string, dubious?: boolean, allow_new_class?: boolean}} body
   * @param {string} done what to announce
   */
  async function send(indices, body, done) {
    if (busy) {
      return;
    }
    busy = true;
    grid.setAttribute('aria-busy', 'true');
    try {
      const answer = await post(`${base}/validations`, {
        particles: indices.map((index) => particles[index].number),
        ...body,
      });
      const author = answer.events?.[0]?.author;
      if (author) {
        learnIdentity({ name: author, refused: undefined });
      }
      await refresh(indices);
      say(announcer, done, 'ok');
    } catch (error) {
      if (!signal.aborted) {
        say(announcer, messageOf(error), 'error');
      }
    } finally {
      busy = false;
      grid.removeAttribute('aria-busy');
    }
  }

  function validateTargets() {
    const indices = targets();
    const unlabelled = indices.filter((index) => classToValidate(particles[index]) === null);
    if (unlabelled.length > 0) {
      say(
        announcer,
        `Particle ${unlabelled.map((index) => particles[index].number).join(', ')} has no class to validate: press r to give one.`,
        'error',
      );
      return;
    }
    // Particles of different classes: one request per class (a request has one label).
    /** @type {Map<string, number[]>} */
    const byLabel = new Map();
    for (const index of indices) {
      const label = /** @type {string} */ (classToValidate(particles[index]));
      byLabel.set(label, [...(byLabel.get(label) ?? []), index]);
    }
    (async () => {
      for (const [label, group] of byLabel) {
        await send(group, { label }, `Validated ${describe(group)} as ${label}.`);
      }
    })();
  }

  function markDubious() {
    const indices = targets();
    send(indices, { dubious: true }, `Marked ${describe(indices)} dubious.`);
  }

  /** @param {string} typed the first letters of the class, when a letter opened the picker */
  function openPicker(typed) {
    picker.hidden = false;
    pickerInput.value = typed;
    allowNew.checked = false;
    pickerInput.focus();
  }

  function closePicker() {
    picker.hidden = true;
    grid.focus({ preventScroll: true });
  }

  picker.addEventListener('submit', async (event) => {
    event.preventDefault();
    const label = pickerInput.value.trim();
    if (!label) {
      return;
    }
    const indices = targets();
    closePicker();
    await send(
      indices,
      { label, allow_new_class: allowNew.checked || undefined },
      `Relabelled ${describe(indices)} as ${label}.`,
    );
  });
  picker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closePicker();
    }
  });

  async function undoCursor() {
    if (busy) {
      return;
    }
    const index = cursor;
    const particle = particles[index];
    busy = true;
    try {
      const history = await get(`${base}/particles/${particle.number}/history`, undefined, signal);
      if (history.newest_sequence === null || history.newest_sequence === undefined) {
        say(announcer, `Particle ${particle.number} has no change to undo.`, 'error');
        return;
      }
      await post(`${base}/particles/${particle.number}/undo`, { expected_sequence: history.newest_sequence });
      await refresh([index]);
      say(
        announcer,
        `Undid the newest change of particle ${particle.number}: now ${particle.label ?? 'no label'} (${badgeOf(particle)}).`,
        'ok',
      );
    } catch (error) {
      if (!signal.aborted) {
        say(announcer, messageOf(error), 'error');
      }
    } finally {
      busy = false;
    }
  }

  /** @param {number[]} indices @returns {string} "particle 5" or "3 particles" */
  function describe(indices) {
    return indices.length === 1 ? `particle ${particles[indices[0]].number}` : `${indices.length} particles`;
  }

  // --- keyboard ----------------------------------------------------------------------------
  grid.addEventListener('keydown', (event) => {
    if (event.altKey) {
      return;
    }
    const command = event.ctrlKey || event.metaKey;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns() }[event.key];
    if (step !== undefined && !command) {
      event.preventDefault();
      moveCursor(cursor + step, event.shiftKey);
    } else if ((event.key === 'Home' || event.key === 'End') && !command) {
      event.preventDefault();
      moveCursor(event.key === 'Home' ? 0 : tiles.length - 1, event.shiftKey);
    } else if (event.key === ' ' && !command) {
      event.preventDefault();
      if (selected.has(cursor)) {
        selected.delete(cursor);
      } else {
        selected.add(cursor);
      }
      anchor = cursor;
      drawSelection();
    } else if (command && event.key.toLowerCase() === 'a') {
      event.preventDefault();
      tiles.forEach((_, index) => selected.add(index));
      drawSelection();
    } else if (event.key === 'Escape') {
      selected.clear();
      drawSelection();
    } else if (!command && event.key === 'v') {
      event.preventDefault();
      validateTargets();
    } else if (!command && event.key === 'd') {
      event.preventDefault();
      markDubious();
    } else if (!command && event.key === 'u') {
      event.preventDefault();
      undoCursor();
    } else if (!command && event.key === 'r') {
      event.preventDefault();
      openPicker('');
    } else if (!command && /^[a-zA-Z]$/.test(event.key)) {
      // Typing a class name opens the picker with what was typed.
      event.preventDefault();
      openPicker(event.key);
    }
  });

  grid.focus({ preventScroll: true });
  return () => {
    for (const url of objectUrls) {
      URL.revokeObjectURL(url);
    }
  };
}

/**
 * An image shown DETAIL_SCALE times its size (within its box, by CSS).
 * @param {string} url
 * @param {string} alt
 * @returns {HTMLImageElement}
 */
function enlarged(url, alt) {
  const image = h('img', { src: url, alt, class: 'large' });
  const scale = () => {
    image.width = image.naturalWidth * DETAIL_SCALE;
  };
  if (image.complete && image.naturalWidth > 0) {
    scale();
  } else {
    image.addEventListener('load', scale);
  }
  return image;
}

/**
 * The filters: class, status, size range, page size.
 * @param {{label: string, status: string, min_esd_um: string, max_esd_um: string, limit: number}} filters
 * @param {Set<string>} classes
 * @param {(changes: {label: string, status: string, min_esd_um: string, max_esd_um: string, limit: number}) => void} apply
 * @returns {HTMLElement}
 */
function filterForm(filters, classes, apply) {
  const label = h(
    'select',
    { id: 'filter-label', name: 'label' },
    h('option', { value: '' }, 'any class'),
    [...new Set([...classes, 'uncertain', ...(filters.label ? [filters.label] : [])])]
      .sort()
      .map((name) => h('option', { value: name, selected: name === filters.label }, name)),
  );
  const status = h(
    'select',
    { id: 'filter-status', name: 'status' },
    h('option', { value: '' }, 'any status'),
    STATUSES.map((name) => h('option', { value: name, selected: name === filters.status }, name)),
  );
  const minEsd = h('input', {
    id: 'filter-min-esd',
    name: 'min_esd_um',
    type: 'number',
    min: '0',
    step: 'any',
    value: filters.min_esd_um,
    inputmode: 'decimal',
  });
  const maxEsd = h('input', {
    id: 'filter-max-esd',
    name: 'max_esd_um',
    type: 'number',
    min: '0',
    step: 'any',
    value: filters.max_esd_um,
    inputmode: 'decimal',
  });
  const limit = h(
    'select',
    { id: 'filter-limit', name: 'limit' },
    PAGE_SIZES.map((size) =>
      h('option', { value: String(size), selected: size === filters.limit }, String(size)),
    ),
  );
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter particles' },
    h('div', { class: 'field' }, h('label', { for: 'filter-label' }, 'Class'), label),
    h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), status),
    h('div', { class: 'field' }, h('label', { for: 'filter-min-esd' }, 'ESD from (µm)'), minEsd),
    h('div', { class: 'field' }, h('label', { for: 'filter-max-esd' }, 'to (µm)'), maxEsd),
    h('div', { class: 'field' }, h('label', { for: 'filter-limit' }, 'Per page'), limit),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply({
      label: label.value,
      status: status.value,
      min_esd_um: minEsd.value,
      max_esd_um: maxEsd.value,
      limit: Number(limit.value),
    });
  });
  return form;
}

/** @returns {HTMLElement} the list of keyboard shortcuts */
function shortcutsHelp() {
  /** @type {[string, string][]} */
  const keys = [
    ['← → ↑ ↓, Home, End', 'move the cursor'],
    ['Shift + move, Shift + click', 'select a range'],
    ['Space, Ctrl + click', 'select or deselect the particle under the cursor'],
    ['Ctrl + A, Esc', 'select all, select none'],
    [
      'v',
      'validate the selected particles (else the one under the cursor) with their current class; ' +
        'an uncertain one with the model\'s best guess (shown with "?")',
    ],
    ['d', 'mark them dubious'],
    ['r, or type a letter', 'give them another class (class picker; Enter applies, Esc cancels)'],
    ['u', 'undo the newest change of the particle under the cursor'],
  ];
  return h(
    'details',
    { class: 'shortcuts', id: 'shortcuts' },
    h('summary', {}, 'Keyboard shortcuts'),
    h(
      'dl',
      {},
      keys.map(([key, what]) => [h('dt', {}, h('kbd', {}, key)), h('dd', {}, what)]),
    ),
  );
}
