// @ts-check
// The jobs page: the background jobs, newest first (GET /api/v1/jobs), their state and
// progress, refreshed while any is queued or running; Cancel for those (POST …/cancel); the log
// of each on demand.

import { get, getText, post } from '../api.js';
import { errorBox, formatTime, h, hashHref, messageOf, pager, say } from '../dom.js';
import { isFinished, progressBar, progressText, stateBadge } from '../job_monitor.js';

const PAGE_SIZE = 50;
const REFRESH_MILLISECONDS = 1000;

/** @typedef {import('../job_monitor.js').Job} Job */

/** @type {import('../app.js').PageRender} */
export async function render(main, { query, signal }) {
  document.title = 'Jobs — phytoflow';
  const state = query.get('state') ?? '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const status = h('p', { class: 'status', role: 'status', id: 'jobs-status' });
  const listing = h('div', { class: 'listing' });
  const stateFilter = h(
    'select',
    { id: 'jobs-state' },
    h('option', { value: '' }, 'any state'),
    ['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((name) =>
      h('option', { value: name, selected: name === state }, name),
    ),
  );
  stateFilter.addEventListener('change', () => {
    location.hash = hashHref('/jobs', { state: stateFilter.value });
  });
  main.append(
    h('h1', {}, 'Jobs'),
    h('div', { class: 'field inline' }, h('label', { for: 'jobs-state' }, 'State'), stateFilter),
    status,
    listing,
  );

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Set<number>} jobs whose log is open */
  const openLogs = new Set();

  const load = async () => {
    clearTimeout(timer);
    let page;
    try {
      page = await get('/api/v1/jobs', { state, limit: PAGE_SIZE, offset }, signal);
    } catch (error) {
      if (!signal.aborted) {
        listing.replaceChildren(errorBox(error));
      }
      return;
    }
    /** @type {Job[]} */
    const jobs = page.jobs;
    // The table is drawn anew on each refresh: keep the keyboard focus on the same button.
    const focused = document.activeElement;
    const focusedJob = focused?.closest('tr[data-job-id]')?.getAttribute('data-job-id');
    const focusedLabel = focused?.textContent;
    listing.replaceChildren(
      jobs.length === 0
        ? h('p', { class: 'empty' }, 'No job yet: upload an export or classify a sample.')
        : table(jobs),
      pager({
        total: page.total,
        limit: page.limit,
        offset: page.offset,
        label: 'Pages of jobs',
        href: (next) => hashHref('/jobs', { state, offset: next }),
      }),
    );
    if (focusedJob) {
      const buttons = listing.querySelectorAll(`tr[data-job-id="${focusedJob}"] button`);
      const same = [...buttons].find((button) => button.textContent === focusedLabel) ?? buttons[0];
      /** @type {HTMLElement | undefined} */ (same)?.focus();
    }
    if (jobs.some((job) => !isFinished(job.state)) && !signal.aborted) {
      timer = setTimeout(load, REFRESH_MILLISECONDS);
    }
  };

  /** @param {Job[]} jobs @returns {HTMLElement} */
  const table = (jobs) =>
    h(
      'table',
      { class: 'data jobs', id: 'jobs-table' },
      h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Job', 'Kind', 'State', 'Progress', 'By', 'Created (UTC)', 'Finished (UTC)', ''].map((name) =>
            h('th', { scope: 'col' }, name),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        jobs.map((job) => row(job)),
      ),
    );

  /** @param {Job} job @returns {HTMLElement[]} */
  const row = (job) => {
    const log = h('pre', { class: 'job-log', tabindex: '0', 'aria-label': `log of job ${job.id}` });
    const logRow = h(
      'tr',
      { class: 'log-row', hidden: !openLogs.has(job.id) },
      h('td', { colspan: '8' }, log),
    );
    const showLog = async () => {
      try {
        log.textContent = await getText(job.log_url, signal);
      } catch (error) {
        log.textContent = `(the log cannot be read: ${messageOf(error)})`;
      }
    };
    if (openLogs.has(job.id)) {
      showLog();
    }
    const logButton = h(
      'button',
      {
        type: 'button',
        'aria-expanded': openLogs.has(job.id) ? 'true' : 'false',
        onclick: () => {
          if (openLogs.has(job.id)) {
            openLogs.delete(job.id);
          } else {
            openLogs.add(job.id);
            showLog();
          }
          logRow.hidden = !openLogs.has(job.id);
          logButton.setAttribute('aria-expanded', openLogs.has(job.id) ? 'true' : 'false');
        },
      },
      'Log',
    );
    const cancel = !isFinished(job.state)
      ? h(
          'button',
          {
            type: 'button',
            disabled: job.cancel_requested,
            onclick: async () => {
              try {
                await post(`/api/v1/jobs/${job.id}/cancel`, {});
                say(status, `Cancelling job ${job.id}.`, 'ok');
              } catch (error) {
                say(status, `Job ${job.id} cannot be cancelled: ${messageOf(error)}`, 'error');
              }
              load();
            },
          },
          job.cancel_requested ? 'Cancelling…' : 'Cancel',
        )
      : null;
    const detail = job.error ? h('span', { class: 'error' }, job.error) : progressText(job);
    return [
      h(
        'tr',
        { dataset: { jobId: String(job.id), state: job.state } },
        h('th', { scope: 'row' }, String(job.id)),
        h('td', {}, job.kind, subjectOf(job)),
        h('td', {}, stateBadge(job.state)),
        h('td', { class: 'progress-cell' }, progressBar(job), ' ', detail),
        h('td', {}, job.created_by),
        h('td', {}, formatTime(job.created_at)),
        h('td', {}, formatTime(job.finished_at)),
        h('td', {}, h('div', { class: 'buttons' }, logButton, cancel)),
      ),
      logRow,
    ];
  };

  await load();
  return () => clearTimeout(timer);
}

/**
 * What a job works on, as links: the samples of an ingest's result or of a classify job.
 * @param {Job} job
 * @returns {(HTMLElement | string)[]}
 */
function subjectOf(job) {
  /** @type {string[]} */
  const samples =
    job.kind === 'ingest'
      ? (job.result?.samples ?? []).map((/** @type {{sample_id: string}} */ sample) => sample.sample_id)
      : Array.isArray(job.params?.samples)
        ? job.params.samples
        : [];
  if (samples.length === 0) {
    return [];
  }
  return [
    ': ',
    ...samples
      .slice(0, 3)
      .flatMap((id, index) => [
        index > 0 ? ', ' : '',
        h('a', { href: hashHref(`/samples/${encodeURIComponent(id)}`) }, id),
      ]),
    samples.length > 3 ? ` and ${samples.length - 3} more` : '',
  ];
}
