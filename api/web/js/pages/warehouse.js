// Warehouse (vendors, platform admins): upload a model package, watch validation
// and benchmark progress, read the report, publish, deprecate, roll back; which
// tasks use each model (through the algorithms that declare it).
import { get, api, post } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, card, table, field, input, filePicker, showError, clearErrors, badge, progress, fmtNum, fmtTime } from '../ui.js';
import { governance } from './warehouse_governance.js';

const FINAL = ['validated', 'rejected', 'published', 'deprecated'];
const path = v => '/api/v1/warehouse/models/' + [v.vendor, v.name, v.version].map(encodeURIComponent).join('/');

export default async function warehouse(main, ctx) {
  if (ctx.args.length === 3) return version(main, ctx, { vendor: ctx.args[0], name: ctx.args[1], version: ctx.args[2] });
  const { models = [] } = await get('/api/v1/warehouse/models', null, { signal: ctx.signal });
  const users = await usersByModel(ctx);
  clear(main,
    h('h2', t('nav_warehouse')),
    ctx.can('POST /api/v1/warehouse/models') ? upload(ctx) : null,
    card(t('model_versions'), table([
      [t('model'), v => h('a', { href: '#/warehouse/' + [v.vendor, v.name, v.version].map(encodeURIComponent).join('/'), dataset: { testid: 'model-link' } }, v.vendor + '/' + v.name + '@' + v.version)],
      [t('model_task'), v => v.task],
      [t('state'), v => [stateBadge(v.state), v.publish_requested_by ? badge(t('awaiting_approval'), 'warn') : null]],
      [t('progress'), v => FINAL.includes(v.state) ? '—' : h('div.loadcell', progress(v.progress / 100), v.progress + '% ' + (v.stage ? t('check_' + v.stage, v.stage) : ''))],
      [t('size'), v => fmtNum(v.size / 1048576, 1) + ' MiB'],
      [t('uploaded'), v => fmtTime(v.created_at) + ' · ' + v.uploaded_by],
      [t('used_by'), v => v.state === 'published' ? (users[v.name] || []).map(x => h('a.chip', { href: '#/tasks/' + x }, x)) : '—'],
    ], models, ctx.can('POST /api/v1/warehouse/models') ? t('no_models_upload') : t('no_models'), { dataset: { testid: 'models' } })));
}

function stateBadge(s) { return badge(t('model_' + s, s), { published: 'ok', validated: 'ok', rejected: 'bad', validating: 'warn', uploaded: 'warn' }[s]); }

// usersByModel maps a model name to the tasks whose algorithm declares it.
async function usersByModel(ctx) {
  if (!ctx.can('GET /api/v1/tasks') || !ctx.can('GET /api/v1/algorithms')) return {};
  const [{ algorithms = [] }, { tasks = [] }] = await Promise.all([get('/api/v1/algorithms'), get('/api/v1/tasks')]);
  const out = {};
  for (const a of algorithms) for (const c of a.contracts || []) for (const tk of tasks) if (tk.algorithm === a.name) (out[c.name] ||= []).push(tk.id);
  return out;
}

function upload(ctx) {
  const manifest = input({ type: 'file', accept: '.json,application/json', dataset: { testid: 'manifest' } });
  const model = input({ type: 'file', accept: '.onnx', dataset: { testid: 'model-file' } });
  const files = input({ type: 'file', multiple: true });
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const fd = new FormData();
      if (manifest.files[0]) fd.append('manifest', await manifest.files[0].text());
      if (model.files[0]) fd.append('model', model.files[0]);
      for (const f of files.files) fd.append('files', f);
      const btn = form.querySelector('button');
      btn.disabled = true;
      try {
        const v = await api('POST', '/api/v1/warehouse/models', fd);
        location.hash = '#/warehouse/' + [v.vendor, v.name, v.version].map(encodeURIComponent).join('/');
      } catch (err) { showError(form, err); } finally { btn.disabled = false; }
    },
  },
  h('div.row', field(t('manifest'), 'manifest', filePicker(manifest), t('manifest_hint')), field(t('onnx_file'), 'model', filePicker(model)), field(t('extra_files'), 'files', filePicker(files), t('extra_files_hint'))),
  h('button', { type: 'submit', dataset: { testid: 'upload' } }, t('upload')));
  return card(t('upload_model'), form);
}

// version watches one version: progress until validation ends, then its report and
// benchmark, and the actions the role may take.
async function version(main, ctx, id) {
  const head = h('div'), body = h('div');
  clear(main, h('div.titlebar', h('h2', id.vendor + '/' + id.name + '@' + id.version), h('a', { href: '#/warehouse' }, '‹ ' + t('back'))), head, body);
  // act is a button for one action, shown when the role may call its route
  const act = (label, route, to, testid, body) => ctx.can(route) ? h('button', { dataset: { testid }, onclick: async e => {
    try { await post(to, body ? body() : undefined); await watch(); } catch (err) { if (err.name !== 'AbortError') e.target.after(h('small.error', err.message)); }
  } }, label) : null;
  const rollbackTo = '/api/v1/warehouse/models/' + encodeURIComponent(id.vendor) + '/' + encodeURIComponent(id.name) + '/rollback';
  // the platform admin approves (publishes) or rejects; a vendor's publish is a request
  const approver = ctx.can('POST /api/v1/warehouse/models/{vendor}/{name}/{version}/reject');
  const reason = input({ size: 30, placeholder: t('reject_reason') });
  const poll = async () => {
    const v = await get(path(id), null, { signal: ctx.signal });
    // scores, gate, canary and shadow runs once validation has ended
    const gov = FINAL.includes(v.state) ? await governance(ctx, v, () => { watch(); }) : null;
    const publishable = v.state === 'validated' || v.state === 'deprecated';
    const requested = !!v.publish_requested_by;
    clear(head, h('div.toolbar', stateBadge(v.state),
      requested ? badge(t('publish_requested', v.publish_requested_by, fmtTime(v.publish_requested_at)), 'warn') : null,
      publishable && (approver || !requested) ? act(approver ? t('publish') : t('request_publish'), 'POST /api/v1/warehouse/models/{vendor}/{name}/{version}/publish', path(id) + '/publish', 'publish') : null,
      publishable && approver && requested ? [reason, act(t('reject'), 'POST /api/v1/warehouse/models/{vendor}/{name}/{version}/reject', path(id) + '/reject', 'reject-publish', () => ({ reason: reason.value }))] : null,
      v.state === 'published' ? act(t('rollback'), 'POST /api/v1/warehouse/models/{vendor}/{name}/rollback', rollbackTo, 'rollback') : null,
      v.state === 'published' || v.state === 'validated' ? act(t('deprecate'), 'POST /api/v1/warehouse/models/{vendor}/{name}/{version}/deprecate', path(id) + '/deprecate', 'deprecate') : null));
    const rep = v.report || {};
    clear(body,
      card(t('validation'), h('div', { dataset: { testid: 'validation', state: v.state } },
        h('div.loadcell', progress(v.progress / 100), h('span', { dataset: { testid: 'progress' } }, v.progress + '%'), h('span.hint', v.stage ? t('check_' + v.stage, v.stage) : t('model_' + v.state, v.state))),
        rep.checks ? h('div', { dataset: { testid: 'report' } },
          h('p', rep.passed ? badge(t('report_passed'), 'ok') : badge(t('report_failed'), 'bad')),
          table([[t('check'), c => h('span.nowrap', t('check_' + c.name, c.name))], [t('result'), c => c.ok ? badge('✓', 'ok') : badge('✗', 'bad')], [t('detail'), c => c.detail]], rep.checks, '')) : h('p.hint', t('report_pending')))),
      Array.isArray(v.benchmark) && v.benchmark.length ? card(t('benchmark'), table([
        [t('device'), b => b.provider], [t('batch'), b => b.batch_size], [t('latency_ms'), b => fmtNum(b.latency_ms, 1)],
        [t('p95_ms'), b => fmtNum(b.p95_ms, 1)], [t('fps'), b => fmtNum(b.fps, 1)], [t('fps_per_core'), b => fmtNum(b.fps_per_core, 1)],
      ], v.benchmark, '', { dataset: { testid: 'benchmark' } })) : null,
      gov,
      v.manifest ? card(t('manifest'), h('pre.json', JSON.stringify(v.manifest, null, 2))) : null);
    return v;
  };
  // poll while validation runs (twice a second) and while a publish request awaits
  // the platform's decision (every 3 s), so the vendor sees it without reloading
  let watching = false;
  const watch = async () => {
    if (watching) return;
    watching = true;
    try {
      let v = await poll();
      while (!ctx.signal.aborted && (!FINAL.includes(v.state) || v.publish_requested_by)) {
        await new Promise(r => setTimeout(r, FINAL.includes(v.state) ? 3000 : 500));
        v = await poll();
      }
    } finally { watching = false; }
  };
  await watch();
}

