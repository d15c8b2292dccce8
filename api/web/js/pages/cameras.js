// Cameras: the list the caller may see with filters, registration, a camera's
// catalogue fields, stream status and latest frame; applying for a conditional
// camera; and the owner's inbox of applications to approve or reject.
import { get, post } from '../api.js';
import { t, deptName } from '../i18n.js';
import { h, clear, card, table, field, input, select, showError, clearErrors, formValues, fmtTime, fmtNum, badge, emptyState } from '../ui.js';
import { kv, latestFrame, frameNote, taskState } from './tasks.js';
import { stateBadge } from './overview.js';

export const sharingName = s => t('sharing_' + s);

export function onlineBadge(st) {
  const s = st?.source?.state || 'idle';
  return badge(t('stream_' + s, s), s === 'online' ? 'ok' : s === 'idle' ? 'plain' : 'bad');
}

export default async function cameras(main, ctx) {
  if (ctx.args[0] === 'new') return register(main, ctx);
  if (ctx.args[0]) return detail(main, ctx, ctx.args[0]);
  const { streams = [] } = await get('/api/v1/streams', null, { signal: ctx.signal });
  const depts = [...new Set(streams.map(s => s.owner_department))].sort();
  const f = { area: '', dept: '', sharing: '', online: '' };
  const list = h('div');
  const draw = () => {
    const rows = streams.filter(s => (!f.area || s.admin_division.startsWith(f.area.replace(/0+$/, ''))) &&
      (!f.dept || s.owner_department === f.dept) && (f.sharing === '' || String(s.sharing) === f.sharing) &&
      (!f.online || (s.status?.source?.state === 'online') === (f.online === 'yes')));
    clear(list, table([
      [t('name'), s => h('a', { href: '#/cameras/' + s.device_id, dataset: { testid: 'camera-link' } }, s.name)],
      [t('device_id'), s => h('code', s.device_id)],
      [t('area'), s => s.admin_division],
      [t('owner'), s => deptName(s.owner_department)],
      [t('sharing'), s => sharingName(s.sharing)],
      [t('stream'), s => onlineBadge(s.status)],
      [t('fps_in'), s => fmtNum(s.status?.source?.fps_in)],
      [t('tasks'), s => (s.status?.tasks || []).length],
    ], rows, streams.length ? t('no_cameras_filter') : (ctx.can('POST /api/v1/streams') ? t('no_cameras_register') : t('no_cameras_visible')),
    { dataset: { testid: 'cameras' } }));
  };
  const on = k => e => { f[k] = e.target.value; draw(); };
  const filters = h('div.filters',
    field(t('area'), 'area', input({ placeholder: '441502', size: 7, oninput: on('area') })),
    field(t('owner'), 'dept', h('select', { onchange: on('dept') }, h('option', { value: '' }, t('any')), depts.map(d => h('option', { value: d }, deptName(d))))),
    field(t('sharing'), 'sharing', h('select', { onchange: on('sharing') }, [['', t('any')], ['0', sharingName(0)], ['1', sharingName(1)], ['2', sharingName(2)]].map(([v, l]) => h('option', { value: v }, l)))),
    field(t('stream'), 'online', h('select', { onchange: on('online') }, [['', t('any')], ['yes', t('stream_online')], ['no', t('stream_offline')]].map(([v, l]) => h('option', { value: v }, l)))));
  clear(main,
    h('div.titlebar', h('h2', t('nav_cameras')),
      ctx.can('POST /api/v1/streams') ? h('a.button', { href: '#/cameras/new', dataset: { testid: 'new-camera' } }, t('new_camera')) : null),
    filters, h('section.card', list));
  draw();
  if (ctx.can('GET /api/v1/applications')) main.append(await inbox(ctx));
}

async function register(main, ctx) {
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const v = formValues(form);
      v.point_type = Number(v.point_type); v.sharing = Number(v.sharing);
      for (const k of ['longitude', 'latitude']) v[k] = v[k] === '' ? null : Number(v[k]);
      try { const s = await post('/api/v1/streams', v); location.hash = '#/cameras/' + s.device_id; } catch (err) { showError(form, err); }
    },
  },
  h('div.row',
    field(t('device_id'), 'device_id', input({ size: 22, placeholder: '44150200001310000001' }), t('device_id_hint')),
    field(t('name'), 'name', input({ size: 24 }))),
  field(t('stream_url'), 'url', input({ size: 60, placeholder: 'rtsp://10.0.0.5/stream1' })),
  h('div.row',
    field(t('area'), 'admin_division', input({ size: 7, value: ctx.me.department.areas?.[0] === '000000' ? '' : (ctx.me.department.areas?.[0] || '') })),
    field(t('longitude'), 'longitude', input({ type: 'number', step: 'any' })),
    field(t('latitude'), 'latitude', input({ type: 'number', step: 'any' })),
    field(t('owner'), 'owner_department', input({ size: 12, value: ctx.me.department.id })),
    field(t('point_type'), 'point_type', select('point_type', [['1', t('point_1')], ['2', t('point_2')], ['3', t('point_3')]], '3')),
    field(t('sharing'), 'sharing', select('sharing', [['2', sharingName(2)], ['0', sharingName(0)], ['1', sharingName(1)]], '2'))),
  h('button', { type: 'submit', dataset: { testid: 'create-camera' } }, t('register_camera')));
  clear(main, h('h2', t('new_camera')), form);
}

async function detail(main, ctx, id) {
  const s = await get('/api/v1/streams/' + encodeURIComponent(id), null, { signal: ctx.signal });
  const src = s.status?.source || {};
  const access = s.access || {};
  const { tasks = [] } = await get('/api/v1/tasks', { device_id: id }, { signal: ctx.signal });
  const frame = h('div.frame-box', h('p.hint', '…'));
  clear(main,
    h('div.titlebar', h('h2', s.name), h('a', { href: '#/cameras' }, '‹ ' + t('back'))),
    h('div.cols.wide-left',
      card(t('latest_frame'), frame),
      h('div',
        card(t('catalogue'), h('dl.kv', { dataset: { testid: 'camera-detail' } },
          kv(t('device_id'), h('code', s.device_id)), kv(t('area'), s.admin_division),
          kv(t('position'), fmtNum(s.longitude, 5) + ', ' + fmtNum(s.latitude, 5)),
          kv(t('owner'), deptName(s.owner_department)), kv(t('point_type'), t('point_' + s.point_type)),
          kv(t('sharing'), sharingName(s.sharing)),
          kv(t('your_access'), (access.rights || []).map(r => t('right_' + r)).join(', ') || t('access_none') + (access.reason ? ': ' + access.reason : '')))),
        card(t('stream_status'), h('dl.kv', { dataset: { testid: 'stream-status' } },
          kv(t('stream'), onlineBadge(s.status)), kv(t('reason'), src.reason || '—'),
          kv(t('since'), fmtTime(src.since)), kv(t('last_frame'), fmtTime(src.last_frame)),
          kv(t('fps_in'), fmtNum(src.fps_in)), kv(t('resolution'), src.width ? src.width + '×' + src.height + ' ' + (src.codec || '') : '—'),
          kv(t('frames'), src.frames ?? '—'), kv(t('reconnects'), src.reconnects ?? '—'), kv(t('loops'), src.loops ?? '—'))))),
    card(t('tasks'), table([
      [t('task'), x => h('a', { href: '#/tasks/' + x.id }, x.id)],
      [t('algorithm'), x => t('alg_' + x.algorithm, x.algorithm)],
      [t('state'), x => stateBadge(taskState(x))],
    ], tasks, t('no_tasks_camera')),
    ctx.can('POST /api/v1/tasks') && (access.rights || []).includes('analyse') ? h('a.button', { href: '#/tasks/new?device=' + s.device_id }, t('new_task')) : null),
    s.sharing === 0 && access.via === 'none' && ctx.can('POST /api/v1/applications') ? applyForm(s) : null);
  const fr = await latestFrame(id, ctx.signal);
  clear(frame, fr ? [h('img.frame', { src: fr.url, alt: s.name, dataset: { testid: 'latest-frame', live: String(fr.live) } }), h('small.hint', { dataset: { testid: 'frame-note' } }, frameNote(fr))] : emptyState(t('frame_none')));
}

// applyForm asks the owner department for rights on a conditional camera.
function applyForm(s) {
  const day = d => new Date(Date.now() + d * 86400e3).toISOString().slice(0, 10);
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const v = formValues(form);
      const body = { device_id: s.device_id, reason: v.reason, rights: v.rights, algorithms: v.algorithms ? v.algorithms.split(/[,\s]+/).filter(Boolean) : [],
        starts_at: new Date(v.starts_at).toISOString(), ends_at: new Date(v.ends_at).toISOString() };
      try { const a = await post('/api/v1/applications', body); clear(form, h('p.ok', t('applied', fmtTime(a.deadline)))); } catch (err) { showError(form, err); }
    },
  },
  field(t('reason'), 'reason', input({ size: 60 })),
  h('div.field', { dataset: { field: 'rights' } }, h('span.label', t('rights')),
    ['analyse', 'records', 'snapshots'].map(r => h('label.check', h('input', { type: 'checkbox', name: 'rights', value: r, checked: true }), t('right_' + r))), h('small.error')),
  h('div.row', field(t('algorithms'), 'algorithms', input({ size: 30, placeholder: 'person_vehicle_capture' }), t('algorithms_any')),
    field(t('starts_at'), 'starts_at', input({ type: 'date', value: day(0) })), field(t('ends_at'), 'ends_at', input({ type: 'date', value: day(30) }))),
  h('button', { type: 'submit', dataset: { testid: 'apply' } }, t('apply')));
  return card(t('apply_title'), h('p.hint', t('apply_hint')), form);
}

// inbox lists applications the caller's department made or must decide; the
// owner's admins approve or reject before the deadline.
async function inbox(ctx) {
  const { applications = [] } = await get('/api/v1/applications', null, { signal: ctx.signal }).catch(() => ({}));
  const mine = ctx.me.department.id;
  const decide = (a, verb) => async e => {
    const row = e.target.closest('td');
    try { await post('/api/v1/applications/' + a.id + '/' + verb, { note: '' }); ctx.rerender(); } catch (err) { row.append(h('small.error', err.message)); }
  };
  return card(t('inbox'), table([
    [t('camera'), a => h('code', a.device_id)],
    [t('applicant'), a => deptName(a.department)],
    [t('reason'), a => a.reason],
    [t('rights'), a => (a.rights || []).map(r => t('right_' + r)).join(', ')],
    [t('period'), a => fmtTime(a.starts_at) + ' – ' + fmtTime(a.ends_at)],
    [t('state'), a => badge(t('app_' + a.state, a.state), a.state === 'pending' ? 'warn' : a.state === 'approved' ? 'ok' : 'plain')],
    [t('deadline'), a => a.state === 'pending' ? fmtTime(a.deadline) : '—'],
    ['', a => a.state === 'pending' && a.owner_department === mine && ctx.can('POST /api/v1/applications/{id}/approve')
      ? [h('button', { onclick: decide(a, 'approve') }, t('approve')), h('button.danger', { onclick: decide(a, 'reject') }, t('reject'))] : null],
  ], applications, t('no_applications'), { dataset: { testid: 'inbox' } }));
}
