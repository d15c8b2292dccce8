// The form that sets a disposition (布控): plates (exact or fuzzy) or face photos
// (with a similarity threshold), over chosen cameras or areas, for a period, with a
// reason. The API checks everything and names the bad field; the error shows there.
import { get, post } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, card, field, input, select, filePicker, showError, clearErrors, iso } from '../ui.js';
import './dispositions_i18n.js';

export async function newDisposition(main, ctx) {
  const { streams = [] } = await get('/api/v1/streams', null, { signal: ctx.signal });
  const photos = input({ type: 'file', accept: 'image/jpeg,image/png', multiple: true, dataset: { testid: 'disp-faces' } });
  const end = new Date(Date.now() + 30 * 86400e3);
  const plateRows = [
    field(t('disp_plates'), 'plates', h('textarea', { name: 'plates', rows: 3, cols: 28, placeholder: '粤B12345\n粤B*789', dataset: { testid: 'disp-plates' } }), t('disp_plates_hint')),
    field(t('disp_match'), 'plate_match', select('plate_match', [['exact', t('disp_match_exact')], ['fuzzy', t('disp_match_fuzzy')]], 'exact')),
  ];
  const faceRows = [
    field(t('disp_faces'), 'faces', filePicker(photos), t('disp_faces_hint')),
    field(t('disp_threshold'), 'threshold', input({ name: 'threshold', type: 'number', min: 0, max: 1, step: 0.01, value: '0.75', size: 5 }), t('disp_threshold_hint')),
  ];
  const targets = h('div');
  const category = select('category', [['plate', t('disp_cat_plate')], ['face', t('disp_cat_face')]], 'plate');
  const showTargets = () => clear(targets, category.value === 'face' ? faceRows : plateRows);
  category.addEventListener('change', showTargets);
  showTargets();
  const form = h('form.stack.disp-form', {
    dataset: { testid: 'disp-form' },
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      try {
        const d = await post('/api/v1/dispositions', await body(form, category.value, photos));
        location.hash = '#/dispositions/' + encodeURIComponent(d.id);
      } catch (err) { showError(form, err); } finally { submit.disabled = false; }
    },
  },
  h('div.row', field(t('disp_title'), 'title', input({ name: 'title', size: 24 })), field(t('disp_category'), 'category', category),
    field(t('disp_priority'), 'priority', select('priority', [1, 2, 3].map(p => [String(p), t('disp_priority_' + p)]), '2'))),
  targets,
  field(t('disp_devices'), 'devices', h('div.checks', { dataset: { testid: 'disp-devices' } }, streams.map(s =>
    h('label.check', h('input', { type: 'checkbox', name: 'devices', value: s.device_id }), ' ' + (s.name || s.device_id) + ' ', h('small', s.device_id)))), t('disp_devices_hint')),
  field(t('disp_areas'), 'areas', input({ name: 'areas', size: 24, placeholder: '441502, 441521' }), t('disp_areas_hint')),
  h('div.row',
    field(t('disp_begin'), 'begin', input({ name: 'begin', type: 'datetime-local' }), t('disp_begin_hint')),
    field(t('disp_end'), 'end', input({ name: 'end', type: 'datetime-local', value: localValue(end) }), t('disp_end_hint'))),
  field(t('disp_reason'), 'reason', h('textarea', { name: 'reason', rows: 2, cols: 40 }), t('disp_reason_hint')),
  h('button', { type: 'submit', dataset: { testid: 'disp-create' } }, t('disp_create')));
  clear(main,
    h('div.titlebar', h('h2', t('disp_new')), h('a', { href: '#/dispositions' }, '‹ ' + t('back'))),
    card(t('disp_new'), form));
}

// body turns the form into the API's request: lists split, local times as RFC 3339,
// photos as base64.
async function body(form, category, photos) {
  const v = name => (form.elements[name]?.value || '').trim();
  const list = s => s.split(/[\s,，;；]+/).filter(Boolean);
  const b = {
    category, title: v('title'), reason: v('reason'), priority: Number(v('priority')),
    devices: [...form.querySelectorAll('[name=devices]:checked')].map(e => e.value), areas: list(v('areas')),
    begin: v('begin') ? iso(new Date(v('begin'))) : '', end: v('end') ? iso(new Date(v('end'))) : '',
  };
  if (category === 'plate') Object.assign(b, { plates: list(v('plates')), plate_match: v('plate_match') });
  else Object.assign(b, { faces: await Promise.all([...photos.files].map(base64)), threshold: Number(v('threshold')) || 0 });
  return b;
}

function base64(file) {
  return new Promise((res, rej) => {
    const r = new FileReader();
    r.onload = () => res(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => rej(r.error);
    r.readAsDataURL(file);
  });
}

// localValue is a Date as a datetime-local input's value (the browser's zone).
function localValue(d) {
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
