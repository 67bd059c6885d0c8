// @ts-check
// The OSPAR indicators page (docs/indicators.md): a form for GET /api/v1/indicators/{kind}
// (PH1/FW5 lifeform pairs, PH2 anomalies, PH3 diversity, the monthly series) whose state is the
// hash query, so that a result can be bookmarked; the server's plot (format=svg) as an image
// fetched with the token; the key numbers of the JSON as tables, with its warnings, the samples
// used and the share of model predictions, with the Monte Carlo intervals of the predicted
// labels when asked for; and both as downloads.

import { apiUrl, download, get, getBlob } from '../api.js';
import { errorBox, fill, formatNumber, formatPercent, h, hashHref, messageOf, say } from '../dom.js';

/** @typedef {'ph1' | 'ph2' | 'ph3' | 'series'} Kind */

/** @type {{kind: Kind, label: string, periods: 'required' | 'optional'}[]} */
const KINDS = [
  { kind: 'ph1', label: 'PH1/FW5: lifeform pairs', periods: 'required' },
  { kind: 'ph2', label: 'PH2: anomalies of one lifeform', periods: 'required' },
  { kind: 'ph3', label: 'PH3: diversity', periods: 'optional' },
  { kind: 'series', label: 'Monthly series of every lifeform', periods: 'optional' },
];

/** The values a series can follow (GET …?value=), as the API names them. */
const VALUES = [
  { value: 'cells_per_l', label: 'cells per litre' },
  { value: 'cells', label: 'counted cells' },
  { value: 'biovolume_um3_per_l', label: 'biovolume (µm³ L⁻¹)' },
  { value: 'carbon_ug_per_l', label: 'carbon (µg C L⁻¹)' },
];

/** The lifeform groups of products/time_series.cpp (LifeformGroups). */
const LIFEFORMS = [
  'phytoplankton',
  'diatom',
  'dinoflagellate',
  'pelagic_diatoms',
  'tychopelagic_diatoms',
  'lg_phyto',
  'sm_phyto',
  'other_phytoplankton',
  'cyanobacteria',
  'ciliates',
  'zooplankton',
];

/** The API's limit on Monte Carlo replicates (GET …?uncertainty=). */
const MAX_REPLICATES = 1000;

/**
 * What the form holds, as in the hash query: periods as "2015-2020" or "2021", pairs as
 * "diatom-dinoflagellate,lg_phyto-sm_phyto" (empty: the API's default pairs); uncertainty the
 * Monte Carlo replicates (0: off; the API takes them only with predictions).
 * @typedef {{kind: Kind, station: string, area: string, reference: string, comparison: string,
 *            value: string, predictions: boolean, uncertainty: number, lifeform: string,
 *            lifeforms: string}} Request
 */

/**
 * @param {URLSearchParams} query
 * @returns {Request}
 */
function requestOf(query) {
  const kind = /** @type {Kind} */ (query.get('kind') ?? 'ph1');
  const predictions = query.get('predictions') === 'true';
  // A number out of range is sent as it is: the server's message says what is allowed.
  const replicates = Number.parseInt(query.get('uncertainty') ?? '', 10);
  return {
    kind: KINDS.some((entry) => entry.kind === kind) ? kind : 'ph1',
    station: query.get('station') ?? '',
    area: query.get('area') ?? '',
    reference: query.get('reference') ?? '',
    comparison: query.get('comparison') ?? '',
    value: query.get('value') ?? 'cells_per_l',
    predictions,
    uncertainty: predictions && Number.isFinite(replicates) ? replicates : 0,
    lifeform: query.get('lifeform') ?? 'phytoplankton',
    lifeforms: query.get('lifeforms') ?? '',
  };
}

/**
 * The hash of the page showing `request`.
 * @param {Request} request
 * @returns {string}
 */
function pageHref(request) {
  return hashHref('/indicators', {
    kind: request.kind,
    station: request.station,
    area: request.area,
    reference: request.reference,
    comparison: request.comparison,
    value: request.value === 'cells_per_l' ? '' : request.value,
    predictions: request.predictions ? 'true' : '',
    uncertainty: request.predictions && request.uncertainty !== 0 ? request.uncertainty : '',
    lifeform: request.kind === 'ph2' || request.kind === 'ph3' ? request.lifeform : '',
    lifeforms: request.kind === 'ph1' ? request.lifeforms : '',
  });
}

/**
 * The API path of `request`; each PH1 pair is its own `lifeforms` parameter.
 * @param {Request} request
 * @param {'json' | 'svg'} format
 * @returns {string}
 */
function apiPath(request, format) {
  const path = apiUrl(`/api/v1/indicators/${request.kind}`, {
    station: request.station,
    area: request.area,
    reference: request.reference,
    comparison: request.comparison,
    value: request.value,
    predictions: request.predictions ? 'true' : undefined,
    uncertainty: request.predictions && request.uncertainty !== 0 ? request.uncertainty : undefined,
    lifeform: request.kind === 'ph2' || request.kind === 'ph3' ? request.lifeform : undefined,
    format: format === 'svg' ? 'svg' : undefined,
  });
  if (request.kind !== 'ph1') {
    return path;
  }
  const pairs = new URLSearchParams();
  for (const pair of request.lifeforms.split(',')) {
    if (pair.trim()) {
      pairs.append('lifeforms', pair.trim());
    }
  }
  const text = pairs.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

/**
 * A p value or another probability: small ones in scientific notation ("2.16e-22").
 * @param {number | null | undefined} value
 * @returns {string}
 */
function formatProbability(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : formatNumber(value, 3);
}

/**
 * A period from the API's [first, last] pair: "2015–2020", or "2021" for one year.
 * @param {number[] | undefined} period
 * @returns {string}
 */
function formatPeriod(period) {
  if (!period) {
    return '–';
  }
  return period[0] === period[1] ? String(period[0]) : `${period[0]}–${period[1]}`;
}

/**
 * A value and its interval, "0.9167 [0.8333, 1]", when the answer has one (its bounds are null
 * without uncertainty, and where no replicate gave the value).
 * @param {number | null | undefined} value
 * @param {number | null | undefined} lower
 * @param {number | null | undefined} upper
 * @param {number} [digits] significant digits
 * @returns {string}
 */
function withInterval(value, lower, upper, digits) {
  const estimate = formatNumber(value, digits);
  const known = (/** @type {number | null | undefined} */ bound) => bound !== null && bound !== undefined;
  if (!known(lower) && !known(upper)) {
    return estimate;
  }
  return `${estimate} [${formatNumber(lower, digits)}, ${formatNumber(upper, digits)}]`;
}

/**
 * A column header, with "[95 % interval]" when the answer has intervals.
 * @param {any} result
 * @param {string} label
 * @returns {string}
 */
function intervalLabel(result, label) {
  return result.uncertainty ? `${label} [${formatPercent(result.uncertainty.level)} interval]` : label;
}

/** @type {import('../app.js').PageRender} */
export async function render(main, { query, signal }) {
  document.title = 'OSPAR indicators — phytoflow';
  const request = requestOf(query);
  // A page opened with a kind shows its result; the bare page only the form.
  const submitted = query.has('kind');
  const results = h('div', { id: 'indicator-results', 'aria-live': 'polite' });
  const form = requestForm(request);
  main.append(
    h('h1', {}, 'OSPAR indicators'),
    h(
      'p',
      { class: 'intro' },
      'The pelagic-habitat indicators of the stored samples by their station, area (water body) and ',
      'sampling time, from validated labels (and model predictions when included). ',
      h('a', { href: hashHref('/docs/indicators.md') }, 'How they are computed'),
      '.',
    ),
    form.element,
    results,
  );
  if (!submitted) {
    await form.suggestPeriods(signal);
    return;
  }
  /** @type {string[]} */
  const objectUrls = [];
  signal.addEventListener('abort', () => objectUrls.forEach((url) => URL.revokeObjectURL(url)));
  await showResult(results, request, objectUrls, signal);
  return () => objectUrls.forEach((url) => URL.revokeObjectURL(url));
}

/**
 * The form; submitting it puts the request in the hash, which shows its result.
 * @param {Request} request
 * @returns {{element: HTMLFormElement, suggestPeriods: (signal: AbortSignal) => Promise<void>}}
 */
function requestForm(request) {
  /**
   * @param {string} id
   * @param {string} label
   * @param {HTMLElement} control
   */
  const field = (id, label, control) =>
    h('div', { class: 'field', id: `${id}-field` }, h('label', { for: id }, label), control);
  /**
   * @param {string} id
   * @param {string} name
   * @param {string} value
   * @param {string} [placeholder]
   */
  const text = (id, name, value, placeholder) =>
    h('input', {
      id,
      name,
      type: 'text',
      value,
      placeholder,
      spellcheck: 'false',
      'aria-describedby': 'indicator-form-hint',
    });

  const kind = h(
    'select',
    { id: 'indicator-kind', name: 'kind' },
    KINDS.map((entry) =>
      h('option', { value: entry.kind, selected: entry.kind === request.kind }, entry.label),
    ),
  );
  const station = text('indicator-station', 'station', request.station, 'all');
  const area = text('indicator-area', 'area', request.area, 'all');
  const reference = text('indicator-reference', 'reference', request.reference, '2015-2020');
  const comparison = text('indicator-comparison', 'comparison', request.comparison, '2021-2022');
  const value = h(
    'select',
    { id: 'indicator-value', name: 'value' },
    VALUES.map((entry) =>
      h('option', { value: entry.value, selected: entry.value === request.value }, entry.label),
    ),
  );
  const lifeform = h(
    'select',
    { id: 'indicator-lifeform', name: 'lifeform' },
    LIFEFORMS.map((name) => h('option', { value: name, selected: name === request.lifeform }, name)),
  );
  const pairs = text('indicator-pairs', 'lifeforms', request.lifeforms, 'the three default pairs');
  const predictions = h('input', {
    id: 'indicator-predictions',
    name: 'predictions',
    type: 'checkbox',
    checked: request.predictions,
  });
  const replicates = h('input', {
    id: 'indicator-uncertainty',
    name: 'uncertainty',
    type: 'number',
    min: 0,
    max: MAX_REPLICATES,
    step: 1,
    value: String(request.uncertainty),
    'aria-describedby': 'indicator-form-hint',
  });
  // Validated labels are certain: only the model's predictions have an uncertainty to draw.
  const enableReplicates = () => {
    replicates.disabled = !predictions.checked;
  };
  predictions.addEventListener('change', enableReplicates);
  enableReplicates();

  const lifeformField = field('indicator-lifeform', 'Lifeform group', lifeform);
  const pairsField = field('indicator-pairs', 'Lifeform pairs', pairs);
  const showFieldsOfKind = () => {
    lifeformField.hidden = kind.value !== 'ph2' && kind.value !== 'ph3';
    pairsField.hidden = kind.value !== 'ph1';
  };
  kind.addEventListener('change', showFieldsOfKind);
  showFieldsOfKind();
  // What the periods span in the store, once known (suggestPeriods).
  const periodHint = h('span', { id: 'indicator-period-hint' });

  const element = h(
    'form',
    { class: 'indicator-form filters', 'aria-label': 'Indicator to compute' },
    field('indicator-kind', 'Indicator', kind),
    field('indicator-station', 'Station', station),
    field('indicator-area', 'Area (water body)', area),
    field('indicator-reference', 'Reference period', reference),
    field('indicator-comparison', 'Comparison period', comparison),
    field('indicator-value', 'Value', value),
    lifeformField,
    pairsField,
    h('label', { class: 'inline' }, predictions, ' Include model predictions'),
    field('indicator-uncertainty', 'Uncertainty replicates', replicates),
    h('button', { type: 'submit' }, 'Compute'),
    h(
      'p',
      { class: 'hint', id: 'indicator-form-hint' },
      'Periods are years, 2015-2020 or 2021: PH1 and PH2 need both, PH3 and the series cover ',
      'what they give (else every year). Pairs are X-Y, comma-separated (empty: ',
      'diatom-dinoflagellate, tychopelagic_diatoms-pelagic_diatoms, lg_phyto-sm_phyto). ',
      `Uncertainty replicates (0: off, at most ${MAX_REPLICATES}; with predictions) give 95 % `,
      'intervals of the values from the calibrated model probabilities. ',
      periodHint,
    ),
  );
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    const href = pageHref({
      kind: /** @type {Kind} */ (kind.value),
      station: station.value.trim(),
      area: area.value.trim(),
      reference: reference.value.trim(),
      comparison: comparison.value.trim(),
      value: value.value,
      predictions: predictions.checked,
      uncertainty: replicates.valueAsNumber || 0,
      lifeform: lifeform.value,
      lifeforms: pairs.value.trim(),
    });
    if (location.hash === href) {
      // The same request again: the router only listens to changes.
      dispatchEvent(new HashChangeEvent('hashchange'));
    } else {
      location.hash = href;
    }
  });

  // Proposes periods from the years the stored samples span: the last two years (one when the
  // span is short) against the years before.
  const suggestPeriods = async (/** @type {AbortSignal} */ signal) => {
    try {
      const series = await get('/api/v1/indicators/series', undefined, signal);
      const { first_year: first, last_year: last, samples } = series.selection;
      if (!(samples > 0)) {
        return;
      }
      say(periodHint, `The stored samples with a sampling time span ${first}–${last}.`);
      const comparisonYears = last - first >= 5 ? 2 : 1;
      if (last - first + 1 > comparisonYears && !reference.value && !comparison.value) {
        const split = last - comparisonYears + 1;
        reference.value = split - 1 === first ? String(first) : `${first}-${split - 1}`;
        comparison.value = split === last ? String(last) : `${split}-${last}`;
      }
    } catch (error) {
      // Only a suggestion: the form works without it, and a request shows its own errors.
      if (!signal.aborted) {
        say(periodHint, `No period to suggest: ${messageOf(error)}`);
      }
    }
  };
  return { element, suggestPeriods };
}

/**
 * Fetches the JSON and the plot of `request` and shows them.
 * @param {HTMLElement} area
 * @param {Request} request
 * @param {string[]} objectUrls where the object URLs made go, to be revoked
 * @param {AbortSignal} signal
 */
async function showResult(area, request, objectUrls, signal) {
  const hasPlot = request.kind !== 'series';
  const [json, plot] = await Promise.allSettled([
    get(apiPath(request, 'json'), undefined, signal),
    hasPlot ? getBlob(apiPath(request, 'svg'), signal) : Promise.resolve(null),
  ]);
  if (signal.aborted) {
    return;
  }
  if (json.status === 'rejected') {
    area.replaceChildren(
      h('h2', {}, 'Not computed'),
      h('div', { id: 'indicator-error' }, errorBox(json.reason)),
    );
    return;
  }
  const result = json.value;
  /** @type {HTMLElement | null} */
  let plotElement = null;
  if (plot.status === 'rejected') {
    plotElement = h('div', { id: 'indicator-plot' }, errorBox(plot.reason));
  } else if (plot.value) {
    const url = URL.createObjectURL(plot.value.blob);
    objectUrls.push(url);
    const title = KINDS.find((entry) => entry.kind === request.kind)?.label ?? request.kind;
    plotElement = h(
      'figure',
      { class: 'indicator-plot', id: 'indicator-plot' },
      h('img', { id: 'indicator-plot-image', src: url, alt: `${title}: the plot of the server` }),
      h('figcaption', {}, `${title} (the plot of format=svg; the numbers are in the tables below)`),
    );
  }
  const status = h('p', { class: 'status', role: 'status', id: 'indicator-download-status' });
  fill(
    area,
    h('h2', {}, KINDS.find((entry) => entry.kind === result.indicator)?.label ?? request.kind),
    selectionLine(result),
    uncertaintyLine(result),
    warningsList(result),
    h(
      'div',
      { class: 'toolbar' },
      downloadButton('JSON', apiPath(request, 'json'), fileName(request, 'json'), status),
      hasPlot ? downloadButton('SVG', apiPath(request, 'svg'), fileName(request, 'svg'), status) : null,
    ),
    status,
    plotElement,
    detailsOf(result),
  );
}

/**
 * What was assessed: samples, years, station, area, value, labels, share of predictions.
 * @param {any} result
 * @returns {HTMLElement}
 */
function selectionLine(result) {
  const selection = result.selection ?? {};
  const periods = result.periods
    ? `; reference ${formatPeriod(result.periods.reference)}, comparison ${formatPeriod(result.periods.comparison)}`
    : '';
  return h(
    'p',
    { class: 'selection', id: 'indicator-selection' },
    h('strong', {}, `${formatNumber(selection.samples)} samples`),
    ` (${selection.first_year ?? '–'}–${selection.last_year ?? '–'}), `,
    `station ${selection.station ?? 'all'}, area ${selection.area ?? 'all'}; ${selection.value}; `,
    `${selection.labels} labels; `,
    h('strong', {}, `${formatPercent(selection.predicted_share)} of labels predicted`),
    periods,
  );
}

/**
 * How the intervals were made, when the answer has them.
 * @param {any} result
 * @returns {HTMLElement | null}
 */
function uncertaintyLine(result) {
  const uncertainty = result.uncertainty;
  if (!uncertainty) {
    return null;
  }
  return h(
    'p',
    { class: 'indicator-uncertainty-note', id: 'indicator-uncertainty-note' },
    `${formatPercent(uncertainty.level)} intervals from ${formatNumber(uncertainty.replicates)} Monte Carlo `,
    "replicates over the model's calibrated top-k probabilities, shown as estimate [lower, upper] ",
    '(validated labels are fixed: only the predicted ones are redrawn). ',
    'An estimate outside its interval means that the uncertain and low-probability labels matter ',
    'for it; the JSON also gives the median of the replicates. ',
    h(
      'a',
      { href: hashHref('/docs/indicators.md', { section: 'uncertainty-of-predicted-labels' }) },
      'How it works',
    ),
    '.',
  );
}

/**
 * The warnings of the result and, for PH1, of each pair (named).
 * @param {any} result
 * @returns {HTMLElement | null}
 */
function warningsList(result) {
  /** @type {string[]} */
  const warnings = [...(result.warnings ?? [])];
  for (const pair of result.pairs ?? []) {
    for (const warning of pair.warnings ?? []) {
      // Named as the server names them in the result's own list, so that each shows once.
      warnings.push(`${pair.x}-${pair.y}: ${warning}`);
    }
  }
  const unique = [...new Set(warnings)];
  if (unique.length === 0) {
    return null;
  }
  return h(
    'section',
    { class: 'warnings indicator-warnings', id: 'indicator-warnings', 'aria-labelledby': 'warnings-heading' },
    h('h3', { id: 'warnings-heading' }, `Warnings (${unique.length})`),
    h(
      'ul',
      {},
      unique.map((warning) => h('li', {}, warning)),
    ),
  );
}

/**
 * A name for a downloaded result: ph1-SNS-2015-2020-2021-2022.json.
 * @param {Request} request
 * @param {'json' | 'svg'} format
 * @returns {string}
 */
function fileName(request, format) {
  const parts = [
    request.kind,
    request.kind === 'ph2' || request.kind === 'ph3' ? request.lifeform : '',
    request.station,
    request.area,
    request.reference,
    request.comparison,
  ]
    .filter(Boolean)
    .join('-')
    .replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${parts}.${format}`;
}

/**
 * A button that fetches `path` with the token and saves it as `name` (the indicator answers
 * carry no file name).
 * @param {string} what
 * @param {string} path
 * @param {string} name
 * @param {HTMLElement} status
 * @returns {HTMLButtonElement}
 */
function downloadButton(what, path, name, status) {
  return h(
    'button',
    {
      type: 'button',
      id: `download-${what.toLowerCase()}`,
      onclick: async () => {
        try {
          const saved = await download(path, name);
          say(status, `Saved ${saved.filename} (${formatNumber(saved.bytes)} bytes).`, 'ok');
        } catch (error) {
          say(status, `The ${what} cannot be made: ${messageOf(error)}`, 'error');
        }
      },
    },
    `Download ${what}`,
  );
}

/**
 * The tables of a result, by its kind.
 * @param {any} result
 * @returns {(HTMLElement | null)[]}
 */
function detailsOf(result) {
  switch (result.indicator) {
    case 'ph1':
      return ph1Details(result);
    case 'ph2':
      return ph2Details(result);
    case 'ph3':
      return ph3Details(result);
    case 'series':
      return [seriesTable(result)];
    default:
      return [h('p', { class: 'empty' }, `No view of the indicator '${result.indicator}'.`)];
  }
}

/**
 * A data table: caption, column headers (numbers right-aligned), rows of a row header and cells.
 * @param {string} id
 * @param {string} caption
 * @param {{label: string, number?: boolean}[]} columns the first is the row header
 * @param {(string | number)[][]} rows
 * @returns {HTMLElement}
 */
function dataTable(id, caption, columns, rows) {
  const numberClass = (/** @type {number} */ index) => (columns[index]?.number ? 'number' : undefined);
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data indicator', id },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((column, index) => h('th', { scope: 'col', class: numberClass(index) }, column.label)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map(([header, ...cells]) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, String(header)),
            cells.map((cell, index) => h('td', { class: numberClass(index + 1) }, String(cell))),
          ),
        ),
      ),
    ),
  );
}

/**
 * The Mann–Kendall trends (PH1 per lifeform, PH3 per index).
 * @param {string} id
 * @param {string} caption
 * @param {string} what the name of the first column
 * @param {{name: string, trend: any, significant?: boolean}[]} trends
 * @returns {HTMLElement}
 */
function kendallTable(id, caption, what, trends) {
  const withSignificance = trends.some((entry) => entry.significant !== undefined);
  return dataTable(
    id,
    caption,
    [
      { label: what },
      { label: 'Years', number: true },
      { label: 'S', number: true },
      { label: 'τ', number: true },
      { label: 'Z', number: true },
      { label: 'p', number: true },
      { label: 'Sen slope', number: true },
      ...(withSignificance ? [{ label: 'Trend (p ≤ 0.05)' }] : []),
    ],
    trends.map(({ name, trend, significant }) => [
      name,
      formatNumber(trend.n),
      formatNumber(trend.s),
      formatNumber(trend.tau, 3),
      formatNumber(trend.z, 3),
      formatProbability(trend.p),
      formatNumber(trend.sen_slope, 3),
      ...(withSignificance ? [significant ? (trend.s > 0 ? 'increase' : 'decrease') : 'none'] : []),
    ]),
  );
}

/**
 * PH1: the Plankton Index of each pair, its statistics and quality, and the Kendall trends.
 * @param {any} result
 * @returns {HTMLElement[]}
 */
function ph1Details(result) {
  const pairs = dataTable(
    'ph1-pairs',
    'Plankton Index (PI) per lifeform pair: the share of comparison months inside the reference envelope',
    [
      { label: 'Pair (x–y)' },
      { label: 'Reference points', number: true },
      { label: 'Comparison points', number: true },
      { label: 'Inside', number: true },
      { label: intervalLabel(result, 'PI'), number: true },
      { label: 'χ²', number: true },
      { label: 'χ² p', number: true },
      { label: 'Binomial probability', number: true },
      { label: 'Reference quality' },
      { label: 'PI per year' },
    ],
    (result.pairs ?? []).map((/** @type {any} */ pair) => [
      `${pair.x}–${pair.y}`,
      formatNumber(pair.reference_points),
      formatNumber(pair.points),
      formatNumber(pair.inside),
      withInterval(pair.pi, pair.pi_lower, pair.pi_upper),
      formatNumber(pair.chi_square),
      formatProbability(pair.chi_square_p),
      formatProbability(pair.binomial_probability),
      `${pair.quality?.passed ? 'passed' : 'failed'} (${pair.quality?.years} years, ${pair.quality?.months} months)`,
      (pair.annual ?? [])
        .map(
          (/** @type {any} */ year) => `${year.year}: ${withInterval(year.pi, year.pi_lower, year.pi_upper)}`,
        )
        .join(', ') || '–',
    ]),
  );
  const trends = kendallTable(
    'ph1-trends',
    `Kendall trends of the annual means of log10 values (${result.kendall} test)`,
    'Lifeform',
    (result.trends ?? []).map((/** @type {any} */ trend) => ({
      name: trend.lifeform,
      trend,
      significant: trend.significant,
    })),
  );
  return [
    h(
      'p',
      {},
      `Transform: ${result.transform}. A PI near 0.9 means the comparison months look like the reference ones.`,
    ),
    pairs,
    trends,
  ];
}

/**
 * PH2: thresholds, comparison anomalies by class, the tests and the trend.
 * @param {any} result
 * @returns {HTMLElement[]}
 */
function ph2Details(result) {
  const limits = result.thresholds ?? {};
  const counts = result.comparison ?? {};
  const t = result.t_test ?? {};
  const f = result.f_test ?? {};
  const trend = result.trend ?? {};
  const tResult = t.significant
    ? `significant: comparison ${t.t < 0 ? 'higher' : 'lower'}`
    : 'not significant (p > 0.01)';
  return [
    h(
      'p',
      {},
      `Anomalies of log10(${result.lifeform} + 1) against the reference climatology; `,
      `${formatNumber(result.reference_years)} reference years kept`,
      (result.years_removed ?? []).length > 0 ? `, years removed: ${result.years_removed.join(', ')}` : '',
      '.',
    ),
    dataTable(
      'ph2-thresholds',
      'Anomaly thresholds (quantiles of every anomaly of both periods)',
      [
        { label: 'Anomalies' },
        { label: 'min', number: true },
        { label: '2.5 %', number: true },
        { label: '25 %', number: true },
        { label: '75 %', number: true },
        { label: '97.5 %', number: true },
        { label: 'max', number: true },
      ],
      [
        [
          'all months',
          formatNumber(limits.min),
          formatNumber(limits.q2_5),
          formatNumber(limits.q25),
          formatNumber(limits.q75),
          formatNumber(limits.q97_5),
          formatNumber(limits.max),
        ],
      ],
    ),
    dataTable(
      'ph2-anomalies',
      `Anomalies of the ${formatNumber(counts.months)} comparison months by class`,
      [
        { label: 'Class' },
        { label: 'Positive', number: true },
        { label: 'Negative', number: true },
        { label: intervalLabel(result, 'Share of the months'), number: true },
      ],
      [
        [
          'important (≥ 75 % or ≤ 25 %)',
          formatNumber(counts.important_positive),
          formatNumber(counts.important_negative),
          `${withInterval(counts.percent_important, counts.percent_important_lower, counts.percent_important_upper, 3)} %`,
        ],
        [
          'extreme (≥ 97.5 % or ≤ 2.5 %)',
          formatNumber(counts.extreme_positive),
          formatNumber(counts.extreme_negative),
          `${withInterval(counts.percent_extreme, counts.percent_extreme_lower, counts.percent_extreme_upper, 3)} %`,
        ],
        [
          'strong (important, not extreme)',
          formatNumber(counts.strong_positive),
          formatNumber(counts.strong_negative),
          `${withInterval(counts.percent_strong, counts.percent_strong_lower, counts.percent_strong_upper, 3)} %`,
        ],
      ],
    ),
    dataTable(
      'ph2-tests',
      'Tests of the reference against the comparison anomalies',
      [
        { label: 'Test' },
        { label: 'Statistic', number: true },
        { label: 'df', number: true },
        { label: 'p', number: true },
        { label: 'Result' },
      ],
      [
        ['Welch t test', `t = ${formatNumber(t.t)}`, formatNumber(t.df), formatProbability(t.p), tResult],
        [
          'F test of variances',
          `F = ${formatNumber(f.f)}`,
          `${formatNumber(f.df_reference)}, ${formatNumber(f.df_comparison)}`,
          formatProbability(f.p),
          '',
        ],
        [
          intervalLabel(result, 'SD change'),
          `${withInterval(result.sd_change_percent, result.sd_change_percent_lower, result.sd_change_percent_upper, 3)} %`,
          '',
          '',
          '',
        ],
        [
          'Kendall trend of the annual means',
          `S = ${formatNumber(trend.s)}, τ = ${formatNumber(trend.tau, 3)}`,
          `${formatNumber(trend.n)} years`,
          formatProbability(trend.p),
          `Sen slope ${formatNumber(trend.sen_slope, 3)}`,
        ],
      ],
    ),
  ];
}

/**
 * PH3: the indices per year, the IVI of unusual years, the trends and the quality control.
 * @param {any} result
 * @returns {(HTMLElement | null)[]}
 */
function ph3Details(result) {
  const years = result.years ?? [];
  const unusual = years.filter((/** @type {any} */ year) => (year.ivi ?? []).length > 0);
  return [
    h(
      'p',
      { id: 'ph3-qc' },
      `${result.first_year}–${result.last_year}, ${(result.taxa ?? []).length} taxa of ${result.lifeform}; `,
      `${formatNumber(result.qualifying_years)} years with ≥ ${result.min_months_per_year} sampled months: `,
      h('strong', {}, result.qc_passed ? 'quality control passed' : 'quality control failed'),
      '.',
    ),
    dataTable(
      'ph3-years',
      'Diversity indices per year (means of the monthly indices), EQRs and LCBD',
      [
        { label: 'Year' },
        { label: 'Months', number: true },
        { label: 'Assessed' },
        { label: intervalLabel(result, 'Richness'), number: true },
        { label: intervalLabel(result, 'Menhinick'), number: true },
        { label: intervalLabel(result, 'Margalef'), number: true },
        { label: intervalLabel(result, 'Hulburt'), number: true },
        { label: intervalLabel(result, 'Shannon'), number: true },
        { label: intervalLabel(result, 'Simpson'), number: true },
        { label: intervalLabel(result, 'Pielou'), number: true },
        { label: 'Bloom months', number: true },
        { label: 'Bloom index', number: true },
        { label: 'EQR Hulburt', number: true },
        { label: 'EQR Menhinick', number: true },
        { label: 'EQR bloom', number: true },
        { label: 'LCBD', number: true },
        { label: 'LCBD p', number: true },
      ],
      years.map((/** @type {any} */ year) => [
        year.year,
        formatNumber(year.months),
        year.assessed ? 'yes' : 'no',
        withInterval(year.richness, year.richness_lower, year.richness_upper, 3),
        withInterval(year.menhinick, year.menhinick_lower, year.menhinick_upper),
        withInterval(year.margalef, year.margalef_lower, year.margalef_upper),
        withInterval(year.hulburt, year.hulburt_lower, year.hulburt_upper, 3),
        withInterval(year.shannon, year.shannon_lower, year.shannon_upper),
        withInterval(year.simpson, year.simpson_lower, year.simpson_upper),
        withInterval(year.pielou, year.pielou_lower, year.pielou_upper),
        formatNumber(year.bloom_months),
        formatNumber(year.bloom_index, 3),
        formatNumber(year.eqr_hulburt, 3),
        formatNumber(year.eqr_menhinick, 3),
        formatNumber(year.eqr_bloom, 3),
        formatNumber(year.lcbd, 3),
        formatProbability(year.lcbd_p),
      ]),
    ),
    unusual.length > 0
      ? h(
          'p',
          { id: 'ph3-ivi' },
          'Importance value (IVI) of the taxa of the most unusual years: ',
          unusual
            .map(
              (/** @type {any} */ year) =>
                `${year.year}: ${year.ivi
                  .map((/** @type {any} */ entry) => `${entry.taxon} ${formatNumber(entry.ivi)}`)
                  .join(', ')}`,
            )
            .join('; '),
        )
      : null,
    kendallTable(
      'ph3-trends',
      'Kendall trends of the annual means of the assessed years',
      'Index',
      (result.trends ?? []).map((/** @type {any} */ trend) => ({ name: trend.index, trend })),
    ),
  ];
}

/**
 * The monthly series: one row per month, one column per lifeform group.
 * @param {any} result
 * @returns {HTMLElement}
 */
function seriesTable(result) {
  const months = result.months ?? [];
  const lifeforms = months.length > 0 ? Object.keys(months[0].lifeforms ?? {}) : [];
  return dataTable(
    'series-table',
    `Monthly means per lifeform group (${result.selection?.value})`,
    [
      { label: 'Month' },
      { label: 'Samples', number: true },
      { label: 'Predicted share', number: true },
      ...lifeforms.map((name) => ({ label: intervalLabel(result, name), number: true })),
    ],
    months.map((/** @type {any} */ month) => [
      `${month.year}-${String(month.month).padStart(2, '0')}`,
      formatNumber(month.samples),
      formatPercent(month.predicted_share),
      ...lifeforms.map((name) =>
        withInterval(month.lifeforms[name], month.lower?.[name], month.upper?.[name]),
      ),
    ]),
  );
}
