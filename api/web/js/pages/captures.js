// Captures and search (analysts): the search API's filters, thumbnails, keyset
// paging that does not jump (a cursor per page), export, face search by photo, and a
// capture's scene image with its box. Every read is audited by the API itself.
import { get, api, download, qs, imageURL } from '../api.js';
import { t, kindName, deptName } from '../i18n.js';
import { h, clear, card, field, input, filePicker, select, showError, clearErrors, formValues, fmtTime, emptyState, img } from '../ui.js';
import { kv } from './tasks.js';
import { fieldLabel, fieldValue } from '../gat1400.js';

const TYPES = ['', 'Face', 'Person', 'MotorVehicle', 'NonMotorVehicle'];

export default async function captures(main, ctx) {
  if (ctx.args[0]) return detail(main, ctx, ctx.args[0]);
  const { streams = [] } = ctx.can('GET /api/v1/streams') ? await get('/api/v1/streams', null, { signal: ctx.signal }) : {};
  // times are typed as local "YYYY-MM-DD hh:mm" (the browser's date widget follows its
  // own locale, not the console's language)
  const local = d => { const x = new Date(d - d.getTimezoneOffset() * 60e3); return x.toISOString().slice(0, 16).replace('T', ' '); };
  const now = new Date();
  const form = h('form.filters', { dataset: { testid: 'search-form' } },
    field(t('from'), 'from', input({ value: local(new Date(now - 86400e3)), size: 16, placeholder: 'YYYY-MM-DD hh:mm' })),
    field(t('to'), 'to', input({ size: 16, placeholder: t('now') })),
    field(t('type'), 'type', select('type', TYPES.map(x => [x, x ? kindName(x) : t('any')]))),
    field(t('camera'), 'device_id', select('device_id', [['', t('any')], ...streams.map(s => [s.device_id, s.name])])),
    field(t('area'), 'area', input({ placeholder: '441502', size: 7 })),
    field(t('plate'), 'plate', input({ size: 9 })),
    field(t('plate_part'), 'plate_part', input({ size: 6 })),
    field(t('vehicle_color'), 'vehicle_color', input({ size: 4 })),
    field(t('task'), 'task_id', input({ size: 16 })),
    h('div.actions', h('button', { type: 'submit', dataset: { testid: 'search' } }, t('search')),
      ctx.can('GET /api/v1/records/export') ? h('button', { type: 'button', dataset: { testid: 'export' }, onclick: () => exportAll() }, t('export')) : null));
  const results = h('div.results', { dataset: { testid: 'results' } });
  const pager = h('div.pager');
  const faceBox = ctx.can('POST /api/v1/faces/search') ? faceSearch(ctx) : null;
  clear(main, h('h2', t('nav_captures')), form, pager, results, faceBox);

  const query = () => {
    const v = formValues(form);
    for (const k of ['from', 'to']) {
      const d = v[k] && new Date(v[k].replace(' ', 'T'));
      if (d) v[k] = isNaN(d) ? v[k] : d.toISOString().replace(/\.\d+Z$/, 'Z'); // unparsable: the API names the field
    }
    return v;
  };
  // cursors[i] is the cursor of page i: going back re-reads exactly the same page.
  let cursors = [''], page = 0;
  const run = async () => {
    clearErrors(form);
    try {
      const r = await get('/api/v1/search', Object.assign(query(), { limit: 24, cursor: cursors[page] }), { signal: ctx.signal });
      cursors[page + 1] = r.next_cursor || '';
      clear(results, captureGrid(r.records, t('no_captures_search')));
      clear(pager,
        h('button', { type: 'button', disabled: page === 0, onclick: () => { page--; run(); } }, '‹ ' + t('prev')),
        h('span', t('page_n', page + 1)),
        h('button', { type: 'button', dataset: { testid: 'next-page' }, disabled: !r.next_cursor, onclick: () => { page++; run(); } }, t('next') + ' ›'));
    } catch (err) { if (err.name !== 'AbortError') showError(form, err); }
  };
  async function exportAll() {
    const q = query();
    delete q.plate; delete q.plate_part; delete q.vehicle_color; delete q.area;
    try { await download('/api/v1/records/export' + qs(q), 'captures.ndjson'); } catch (err) { showError(form, err); }
  }
  form.addEventListener('submit', e => { e.preventDefault(); cursors = ['']; page = 0; run(); });
  await run();
}

// snapshot is a record's scene or crop image (the search lists them as snapshots,
// a single record as images: object keys either way).
export function snapshot(r, kind) {
  const keys = (r.snapshots || []).map(s => s.url || s.key).concat(r.images || []);
  return keys.find(k => k.includes('-' + kind)) || keys[0] || '';
}

// captureGrid shows records as thumbnails (the crop) linking to their detail.
export function captureGrid(records, empty) {
  if (!records || !records.length) return emptyState(empty);
  return h('div.thumbs', records.map(r => {
    const crop = snapshot(r, 'crop');
    const score = r.score ? ' · ' + Math.round(r.score * 100) + '%' : '';
    return h('a.thumb', { href: '#/captures/' + r.id, dataset: { testid: 'capture' } },
      img(crop), h('span', kindName(r.type) + score), h('small', fmtTime(r.shot_time)));
  }));
}

async function detail(main, ctx, id) {
  const r = await get('/api/v1/records/' + encodeURIComponent(id), null, { signal: ctx.signal });
  const o = r.object || {};
  const scene = snapshot(r, 'scene');
  const canvas = h('canvas.scene', { dataset: { testid: 'scene' } });
  if (scene) {
    const im = new Image();
    im.onload = () => {
      canvas.width = im.naturalWidth; canvas.height = im.naturalHeight;
      const g = canvas.getContext('2d');
      g.drawImage(im, 0, 0);
      if (o.RightBtmX > o.LeftTopX) { g.lineWidth = 3; g.strokeStyle = '#ef4444'; g.strokeRect(o.LeftTopX, o.LeftTopY, o.RightBtmX - o.LeftTopX, o.RightBtmY - o.LeftTopY); }
    };
    im.src = await imageURL(scene).catch(() => '');
  }
  const fields = Object.entries(o).filter(([, v]) => typeof v !== 'object');
  clear(main,
    h('div.titlebar', h('h2', kindName(r.type) + ' ' + r.id), h('a', { href: '#/captures' }, '‹ ' + t('back'))),
    h('div.cols.wide-left',
      card(t('scene'), scene ? canvas : emptyState(t('no_image')), h('small.hint', t('watermarked'))),
      card(t('details'), h('dl.kv', { dataset: { testid: 'record' } },
        kv(t('camera'), h('a', { href: '#/cameras/' + r.device_id }, r.device_id)),
        kv(t('task'), r.task_id ? h('a', { href: '#/tasks/' + r.task_id }, r.task_id) : '—'),
        kv(t('shot_time'), fmtTime(r.shot_time)),
        kv(t('department'), deptName(r.department)),
        kv(t('score'), r.score ? r.score.toFixed(3) : '—'),
        fields.slice(0, 24).map(([k, v]) => kv(fieldLabel(k), fieldValue(k, v)))))));
}

// faceSearch uploads a photo and lists the most similar faces the caller may see.
function faceSearch(ctx) {
  const file = input({ type: 'file', accept: 'image/jpeg,image/png', dataset: { testid: 'face-photo' } });
  const out = h('div');
  const form = h('form.inline', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      if (!file.files[0]) return showError(form, { field: 'image', message: t('choose_photo') });
      const fd = new FormData();
      fd.append('image', file.files[0]);
      try {
        const r = await api('POST', '/api/v1/faces/search', fd, { signal: ctx.signal });
        const recs = (r.matches || []).map(m => ({ id: m.record_id, type: m.type, shot_time: m.shot_time, score: m.score,
          images: [m.snapshot] }));
        clear(out, captureGrid(recs, t('no_face_match')));
      } catch (err) { showError(form, err); }
    },
  }, field(t('photo'), 'image', filePicker(file)), h('button', { type: 'submit' }, t('face_search')));
  return card(t('face_search'), form, out);
}
