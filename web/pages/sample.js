// @ts-check
// The sample page: what was read (run, volumes), its metadata (editable by annotators), the
// composition by taxon as a chart and a table, the size distribution, the downloads (Darwin
// Core Archive, EcoTaxa) and a Classify button.

import { download, get, patch, post, samplePath } from '../api.js';
import { barChart, histogram } from '../charts.js';
import {
  errorBox,
  fill,
  formatNumber,
  formatPercent,
  formatTime,
  h,
  hashHref,
  messageOf,
  say,
} from '../dom.js';
import { monitorJob } from '../job_monitor.js';

/**
 * The editable metadata keys (docs/metadata.md) and how the form shows them.
 * @type {{key: string, label: string, type: 'text' | 'number', hint?: string}[]}
 */
const METADATA_FIELDS = [
  { key: 'station', label: 'Station', type: 'text' },
  { key: 'campaign', label: 'Campaign', type: 'text' },
  { key: 'sampled_at', label: 'Sampled at', type: 'text', hint: 'YYYY-MM-DD or YYYY-MM-DDTHH:MMZ' },
  { key: 'latitude', label: 'Latitude (°)', type: 'number', hint: '−90 to 90' },
  { key: 'longitude', label: 'Longitude (°)', type: 'number', hint: '−180 to 180' },
  { key: 'depth_min_m', label: 'Depth min (m)', type: 'number' },
  { key: 'depth_max_m', label: 'Depth max (m)', type: 'number' },
  { key: 'sampling_protocol', label: 'Sampling protocol', type: 'text' },
  { key: 'gear', label: 'Gear', type: 'text' },
  { key: 'water_body', label: 'Water body', type: 'text' },
  { key: 'country_code', label: 'Country code', type: 'text', hint: 'two letters' },
  { key: 'dilution_factor', label: 'Dilution factor', type: 'number' },
  { key: 'concentration_factor', label: 'Concentration factor', type: 'number' },
  { key: 'temperature_c', label: 'Temperature (°C)', type: 'number' },
  { key: 'salinity', label: 'Salinity', type: 'number' },
];

/**
 * What the composition chart can show per taxon.
 * @type {{key: string, label: string, unit: string}[]}
 */
const MEASURES = [
  { key: 'count', label: 'particles', unit: 'particles' },
  { key: 'cells_per_l', label: 'cells per litre', unit: 'cells L⁻¹' },
  { key: 'biovolume_um3_per_l', label: 'biovolume (ABD)', unit: 'µm³ L⁻¹' },
  { key: 'carbon_ug_per_l', label: 'carbon', unit: 'µg C L⁻¹' },
];

/** @type {import('../app.js').PageRender} */
export async function render(main, { params, signal }) {
  const id = params.id;
  const base = samplePath(id);
  document.title = `${id} — phytoflow`;
  const sample = await get(base, undefined, signal);

  const actionStatus = h('p', { class: 'status', role: 'status', id: 'sample-action-status' });
  const jobArea = h('div', { class: 'sample-jobs' });
  const compositionArea = h('div', { class: 'composition-area' });
  const validatedOnly = h('input', { id: 'validated-only', type: 'checkbox' });
  const loadComposition = () => showComposition(compositionArea, base, validatedOnly.checked, signal);
  validatedOnly.addEventListener('change', loadComposition);

  /**
   * @param {string} what
   * @param {string} file
   */
  const downloadButton = (what, file) =>
    h(
      'button',
      {
        type: 'button',
        id: `download-${file.replace('.zip', '')}`,
        onclick: async () => {
          say(actionStatus, `Preparing the ${what}…`);
          try {
            const saved = await download(`${base}/${file}`);
            say(
              actionStatus,
              `Saved ${saved.filename} (${formatNumber(saved.bytes)} bytes)${saved.warnings ? `. ${saved.warnings}` : ''}`,
              'ok',
            );
          } catch (error) {
            say(actionStatus, `The ${what} cannot be made: ${messageOf(error)}`, 'error');
          }
        },
      },
      `Download ${what}`,
    );

  const classify = h(
    'button',
    {
      type: 'button',
      id: 'classify',
      onclick: async () => {
        classify.disabled = true;
        try {
          const job = await post('/api/v1/jobs', { kind: 'classify', samples: [id] });
          say(actionStatus, `Classify job ${job.id} queued.`, 'ok');
          const monitor = monitorJob(job.id, { signal });
          jobArea.prepend(monitor.element);
          const finished = await monitor.finished;
          if (finished.state === 'succeeded') {
            await loadComposition();
          }
        } catch (error) {
          if (!signal.aborted) {
            say(actionStatus, `Cannot classify: ${messageOf(error)}`, 'error');
          }
        } finally {
          classify.disabled = false;
        }
      },
    },
    'Classify',
  );

  main.append(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: '#/samples' }, 'Samples'),
      ' / ',
    ),
    h('h1', {}, id),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'a',
        { class: 'button primary', href: hashHref(`/samples/${encodeURIComponent(id)}/gallery`) },
        'Particle gallery',
      ),
      downloadButton('Darwin Core Archive', 'dwca.zip'),
      downloadButton('EcoTaxa zip', 'ecotaxa.zip'),
      classify,
    ),
    actionStatus,
    jobArea,
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'run-heading' },
        h('h2', { id: 'run-heading' }, 'Run'),
        runFacts(sample),
      ),
      metadataPanel(base, sample.metadata ?? {}),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'composition-heading' },
      h('h2', { id: 'composition-heading' }, 'Composition'),
      h('label', { class: 'inline' }, validatedOnly, ' Validated labels only'),
      compositionArea,
    ),
  );
  await loadComposition();
}

/**
 * @param {any} sample the answer of GET /api/v1/samples/{id}
 * @returns {HTMLElement}
 */
function runFacts(sample) {
  /** @type {[string, string][]} */
  const facts = [
    ['Run', sample.run_name],
    ['Run start (UTC)', formatTime(sample.run_start_utc)],
    ['Run end (UTC)', formatTime(sample.run_end_utc)],
    ['Particles', formatNumber(sample.particles)],
    ['Volume imaged', `${formatNumber(sample.volume_imaged_ml)} mL (${sample.volume_source ?? '–'})`],
    ['Particles per mL', formatNumber(sample.particles_per_ml)],
    [
      'Instrument',
      [
        sample.software,
        sample.software_version,
        sample.flow_cell,
        sample.magnification ? `${sample.magnification}×` : '',
      ]
        .filter(Boolean)
        .join(', '),
    ],
    ['Ingested', formatTime(sample.ingested_at)],
  ];
  const labels = (sample.labels ?? []).map(
    (/** @type {{source: string, classification: string, labelled: number}} */ entry) =>
      `${entry.source} ${entry.classification}: ${formatNumber(entry.labelled)} labelled`,
  );
  if (labels.length > 0) {
    facts.push(['Labels', labels.join('; ')]);
  }
  return h(
    'dl',
    { class: 'facts' },
    facts.map(([name, value]) => [h('dt', {}, name), h('dd', {}, value || '–')]),
  );
}

/**
 * The metadata form: sends only the keys that changed (PATCH …/metadata); an emptied field is
 * cleared (null).
 * @param {string} base
 * @param {Record<string, any>} metadata
 * @returns {HTMLElement}
 */
function metadataPanel(base, metadata) {
  let current = { ...metadata };
  const status = h('p', { class: 'status', role: 'status', id: 'metadata-status' });
  /** @type {Map<string, HTMLInputElement>} */
  const inputs = new Map();
  const fields = METADATA_FIELDS.map((field) => {
    const inputId = `meta-${field.key}`;
    const input = h('input', {
      id: inputId,
      name: field.key,
      type: field.type === 'number' ? 'number' : 'text',
      step: field.type === 'number' ? 'any' : undefined,
      value: current[field.key] ?? '',
      placeholder: field.hint,
      'aria-describedby': field.hint ? `${inputId}-hint` : undefined,
    });
    inputs.set(field.key, input);
    return h(
      'div',
      { class: 'field' },
      h('label', { for: inputId }, field.label),
      input,
      field.hint ? h('span', { class: 'hint visually-hidden', id: `${inputId}-hint` }, field.hint) : null,
    );
  });
  const environment = Object.entries(current.environment ?? {});
  const form = h(
    'form',
    { class: 'metadata-form' },
    h('div', { class: 'fields' }, fields),
    environment.length > 0
      ? h(
          'p',
          { class: 'environment' },
          'Environment: ',
          environment.map(([name, value]) => `${name} = ${value}`).join(', '),
        )
      : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save metadata')),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    /** @type {Record<string, string | number | null>} */
    const changes = {};
    for (const field of METADATA_FIELDS) {
      const text = /** @type {HTMLInputElement} */ (inputs.get(field.key)).value.trim();
      const value = text === '' ? null : field.type === 'number' ? Number(text) : text;
      const before = current[field.key] ?? null;
      if (value !== before && !(field.type === 'text' && String(before ?? '') === text)) {
        changes[field.key] = value;
      }
    }
    if (Object.keys(changes).length === 0) {
      say(status, 'Nothing changed.');
      return;
    }
    try {
      const answer = await patch(`${base}/metadata`, changes);
      current = answer.metadata;
      for (const field of METADATA_FIELDS) {
        /** @type {HTMLInputElement} */ (inputs.get(field.key)).value = current[field.key] ?? '';
      }
      say(status, `Saved ${Object.keys(changes).join(', ')}.`, 'ok');
    } catch (error) {
      say(status, `Not saved: ${messageOf(error)}`, 'error');
    }
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'metadata-heading' },
    h('h2', { id: 'metadata-heading' }, 'Metadata'),
    form,
  );
}

/**
 * @param {HTMLElement} area
 * @param {string} base
 * @param {boolean} validatedOnly
 * @param {AbortSignal} signal
 */
async function showComposition(area, base, validatedOnly, signal) {
  let composition;
  try {
    composition = await get(
      `${base}/composition`,
      { validated_only: validatedOnly ? 'true' : undefined },
      signal,
    );
  } catch (error) {
    if (!signal.aborted) {
      area.replaceChildren(errorBox(error));
    }
    return;
  }
  const chartArea = h('div', { class: 'chart-area', id: 'composition-chart' });
  const measure = h(
    'select',
    { id: 'composition-measure' },
    MEASURES.map((entry) => h('option', { value: entry.key }, entry.label)),
  );
  const drawChart = () => {
    const chosen = MEASURES.find((entry) => entry.key === measure.value) ?? MEASURES[0];
    const taxa = composition.taxa ?? [];
    chartArea.replaceChildren(
      taxa.length === 0
        ? h(
            'p',
            { class: 'empty' },
            'No particle has a label yet: classify the sample or validate particles.',
          )
        : barChart({
            title: `Composition by taxon: ${chosen.label}`,
            unit: chosen.unit,
            items: taxa.map((/** @type {any} */ taxon) => ({
              label: taxon.name,
              value: taxon[chosen.key],
              kind: taxon.living ? 'living' : 'not-living',
              detail: `${taxon.validated} validated, ${taxon.predicted} predicted, ${taxon.uncertain} uncertain`,
            })),
          }),
    );
  };
  measure.addEventListener('change', drawChart);
  drawChart();

  const shares = composition.shares ?? {};
  fill(
    area,
    h(
      'p',
      { class: 'shares' },
      `${formatNumber(composition.totals?.all?.count)} particles in ${formatNumber(composition.seawater_litres)} L of seawater: `,
      `${formatPercent(shares.validated)} validated, ${formatPercent(shares.predicted)} predicted, `,
      `${formatPercent(shares.uncertain)} uncertain, ${formatPercent(shares.unlabelled)} unlabelled`,
      composition.model_id ? ` (model ${composition.model_id})` : '',
    ),
    h('div', { class: 'field inline' }, h('label', { for: 'composition-measure' }, 'Chart'), measure),
    chartArea,
    compositionTable(composition),
    sizeDistribution(composition.size_classes ?? []),
    (composition.warnings ?? []).length > 0
      ? h(
          'details',
          { class: 'warnings' },
          h('summary', {}, `Warnings (${composition.warnings.length})`),
          h(
            'ul',
            {},
            composition.warnings.map((/** @type {string} */ text) => h('li', {}, text)),
          ),
        )
      : null,
  );
}

/**
 * Concentration, biovolume and carbon per taxon, with the totals.
 * @param {any} composition
 * @returns {HTMLElement}
 */
function compositionTable(composition) {
  /**
   * @param {any} entry
   * @returns {string}
   */
  const corrected = (entry) => {
    const adjusted = entry.adjusted_cells_per_l;
    if (!adjusted) {
      return '–';
    }
    return `${formatNumber(adjusted.estimate, 3)} [${formatNumber(adjusted.lower, 3)}–${formatNumber(adjusted.upper, 3)}]`;
  };
  /**
   * @param {string | HTMLElement} name
   * @param {any} entry
   * @param {boolean} isTaxon
   */
  const row = (name, entry, isTaxon) =>
    h(
      'tr',
      { class: isTaxon && !entry.living ? 'not-living' : undefined },
      h('th', { scope: 'row' }, name),
      h('td', { class: 'number' }, isTaxon ? formatNumber(entry.aphia_id) : ''),
      h('td', { class: 'number' }, formatNumber(entry.count)),
      h(
        'td',
        { class: 'number' },
        isTaxon ? `${entry.validated} / ${entry.predicted} / ${entry.uncertain}` : '',
      ),
      h('td', { class: 'number' }, formatNumber(entry.cells_per_l, 4)),
      h('td', { class: 'number' }, isTaxon ? corrected(entry) : ''),
      h('td', { class: 'number' }, formatNumber(entry.biovolume_um3_per_l, 4)),
      h('td', { class: 'number' }, formatNumber(entry.carbon_ug_per_l, 4)),
    );
  return h(
    'table',
    { class: 'data composition', id: 'composition-table' },
    h('caption', {}, 'Concentration, biovolume and carbon by taxon'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Taxon'),
        h('th', { scope: 'col', class: 'number' }, 'AphiaID'),
        h('th', { scope: 'col', class: 'number' }, 'Particles'),
        h('th', { scope: 'col', class: 'number' }, 'Validated / predicted / uncertain'),
        h('th', { scope: 'col', class: 'number' }, 'Cells L⁻¹'),
        h('th', { scope: 'col', class: 'number' }, 'Corrected cells L⁻¹ [95 % CI]'),
        h('th', { scope: 'col', class: 'number' }, 'Biovolume µm³ L⁻¹'),
        h('th', { scope: 'col', class: 'number' }, 'Carbon µg C L⁻¹'),
      ),
    ),
    h(
      'tbody',
      {},
      (composition.taxa ?? []).map((/** @type {any} */ taxon) => row(taxon.name, taxon, true)),
    ),
    h(
      'tfoot',
      {},
      composition.totals?.living ? row('All living taxa', composition.totals.living, false) : null,
      composition.totals?.all ? row('All particles', composition.totals.all, false) : null,
    ),
  );
}

/**
 * A histogram of the ESD octaves that hold particles.
 * @param {any[]} sizeClasses
 * @returns {HTMLElement}
 */
function sizeDistribution(sizeClasses) {
  const population = h(
    'select',
    { id: 'size-population' },
    h('option', { value: 'all' }, 'all particles'),
    h('option', { value: 'living' }, 'living taxa'),
  );
  const measure = h(
    'select',
    { id: 'size-measure' },
    h('option', { value: 'count' }, 'particles'),
    h('option', { value: 'cells_per_l' }, 'cells per litre'),
    h('option', { value: 'biovolume_um3_per_l' }, 'biovolume (ABD)'),
  );
  const chartArea = h('div', { class: 'chart-area', id: 'size-chart' });
  const draw = () => {
    const units = { count: 'particles', cells_per_l: 'cells L⁻¹', biovolume_um3_per_l: 'µm³ L⁻¹' };
    const key = /** @type {'count' | 'cells_per_l' | 'biovolume_um3_per_l'} */ (measure.value);
    const filled = sizeClasses
      .map((sizeClass, index) => ({ sizeClass, index }))
      .filter(({ sizeClass }) => (sizeClass.all?.count ?? 0) > 0)
      .map(({ index }) => index);
    if (filled.length === 0) {
      chartArea.replaceChildren(h('p', { class: 'empty' }, 'No particle has a size.'));
      return;
    }
    const shown = sizeClasses.slice(filled[0], filled[filled.length - 1] + 1);
    chartArea.replaceChildren(
      histogram({
        title: `Size distribution: ${measure.selectedOptions[0]?.textContent} of ${population.selectedOptions[0]?.textContent}`,
        xLabel: 'ESD (µm)',
        unit: units[key],
        bins: shown.map((sizeClass) => ({
          label:
            sizeClass.esd_max_um === null
              ? `≥${sizeClass.esd_min_um}`
              : sizeClass.esd_min_um === 0
                ? `<${sizeClass.esd_max_um}`
                : `${sizeClass.esd_min_um}–${sizeClass.esd_max_um}`,
          value: sizeClass[population.value]?.[key] ?? null,
        })),
        caption: 'Equivalent spherical diameter classes (octaves), lower bound included',
      }),
    );
  };
  population.addEventListener('change', draw);
  measure.addEventListener('change', draw);
  draw();
  return h(
    'section',
    { class: 'size-distribution', 'aria-labelledby': 'size-heading' },
    h('h3', { id: 'size-heading' }, 'Size distribution'),
    h(
      'div',
      { class: 'controls' },
      h('div', { class: 'field inline' }, h('label', { for: 'size-measure' }, 'Show'), measure),
      h('div', { class: 'field inline' }, h('label', { for: 'size-population' }, 'of'), population),
    ),
    chartArea,
  );
}
