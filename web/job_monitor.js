// @ts-check
// Follows a background job (docs/api.md, "Jobs") until it ends: its state, a progress bar and its
// log, polled from /api/v1/jobs/{id}. Used by the upload form, the sample page's Classify button
// and the jobs page.

import { get, getText } from './api.js';
import { formatNumber, h, messageOf, sleep } from './dom.js';

/**
 * @typedef {{done: number, total: number, fraction: number | null, message: string}} JobProgress
 * @typedef {{id: number, kind: string, state: string, params: any,
 *            progress: JobProgress | null, result: any, error: string | null, attempts: number,
 *            created_by: string, created_at: string, started_at: string | null,
 *            finished_at: string | null, cancel_requested: boolean, url: string,
 *            log_url: string, result_url: string | null}} Job
 */

const POLL_MILLISECONDS = 500;

/** @param {string} state @returns {boolean} */
export function isFinished(state) {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/**
 * A state badge: queued, running, succeeded, failed, cancelled.
 * @param {string} state
 * @returns {HTMLElement}
 */
export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, state);
}

/**
 * The progress text of a job: "120 / 1000 particles…".
 * @param {Job} job
 * @returns {string}
 */
export function progressText(job) {
  const progress = job.progress;
  if (!progress) {
    return '';
  }
  const counts = progress.total > 0 ? `${formatNumber(progress.done)} / ${formatNumber(progress.total)}` : '';
  return [counts, progress.message].filter(Boolean).join(' — ');
}

/**
 * A <progress> of a job: determinate when the job knows its fraction, else indeterminate while
 * it runs.
 * @param {Job} job
 * @returns {HTMLProgressElement}
 */
export function progressBar(job) {
  const bar = h('progress', { max: '1', 'aria-label': `progress of job ${job.id}` });
  const fraction = job.progress?.fraction;
  if (job.state === 'succeeded') {
    bar.value = 1;
  } else if (typeof fraction === 'number' && Number.isFinite(fraction)) {
    bar.value = fraction;
  } else if (job.state !== 'running') {
    bar.value = 0;
  }
  return bar;
}

/**
 * Shows job `id` in a panel and polls it until it ends.
 * @param {number} id
 * @param {{signal?: AbortSignal, onUpdate?: (job: Job) => void}} [options]
 * @returns {{element: HTMLElement, finished: Promise<Job>}}
 */
export function monitorJob(id, options = {}) {
  const heading = h('p', { class: 'job-heading' }, `Job ${id}`);
  const bar = h('div', { class: 'job-bar' });
  const detail = h('p', { class: 'job-detail' });
  const log = h('pre', { class: 'job-log', tabindex: '0', 'aria-label': `log of job ${id}` });
  const element = h(
    'section',
    { class: 'job-monitor', 'aria-live': 'polite', dataset: { jobId: String(id) } },
    heading,
    bar,
    detail,
    h('details', { open: true }, h('summary', {}, 'Log'), log),
  );

  /** @param {Job} job */
  const show = (job) => {
    element.dataset.state = job.state;
    heading.replaceChildren(`Job ${job.id} (${job.kind}) `, stateBadge(job.state));
    bar.replaceChildren(progressBar(job));
    detail.textContent = job.error ? `Error: ${job.error}` : progressText(job);
    detail.classList.toggle('error', Boolean(job.error));
    options.onUpdate?.(job);
  };

  const finished = (async () => {
    for (;;) {
      /** @type {Job} */
      const job = await get(`/api/v1/jobs/${id}`, undefined, options.signal);
      show(job);
      try {
        log.textContent = await getText(job.log_url, options.signal);
      } catch (error) {
        if (options.signal?.aborted) {
          throw error;
        }
        log.textContent = `(the log cannot be read: ${messageOf(error)})`;
      }
      if (isFinished(job.state)) {
        return job;
      }
      await sleep(POLL_MILLISECONDS, options.signal);
    }
  })();
  return { element, finished };
}
