// @ts-check
// The models page: the models the server serves with their validation metrics
// (GET /api/v1/models), an Activate button (admin; POST …/activate), and per model its
// per-class metrics and confusion matrix as a heat map (GET /api/v1/models/{id}).

import { get, post } from '../api.js';
import { heatMap } from '../charts.js';
import { formatNumber, formatPercent, formatTime, h, hashHref, messageOf, say } from '../dom.js';

/**
 * @typedef {{items: number, top1: number, top5: number, macro_f1: number,
 *            balanced_accuracy: number, ece: number,
 *            per_class?: {name: string, precision: number, recall: number, f1: number,
 *                         support: number}[],
 *            confusion?: number[][]}} Validation
 * @typedef {{id: string, name: string, file: string, active: boolean, architecture: string,
 *            created_at: string, phytoflow_version: string, image_size: number,
 *            channels: number, context: string, temperature: number,
 *            classes: {name: string, aphia_id: number | null, threshold: number}[],
 *            validation: Validation | null}} Model
 */

/**
 * @param {string} id
 * @returns {string}
 */
function modelHref(id) {
  return hashHref(`/models/${encodeURIComponent(id)}`);
}

/**
 * Activates a model, then runs `after`.
 * @param {Model} model
 * @param {HTMLElement} status
 * @param {() => void} after
 * @returns {HTMLButtonElement}
 */
function activateButton(model, status, after) {
  return h(
    'button',
    {
      type: 'button',
      disabled: model.active,
      'aria-label': model.active ? `${model.name} is active` : `Activate ${model.name}`,
      onclick: async () => {
        try {
          await post(`/api/v1/models/${encodeURIComponent(model.id)}/activate`, {});
          say(status, `${model.id} is now the active model.`, 'ok');
          after();
        } catch (error) {
          say(status, `Not activated: ${messageOf(error)}`, 'error');
        }
      },
    },
    model.active ? 'Active' : 'Activate',
  );
}

// Draws the current page again (the router listens to hashchange).
function reloadPage() {
  dispatchEvent(new HashChangeEvent('hashchange'));
}

/** @type {import('../app.js').PageRender} */
export async function render(main, { signal }) {
  document.title = 'Models — phytoflow';
  const status = h('p', { class: 'status', role: 'status', id: 'models-status' });
  const listing = h('div', { class: 'listing' });
  main.append(h('h1', {}, 'Models'), status, listing);

  const load = async () => {
    /** @type {{models: Model[]}} */
    const answer = await get('/api/v1/models', undefined, signal);
    if (answer.models.length === 0) {
      listing.replaceChildren(
        h('p', { class: 'empty' }, 'The server serves no model (start it with --model FILE).'),
      );
      return;
    }
    const metric = (/** @type {number | undefined | null} */ value) =>
      h('td', { class: 'number' }, formatPercent(value));
    listing.replaceChildren(
      h(
        'table',
        { class: 'data models', id: 'models-table' },
        h('caption', { class: 'visually-hidden' }, 'Models served'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Model'),
            h('th', { scope: 'col' }, 'Created (UTC)'),
            h('th', { scope: 'col', class: 'number' }, 'Classes'),
            h('th', { scope: 'col', class: 'number' }, 'Validation images'),
            h('th', { scope: 'col', class: 'number' }, 'Top-1'),
            h('th', { scope: 'col', class: 'number' }, 'Top-5'),
            h('th', { scope: 'col', class: 'number' }, 'Macro F1'),
            h('th', { scope: 'col', class: 'number' }, 'Balanced accuracy'),
            h('th', { scope: 'col', class: 'number' }, 'ECE'),
            h('th', { scope: 'col' }, ''),
          ),
        ),
        h(
          'tbody',
          {},
          answer.models.map((model) =>
            h(
              'tr',
              { class: model.active ? 'active' : undefined },
              h(
                'th',
                { scope: 'row' },
                h('a', { href: modelHref(model.id) }, model.id),
                model.active ? [' ', h('span', { class: 'badge state-succeeded' }, 'active')] : null,
              ),
              h('td', {}, formatTime(model.created_at)),
              h('td', { class: 'number' }, formatNumber(model.classes.length)),
              h('td', { class: 'number' }, formatNumber(model.validation?.items)),
              metric(model.validation?.top1),
              metric(model.validation?.top5),
              metric(model.validation?.macro_f1),
              metric(model.validation?.balanced_accuracy),
              metric(model.validation?.ece),
              h('td', {}, activateButton(model, status, load)),
            ),
          ),
        ),
      ),
    );
  };
  await load();
}

/** @type {import('../app.js').PageRender} */
export async function renderModel(main, { params, signal }) {
  const id = params.id;
  document.title = `${id} — phytoflow`;
  /** @type {Model} */
  const model = await get(`/api/v1/models/${encodeURIComponent(id)}`, undefined, signal);
  const status = h('p', { class: 'status', role: 'status', id: 'model-status' });
  const validation = model.validation;
  const thresholds = new Map(model.classes.map((entry) => [entry.name, entry]));

  main.append(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: '#/models' }, 'Models'),
      ' / ',
    ),
    h(
      'h1',
      {},
      model.id,
      model.active ? [' ', h('span', { class: 'badge state-succeeded' }, 'active')] : null,
    ),
    h('div', { class: 'toolbar' }, activateButton(model, status, reloadPage)),
    status,
    h(
      'dl',
      { class: 'facts' },
      [
        ['File', model.file],
        ['Architecture', model.architecture],
        ['Input', `${model.image_size} px, ${model.channels} channel(s), context ${model.context}`],
        ['Temperature', formatNumber(model.temperature, 3)],
        ['Created', `${formatTime(model.created_at)} by phytoflow ${model.phytoflow_version}`],
        [
          'Validation',
          validation
            ? [
                `${formatNumber(validation.items)} images: top-1 ${formatPercent(validation.top1)}`,
                `top-5 ${formatPercent(validation.top5)}`,
                `macro F1 ${formatPercent(validation.macro_f1)}`,
                `balanced accuracy ${formatPercent(validation.balanced_accuracy)}`,
                `ECE ${formatPercent(validation.ece)}`,
              ].join(', ')
            : 'no training report',
        ],
      ].map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]),
    ),
  );
  if (!validation?.confusion || !validation.per_class) {
    main.append(
      h(
        'p',
        { class: 'empty' },
        'This model has no validation report: no per-class metrics or confusion matrix.',
      ),
    );
    return;
  }
  const perClass = validation.per_class;
  main.append(
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'confusion-heading' },
      h('h2', { id: 'confusion-heading' }, 'Confusion matrix'),
      heatMap({
        title: `Confusion matrix of ${model.id} on ${validation.items} validation images`,
        labels: perClass.map((entry) => entry.name),
        counts: validation.confusion,
        caption:
          'Rows: true class; columns: predicted class (argmax, before thresholds). Colour: share of the row.',
      }),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'classes-heading' },
      h('h2', { id: 'classes-heading' }, 'Classes'),
      h(
        'table',
        { class: 'data', id: 'per-class-table' },
        h('caption', { class: 'visually-hidden' }, 'Per-class validation metrics'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Class'),
            h('th', { scope: 'col', class: 'number' }, 'AphiaID'),
            h('th', { scope: 'col', class: 'number' }, 'Threshold'),
            h('th', { scope: 'col', class: 'number' }, 'Images'),
            h('th', { scope: 'col', class: 'number' }, 'Precision'),
            h('th', { scope: 'col', class: 'number' }, 'Recall'),
            h('th', { scope: 'col', class: 'number' }, 'F1'),
          ),
        ),
        h(
          'tbody',
          {},
          perClass.map((entry) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, entry.name),
              h('td', { class: 'number' }, formatNumber(thresholds.get(entry.name)?.aphia_id)),
              h('td', { class: 'number' }, formatNumber(thresholds.get(entry.name)?.threshold, 3)),
              h('td', { class: 'number' }, formatNumber(entry.support)),
              h('td', { class: 'number' }, formatPercent(entry.precision)),
              h('td', { class: 'number' }, formatPercent(entry.recall)),
              h('td', { class: 'number' }, formatPercent(entry.f1)),
            ),
          ),
        ),
      ),
    ),
  );
}
