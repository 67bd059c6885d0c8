// @ts-check
// The client of phytoflow's JSON API (docs/api.md): every request carries the bearer token kept
// in local storage, and every failure becomes an ApiError with the message of the server's one
// error shape {"error": {"code", "message", "status"}}.

const TOKEN_KEY = 'phytoflow.token';
const IDENTITY_KEY = 'phytoflow.identity';

/** A failed request: the HTTP status, the error code and the server's message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * What the UI learnt about the token: its name from the events it wrote, its role from a 403
 * (the server names both in "token 'anna' has role viewer"). The API has no "who am I" call.
 * @typedef {{name?: string, role?: string, refused?: string}} Identity
 */

/** Tells the header when the token or what is known of it changes. */
export const identityEvents = new EventTarget();

/** @returns {string} the saved token, or '' */
export function getToken() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} token the new token; '' forgets it */
export function setToken(token) {
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
  } else {
    localStorage.removeItem(TOKEN_KEY);
  }
  localStorage.removeItem(IDENTITY_KEY);
  identityEvents.dispatchEvent(new Event('change'));
}

/** @returns {Identity} */
export function getIdentity() {
  try {
    return JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? '{}');
  } catch {
    return {};
  }
}

/** @param {Identity} learnt merged into what is known */
export function learnIdentity(learnt) {
  const before = getIdentity();
  const after = { ...before, ...learnt };
  if (JSON.stringify(before) === JSON.stringify(after)) {
    return;
  }
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(after));
  identityEvents.dispatchEvent(new Event('change'));
}

/**
 * A URL of this server with a query string; undefined, null and '' values are left out.
 * @param {string} path
 * @param {Record<string, string | number | boolean | null | undefined>} [query]
 * @returns {string}
 */
export function apiUrl(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** @param {HeadersInit} [extra] @returns {Headers} */
function authHeaders(extra) {
  const headers = new Headers(extra);
  const token = getToken();
  if (token) {
    headers.set('Authorization', `Bearer ${token}`);
  }
  return headers;
}

/**
 * The ApiError of a failed response, from the JSON error shape when there is one.
 * @param {number} status
 * @param {string} statusText
 * @param {string} body
 * @returns {ApiError}
 */
function errorOf(status, statusText, body) {
  let code = 'http_' + status;
  let message = `${status} ${statusText}`.trim();
  try {
    const parsed = JSON.parse(body);
    if (parsed && parsed.error && typeof parsed.error.message === 'string') {
      code = parsed.error.code ?? code;
      message = parsed.error.message;
    }
  } catch {
    if (body && body.length < 300) {
      message += `: ${body}`;
    }
  }
  if (status === 403) {
    const found = /token '(.*)' has role (\w+)/.exec(message);
    if (found) {
      learnIdentity({ name: found[1], role: found[2], refused: undefined });
    }
  } else if (status === 401 && getToken()) {
    learnIdentity({ refused: message });
  }
  return new ApiError(status, code, message);
}

/**
 * @param {Response} response
 * @returns {Promise<Response>} the response when it is a success
 */
async function checked(response) {
  if (!response.ok) {
    throw errorOf(response.status, response.statusText, await response.text());
  }
  return response;
}

/**
 * A JSON request.
 * @param {string} method
 * @param {string} path
 * @param {{query?: Record<string, string | number | boolean | null | undefined>, body?: unknown,
 *          signal?: AbortSignal}} [options]
 * @returns {Promise<any>} the parsed answer
 */
export async function request(method, path, options = {}) {
  /** @type {RequestInit} */
  const init = { method, headers: authHeaders(), signal: options.signal };
  if (options.body !== undefined) {
    init.headers = authHeaders({ 'Content-Type': 'application/json' });
    init.body = JSON.stringify(options.body);
  }
  const response = await checked(await fetch(apiUrl(path, options.query), init));
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * @param {string} path
 * @param {Record<string, string | number | boolean | null | undefined>} [query]
 * @param {AbortSignal} [signal]
 */
export function get(path, query, signal) {
  return request('GET', path, { query, signal });
}

/** @param {string} path @param {unknown} body */
export function post(path, body) {
  return request('POST', path, { body });
}

/** @param {string} path @param {unknown} body */
export function patch(path, body) {
  return request('PATCH', path, { body });
}

/**
 * A text answer (a job's log).
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<string>}
 */
export async function getText(path, signal) {
  const response = await checked(await fetch(path, { headers: authHeaders(), signal }));
  return response.text();
}

/**
 * A file, fetched with the token (a plain link cannot send it), and its name from
 * Content-Disposition.
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @param {string} [fallbackName] the name when the answer gives none; else the path's last segment
 * @returns {Promise<{blob: Blob, filename: string, warnings: string}>}
 */
export async function getBlob(path, signal, fallbackName) {
  const response = await checked(await fetch(path, { headers: authHeaders(), signal }));
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const named = /filename="?([^";]+)"?/.exec(disposition);
  // The query is no part of a file name ("ph1?area=SNS" would be saved as such).
  const filename = named ? named[1] : fallbackName || path.split('?')[0].split('/').pop() || 'download';
  return {
    blob: await response.blob(),
    filename,
    warnings: response.headers.get('X-Phytoflow-Warnings') ?? '',
  };
}

/**
 * Saves a file of the API under its own name (fetched with the token, then handed to the
 * browser as an object URL).
 * @param {string} path
 * @param {string} [fallbackName] the name when the answer has no Content-Disposition (query
 *     URLs such as the indicators'); else the path's last segment
 * @returns {Promise<{filename: string, bytes: number, warnings: string}>}
 */
export async function download(path, fallbackName) {
  const { blob, filename, warnings } = await getBlob(path, undefined, fallbackName);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { filename, bytes: blob.size, warnings };
}

/**
 * A multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
 * @param {string} path
 * @param {FormData} form
 * @param {(sent: number, total: number) => void} onProgress
 * @returns {{done: Promise<any>, abort: () => void}} the parsed answer, and a way to stop
 */
export function upload(path, form, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', path);
    const token = getToken();
    if (token) {
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    }
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) {
        onProgress(event.loaded, event.total);
      }
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
      } else {
        reject(errorOf(xhr.status, xhr.statusText, xhr.responseText));
      }
    });
    xhr.addEventListener('error', () =>
      reject(new ApiError(0, 'network', 'the upload failed: the server cannot be reached')),
    );
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'the upload was stopped')));
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

/**
 * An object URL of an image of the API, fetched with the token; the caller revokes it.
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<string>}
 */
export async function imageUrl(path, signal) {
  const { blob } = await getBlob(path, signal);
  return URL.createObjectURL(blob);
}

/** @param {string} id @returns {string} the API path of a sample */
export function samplePath(id) {
  return `/api/v1/samples/${encodeURIComponent(id)}`;
}
