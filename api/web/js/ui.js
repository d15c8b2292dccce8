// Small DOM helpers shared by the pages.
import { t } from './i18n.js';
import { imageURL } from './api.js';

// h builds an element: h('div.card#id', {onclick, dataset, ...}, children...).
export function h(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec) || [];
  const el = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs !== undefined && attrs !== null && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { kids.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  // the API validates and names the bad field; the browser's own checks would block
  // the request silently (and disagree with the API)
  if (el.tagName === 'FORM') el.noValidate = true;
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : String(k));
  }
}

export function clear(el, ...kids) { el.replaceChildren(); append(el, kids); return el; }

// table renders rows; cols are [header, cell(row)] pairs; empty is what to show
// (and what to do next) when there are no rows.
export function table(cols, rows, empty, attrs) {
  if (!rows || rows.length === 0) return emptyState(empty);
  return h('table.grid', attrs || {},
    h('thead', h('tr', cols.map(c => h('th', c[0])))),
    h('tbody', rows.map(r => h('tr', cols.map(c => h('td', c[1](r)))))));
}

export function emptyState(msg) { return h('div.empty', { dataset: { testid: 'empty' } }, msg); }

// field is a labelled input whose API errors appear next to it (data-field).
export function field(label, name, input, hint) {
  input.name = input.name || name;
  return h('label.field', { dataset: { field: name } }, h('span.label', label), input,
    hint ? h('small.hint', hint) : null, h('small.error'));
}

export function input(attrs) { return h('input', attrs); }

// filePicker wraps a file input in a button and the chosen names, in the console's
// language (the native control speaks the browser's).
export function filePicker(el) {
  el.classList.add('file-hidden');
  const names = h('span.fname', t('no_file'));
  el.addEventListener('change', () => { names.textContent = [...el.files].map(f => f.name).join(', ') || t('no_file'); });
  return h('span.filepick', h('button.tool', { type: 'button', onclick: () => el.click() }, t('choose_file')), names, el);
}
export function select(name, options, value) {
  return h('select', { name }, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
}

// showError puts an API error next to the field it names, or at the form's top.
export function showError(form, err) {
  clearErrors(form);
  const f = err && err.field ? String(err.field).replace(/\[.*$/, '').replace(/\..*$/, '') : '';
  const slot = f && form.querySelector(`[data-field="${CSS.escape(f)}"] .error`);
  if (slot) { slot.textContent = err.message; slot.closest('.field').classList.add('invalid'); return; }
  let top = form.querySelector(':scope > .form-error');
  if (!top) { top = h('div.form-error'); form.prepend(top); }
  top.textContent = err.message || String(err);
}

export function clearErrors(form) {
  form.querySelectorAll('.error').forEach(e => { e.textContent = ''; });
  form.querySelectorAll('.invalid').forEach(e => e.classList.remove('invalid'));
  form.querySelector(':scope > .form-error')?.remove();
}

// formValues reads named inputs into an object (numbers for type=number).
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.type === 'file' || el.type === 'submit') continue;
    if (el.type === 'checkbox') { (out[el.name] ||= []); if (el.checked) out[el.name].push(el.value); continue; }
    out[el.name] = el.type === 'number' && el.value !== '' ? Number(el.value) : el.value.trim();
  }
  return out;
}

// img is a snapshot fetched with the token; it shows a placeholder until loaded.
export function img(ref, attrs) {
  const el = h('img', Object.assign({ alt: '', loading: 'lazy' }, attrs));
  if (ref) imageURL(ref).then(u => { el.src = u; }, () => { el.classList.add('broken'); el.alt = t('image_unavailable'); });
  return el;
}

export function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString(t('locale'), { hour12: false });
}

export function fmtNum(n, digits = 1) { return n === undefined || n === null || isNaN(n) ? '—' : Number(n).toFixed(digits).replace(/\.0+$/, ''); }

export function badge(text, kind) { return h('span.badge.' + (kind || 'plain'), text); }

export function card(title, ...body) { return h('section.card', h('h3', title), ...body); }

export function stat(label, value, testid) { return h('div.stat', { dataset: { testid } }, h('div.value', value), h('div.label', label)); }

// bars is a small bar chart: [[label, value]].
export function bars(series, testid) {
  const max = Math.max(1, ...series.map(s => s[1]));
  return h('div.bars', { dataset: { testid } }, series.map(([l, v]) =>
    h('div.bar', { title: l + ': ' + v }, h('div.fill', { style: { height: (100 * v / max) + '%' } }), h('span.n', v || ''), h('span.l', l))));
}

export function progress(frac) {
  return h('div.progress', h('div.done', { style: { width: Math.round(100 * Math.min(1, Math.max(0, frac || 0))) + '%' } }));
}

// iso formats a Date in RFC 3339, which every time parameter of the API accepts.
export function iso(d) { return d.toISOString().replace(/\.\d+Z$/, 'Z'); }
