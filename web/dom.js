// @ts-check
// Small DOM and formatting helpers shared by the pages. Text is always set as text (never as
// HTML), so names that come from export files cannot inject markup.

/**
 * What may be given as children: nodes, text, lists nested twice (JSDoc types cannot recurse),
 * and nothing (null, undefined, false), which is left out.
 * @typedef {Node | string | number | null | undefined | false} Leaf
 * @typedef {Leaf | Leaf[] | (Leaf | Leaf[])[]} Child
 */

/**
 * Sets attributes, properties and listeners: `class`, `text`, `on<event>` (a function),
 * `dataset` (an object), a boolean (present or not), anything else as an attribute.
 * @param {Element} element
 * @param {Record<string, any>} attributes
 */
function assign(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === 'text') {
      element.textContent = String(value);
    } else if (name === 'dataset') {
      Object.assign(/** @type {HTMLElement} */ (element).dataset, value);
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
}

/**
 * @param {Element} element
 * @param {Child[]} children
 */
function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * An HTML element: h('a', {href: '#/jobs', class: 'button'}, 'Jobs').
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attributes]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  assign(element, attributes);
  append(element, children);
  return element;
}

/**
 * Replaces the children of `element`.
 * @param {Element} element
 * @param {...Child} children
 */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * An SVG element: svg('rect', {x: 0, width: 10}).
 * @param {string} tag
 * @param {Record<string, any>} [attributes]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function svg(tag, attributes = {}, ...children) {
  const element = /** @type {SVGElement} */ (document.createElementNS('http://www.w3.org/2000/svg', tag));
  assign(element, attributes);
  append(element, children);
  return element;
}

/**
 * A number for people: significant digits, grouping, '–' for unknown (null).
 * @param {number | null | undefined} value
 * @param {number} [digits] significant digits
 * @returns {string}
 */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e9) {
    return value.toLocaleString('en-US');
  }
  return value.toLocaleString('en-US', { maximumSignificantDigits: digits });
}

/**
 * A share as a percentage: 0.153 → "15.3 %".
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function formatPercent(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  return `${(value * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })} %`;
}

/**
 * An ISO 8601 time as stored, shortened for a table: "2025-04-11T13:53:33Z" →
 * "2025-04-11 13:53:33".
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function formatTime(value) {
  if (!value) {
    return '–';
  }
  return value.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

/**
 * A status message that assistive technology reads out (role=status), shown in `element`.
 * @param {HTMLElement} element
 * @param {string} message
 * @param {'info' | 'error' | 'ok'} [kind]
 */
export function say(element, message, kind = 'info') {
  element.textContent = message;
  element.dataset.kind = kind;
}

/**
 * The message of a failure for people.
 * @param {unknown} error
 * @returns {string}
 */
export function messageOf(error) {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/**
 * A box that shows a failure in place of a page's content.
 * @param {unknown} error
 * @returns {HTMLElement}
 */
export function errorBox(error) {
  return h('p', { class: 'error', role: 'alert' }, messageOf(error));
}

/**
 * Pagination links for a list of `total` items shown `limit` at a time.
 * @param {{total: number, limit: number, offset: number, href: (offset: number) => string,
 *          label: string}} options
 * @returns {HTMLElement}
 */
export function pager({ total, limit, offset, href, label }) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  const previous = Math.max(offset - limit, 0);
  const next = offset + limit;
  return h(
    'nav',
    { class: 'pager', 'aria-label': label },
    offset > 0
      ? h('a', { href: href(previous), rel: 'prev' }, '← Previous')
      : h('span', { class: 'disabled', 'aria-hidden': 'true' }, '← Previous'),
    h('span', { class: 'range' }, `${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(total)}`),
    next < total
      ? h('a', { href: href(next), rel: 'next' }, 'Next →')
      : h('span', { class: 'disabled', 'aria-hidden': 'true' }, 'Next →'),
  );
}

/**
 * A hash link with a query: hashHref('/samples', {q: 'x'}) → "#/samples?q=x".
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [query]
 * @returns {string}
 */
export function hashHref(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

/**
 * Waits, unless the signal aborts first.
 * @param {number} milliseconds
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(milliseconds, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}
