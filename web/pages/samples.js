// @ts-check
// The samples page: the stored samples (GET /api/v1/samples) with a search box and pages of
// 50, and the upload form.

import { get } from '../api.js';
import { errorBox, formatNumber, formatTime, h, hashHref, pager } from '../dom.js';
import { uploadPanel } from './upload.js';

const PAGE_SIZE = 50;

/**
 * @typedef {{sample_id: string, run_name: string, particles: number,
 *            particles_per_ml: number | null, run_start_utc: string | null,
 *            ingested_at: string, metadata: Record<string, any>, url: string}} SampleSummary
 */

/** @type {import('../app.js').PageRender} */
export async function render(main, { query, signal }) {
  const q = query.get('q') ?? '';
  const offset = Math.max(0, Number(query.get('offset') ?? 0) || 0);
  document.title = 'Samples — phytoflow';

  const search = h('input', {
    id: 'sample-search',
    name: 'q',
    type: 'search',
    value: q,
    placeholder: 'id, run, station or campaign',
  });
  const searchForm = h(
    'form',
    { class: 'search', role: 'search' },
    h('label', { for: 'sample-search' }, 'Search samples'),
    search,
    h('button', { type: 'submit' }, 'Search'),
  );
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = hashHref('/samples', { q: search.value.trim() });
  });

  const listing = h('div', { class: 'listing' });
  const load = async () => {
    try {
      const page = await get('/api/v1/samples', { q, limit: PAGE_SIZE, offset }, signal);
      listing.replaceChildren(
        table(page.samples),
        pager({
          total: page.total,
          limit: page.limit,
          offset: page.offset,
          label: 'Pages of samples',
          href: (next) => hashHref('/samples', { q, offset: next }),
        }),
      );
    } catch (error) {
      if (!signal.aborted) {
        listing.replaceChildren(errorBox(error));
      }
    }
  };

  main.append(h('h1', {}, 'Samples'), searchForm, listing, uploadPanel({ signal, onIngested: load }));
  await load();
}

/**
 * @param {SampleSummary[]} samples
 * @returns {HTMLElement}
 */
function table(samples) {
  if (samples.length === 0) {
    return h('p', { class: 'empty' }, 'No sample matches. Upload a FlowCam export below.');
  }
  return h(
    'table',
    { class: 'data samples' },
    h('caption', { class: 'visually-hidden' }, 'Samples'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Sample'),
        h('th', { scope: 'col' }, 'Run start (UTC)'),
        h('th', { scope: 'col' }, 'Sampled at'),
        h('th', { scope: 'col' }, 'Station'),
        h('th', { scope: 'col', class: 'number' }, 'Particles'),
        h('th', { scope: 'col', class: 'number' }, 'Particles / mL'),
      ),
    ),
    h(
      'tbody',
      {},
      samples.map((sample) =>
        h(
          'tr',
          {},
          h(
            'th',
            { scope: 'row' },
            h('a', { href: hashHref(`/samples/${encodeURIComponent(sample.sample_id)}`) }, sample.sample_id),
          ),
          h('td', {}, formatTime(sample.run_start_utc)),
          h('td', {}, formatTime(sample.metadata?.sampled_at)),
          h('td', {}, sample.metadata?.station ?? '–'),
          h('td', { class: 'number' }, formatNumber(sample.particles)),
          h('td', { class: 'number' }, formatNumber(sample.particles_per_ml)),
        ),
      ),
    ),
  );
}
