// @ts-check
// The upload form of the samples page: a FlowCam export as a .zip (with an optional metadata
// sidecar) sent to POST /api/v1/uploads with a progress bar, then the ingest job (and the
// classify job it may queue) followed until it ends.

import { upload } from '../api.js';
import { formatNumber, h, hashHref, messageOf, say } from '../dom.js';
import { monitorJob } from '../job_monitor.js';

/**
 * @param {{signal: AbortSignal, onIngested: () => void}} options
 * @returns {HTMLElement}
 */
export function uploadPanel({ signal, onIngested }) {
  const file = h('input', {
    id: 'upload-file',
    name: 'file',
    type: 'file',
    accept: '.zip,application/zip',
    required: true,
  });
  const metadata = h('input', {
    id: 'upload-metadata',
    name: 'metadata',
    type: 'file',
    accept: '.csv,.json,text/csv,application/json',
  });
  const replace = h('input', { id: 'upload-replace', name: 'replace', type: 'checkbox' });
  const classify = h('input', { id: 'upload-classify', name: 'classify', type: 'checkbox' });
  const submit = h('button', { type: 'submit' }, 'Upload');
  const bar = h('progress', { id: 'upload-progress', max: '1', value: '0', 'aria-label': 'upload progress' });
  const status = h('p', { class: 'status', role: 'status', id: 'upload-status' });
  const jobs = h('div', { class: 'upload-jobs' });

  const form = h(
    'form',
    { class: 'upload-form', 'aria-labelledby': 'upload-heading' },
    h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'FlowCam export (.zip)'), file),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'upload-metadata' }, 'Metadata sidecar (.csv or .json, optional)'),
      metadata,
    ),
    h(
      'div',
      { class: 'checks' },
      h('label', {}, replace, ' Replace runs already stored'),
      h('label', {}, classify, ' Classify with the active model when ingested'),
    ),
    h('div', { class: 'actions' }, submit, bar),
    status,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      say(status, 'Choose a .zip file first.', 'error');
      return;
    }
    const body = new FormData();
    body.append('file', chosen, chosen.name);
    const sidecar = metadata.files?.[0];
    if (sidecar) {
      body.append('metadata', sidecar, sidecar.name);
    }
    body.append('replace', replace.checked ? 'true' : 'false');
    body.append('classify', classify.checked ? 'true' : 'false');

    submit.disabled = true;
    bar.value = 0;
    say(status, `Uploading ${chosen.name}…`);
    const sending = upload('/api/v1/uploads', body, (sent, total) => {
      bar.value = total > 0 ? sent / total : 0;
      say(
        status,
        `Uploading ${chosen.name}: ${formatNumber(Math.round((sent / total) * 100))} % of ${formatNumber(total)} bytes`,
      );
    });
    signal.addEventListener('abort', sending.abort);
    try {
      const job = await sending.done;
      bar.value = 1;
      say(status, `Uploaded ${chosen.name}; ingest job ${job.id} is ${job.state}.`, 'ok');
      await follow(job.id);
    } catch (error) {
      if (!signal.aborted) {
        say(status, `Upload failed: ${messageOf(error)}`, 'error');
      }
    } finally {
      submit.disabled = false;
    }
  });

  /**
   * Follows a job, then the classify job an ingest queued.
   * @param {number} id
   */
  async function follow(id) {
    const monitor = monitorJob(id, { signal });
    jobs.prepend(monitor.element);
    const job = await monitor.finished;
    if (job.kind === 'ingest' && job.state === 'succeeded') {
      const samples = job.result?.samples ?? [];
      jobs.prepend(
        h(
          'p',
          { class: 'ingested' },
          'Ingested: ',
          samples.map(
            (
              /** @type {{sample_id: string, outcome: string, particles: number}} */ sample,
              /** @type {number} */ index,
            ) => [
              index > 0 ? ', ' : '',
              h(
                'a',
                { href: hashHref(`/samples/${encodeURIComponent(sample.sample_id)}`) },
                sample.sample_id,
              ),
              ` (${sample.outcome}, ${formatNumber(sample.particles)} particles)`,
            ],
          ),
        ),
      );
      onIngested();
      if (job.result?.classify_job_id) {
        await follow(job.result.classify_job_id);
      }
    }
  }

  return h(
    'section',
    { class: 'panel upload' },
    h('h2', { id: 'upload-heading' }, 'Upload an export'),
    form,
    jobs,
  );
}
