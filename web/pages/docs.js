// @ts-check
// The handbook page: fetches a page of docs/ from the server (GET /docs/PATH, Markdown) and
// renders it with markdown.js. Links between pages stay in the UI (#/docs/PATH?section=ANCHOR),
// images come from /docs/..., links outside the handbook (the repository's other files) are
// shown as text, links to other sites open as links.

import { errorBox, h } from '../dom.js';
import { renderMarkdown } from '../markdown.js';

const INDEX = 'index.md';
// Resolves relative links: a page's URL under this made-up origin, so that a link that climbs
// out of docs/ is recognised (its path no longer starts with /docs/).
const BASE = 'https://handbook.invalid/docs/';
const ANCHOR_PREFIX = 'doc-';

/**
 * Where a link or image of the page at `page` (relative to docs/) points in the UI.
 * @param {string} page
 * @param {string} target
 * @param {'link' | 'image'} kind
 * @returns {string | null}
 */
export function resolveDocTarget(page, target, kind) {
  if (target.startsWith('#')) {
    return kind === 'link' ? pageHref(page, decodeURIComponent(target.slice(1))) : null;
  }
  /** @type {URL} */
  let url;
  try {
    url = new URL(target, BASE + page);
  } catch {
    return null;
  }
  if (url.origin !== new URL(BASE).origin) {
    return kind === 'link' && (url.protocol === 'https:' || url.protocol === 'http:') ? url.href : null;
  }
  if (!url.pathname.startsWith('/docs/')) {
    return null; // outside the handbook: not served
  }
  const path = decodeURIComponent(url.pathname.slice('/docs/'.length));
  if (path === '' || path.endsWith('/')) {
    return null;
  }
  if (kind === 'link' && path.endsWith('.md')) {
    return pageHref(path, decodeURIComponent(url.hash.slice(1)));
  }
  return `/docs/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * @param {string} path
 * @param {string} [section]
 * @returns {string}
 */
function pageHref(path, section) {
  return `#/docs/${path}${section ? `?section=${encodeURIComponent(section)}` : ''}`;
}

/** @type {import('../app.js').PageRender} */
export async function render(main, { params, query, signal }) {
  const path = params.path ?? INDEX;
  document.title = 'Handbook — phytoflow';
  // Only plain relative paths of pages: the server has nothing else, and this keeps the fetch
  // under /docs/.
  if (!/^[\w.-]+(\/[\w.-]+)*\.md$/.test(path) || path.split('/').includes('..')) {
    main.append(
      h('h1', {}, 'Handbook'),
      h('p', {}, `No page ${path}. `, h('a', { href: pageHref(INDEX) }, 'Contents')),
    );
    return;
  }
  const crumbs = h(
    'nav',
    { class: 'breadcrumbs', 'aria-label': 'Handbook' },
    h('a', { href: pageHref(INDEX) }, 'Handbook'),
    path === INDEX ? null : [' / ', path],
  );
  const article = h('article', { class: 'markdown', id: 'docs-page' });
  main.append(crumbs, article);
  const response = await fetch(`/docs/${path}`, { signal });
  if (!response.ok) {
    article.append(
      errorBox(new Error(`${path}: ${response.status === 404 ? 'no such page' : response.statusText}`)),
    );
    return;
  }
  const markdown = await response.text();
  article.append(
    renderMarkdown(markdown, (target, kind) => resolveDocTarget(path, target, kind), ANCHOR_PREFIX),
  );
  const title = article.querySelector('h1');
  if (title) {
    document.title = `${title.textContent} — phytoflow`;
  }
  const section = query.get('section');
  const target = section ? document.getElementById(ANCHOR_PREFIX + section) : null;
  if (target) {
    target.scrollIntoView();
  } else {
    main.focus();
  }
}
