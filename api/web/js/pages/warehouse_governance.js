// Warehouse governance on a version's page (docs/evaluation-sets.md, docs/canary.md):
// its evaluation scores beside the published version's with the difference, the
// regression gate's verdict (publishing a blocked version takes an override reason),
// the model's canary (state, step, share, why it ended) and the version's shadow runs.
import { get, post } from '../api.js';
import { t } from '../i18n.js';
import { h, card, table, field, input, showError, clearErrors, badge, fmtNum, fmtTime } from '../ui.js';
import './warehouse_governance_i18n.js';

const enc = (...p) => p.map(encodeURIComponent).join('/');

// governance returns the cards the role may read for version v (refresh redraws
// the page after an action).
export async function governance(ctx, v, refresh) {
  const base = '/api/v1/warehouse/models/' + enc(v.vendor, v.name, v.version);
  const model = '/api/v1/warehouse/models/' + enc(v.vendor, v.name);
  const may = r => ctx.can(r);
  const opt = p => get(p, null, { signal: ctx.signal, quiet: true }).catch(err => (err.status === 404 ? null : Promise.reject(err)));
  const [ev, cn, sh] = await Promise.all([
    may('GET /api/v1/warehouse/models/{vendor}/{name}/{version}/evaluation') ? opt(base + '/evaluation') : null,
    may('GET /api/v1/warehouse/models/{vendor}/{name}/canary') ? opt(model + '/canary') : null,
    may('GET /api/v1/warehouse/models/{vendor}/{name}/{version}/shadow') ? opt(base + '/shadow') : null,
  ]);
  return h('div', { dataset: { testid: 'governance' } },
    ev ? evaluation(ctx, v, ev, base, refresh) : null,
    may('GET /api/v1/warehouse/models/{vendor}/{name}/canary') ? canary(ctx, cn, model, refresh) : null,
    sh ? shadows(sh.runs || []) : null);
}

function evaluation(ctx, v, ev, base, refresh) {
  const g = ev.gate;
  const verdict = !g ? badge(t('gov_gate_none')) : g.blocked ? badge(t('gov_gate_blocked'), 'bad') : badge(t('gov_gate_pass'), 'ok');
  const publishable = v.state === 'validated' || v.state === 'deprecated';
  const approver = ctx.can('POST /api/v1/warehouse/models/{vendor}/{name}/{version}/reject');
  return h('div.cols',
    card(t('gov_evaluation'),
      h('p.hint', ev.published_version ? t('gov_vs', ev.published_version) : t('gov_no_published')),
      table([
        [t('gov_set'), s => s.set],
        [t('state'), s => s.state === 'done' ? t('gov_set_done') : [badge(t('gov_set_' + s.state, s.state), s.state === 'failed' ? 'bad' : 'warn'), s.error ? h('small.error', ' ' + s.error) : null]],
        [t('gov_metric'), s => s.metric || s.score?.metric || '—'],
        [t('gov_this'), s => score(s.score)],
        [t('gov_published'), s => score(s.published)],
        [t('gov_delta'), s => delta(s.delta_points)],
      ], ev.sets || [], t('gov_no_sets'), { dataset: { testid: 'evaluation' } }),
      ctx.can('POST /api/v1/warehouse/models/{vendor}/{name}/{version}/evaluate')
        ? h('button.tool', { onclick: async e => { try { await post(base + '/evaluate'); refresh(); } catch (err) { e.target.after(h('small.error', err.message)); } } }, t('gov_rescore')) : null),
    card(t('gov_gate'),
      h('p', { dataset: { testid: 'gate', verdict: !g ? 'none' : g.blocked ? 'blocked' : 'pass' } }, verdict, ' ',
        g ? h('span.hint', t('gov_gate_rule', fmtNum(g.max_drop_points, 1), g.model || t('gov_gate_general'))) : null),
      g && g.reasons?.length ? h('ul', { dataset: { testid: 'gate-reasons' } }, g.reasons.map(r => h('li', r))) : null,
      g && g.blocked && publishable && approver ? overrideForm(base, refresh) : null));
}

function score(s) { return s ? h('span', { title: JSON.stringify(s.measures || {}) }, fmtNum(100 * s.value, 1)) : '—'; }

function delta(d) {
  if (d === undefined || d === null) return '—';
  return h('span', { class: d < 0 ? 'neg' : 'pos', dataset: { testid: 'delta' } }, (d > 0 ? '+' : '') + fmtNum(d, 1));
}

// overrideForm publishes a version the gate blocks, saying why (the API names
// override_reason when it is missing).
function overrideForm(base, refresh) {
  const form = h('form.stack', {
    dataset: { testid: 'override-form' },
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      try { await post(base + '/publish', { override_reason: form.elements.override_reason.value.trim() }); refresh(); } catch (err) { showError(form, err); }
    },
  },
  field(t('gov_override'), 'override_reason', input({ name: 'override_reason', size: 36 }), t('gov_override_hint')),
  h('button.danger', { type: 'submit', dataset: { testid: 'publish-override' } }, t('gov_publish_override')));
  return form;
}

function canary(ctx, r, model, refresh) {
  const c = r?.canary;
  if (!c) return card(t('gov_canary'), h('p.hint', t('gov_no_canary')));
  const steps = c.steps || [];
  const kind = { running: 'warn', promoted: 'ok', rolled_back: 'bad', stopped: 'plain' }[c.state];
  return card(t('gov_canary'), h('dl.kv', { dataset: { testid: 'canary', state: c.state } },
    kv(t('state'), badge(t('gov_canary_' + c.state, c.state), kind)),
    kv(t('gov_canary_version'), c.version + ' · ' + c.started_by + ' · ' + fmtTime(c.started_at)),
    kv(t('gov_step'), t('gov_step_of', c.step + 1, steps.length)),
    kv(t('gov_share'), steps.length ? t('gov_share_v', steps[Math.min(c.step, steps.length - 1)]) : '—'),
    kv(t('gov_canary_cameras'), (c.cameras || []).join(', ') || '—'),
    kv(t('gov_limits'), c.max_latency_ms ? t('gov_limits_v', c.max_error_rate, c.max_latency_ms) : t('gov_limits_nolat', c.max_error_rate)),
    r.tasks?.length ? kv(t('gov_canary_tasks'), r.tasks.join(', ')) : null,
    c.reason ? kv(t('gov_ended_reason'), h('span', { dataset: { testid: 'canary-reason' } }, c.reason + (c.ended_at ? ' · ' + fmtTime(c.ended_at) : ''))) : null),
  c.state === 'running' && ctx.can('POST /api/v1/warehouse/models/{vendor}/{name}/canary/stop') ? stopForm(model, refresh) : null);
}

function stopForm(model, refresh) {
  const form = h('form.row', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      try { await post(model + '/canary/stop', { reason: form.elements.reason.value.trim() }); refresh(); } catch (err) { showError(form, err); }
    },
  }, field(t('gov_stop_reason'), 'reason', input({ name: 'reason', size: 28 })), h('button.danger', { type: 'submit', dataset: { testid: 'canary-stop' } }, t('gov_stop')));
  return form;
}

function shadows(runs) {
  return card(t('gov_shadow'), table([
    [t('state'), r => badge(t('gov_shadow_state_' + r.state, r.state), r.state === 'running' ? 'warn' : 'plain')],
    [t('period'), r => fmtTime(r.started_at) + ' – ' + fmtTime(r.ended_at || r.ends_at)],
    [t('gov_streams'), r => (r.streams || []).join(', ')],
    [t('frames'), r => rep(r).frames ?? '—'],
    [t('gov_agreement'), r => rep(r).agreement === undefined ? '—' : fmtNum(100 * rep(r).agreement, 1) + '%'],
    [t('gov_matched') + ' / ' + t('gov_extra') + ' / ' + t('gov_missed'), r => [rep(r).matched, rep(r).extra, rep(r).missed].map(x => x ?? '—').join(' / ')],
    [t('gov_latency'), r => fmtNum(rep(r).primary_latency_ms_per_frame, 1) + ' / ' + fmtNum(rep(r).candidate_latency_ms_per_frame, 1)],
    [t('gov_cost'), r => fmtNum(rep(r).primary_cost_ms_per_frame, 1) + ' / ' + fmtNum(rep(r).candidate_cost_ms_per_frame, 1)],
    [t('gov_errors'), r => [String(rep(r).candidate_errors ?? 0), rep(r).last_candidate_error ? h('small.error', ' ' + rep(r).last_candidate_error) : null]],
  ], runs, t('gov_no_shadow'), { dataset: { testid: 'shadow-runs' } }));
}

function rep(r) { return r.report || {}; }

function kv(k, v) { return [h('dt', k), h('dd', v)]; }
