// The console shell: log in with a token, menus by role, hash routes, language.
import { session, get, setUnauthorizedHandler, forgetImages, APIError } from './api.js';
import { loadAccess, can, currentRole } from './access.js';
import { t, lang, setLang, roleName, addAlgorithms, addDepartments, deptName } from './i18n.js';
import { h, clear, field, input, showError } from './ui.js';
import overview from './pages/overview.js';
import cameras from './pages/cameras.js';
import tasks from './pages/tasks.js';
import captures from './pages/captures.js';
import map from './pages/map.js';
import dispositions from './pages/dispositions.js';
import warehouse from './pages/warehouse.js';
import cascade from './pages/cascade.js';
import admin from './pages/admin.js';

// Each page names the route it needs: the menu shows it only if the role may call it.
const pages = [
  { id: 'overview', needs: 'GET /api/v1/streams', page: overview },
  { id: 'cameras', needs: 'GET /api/v1/streams', page: cameras },
  { id: 'tasks', needs: 'GET /api/v1/tasks', page: tasks },
  { id: 'captures', needs: 'GET /api/v1/search', page: captures },
  { id: 'map', needs: 'GET /api/v1/alerts/stream', page: map },
  { id: 'dispositions', needs: 'GET /api/v1/dispositions', page: dispositions },
  { id: 'warehouse', needs: 'GET /api/v1/warehouse/models', page: warehouse },
  { id: 'admin', needs: 'GET /api/v1/users', page: admin },
  { id: 'cascade', needs: 'GET /api/v1/cascade/links', page: cascade },
];

const state = { me: null, config: {}, abort: null };
const root = document.getElementById('app');

setUnauthorizedHandler(() => { session.clear(); state.me = null; render(); });
window.addEventListener('hashchange', () => render());

function allowed() { return pages.filter(p => can(p.needs)); }

async function start() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  state.config = await fetch('/console/config.json').then(r => r.json()).catch(() => ({}));
  if (session.token) {
    try { await signIn(); } catch { session.clear(); }
  }
  render();
}

async function signIn() {
  state.me = await get('/api/v1/me', null, { quiet: true });
  addDepartments([state.me.department]);
  await Promise.all([loadAccess(state.me.user.role),
    get('/api/v1/algorithms', null, { quiet: true }).then(r => addAlgorithms(r.algorithms), () => {})]);
  if (can('GET /api/v1/departments')) await get('/api/v1/departments', null, { quiet: true }).then(r => addDepartments(r.departments), () => {});
}

function render() {
  if (state.abort) state.abort.abort();
  state.abort = new AbortController();
  forgetImages();
  if (!state.me) return renderLogin();
  const list = allowed();
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('?')[0].split('/');
  const cur = list.find(p => p.id === id) || list[0];
  if (!cur) return clear(root, h('p.empty', t('no_pages')));
  const main = h('main#main');
  clear(root,
    h('header.top',
      h('div.brand', 'CityEye', h('small', t('console'))),
      h('nav', list.map(p => h('a', { href: '#/' + p.id, class: p === cur ? 'active' : '', dataset: { testid: 'nav-' + p.id } }, t('nav_' + p.id)))),
      h('div.who', { dataset: { testid: 'who' } },
        h('span', h('span', state.me.user.name), ' · ', h('span', deptName(state.me.department.id)), ' · ', h('span', roleName(currentRole()))),
        h('button.link', { dataset: { testid: 'lang' }, onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en'; render(); } }, lang() === 'zh' ? 'English' : '中文'),
        h('button.link', { dataset: { testid: 'logout' }, onclick: () => { session.clear(); state.me = null; location.hash = ''; render(); } }, t('logout')))),
    main);
  const ctx = { me: state.me, config: state.config, signal: state.abort.signal, args: rest.map(decodeURIComponent), can, rerender: render };
  Promise.resolve(cur.page(main, ctx)).catch(err => {
    if (err.name === 'AbortError') return;
    main.append(h('div.form-error', err instanceof APIError ? err.message : String(err)));
  });
}

function renderLogin() {
  const tok = input({ type: 'password', autocomplete: 'off', placeholder: t('token_placeholder'), dataset: { testid: 'token' } });
  const form = h('form.login', {
    onsubmit: async e => {
      e.preventDefault();
      session.set(tok.value.trim());
      try { await signIn(); render(); } catch (err) {
        session.clear();
        showError(form, err instanceof APIError ? Object.assign(err, { field: 'Authorization' }) : err);
      }
    },
  },
  h('h1', 'CityEye'), h('p', t('login_intro')),
  field(t('token'), 'Authorization', tok, t('token_hint')),
  h('button', { type: 'submit', dataset: { testid: 'login' } }, t('login')),
  h('button.link', { type: 'button', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); render(); } }, lang() === 'zh' ? 'English' : '中文'));
  clear(root, h('div.login-wrap', form));
  tok.focus();
}

start();
