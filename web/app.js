// @ts-check
// The phytoflow web UI: a hash router over one module per page, and the token box of the
// header. Routes:
//   #/samples?q=&offset=              samples, search, upload      (pages/samples.js)
//   #/samples/ID                      one sample                   (pages/sample.js)
//   #/samples/ID/gallery?label=&...   particles, validation        (pages/gallery.js)
//   #/jobs                            background jobs              (pages/jobs.js)
//   #/models, #/models/ID             models, confusion matrix     (pages/models.js)
//   #/indicators?kind=&area=&...      OSPAR indicators, series     (pages/indicators.js)
//   #/docs, #/docs/PATH?section=      the handbook (docs/)          (pages/docs.js)

import { getIdentity, getToken, identityEvents, setToken } from './api.js';
import { errorBox, h } from './dom.js';
import * as docsPage from './pages/docs.js';
import * as galleryPage from './pages/gallery.js';
import * as indicatorsPage from './pages/indicators.js';
import * as jobsPage from './pages/jobs.js';
import * as modelsPage from './pages/models.js';
import * as samplePage from './pages/sample.js';
import * as samplesPage from './pages/samples.js';

/**
 * What a page module exports. `render` fills `main` and may return a function that undoes
 * what it started (timers, object URLs, key handlers) when the page is left.
 * @typedef {{params: Record<string, string>, query: URLSearchParams, signal: AbortSignal}} PageContext
 * @typedef {(main: HTMLElement, context: PageContext) => Promise<(() => void) | void>} PageRender
 */

/** @type {{pattern: RegExp, names: string[], render: PageRender, nav: string}[]} */
const routes = [
  { pattern: /^\/samples$/, names: [], render: samplesPage.render, nav: 'samples' },
  { pattern: /^\/samples\/([^/]+)$/, names: ['id'], render: samplePage.render, nav: 'samples' },
  { pattern: /^\/samples\/([^/]+)\/gallery$/, names: ['id'], render: galleryPage.render, nav: 'samples' },
  { pattern: /^\/jobs$/, names: [], render: jobsPage.render, nav: 'jobs' },
  { pattern: /^\/models$/, names: [], render: modelsPage.render, nav: 'models' },
  { pattern: /^\/models\/([^/]+)$/, names: ['id'], render: modelsPage.renderModel, nav: 'models' },
  { pattern: /^\/indicators$/, names: [], render: indicatorsPage.render, nav: 'indicators' },
  { pattern: /^\/docs$/, names: [], render: docsPage.render, nav: 'docs' },
  { pattern: /^\/docs\/(.+)$/, names: ['path'], render: docsPage.render, nav: 'docs' },
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
/** @type {(() => void) | void} */
let cleanup;
/** @type {AbortController | null} */
let pageRequests = null;

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/samples';
  const [path, queryText = ''] = hash.split('?', 2);
  const found = routes
    .map((candidate) => ({ candidate, match: candidate.pattern.exec(path) }))
    .find(({ match }) => match !== null);

  pageRequests?.abort();
  if (typeof cleanup === 'function') {
    cleanup();
  }
  cleanup = undefined;
  pageRequests = new AbortController();
  const signal = pageRequests.signal;

  for (const link of document.querySelectorAll('nav.site a')) {
    const current = found && link.getAttribute('data-nav') === found.candidate.nav;
    if (current) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  if (!found || !found.match) {
    main.append(
      h('h1', {}, 'Not found'),
      h('p', {}, `No page ${path}. `, h('a', { href: '#/samples' }, 'Samples')),
    );
    main.removeAttribute('aria-busy');
    return;
  }
  /** @type {Record<string, string>} */
  const params = {};
  found.candidate.names.forEach((name, index) => {
    params[name] = decodeURIComponent(/** @type {RegExpExecArray} */ (found.match)[index + 1]);
  });
  try {
    cleanup = await found.candidate.render(main, { params, query: new URLSearchParams(queryText), signal });
  } catch (error) {
    if (!signal.aborted) {
      main.append(errorBox(error));
    }
  } finally {
    if (!signal.aborted) {
      main.removeAttribute('aria-busy');
    }
  }
}

// The token box: saved in local storage, sent by api.js with every request.
function setUpTokenBox() {
  const form = /** @type {HTMLFormElement} */ (document.getElementById('token-form'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const forget = /** @type {HTMLButtonElement} */ (document.getElementById('token-forget'));
  const status = /** @type {HTMLElement} */ (document.getElementById('token-status'));

  const show = () => {
    const token = getToken();
    const identity = getIdentity();
    input.value = '';
    input.placeholder = token ? '•••••••• (saved)' : 'pft_…';
    forget.hidden = !token;
    if (!token) {
      status.textContent = 'no token: read-only where the server allows it';
    } else if (identity.refused) {
      status.textContent = `token refused: ${identity.refused}`;
    } else if (identity.name || identity.role) {
      status.textContent = `${identity.name ?? 'token'}${identity.role ? ` (${identity.role})` : ''}`;
    } else {
      status.textContent = 'token saved';
    }
    status.dataset.kind = identity.refused ? 'error' : 'info';
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) {
      setToken(token);
      route();
    }
  });
  forget.addEventListener('click', () => {
    setToken('');
    route();
  });
  identityEvents.addEventListener('change', show);
  show();
}

setUpTokenBox();
window.addEventListener('hashchange', route);
route();
