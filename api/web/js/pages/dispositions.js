// Dispositions (布控) for police users: the department's watch lists with their
// state and hit count; one list's targets and hits (the capture beside the watched
// photo or plate); withdrawing it (撤控) with a reason. Setting one: disposition_form.js.
import { get, post } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, card, table, field, showError, clearErrors, fmtTime, badge, img } from '../ui.js';
import { newDisposition } from './disposition_form.js';
import './dispositions_i18n.js';

// dispState is withdrawn, ended, scheduled or in_force, with its badge kind.
export function dispState(d) {
  if (d.status === 1) return ['withdrawn', 'plain'];
  const now = Date.now();
  if (new Date(d.end) < now) return ['ended', 'plain'];
  if (new Date(d.begin) > now) return ['scheduled', 'warn'];
  return ['in_force', 'ok'];
}

function stateBadge(d) {
  const [s, kind] = dispState(d);
  return h('span', { dataset: { testid: 'disp-state', state: s } }, badge(t('disp_' + s), kind));
}

function scope(d) {
  const parts = [...(d.devices || []), ...(d.areas || [])];
  return parts.length ? parts.join(', ') : t('disp_scope_all');
}

export default async function dispositions(main, ctx) {
  if (ctx.args[0] === 'new') return newDisposition(main, ctx);
  if (ctx.args[0]) return detail(main, ctx, ctx.args[0]);
  const { dispositions: ds = [] } = await get('/api/v1/dispositions', { limit: 200 }, { signal: ctx.signal });
  const canCreate = ctx.can('POST /api/v1/dispositions');
  clear(main,
    h('div.titlebar', h('h2', t('nav_dispositions')), canCreate ? h('a.button', { href: '#/dispositions/new', dataset: { testid: 'disp-new' } }, t('disp_new')) : null),
    table([
      [t('disp_title'), d => h('a', { href: '#/dispositions/' + encodeURIComponent(d.id), dataset: { testid: 'disp-link' } }, d.title || d.id)],
      [t('disp_category'), d => t('disp_cat_' + d.category, d.category)],
      [t('disp_state'), stateBadge],
      [t('disp_hit_count'), d => h('span', { dataset: { testid: 'disp-hits' } }, String(d.hit_count || 0))],
      [t('disp_priority'), d => t('disp_priority_' + d.priority, d.priority)],
      [t('period'), d => fmtTime(d.begin) + ' – ' + fmtTime(d.end)],
      [t('disp_scope'), scope],
      [t('disp_applicant'), d => d.user_id],
    ], ds, t('disp_none'), { dataset: { testid: 'dispositions' } }));
}

async function detail(main, ctx, id) {
  const d = await get('/api/v1/dispositions/' + encodeURIComponent(id), null, { signal: ctx.signal });
  const [s] = dispState(d);
  const byN = new Map((d.targets || []).map(tg => [tg.n, tg]));
  clear(main,
    h('div.titlebar', h('h2', t('nav_dispositions') + ' · ' + (d.title || d.id)), h('a', { href: '#/dispositions' }, '‹ ' + t('back'))),
    h('div.cols',
      card(t('details'), h('dl.kv', { dataset: { testid: 'disp-detail' } },
        kv(t('disp_state'), stateBadge(d)),
        kv(t('disp_category'), t('disp_cat_' + d.category, d.category)),
        kv(t('disp_priority'), t('disp_priority_' + d.priority, d.priority)),
        kv(t('period'), fmtTime(d.begin) + ' – ' + fmtTime(d.end)),
        kv(t('disp_scope'), scope(d)),
        d.category === 'plate' ? kv(t('disp_match'), t('disp_match_' + d.plate_mode, d.plate_mode)) : kv(t('disp_threshold'), String(d.threshold)),
        kv(t('disp_reason'), d.reason),
        kv(t('disp_applicant'), d.user_id + ' · ' + fmtTime(d.created_at)),
        kv(t('disp_hit_count'), String(d.hit_count || 0)),
        d.status === 1 ? kv(t('disp_withdrawn'), t('disp_withdrawn_by', d.cancelled_by, fmtTime(d.cancelled_at), d.cancel_reason)) : null)),
      h('div',
        card(t('disp_targets'), h('div.thumbs', { dataset: { testid: 'disp-targets' } }, (d.targets || []).map(target))),
        s !== 'withdrawn' && ctx.can('POST /api/v1/dispositions/{id}/withdraw') ? withdrawForm(ctx, d) : null)),
    card(t('disp_hits'), table([
      [t('time'), hit => fmtTime(hit.created_at)],
      [t('disp_capture'), hit => captureImage(hit)],
      [t('disp_watched'), hit => byN.has(hit.target) ? target(byN.get(hit.target)) : '#' + hit.target],
      [t('score'), hit => hit.score ? hit.score.toFixed(3) : '—'],
      [t('disp_record'), hit => h('a', { href: '#/captures/' + encodeURIComponent(hit.record_id) }, hit.record_id)],
    ], d.hits || [], t('disp_no_hits'), { dataset: { testid: 'disp-hit-list' } })));
}

// target is a watched plate or the watched photo.
function target(tg) {
  if (tg.plate) return h('span.plate', { dataset: { testid: 'disp-target' } }, tg.plate);
  return h('div.thumb', { dataset: { testid: 'disp-target' } }, img(tg.image, { alt: t('disp_watched') }));
}

// captureImage is the hit's alarm snapshot (the capture that matched).
function captureImage(hit) {
  const slot = h('div.thumb.hit', { dataset: { testid: 'disp-hit' } });
  get('/api/v1/alerts/' + encodeURIComponent(hit.alert_id), null, { quiet: true })
    .then(a => slot.append(img(a.image, { alt: t('disp_capture') })), () => slot.append(h('small', t('image_unavailable'))));
  return slot;
}

function withdrawForm(ctx, d) {
  const form = h('form.stack', {
    dataset: { testid: 'disp-withdraw-form' },
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      try {
        await post('/api/v1/dispositions/' + encodeURIComponent(d.id) + '/withdraw', { reason: form.elements.reason.value.trim() });
        ctx.rerender();
      } catch (err) { showError(form, err); }
    },
  },
  field(t('disp_withdraw_reason'), 'reason', h('textarea', { name: 'reason', rows: 2, cols: 36 })),
  h('button.danger', { type: 'submit', dataset: { testid: 'disp-withdraw' } }, t('disp_withdraw')));
  return card(t('disp_withdraw'), form);
}

function kv(k, v) { return [h('dt', k), h('dd', v)]; }
