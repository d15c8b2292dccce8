// Overview (the platform office's 能力可视化): cameras and online rate, tasks by
// placement state with reasons, algorithms in use, capacity and load, records and
// alerts per hour, departments' quota use. Each panel reads one /api/v1 route and is
// left out when the role may not call it.
import { get } from '../api.js';
import { t, kindName, lang } from '../i18n.js';
import { h, clear, card, stat, table, badge, bars, fmtNum, iso, progress } from '../ui.js';
import { taskState } from './tasks.js';

export default async function overview(main, ctx) {
  const { can, signal } = ctx;
  const opt = (route, path, q) => can(route) ? get(path, q, { signal }).catch(() => null) : Promise.resolve(null);
  const since = new Date(Date.now() - 12 * 3600e3);
  const [streams, tasks, algs, stats, workers, depts, recs, alerts] = await Promise.all([
    opt('GET /api/v1/streams', '/api/v1/streams'),
    opt('GET /api/v1/tasks', '/api/v1/tasks'),
    opt('GET /api/v1/algorithms', '/api/v1/algorithms'),
    opt('GET /api/v1/stats', '/api/v1/stats'),
    opt('GET /api/v1/workers', '/api/v1/workers'),
    opt('GET /api/v1/departments', '/api/v1/departments'),
    opt('GET /api/v1/search', '/api/v1/search', { from: iso(since), limit: 500 }),
    opt('GET /api/v1/alerts', '/api/v1/alerts', { from: iso(since), limit: 500 }),
  ]);
  const [rateToday, rateWeek] = await onlineRates(opt);
  const ss = streams?.streams || [];
  const ts = tasks?.tasks || [];
  const online = ss.filter(s => s.status?.source?.state === 'online').length;
  const grants = workers?.grants || {};
  const byState = {};
  for (const tk of ts) (byState[taskState(tk, grants[tk.id])] ||= []).push(tk);
  const inUse = {};
  for (const tk of ts) inUse[tk.algorithm] = (inUse[tk.algorithm] || 0) + 1;

  clear(main,
    h('h2', t('nav_overview')),
    h('div.stats',
      stat(t('cameras_total'), ss.length, 'cameras-total'),
      stat(t('cameras_online'), online, 'cameras-online'),
      stat(t('online_rate'), ss.length ? Math.round(100 * online / ss.length) + '%' : '—', 'online-rate'),
      rateToday ? stat(t('online_rate_today'), rateToday, 'online-rate-today') : null,
      rateWeek ? stat(t('online_rate_7d'), rateWeek, 'online-rate-7d') : null,
      stat(t('tasks_total'), ts.length, 'tasks-total'),
      ['running', 'degraded', 'rotated', 'refused'].map(s => stat(t('state_' + s), (byState[s] || []).length, 'tasks-' + s))),
    h('div.cols',
      card(t('tasks_attention'), table([
        [t('task'), tk => h('a', { href: '#/tasks/' + tk.id }, tk.id)],
        [t('algorithm'), tk => t('alg_' + tk.algorithm, tk.algorithm)],
        [t('state'), tk => stateBadge(taskState(tk, grants[tk.id]))],
        [t('reason'), tk => grantReason(tk, grants[tk.id])],
      ], ['degraded', 'rotated', 'refused', 'disabled'].flatMap(s => byState[s] || []), ts.length ? t('all_tasks_running') : t('no_tasks_yet'))),
      card(t('algorithms_in_use'), table([
        [t('algorithm'), a => h('span', { title: t('algsum_' + a.name, a.description) }, t('alg_' + a.name, a.name))],
        [t('tasks'), a => inUse[a.name] || 0],
        [t('outputs'), a => (a.outputs || []).map(kindName).join(lang() === 'zh' ? '、' : ', ')],
      ], (algs?.algorithms || []).filter(a => inUse[a.name]), t('no_tasks_yet'), { dataset: { testid: 'algorithms' } }))),
    h('div.cols',
      card(t('records_per_hour'), bars(hourly(recs?.records, 'shot_time', since), 'records-per-hour'),
        recs?.next_cursor ? h('small.hint', t('over_limit', 500)) : null),
      card(t('alerts_per_hour'), bars(hourly(alerts?.alerts, 'time', since), 'alerts-per-hour'))),
    capacity(workers, stats, ss),
    quotas(depts?.departments || (ctx.me.department ? [ctx.me.department] : []), ss, ts));
}

export function stateBadge(s) {
  return badge(t('state_' + s), { running: 'ok', degraded: 'warn', rotated: 'warn', refused: 'bad', disabled: 'plain', pending: 'plain' }[s]);
}

export function grantReason(tk, g) {
  g = g || tk.grant || {};
  return g.message || g.reason || (tk.enabled === false ? t('disabled_by_user') : '');
}

// hourly counts items per hour over the last 12 hours.
function hourly(items, key, since) {
  const out = [];
  for (let i = 0; i < 12; i++) {
    const d = new Date(since.getTime() + (i + 1) * 3600e3);
    out.push([String(d.getHours()).padStart(2, '0') + ':00', 0]);
  }
  for (const it of items || []) {
    const i = Math.floor((new Date(it[key]) - since) / 3600e3);
    if (i >= 0 && i < 12) out[i][1]++;
  }
  return out;
}

// capacity is per worker in distributed mode and per model batcher (and stream) in
// embedded mode, where one process decodes and infers everything.
function capacity(workers, stats, ss) {
  if (!workers && !stats) return null;
  const ws = workers?.workers || [];
  const parts = [];
  if (ws.length) {
    parts.push(table([
      [t('worker'), w => w.id],
      [t('alive'), w => w.alive ? badge(t('yes'), 'ok') : badge(t('no'), 'bad')],
      [t('cores'), w => w.cores], [t('gpus'), w => w.gpus],
      [t('capacity_fps'), w => fmtNum(w.capacity_fps)],
      [t('streams'), w => (w.streams || []).length],
      [t('load'), w => { const used = Object.values(w.status || {}).reduce((a, s) => a + (s.tasks || []).reduce((b, x) => b + (x.granted_fps || 0), 0), 0); return w.capacity_fps ? h('div.loadcell', progress(used / w.capacity_fps), fmtNum(used) + ' fps') : fmtNum(used) + ' fps'; }],
    ], ws, '', { dataset: { testid: 'workers' } }));
  } else {
    parts.push(h('p.hint', t('embedded_mode')));
  }
  const bs = stats?.batchers || [];
  if (bs.length) {
    parts.push(table([
      [t('model'), b => b.model + '@' + b.version],
      [t('device'), b => b.provider],
      [t('frames'), b => b.frames],
      [t('mean_batch'), b => fmtNum(b.mean_batch, 2)],
      [t('busy_s'), b => fmtNum(b.busy_seconds)],
      [t('queue_wait_s'), b => fmtNum(b.queue_wait_seconds, 3)],
    ], bs, '', { dataset: { testid: 'batchers' } }));
  }
  const fps = ss.map(s => [s.name, Math.round(s.status?.source?.fps_in || 0)]);
  if (fps.length) parts.push(h('h4', t('decode_fps')), bars(fps, 'decode-fps'));
  return card(t('capacity_load'), parts);
}

function quotas(depts, ss, ts) {
  if (!depts.length) return null;
  const use = (n, q) => q ? h('div.loadcell', progress(n / q), n + ' / ' + q) : n + ' / ∞';
  return card(t('quota_use'), table([
    [t('department'), d => d.name + ' (' + d.id + ')'],
    [t('streams'), d => use(ss.filter(s => s.owner_department === d.id).length, d.quota?.streams)],
    [t('tasks'), d => use(ts.filter(x => x.department === d.id).length, d.quota?.tasks)],
    [t('fps_share'), d => d.quota?.fps_share ? Math.round(100 * d.quota.fps_share) + '%' : '—'],
  ], depts, t('no_departments'), { dataset: { testid: 'quotas' } }));
}

// onlineRates reads the recorded online rate (time online over time observed, all
// cameras the caller may see) for the last 7 days, then for today: the server's
// answer names its own today (its time zone, not the browser's), so today's query
// asks for exactly that day. null where the role may not read it.
async function onlineRates(opt) {
  const week = await opt('GET /api/v1/online-rate', '/api/v1/online-rate', { by: 'department' });
  if (!week) return [null, null];
  const today = await opt('GET /api/v1/online-rate', '/api/v1/online-rate', { by: 'department', from: String(week.to), to: String(week.to) });
  const pct = r => {
    let on = 0, seen = 0;
    for (const x of r?.rates || []) { on += x.online_ms; seen += x.observed_ms; }
    return seen ? fmtNum(100 * on / seen) + '%' : '—';
  };
  return [today ? pct(today) : null, pct(week)];
}
