// Users and tokens (platform and department admins): create users, issue a token
// (shown once, as the API returns it), and, for the platform office, departments.
import { get, post } from '../api.js';
import { t, roleName, deptName, addDepartments } from '../i18n.js';
import { h, clear, card, table, field, input, select, showError, clearErrors, formValues, fmtTime } from '../ui.js';

const ROLES = ['platform_admin', 'dept_admin', 'operator', 'analyst', 'vendor', 'subscriber', 'worker'];

export default async function admin(main, ctx) {
  const [{ users = [] }, depts] = await Promise.all([
    get('/api/v1/users', null, { signal: ctx.signal }),
    ctx.can('GET /api/v1/departments') ? get('/api/v1/departments', null, { signal: ctx.signal }).then(r => r.departments || []) : [ctx.me.department],
  ]);
  addDepartments(depts); // one created here is named at once
  const tokenOut = h('div', { dataset: { testid: 'token-out' } });
  const issue = u => async () => {
    try {
      const r = await post('/api/v1/users/' + encodeURIComponent(u.id) + '/tokens', { name: 'console', expires_in_days: 90 });
      clear(tokenOut, h('div.token-box', h('p', t('token_once', u.id)), h('code', { dataset: { testid: 'new-token' } }, r.token)));
    } catch (err) { clear(tokenOut, h('div.form-error', err.message)); }
  };
  clear(main,
    h('h2', t('nav_admin')),
    h('div.cols',
      card(t('users'), table([
        [t('user'), u => u.name + ' (' + u.id + ')'],
        [t('department'), u => deptName(u.department)],
        [t('role'), u => h('span.nowrap', roleName(u.role))],
        [t('created'), u => h('span.nowrap', fmtTime(u.created_at))],
        ['', u => u.disabled ? t('disabled') : h('button', { dataset: { testid: 'issue-' + u.id }, onclick: issue(u) }, t('issue_token'))],
      ], users, t('no_users'), { dataset: { testid: 'users' } }), tokenOut),
      h('div', userForm(ctx, depts), ctx.can('POST /api/v1/departments') ? deptForm(ctx) : null)));
}

function userForm(ctx, depts) {
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      try { await post('/api/v1/users', formValues(form)); ctx.rerender(); } catch (err) { showError(form, err); }
    },
  },
  field(t('user_id'), 'id', input({ size: 16 })), field(t('name'), 'name', input({ size: 20 })),
  field(t('department'), 'department', select('department', depts.map(d => [d.id, d.name + ' (' + d.id + ')']), ctx.me.department.id)),
  field(t('role'), 'role', select('role', ROLES.map(r => [r, roleName(r)]), 'operator')),
  h('button', { type: 'submit', dataset: { testid: 'create-user' } }, t('create_user')));
  return card(t('new_user'), form);
}

function deptForm(ctx) {
  const form = h('form.stack', {
    onsubmit: async e => {
      e.preventDefault();
      clearErrors(form);
      const v = formValues(form);
      const body = { id: v.id, name: v.name, areas: v.areas.split(/[,\s]+/).filter(Boolean),
        quota: { streams: Number(v.streams) || 0, tasks: Number(v.tasks) || 0, fps_share: (Number(v.fps_share) || 0) / 100 } };
      try { await post('/api/v1/departments', body); ctx.rerender(); } catch (err) {
        if (/^quota\./.test(err.field)) err.field = err.field.slice(6);
        showError(form, err);
      }
    },
  },
  h('div.row', field(t('dept_id'), 'id', input({ size: 12 })), field(t('name'), 'name', input({ size: 16 }))),
  field(t('areas'), 'areas', input({ size: 24, placeholder: '441502, 441521' })),
  h('div.row', field(t('quota_streams'), 'streams', input({ type: 'number', min: 0, size: 4 })), field(t('quota_tasks'), 'tasks', input({ type: 'number', min: 0, size: 4 })),
    field(t('fps_share') + ' %', 'fps_share', input({ type: 'number', min: 0, max: 100, size: 4 }))),
  h('button', { type: 'submit' }, t('create_department')));
  return card(t('new_department'), form);
}
