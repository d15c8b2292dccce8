// Tasks: the caller's tasks with their grants; a new task is drawn on the camera's
// latest frame; a task's page shows its grant and latest captures.
import { get, api, post, imageURL, liveFrameURL } from '../api.js';
import { t, deptName } from '../i18n.js';
import { h, clear, card, table, field, input, select, showError, clearErrors, fmtNum, fmtTime, emptyState } from '../ui.js';
import { regionEditor } from '../draw.js';
import { stateBadge, grantReason } from './overview.js';
import { captureGrid, snapshot } from './captures.js';

// taskState is running, degraded, rotated, refused, disabled or pending, from the
// placement grant (distributed) or the scheduler's grant on the task (embedded).
export function taskState(tk, placed) {
  if (tk.enabled === false) return 'disabled';
  const g = placed || tk.grant;
  if (!g) return 'pending';
  if (g.state) return { ok: 'running', degraded: 'degraded', rotated: 'rotated', unplaced: 'refused' }[g.state] || g.state;
  if (g.granted_fps <= 0) return 'refused';
  return g.degraded ? 'degraded' : 'running';
}

export default async function tasks(main, ctx) {
  if (ctx.args[0] === 'new') return newTask(main, ctx);
  if (ctx.args[0]) return taskDetail(main, ctx, ctx.args[0]);
  const { tasks: ts = [] } = await get('/api/v1/tasks', null, { signal: ctx.signal });
  const canCreate = ctx.can('POST /api/v1/tasks');
  clear(main,
    h('div.titlebar', h('h2', t('nav_tasks')), canCreate ? h('a.button', { href: '#/tasks/new', dataset: { testid: 'new-task' } }, t('new_task')) : null),
    table([
      [t('task'), tk => h('a', { href: '#/tasks/' + tk.id }, tk.id)],
      [t('camera'), tk => h('a', { href: '#/cameras/' + tk.device_id }, tk.device_id)],
      [t('algorithm'), tk => t('alg_' + tk.algorithm, tk.algorithm)],
      [t('department'), tk => deptName(tk.department)],
      [t('fps'), tk => fmtNum(tk.grant?.granted_fps) + ' / ' + fmtNum(tk.grant?.requested_fps ?? tk.params?.sample_fps)],
      [t('state'), tk => stateBadge(taskState(tk))],
      [t('reason'), tk => grantReason(tk)],
    ], ts, canCreate ? t('no_tasks_create') : t('no_tasks_yet'), { dataset: { testid: 'tasks' } }));
}

async function taskDetail(main, ctx, id) {
  const tk = await get('/api/v1/tasks/' + encodeURIComponent(id), null, { signal: ctx.signal });
  const g = tk.grant || {};
  const grid = h('div');
  clear(main,
    h('div.titlebar', h('h2', t('task') + ' ' + tk.id), ctx.can('DELETE /api/v1/tasks/{id}') ? h('button.danger', {
      onclick: async () => { if (confirm(t('confirm_delete'))) { await api('DELETE', '/api/v1/tasks/' + tk.id); location.hash = '#/tasks'; } },
    }, t('delete')) : null),
    h('div.cols',
      card(t('task'), h('dl.kv',
        kv(t('camera'), h('a', { href: '#/cameras/' + tk.device_id }, tk.device_id)),
        kv(t('algorithm'), t('alg_' + tk.algorithm, tk.algorithm)),
        kv(t('department'), deptName(tk.department)),
        kv(t('params'), h('code', JSON.stringify(tk.params))))),
      card(t('grant'), h('dl.kv', { dataset: { testid: 'grant' } },
        kv(t('state'), stateBadge(taskState(tk))),
        kv(t('requested_fps'), fmtNum(g.requested_fps)),
        kv(t('granted_fps'), fmtNum(g.granted_fps)),
        kv(t('degraded'), g.degraded ? t('yes') : t('no')),
        kv(t('reason'), grantReason(tk) || '—')))),
    card(t('latest_captures'), grid));
  const refresh = async () => {
    const r = await get('/api/v1/search', { task_id: tk.id, limit: 12 }, { signal: ctx.signal });
    clear(grid, captureGrid(r.records, t('no_captures_yet')));
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 3000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
}

export function kv(k, v) { return [h('dt', k), h('dd', v)]; }

// latestFrame is the camera's current picture when the server can get one (the
// decoding worker's frame, or a key frame grabbed on request), else its newest scene
// image the caller may see. live tells which, source how; time is when it was taken.
export async function latestFrame(deviceID, signal) {
  try {
    const live = await liveFrameURL(deviceID, signal);
    if (live) return { url: live.url, time: live.time, live: true, source: live.source };
  } catch { /* fall back to the latest capture */ }
  try {
    const r = await get('/api/v1/search', { device_id: deviceID, limit: 1, from: new Date(Date.now() - 7 * 86400e3).toISOString() }, { signal });
    const rec = r.records?.[0];
    const scene = rec && snapshot(rec, 'scene');
    return scene ? { url: await imageURL(scene), time: rec.shot_time, live: false } : null;
  } catch { return null; }
}

// frameNote says where the shown frame comes from.
export function frameNote(fr) {
  if (!fr) return t('frame_none');
  return t(!fr.live ? 'frame_from' : fr.source === 'keyframe' ? 'frame_keyframe' : 'frame_live', fmtTime(fr.time));
}

async function newTask(main, ctx) {
  const [{ streams = [] }, { algorithms = [] }] = await Promise.all([
    get('/api/v1/streams', null, { signal: ctx.signal }), get('/api/v1/algorithms', null, { signal: ctx.signal })]);
  if (!streams.length) return clear(main, h('h2', t('new_task')), emptyState(t('no_cameras_register')));
  const pre = new URLSearchParams(location.hash.split('?')[1] || '').get('device') || streams[0].device_id;
  const cam = select('device_id', streams.map(s => [s.device_id, s.name + ' (' + s.device_id + ')']), pre);
  const alg = select('algorithm', algorithms.map(a => [a.name, t('alg_' + a.name, a.name)]));
  const fps = input({ type: 'number', name: 'sample_fps', value: 5, step: 'any', min: '0' });
  const options = input({ name: 'options', dataset: { testid: 'options' } });
  const algHelp = h('small.hint', { dataset: { testid: 'algorithm-summary' } });
  // the chosen algorithm's own summary, and its own options example as the placeholder
  const showHelp = () => {
    const a = algorithms.find(x => x.name === alg.value);
    algHelp.textContent = t('algsum_' + alg.value, '');
    options.placeholder = a?.options_example ? JSON.stringify(a.options_example) : t('no_options');
    options.disabled = !a?.options_example && !options.value;
  };
  alg.addEventListener('change', showHelp); showHelp();
  const holder = h('div.editor-holder');
  let editor;
  const loadFrame = async () => {
    const s = streams.find(x => x.device_id === cam.value);
    const fr = await latestFrame(cam.value, ctx.signal);
    editor = regionEditor(fr?.url, s?.status?.source?.width, s?.status?.source?.height);
    clear(holder, editor.el, h('small.hint', { dataset: { testid: 'frame-note' } }, frameNote(fr)));
  };
  cam.addEventListener('change', loadFrame);
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const params = Object.assign({ sample_fps: Number(fps.value) }, editor.params());
      if (options.value.trim()) {
        try { params.options = JSON.parse(options.value); } catch { return showError(form, { field: 'params', message: t('options_json') }); }
      }
      try {
        const created = await post('/api/v1/tasks', { device_id: cam.value, algorithm: alg.value, params });
        location.hash = '#/tasks/' + created.id;
      } catch (err) {
        if (/^params\.(roi|zones|lines)/.test(err.field)) err.field = 'params';
        showError(form, err);
      }
    },
  },
  h('div.task-form',
    h('div.task-fields', field(t('camera'), 'device_id', cam), field(t('algorithm'), 'algorithm', alg, algHelp),
      field(t('sample_fps'), 'sample_fps', fps), field(t('options'), 'options', options, t('options_hint')),
      h('button', { type: 'submit', dataset: { testid: 'create-task' } }, t('create_task'))),
    h('div.field', { dataset: { field: 'params' } }, h('span.label', t('regions')), holder, h('small.error'))));
  clear(main, h('h2', t('new_task')), form);
  await loadFrame();
}
