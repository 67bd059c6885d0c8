// The web UI in real headless Chromium, driven like a person would: enter a token, upload a real
// FlowCam export (the bundled example as a zip) and follow its ingest and classify jobs, open
// the sample, edit its metadata, download its Darwin Core Archive, look at its particles and
// validate, mark dubious, undo and relabel with the keyboard; then the jobs and models pages,
// and the OSPAR indicators of a small synthetic multi-year series that run.sh stored before. What
// the UI shows is checked against the API, read directly from node. Started by run.sh, which
// serves a fresh store and passes everything through the environment.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

const base = required('PHYTOFLOW_BASE_URL');
const token = required('PHYTOFLOW_TOKEN');
const tokenName = required('PHYTOFLOW_TOKEN_NAME');
const exportZip = required('PHYTOFLOW_EXPORT_ZIP');
const metadataFile = required('PHYTOFLOW_METADATA');
const work = required('PHYTOFLOW_WORK');
// tools/synthetic_series.py's expected.json: runs, stations, first_year, last_year, first_run.
const synthetic = JSON.parse(readFileSync(required('PHYTOFLOW_SYNTHETIC'), 'utf8'));
const artifacts = required('PHYTOFLOW_WEB_ARTIFACTS');
const chromiumPath = process.env.PHYTOFLOW_CHROMIUM ?? '/usr/bin/chromium';

// The bundled run: 1000 particles (docs/api.md), one sample named after the run folder.
const SAMPLE_ID = '7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025';
const PARTICLES = 1000;
const JOB_TIMEOUT_MS = 300_000; // classifying 1000 particles in a sanitizer build takes ~30 s

/** @param {string} name */
function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this test through tests/web/run.sh`);
  }
  return value;
}

/** GET of the API from node, with the token. */
async function api(path) {
  const response = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

let context;
let page;
let userDataDir;
let withModel = false;
const pageErrors = [];
const serverErrors = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  userDataDir = mkdtempSync(join(work, 'chromium-'));
  // Debian's Chromium, never a downloaded browser; a fresh profile, nothing from the network.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    // A failed request is logged as a console error too; those are checked through responses.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      pageErrors.push(message.text());
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 500) {
      serverErrors.push(`${response.status()} ${response.url()}`);
    }
  });
  withModel = (await api('/api/v1/models')).models.length > 0;
  if (!withModel) {
    console.log('note: the server has no model (a build without LibTorch): no classify job');
  }
});

after(async () => {
  await context?.close();
  if (userDataDir) {
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

/** @param {string} name */
async function screenshot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

test('without a token the UI says the API needs one; with it the stored samples show', async () => {
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Samples', level: 1 }).waitFor();
  await page.getByRole('alert').filter({ hasText: 'needs a token' }).waitFor();
  assert.match(await page.locator('#token-status').textContent(), /no token/);

  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Save' }).click();
  // The synthetic series of run.sh, one sample per run (fewer than a page of 50).
  await page.locator('table.samples tbody tr', { hasText: synthetic.first_run }).waitFor();
  assert.equal(await page.locator('table.samples tbody tr').count(), synthetic.runs);
  assert.equal(await page.evaluate(() => localStorage.getItem('phytoflow.token')), token);
  assert.equal(await page.locator('#token-status').textContent(), 'token saved');
});

test('upload a FlowCam export: upload progress, then the ingest (and classify) job succeeds', async () => {
  await page.getByLabel('FlowCam export (.zip)').setInputFiles(exportZip);
  await page.getByLabel('Metadata sidecar (.csv or .json, optional)').setInputFiles(metadataFile);
  if (withModel) {
    await page.getByLabel('Classify with the active model when ingested').check();
  }
  await page.getByRole('button', { name: 'Upload' }).click();

  // The upload bar reaches its end and the answer names the ingest job.
  await page.getByText(/Uploaded export\.zip; ingest job \d+ is/).waitFor();
  assert.equal(await page.locator('#upload-progress').evaluate((bar) => bar.value), 1);

  const ingest = page.locator('.job-monitor', { hasText: '(ingest)' });
  await ingest.and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: JOB_TIMEOUT_MS });
  assert.match(await ingest.locator('.job-log').textContent(), /\S/, 'the ingest job has a log');
  await page.locator('.ingested').getByRole('link', { name: SAMPLE_ID }).waitFor();
  if (withModel) {
    const classify = page.locator('.job-monitor', { hasText: '(classify)' });
    await classify.and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: JOB_TIMEOUT_MS });
  }

  // The table was refreshed: the new sample with its 1000 particles and metadata from the sidecar.
  const row = page.locator('table.samples tbody tr', { hasText: SAMPLE_ID });
  await row.waitFor();
  assert.match(await row.textContent(), /1,000/);
  assert.match(await row.textContent(), /lab-culture/);
  await screenshot('samples');
});

test('sample page: run, metadata edit, composition chart and table, size distribution', async () => {
  await page.locator('table.samples').getByRole('link', { name: SAMPLE_ID }).click();
  await page.getByRole('heading', { name: SAMPLE_ID, level: 1 }).waitFor();
  await page.locator('#composition-table').waitFor();

  // The composition as the API computes it: one table row and one bar per taxon.
  const composition = await api(`/api/v1/samples/${SAMPLE_ID}/composition`);
  assert.equal(await page.locator('#composition-table tbody tr').count(), composition.taxa.length);
  if (withModel) {
    assert.ok(composition.taxa.length > 0, 'the classified sample has taxa');
    assert.equal(await page.locator('#composition-chart svg .bar').count(), composition.taxa.length);
    const first = composition.taxa[0];
    const firstRow = page.locator('#composition-table tbody tr').first();
    assert.equal((await firstRow.locator('th').textContent()).trim(), first.name);
    assert.equal(
      (await firstRow.locator('td').nth(1).textContent()).trim(),
      first.count.toLocaleString('en-US'),
    );
  }
  // The footer counts every particle of the sample.
  assert.match(await page.locator('#composition-table tfoot').textContent(), /1,000/);
  // Size classes holding particles are drawn: one bar per octave between the first and last.
  const filled = composition.size_classes
    .map((sizeClass, index) => (sizeClass.all.count > 0 ? index : -1))
    .filter((index) => index >= 0);
  assert.equal(await page.locator('#size-chart svg .bar').count(), filled[filled.length - 1] - filled[0] + 1);

  // Darwin Core needs a position: set it through the metadata form.
  await page.getByLabel('Latitude (°)').fill('51.4333');
  await page.getByLabel('Longitude (°)').fill('2.8167');
  await page.getByRole('button', { name: 'Save metadata' }).click();
  await page.locator('#metadata-status').getByText('Saved latitude, longitude.').waitFor();
  const sample = await api(`/api/v1/samples/${SAMPLE_ID}`);
  assert.equal(sample.metadata.latitude, 51.4333);
  assert.equal(sample.metadata.longitude, 2.8167);
  assert.equal(sample.metadata.sampled_at, '2025-04-11', 'from the uploaded sidecar');
  await screenshot('sample');
});

test('download the Darwin Core Archive: a zip with event.txt and occurrence.txt', async () => {
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download Darwin Core Archive' }).click();
  const download = await downloading;
  assert.equal(download.suggestedFilename(), `${SAMPLE_ID}-dwca.zip`);
  const file = join(work, 'dwca.zip');
  await download.saveAs(file);
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a zip file');
  const listing = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file],
    { encoding: 'utf8' },
  );
  assert.equal(listing.status, 0, listing.stderr);
  const names = listing.stdout.trim().split('\n');
  for (const name of ['meta.xml', 'eml.xml', 'event.txt', 'occurrence.txt']) {
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  }
  await page.locator('#sample-action-status').getByText(`Saved ${SAMPLE_ID}-dwca.zip`).waitFor();
});

/** The tile of particle `number` in the gallery. */
function tile(number) {
  return page.locator(`#particle-${number}`);
}

/** The history of particle `number`, from the API. */
function history(number) {
  return api(`/api/v1/samples/${SAMPLE_ID}/particles/${number}/history`);
}

test('gallery: thumbnails load; validate, mark dubious, undo and relabel with the keyboard', async () => {
  await page.getByRole('link', { name: 'Particle gallery' }).click();
  await page.getByRole('heading', { name: 'Particles', level: 1 }).waitFor();
  // Only predicted particles, when there are predictions (as one would look for work to do).
  if (withModel) {
    await page.getByLabel('Status').selectOption('predicted');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/status=predicted/);
  }
  const grid = page.getByRole('listbox');
  await grid.waitFor();
  const listed = await api(
    `/api/v1/samples/${SAMPLE_ID}/particles?limit=100${withModel ? '&status=predicted' : ''}`,
  );
  assert.equal(await grid.getByRole('option').count(), listed.particles.length);

  // The vignettes were fetched with the token and decoded: real pixels, not broken images.
  await page.waitForFunction(() => {
    const images = [...document.querySelectorAll('#gallery img')].slice(0, 12);
    return images.length === 12 && images.every((image) => image.complete && image.naturalWidth > 0);
  });

  const [first, second, third, fourth] = listed.particles;
  await grid.focus();
  assert.equal(await grid.getAttribute('aria-activedescendant'), `particle-${first.number}`);

  // → moves the cursor; v validates the particle under it with its current class.
  await page.keyboard.press('ArrowRight');
  assert.equal(await grid.getAttribute('aria-activedescendant'), `particle-${second.number}`);
  let expectedLabel = second.label;
  if (withModel) {
    await page.keyboard.press('v');
  } else {
    // Without predictions there is no class to validate: give one with the picker instead.
    expectedLabel = 'Ciliophora';
    await page.keyboard.press('r');
    await page.getByLabel('New class', { exact: true }).fill(expectedLabel);
    await page.keyboard.press('Enter');
  }
  await page.locator('#gallery-status').getByText(`particle ${second.number} as ${expectedLabel}`).waitFor();
  await tile(second.number).and(page.locator('[data-status="validated"]')).waitFor();
  const validated = await history(second.number);
  assert.equal(validated.resolved.status, 'validated');
  assert.equal(validated.resolved.label, expectedLabel);
  assert.equal(validated.resolved.identified_by, tokenName);
  const event = validated.entries[validated.entries.length - 1];
  assert.equal(event.kind, 'validate');
  assert.equal(event.label.author, tokenName, 'the author is the name of the token');
  assert.equal(event.label.name, expectedLabel);
  // The header learnt the token's name from the event.
  await page.locator('#token-status').getByText(tokenName).waitFor();

  // Shift+→ selects the second and third particles; d marks both dubious.
  await page.keyboard.press('Shift+ArrowRight');
  assert.equal(await page.locator('#gallery [aria-selected="true"]').count(), 2);
  await page.keyboard.press('d');
  await page.locator('#gallery-status').getByText('Marked 2 particles dubious.').waitFor();
  await tile(second.number).and(page.locator('[data-status="dubious"]')).waitFor();
  await tile(third.number).and(page.locator('[data-status="dubious"]')).waitFor();
  assert.equal((await history(third.number)).resolved.dubious, true);

  // u undoes the newest change of the particle under the cursor (the third): it is as before.
  await page.keyboard.press('u');
  await page
    .locator('#gallery-status')
    .getByText(`Undid the newest change of particle ${third.number}`)
    .waitFor();
  await tile(third.number)
    .and(page.locator(`[data-status="${third.status}"]`))
    .waitFor();
  const undone = await history(third.number);
  assert.equal(undone.resolved.dubious, false);
  assert.equal(undone.resolved.status, third.status);
  assert.equal(undone.entries[undone.entries.length - 1].kind, 'undo');

  // Esc clears the selection; → and typing a letter opens the class picker with it.
  await page.keyboard.press('Escape');
  await page.keyboard.press('ArrowRight');
  assert.equal(await grid.getAttribute('aria-activedescendant'), `particle-${fourth.number}`);
  await page.keyboard.type('B');
  const picker = page.getByLabel('New class', { exact: true });
  assert.equal(await picker.inputValue(), 'B');
  await picker.fill('Bacillariophyceae');
  await page.keyboard.press('Enter');
  await page
    .locator('#gallery-status')
    .getByText(`Relabelled particle ${fourth.number} as Bacillariophyceae.`)
    .waitFor();
  await tile(fourth.number).and(page.locator('[data-status="validated"]')).waitFor();
  assert.match(await tile(fourth.number).textContent(), /Bacillariophyceae/);
  const relabelled = await history(fourth.number);
  assert.equal(relabelled.resolved.label, 'Bacillariophyceae');
  assert.equal(relabelled.resolved.identified_by, tokenName);
  // The focus went back to the gallery, so the keys go on working.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'gallery');

  await tile(second.number).click();
  await page
    .locator('#particle-detail')
    .getByRole('heading', { name: `Particle ${second.number}` })
    .waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot('gallery');
});

test("v on an uncertain particle validates the model's best guess", async (t) => {
  if (!withModel) {
    t.skip('no predictions without a model');
    return;
  }
  await page.goto(`${base}/#/samples/${SAMPLE_ID}/gallery?status=uncertain`);
  const grid = page.getByRole('listbox');
  await grid.waitFor();
  const [particle] = (await api(`/api/v1/samples/${SAMPLE_ID}/particles?status=uncertain&limit=1`)).particles;
  assert.equal(particle.label, 'uncertain');
  // The tile shows the top class with a question mark.
  assert.match(await tile(particle.number).textContent(), new RegExp(`${particle.top1}\\?`));
  await grid.focus();
  await page.keyboard.press('v');
  await page
    .locator('#gallery-status')
    .getByText(`Validated particle ${particle.number} as ${particle.top1}.`)
    .waitFor();
  await tile(particle.number).and(page.locator('[data-status="validated"]')).waitFor();
  const validated = await history(particle.number);
  assert.equal(validated.resolved.label, particle.top1);
  assert.equal(validated.resolved.status, 'validated');
});

test('the composition counts the validations', async () => {
  const composition = await api(`/api/v1/samples/${SAMPLE_ID}/composition`);
  // Validated: the fourth particle (relabelled) and, with a model, the uncertain one. The second
  // was validated, then marked dubious with the third, so it counts as the model predicts; the
  // third's doubt was undone.
  const validated = withModel ? 2 : 1;
  assert.equal(composition.label_counts.validated, validated);
  await page.goto(`${base}/#/samples/${SAMPLE_ID}`);
  // 1 or 2 of 1000 particles.
  await page
    .locator('.shares')
    .getByText(`${validated / 10} % validated`)
    .waitFor();
});

test('the Classify button queues a job; the jobs page cancels it', async (t) => {
  if (!withModel) {
    t.skip('no model to classify with');
    return;
  }
  await page.goto(`${base}/#/samples/${SAMPLE_ID}`);
  await page.getByRole('button', { name: 'Classify' }).click();
  const status = page.locator('#sample-action-status');
  await status.getByText(/Classify job \d+ queued\./).waitFor();
  const id = Number(/job (\d+)/.exec(await status.textContent())[1]);
  await page.locator(`.job-monitor[data-job-id="${id}"]`).waitFor();

  // Classifying 1000 particles takes seconds even in a release build: time enough to cancel.
  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.locator(`#jobs-table tr[data-job-id="${id}"]`).getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#jobs-status').getByText(`Cancelling job ${id}.`).waitFor();
  await page
    .locator(`#jobs-table tr[data-job-id="${id}"][data-state="cancelled"]`)
    .waitFor({ timeout: JOB_TIMEOUT_MS });
  const job = await api(`/api/v1/jobs/${id}`);
  assert.equal(job.kind, 'classify');
  assert.equal(job.state, 'cancelled');
  assert.deepEqual(job.params.samples, [SAMPLE_ID]);
  assert.equal(job.created_by, tokenName);
});

test('jobs page: every job with its state', async () => {
  await page.goto(`${base}/#/jobs`);
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  const jobs = (await api('/api/v1/jobs')).jobs;
  // ingest, classify (queued by the upload), and with a model the cancelled classify.
  assert.deepEqual(
    jobs.map((job) => `${job.kind} ${job.state}`),
    withModel ? ['classify cancelled', 'classify succeeded', 'ingest succeeded'] : ['ingest succeeded'],
  );
  const rows = page.locator('#jobs-table tbody tr[data-job-id]');
  assert.equal(await rows.count(), jobs.length);
  for (const job of jobs) {
    const row = page.locator(`#jobs-table tr[data-job-id="${job.id}"]`);
    assert.equal(await row.getAttribute('data-state'), job.state);
    assert.match(await row.textContent(), new RegExp(`${job.kind}.*${job.state}`));
  }
  // The log opens in place.
  await rows.first().getByRole('button', { name: 'Log' }).click();
  await page.locator('#jobs-table .log-row:not([hidden]) pre').filter({ hasText: /\S/ }).waitFor();
  await screenshot('jobs');
});

test('models page: metrics, confusion matrix heat map', async (t) => {
  await page.getByRole('link', { name: 'Models' }).click();
  await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
  if (!withModel) {
    await page.getByText('The server serves no model').waitFor();
    await screenshot('models');
    t.skip('no model in this build');
    return;
  }
  const [model] = (await api('/api/v1/models')).models;
  const row = page.locator('#models-table tbody tr').first();
  assert.match(await row.textContent(), new RegExp(model.id));
  // Top-1 as a percentage with one decimal, as formatPercent writes it.
  const top1 = `${(model.validation.top1 * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })} %`;
  assert.match(await row.textContent(), new RegExp(top1.replace('.', '\\.')));
  await screenshot('models');

  await row.getByRole('link', { name: model.id }).click();
  await page.getByRole('heading', { name: 'Confusion matrix' }).waitFor();
  const detail = await api(`/api/v1/models/${model.id}`);
  const classes = detail.validation.per_class.length;
  assert.equal(await page.locator('svg.chart .cell').count(), classes * classes);
  // The diagonal cell of the first class shows its count of correct predictions.
  assert.equal(
    (await page.locator('svg.chart .cell.diagonal text').first().textContent()).trim(),
    String(detail.validation.confusion[0][0]),
  );
  assert.equal(await page.locator('#per-class-table tbody tr').count(), classes);
  await screenshot('model');
});

/** A number as the indicators page shows it: 4 (or `digits`) significant digits, grouped. */
function shown(value, digits = 4) {
  return Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumSignificantDigits: digits });
}

/** A probability as the indicators page shows it: below 0.001 in scientific notation. */
function shownProbability(value) {
  return value !== 0 && value < 1e-3
    ? value.toExponential(2)
    : value.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

test('indicators page: PH1 of the synthetic series, its plot, and an API error', async () => {
  // The form proposes periods from the years of every stored sample: the synthetic 2015-2018
  // and the upload's 2025-04-11, so 2015-2023 against 2024-2025 (the last two years when the span
  // is 6 years or more).
  await page.getByRole('link', { name: 'Indicators' }).click();
  await page.getByRole('heading', { name: 'OSPAR indicators', level: 1 }).waitFor();
  const span = (await api('/api/v1/indicators/series')).selection;
  assert.deepEqual([span.first_year, span.last_year], [synthetic.first_year, 2025]);
  await page.locator('#indicator-period-hint').getByText(`span ${synthetic.first_year}–2025`).waitFor();
  assert.equal(await page.getByLabel('Reference period').inputValue(), `${synthetic.first_year}-2023`);
  assert.equal(await page.getByLabel('Comparison period').inputValue(), '2024-2025');

  // The synthetic series (2015-2018): its last year against the three before.
  const reference = `${synthetic.first_year}-${synthetic.last_year - 1}`;
  const comparison = String(synthetic.last_year);
  await page.getByLabel('Reference period').fill(reference);
  await page.getByLabel('Comparison period').fill(comparison);
  await page.getByLabel('Indicator', { exact: true }).selectOption('ph1');
  await page.getByLabel('Area (water body)').fill('SNS');
  await page.getByRole('button', { name: 'Compute' }).click();
  await page.waitForURL(/#\/indicators\?kind=ph1&area=SNS&reference=2015-2017&comparison=2018$/);
  const pairsTable = page.locator('#ph1-pairs');
  await pairsTable.waitFor();

  const ph1 = await api(`/api/v1/indicators/ph1?area=SNS&reference=${reference}&comparison=${comparison}`);
  // 1 station × 4 years × 12 months, every particle validated.
  assert.equal(ph1.selection.samples, synthetic.runs);
  assert.match(
    await page.locator('#indicator-selection').textContent(),
    /^48 samples \(2015–2018\), station all, area SNS; cells_per_l; validated labels; 0 % of labels predicted/,
  );
  // One row per pair: points, PI, chi-square and binomial probability as the API computed them.
  const rows = pairsTable.locator('tbody tr');
  assert.equal(await rows.count(), ph1.pairs.length);
  assert.equal(ph1.pairs.length, 3, 'the default pairs');
  for (const [index, pair] of ph1.pairs.entries()) {
    const row = rows.nth(index);
    assert.equal((await row.locator('th').textContent()).trim(), `${pair.x}–${pair.y}`);
    const cells = await row.locator('td').allTextContents();
    // 3 reference years × 12 months; the 12 months of 2018.
    assert.deepEqual(cells.slice(0, 3), ['36', '12', String(pair.inside)]);
    assert.equal(pair.points, 12);
    assert.equal(cells[3], shown(pair.pi), `PI of ${pair.x}-${pair.y}`);
    assert.equal(cells[4], shown(pair.chi_square));
    assert.equal(cells[6], shownProbability(pair.binomial_probability));
    assert.equal(cells[7], `${pair.quality.passed ? 'passed' : 'failed'} (3 years, 36 months)`);
    assert.equal(cells[8], pair.annual.map((year) => `${year.year}: ${shown(year.pi)}`).join(', '));
  }
  // A Kendall trend per lifeform of the pairs.
  assert.equal(await page.locator('#ph1-trends tbody tr').count(), ph1.trends.length);
  const dinoflagellates = ph1.trends.find((trend) => trend.lifeform === 'dinoflagellate');
  const trendCells = await page
    .locator('#ph1-trends tbody tr', { hasText: /^dinoflagellate/ })
    .locator('td')
    .allTextContents();
  // Years, S, tau: 4 annual means.
  assert.deepEqual(trendCells.slice(0, 3), ['4', String(dinoflagellates.s), shown(dinoflagellates.tau, 3)]);

  // The server's plot, fetched with the token and decoded: 1380 px wide (three panels).
  await page.waitForFunction(() => {
    const image = /** @type {HTMLImageElement | null} */ (document.querySelector('#indicator-plot-image'));
    return image !== null && image.complete && image.naturalWidth > 0;
  });
  assert.match(await page.locator('#indicator-plot-image').getAttribute('src'), /^blob:/);

  // The JSON download is the API's answer.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download JSON' }).click();
  const download = await downloading;
  assert.equal(download.suggestedFilename(), 'ph1-SNS-2015-2017-2018.json');
  const saved = join(work, 'ph1.json');
  await download.saveAs(saved);
  assert.deepEqual(
    JSON.parse(readFileSync(saved, 'utf8')).pairs.map((pair) => pair.pi),
    ph1.pairs.map((pair) => pair.pi),
  );
  await screenshot('indicators');

  // Overlapping periods: the API's message, in place of the result.
  await page.getByLabel('Comparison period').fill('2017-2018');
  await page.getByRole('button', { name: 'Compute' }).click();
  await page.waitForURL(/comparison=2017-2018/);
  const refusal = await fetch(
    `${base}/api/v1/indicators/ph1?area=SNS&reference=${reference}&comparison=2017-2018`,
    { headers: { Authorization: `Bearer ${token}` } },
  );
  assert.equal(refusal.status, 422);
  const { message } = (await refusal.json()).error;
  assert.match(message, /overlap/);
  await page.locator('#indicator-error').getByRole('alert').getByText(message).waitFor();
  assert.equal(await page.locator('#ph1-pairs').count(), 0);

  // Monte Carlo intervals, asked for with predictions: every label of the synthetic store is
  // validated, so no replicate redraws one and each interval is the estimate itself.
  await page.getByLabel('Comparison period').fill(comparison);
  assert.ok(await page.getByLabel('Uncertainty replicates').isDisabled(), 'off without predictions');
  await page.getByLabel('Include model predictions').check();
  await page.getByLabel('Uncertainty replicates').fill('20');
  await page.getByRole('button', { name: 'Compute' }).click();
  await page.waitForURL(/comparison=2018&predictions=true&uncertainty=20$/);
  await page
    .locator('#indicator-uncertainty-note')
    .getByText(
      "95 % intervals from 20 Monte Carlo replicates over the model's calibrated top-k probabilities",
    )
    .waitFor();
  const withIntervals = await api(
    `/api/v1/indicators/ph1?area=SNS&reference=${reference}&comparison=${comparison}&predictions=true&uncertainty=20`,
  );
  assert.deepEqual(withIntervals.uncertainty, {
    replicates: 20,
    level: 0.95,
    method: 'monte-carlo over calibrated top-k',
  });
  const { pi, pi_lower: lower, pi_upper: upper } = withIntervals.pairs[0];
  assert.deepEqual([lower, upper], [pi, pi]);
  assert.equal(
    await page.locator('#ph1-pairs tbody tr').first().locator('td').nth(3).textContent(),
    `${shown(pi)} [${shown(lower)}, ${shown(upper)}]`,
  );

  // The other kinds, opened from their address as a bookmark would: their tables hold the API's
  // numbers.
  const periods = `area=SNS&reference=${reference}&comparison=${comparison}`;
  await page.goto(`${base}/#/indicators?kind=ph2&${periods}&lifeform=dinoflagellate`);
  await page.locator('#ph2-anomalies').waitFor();
  const ph2 = await api(`/api/v1/indicators/ph2?${periods}&lifeform=dinoflagellate`);
  assert.equal(await page.getByLabel('Lifeform group').inputValue(), 'dinoflagellate');
  assert.deepEqual(
    (await page.locator('#ph2-anomalies tbody tr').first().locator('td').allTextContents()).slice(0, 2),
    [String(ph2.comparison.important_positive), String(ph2.comparison.important_negative)],
  );
  // PH2 warns that 3 reference years are fewer than PelHabMSFD's 5.
  assert.ok(ph2.warnings.length > 0);
  assert.equal(await page.locator('#indicator-warnings li').count(), ph2.warnings.length);
  await page.waitForFunction(() => {
    const image = /** @type {HTMLImageElement | null} */ (document.querySelector('#indicator-plot-image'));
    return image !== null && image.complete && image.naturalWidth > 0;
  });

  await page.goto(`${base}/#/indicators?kind=ph3&${periods}`);
  await page.locator('#ph3-years').waitFor();
  const ph3 = await api(`/api/v1/indicators/ph3?${periods}`);
  const yearRows = page.locator('#ph3-years tbody tr');
  assert.equal(await yearRows.count(), ph3.years.length);
  assert.equal(await yearRows.first().locator('td').nth(3).textContent(), shown(ph3.years[0].menhinick));

  await page.goto(`${base}/#/indicators?kind=series&${periods}`);
  await page.locator('#series-table').waitFor();
  // 2015-2018: 48 months, the first with its one sample.
  const series = await api(`/api/v1/indicators/series?${periods}`);
  assert.equal(series.months.length, 48);
  assert.equal(await page.locator('#series-table tbody tr').count(), 48);
  assert.equal(await page.getByRole('button', { name: 'Download SVG' }).count(), 0, 'the series has no plot');
});

test('handbook: /docs shows the rendered contents; a link opens a tutorial', async () => {
  await page.goto(base + '/docs');
  assert.match(page.url(), /#\/docs\/index\.md$/);
  const article = page.locator('#docs-page');
  await article.getByRole('heading', { name: 'The phytoflow handbook', level: 1 }).waitFor();
  // Headings get GitHub's anchors (behind a prefix); the Markdown syntax is gone.
  await article.locator('h2#doc-tutorials').waitFor();
  assert.ok((await article.locator('table tbody tr').count()) >= 10);
  assert.doesNotMatch(await article.innerText(), /^#+ |\]\(|\*\*/m);
  await article.getByRole('link', { name: 'Train and evaluate a model on your own labelled images' }).click();
  await page.getByRole('heading', { name: /^Tutorial 2: train and evaluate/, level: 1 }).waitFor();
  assert.match(page.url(), /#\/docs\/tutorials\/02-train-your-own-model\.md$/);
  // Console blocks are code; the tutorials' test markers (HTML comments) are not shown.
  assert.ok((await article.locator('pre > code.language-console').count()) > 3);
  assert.doesNotMatch(await article.innerText(), /<!--/);
});

test('no script error and no server error on the way', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(serverErrors, []);
});
