// Cascade links (级联, platform admin): the superior view libraries this platform
// registers with and pushes records to, each with its status (registered, pushed,
// pending batches, last error); adding one, pausing and resuming it.
import { get, post, api } from '../api.js';
import { t, kindName } from '../i18n.js';
import { h, clear, card, table, field, input, showError, clearErrors, fmtTime, badge } from '../ui.js';
import './cascade_i18n.js';

const TYPES = ['Face', 'Person', 'MotorVehicle', 'NonMotorVehicle', 'Thing', 'Scene'];

export default async function cascade(main, ctx) {
  const list = h('div', { dataset: { testid: 'cascade-links' } });
  clear(main, h('h2', t('nav_cascade')),
    card(t('cas_links'), list), ctx.can('POST /api/v1/cascade/links') ? h('div.cols', linkForm(ctx), h('div')) : null);
  // the status changes on its own (registration, pushes, errors): read it every 3 s
  while (!ctx.signal.aborted) {
    const { links = [] } = await get('/api/v1/cascade/links', null, { signal: ctx.signal });
    clear(list, links.some(l => !l.runs_here) ? h('p.hint', t('cas_other_server')) : null, linkTable(ctx, links));
    await new Promise(r => setTimeout(r, 3000));
  }
}

function status(v) {
  const st = v.status || {};
  if (!v.link.enabled) return ['paused', badge(t('cas_paused'))];
  return st.registered ? ['registered', badge(t('cas_registered'), 'ok')] : ['unregistered', badge(t('cas_unregistered'), 'warn')];
}

function linkTable(ctx, links) {
  const canEdit = ctx.can('PATCH /api/v1/cascade/links/{id}');
  const toggle = v => async e => {
    try { await api('PATCH', '/api/v1/cascade/links/' + encodeURIComponent(v.link.id), { disabled: v.link.enabled }); ctx.rerender(); } catch (err) { e.target.after(h('small.error', err.message)); }
  };
  return table([
    [t('name'), v => [h('b', v.link.name), h('br'), h('small.hint', v.link.url + ' · ' + v.link.device_id)]],
    [t('cas_status'), v => { const [s, b] = status(v); return h('span', { dataset: { testid: 'cas-status', state: s, id: v.link.id } }, b); }],
    [t('cas_pushed'), v => h('span.nowrap', t('cas_pushed_v', v.status?.pushed_objects || 0, v.status?.pushed_updates || 0, v.status?.refused_objects || 0))],
    [t('cas_pending'), v => h('span', { dataset: { testid: 'cas-pending' } }, String(v.outbox?.pending_batches || 0))],
    [t('cas_keepalive_at'), v => fmtTime(v.status?.last_keepalive_at)],
    [t('cas_last_error'), v => v.status?.last_error ? h('span.error-text', { dataset: { testid: 'cas-error' } }, v.status.last_error, h('br'), h('small.hint', fmtTime(v.status.last_error_at)),
      v.status.next_try_at ? h('small.hint', ' · ' + t('cas_next_try') + ' ' + fmtTime(v.status.next_try_at)) : null) : '—'],
    ['', v => canEdit ? h('button.tool', { dataset: { testid: 'cas-toggle' }, onclick: toggle(v) }, v.link.enabled ? t('cas_pause') : t('cas_resume')) : null],
  ], links, t('cas_none'));
}

function linkForm(ctx) {
  const form = h('form.stack', {
    dataset: { testid: 'cas-form' },
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const v = name => (form.elements[name]?.value || '').trim();
      const body = { name: v('name'), url: v('url'), device_id: v('device_id'), username: v('username'), password: form.elements.password.value,
        types: [...form.querySelectorAll('[name=types]:checked')].map(e => e.value), areas: v('areas').split(/[\s,，]+/).filter(Boolean),
        keepalive_s: Number(v('keepalive_s')) || 30 };
      try { await post('/api/v1/cascade/links', body); ctx.rerender(); } catch (err) { showError(form, err); }
    },
  },
  field(t('name'), 'name', input({ name: 'name', size: 24 })),
  field(t('cas_url'), 'url', input({ name: 'url', size: 32, placeholder: 'http://10.1.2.3:8080' }), t('cas_url_hint')),
  field(t('cas_device_id'), 'device_id', input({ name: 'device_id', size: 24 }), t('cas_device_id_hint')),
  h('div.row', field(t('cas_username'), 'username', input({ name: 'username', size: 14, autocomplete: 'off' })),
    field(t('cas_password'), 'password', input({ name: 'password', type: 'password', size: 14, autocomplete: 'new-password' }))),
  field(t('cas_types'), 'types', h('div.checks', TYPES.map(ty => h('label.check', h('input', { type: 'checkbox', name: 'types', value: ty }), ' ' + kindName(ty)))), t('cas_types_hint')),
  field(t('cas_areas'), 'areas', input({ name: 'areas', size: 24, placeholder: '441502' }), t('cas_areas_hint')),
  field(t('cas_keepalive'), 'keepalive_s', input({ name: 'keepalive_s', type: 'number', min: 1, max: 3600, value: '30', size: 5 })),
  h('button', { type: 'submit', dataset: { testid: 'cas-create' } }, t('cas_create')));
  return card(t('cas_new'), form);
}
