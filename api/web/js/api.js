// The console's only way to the server: the same /api/v1 routes as any client,
// with the user's token (kept in sessionStorage: gone when the tab closes).
const KEY = 'cityeye.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY) || ''; },
  set(t) { sessionStorage.setItem(KEY, t); },
  clear() { sessionStorage.removeItem(KEY); },
};

// APIError carries the API's {"error", "field"} body so forms can show the message
// next to the field it names.
export class APIError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : 'HTTP ' + status);
    this.status = status;
    this.field = (body && body.field) || '';
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

function headers(extra) { return Object.assign({ Authorization: 'Bearer ' + session.token }, extra); }

export function qs(q) {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

export async function api(method, path, body, opts = {}) {
  const init = { method, headers: headers(), signal: opts.signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  if (opts.raw && r.ok) return r;
  const text = await r.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { error: text }; }
  if (!r.ok) {
    if (r.status === 401 && !opts.quiet) onUnauthorized();
    throw new APIError(r.status, data);
  }
  return data;
}

export const get = (path, q, opts) => api('GET', path + qs(q), undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);

// objectPath turns a snapshot reference (a StoragePath URL, an API path or a key)
// into the API path that serves it watermarked for the caller.
export function objectPath(ref) {
  if (!ref) return '';
  const i = ref.indexOf('/api/v1/objects/');
  return i >= 0 ? ref.slice(i) : '/api/v1/objects/' + ref.replace(/^\/+/, '');
}

// imageURL fetches a snapshot with the token (an <img> cannot send it) and returns
// a blob: URL; each is fetched once per page view.
const blobs = new Map();
export function imageURL(ref) {
  const p = objectPath(ref);
  if (!blobs.has(p)) {
    blobs.set(p, fetch(p, { headers: headers() }).then(r => {
      if (!r.ok) throw new APIError(r.status, {});
      return r.blob();
    }).then(b => URL.createObjectURL(b)).catch(e => { blobs.delete(p); throw e; }));
  }
  return blobs.get(p);
}
// liveFrameURL fetches a camera's current picture (watermarked, audited) as a blob:
// URL with its capture time and source ("live": the decoding worker's latest frame;
// "keyframe": grabbed for this request from a camera no task decodes), or null when
// the server has none (409: the camera is offline or its address not admitted) or
// the caller may not see it. forgetImages frees it with the page.
export async function liveFrameURL(deviceID, signal) {
  const r = await fetch('/api/v1/streams/' + encodeURIComponent(deviceID) + '/snapshot', { headers: headers(), signal });
  if (!r.ok) return null;
  const url = URL.createObjectURL(await r.blob());
  blobs.set('live#' + url, Promise.resolve(url));
  return { url, time: r.headers.get('X-Frame-Time'), source: r.headers.get('X-Frame-Source') || 'live' };
}
export function forgetImages() {
  for (const p of blobs.values()) p.then(u => URL.revokeObjectURL(u), () => {});
  blobs.clear();
}

// events reads a Server-Sent Events route with the token (EventSource cannot send
// headers) and calls onEvent(name, data) for each event until signal aborts or the
// server ends the feed (an "end" event). When the connection drops it connects
// again (after 1 s, doubling up to 10 s) with the id of the last event received as
// Last-Event-ID, so the server sends what was missed meanwhile, each event once;
// opts.lastId resumes the first connection after that id (e.g. the newest alert a
// list already shows). opts.onState(connected) follows the connection. A refused
// request (4xx) is not retried: it throws, as an abort does.
export async function events(path, signal, onEvent, opts = {}) {
  let lastId = opts.lastId ? String(opts.lastId) : '';
  let wait = 1000;
  for (;;) {
    try {
      const extra = { Accept: 'text/event-stream' };
      if (lastId) extra['Last-Event-ID'] = lastId;
      const r = await fetch(path, { headers: headers(extra), signal });
      if (!r.ok) throw new APIError(r.status, await r.json().catch(() => ({})));
      opts.onState?.(true);
      wait = 1000;
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let name = 'message', data = '', id = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
            else if (line.startsWith('id: ')) id = line.slice(4);
          }
          if (name === 'end') return;
          if (data) { try { onEvent(name, JSON.parse(data)); } catch { /* not JSON: ignore */ } }
          if (id) lastId = id; // after it was handled: a drop mid-event resends it
        }
      }
    } catch (err) {
      if (signal?.aborted || (err instanceof APIError && err.status < 500 && err.status !== 429)) throw err;
    }
    if (signal?.aborted) return;
    opts.onState?.(false);
    await new Promise(res => { const t = setTimeout(res, wait); signal?.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true }); });
    if (signal?.aborted) return;
    wait = Math.min(2 * wait, 10000);
  }
}

// download saves a response body (an export) as a file.
export async function download(path, filename) {
  const r = await api('GET', path, undefined, { raw: true });
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url; a.download = filename;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
