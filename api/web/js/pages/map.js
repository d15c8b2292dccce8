// Alerts and map (民情地图): cameras and alerts on the city's own tiles (a URL
// template from the server's configuration) or, without one, on a plain longitude/
// latitude grid; alerts arrive live over Server-Sent Events; a click shows the
// snapshot and details.
import { get, post, events } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, card, fmtTime, img, emptyState, badge } from '../ui.js';
import { kv } from './tasks.js';

const SVG = 'http://www.w3.org/2000/svg';

export default async function map(main, ctx) {
  const [streams, alerts] = await Promise.all([
    ctx.can('GET /api/v1/streams') ? get('/api/v1/streams', null, { signal: ctx.signal }).then(r => r.streams || []) : [],
    get('/api/v1/alerts', { limit: 50 }, { signal: ctx.signal }).then(r => r.alerts || []).catch(() => []),
  ]);
  const box = h('div.map', { dataset: { testid: 'map' } });
  const list = h('div.alert-list', { dataset: { testid: 'alert-list' } });
  const panel = h('div.alert-panel', emptyState(t('map_click')));
  const live = h('span.live', { dataset: { testid: 'live' } }, t('connecting'));
  clear(main,
    h('div.titlebar', h('h2', t('nav_map')), h('div.legend', [1, 2, 3].map(l => h('span', h('i.dot.level-' + l), t('level_' + l))), h('span', h('i.dot.cam'), t('camera')), live)),
    h('div.map-layout', box, h('div.side', card(t('alert_detail'), panel), card(t('recent_alerts'), list))));

  const pts = [...streams.map(s => [s.longitude, s.latitude]), ...alerts.map(a => [a.longitude, a.latitude])].filter(p => p[0] || p[1]);
  const view = makeView(box, pts, ctx.config.map_tiles);
  for (const s of streams) {
    view.place(h('div.cam', { title: s.name, dataset: { testid: 'map-camera', device: s.device_id } }), s.longitude, s.latitude);
    const label = view.place(h('span.cam-label', s.name), s.longitude, s.latitude);
    if (parseFloat(label.style.left) > box.clientWidth * 0.7) label.classList.add('west'); // keep names near the right edge inside the map
  }
  const byID = new Map(); // alert ID → { a, marker, row }: what an acknowledgement updates
  let shown = null;
  const show = a => { shown = a; return clear(panel, h('dl.kv', { dataset: { testid: 'alert-detail' } },
    kv(t('kind'), t('kind_' + a.kind, a.kind)), kv(t('level'), badge(t('level_' + a.level), 'level-' + a.level)),
    kv(t('camera'), h('a', { href: '#/cameras/' + a.device_id }, a.device_id)), kv(t('time'), fmtTime(a.time)),
    kv(t('zone'), a.zone || '—'), kv(t('position'), a.longitude + ', ' + a.latitude),
    kv(t('acked'), ackView(a, ctx, acked))),
  a.image ? img(a.image, { class: 'snapshot', dataset: { testid: 'alert-snapshot' } }) : null); };
  const add = (a, fresh) => {
    if (byID.has(a.id)) return;
    const m = h('button.marker.level-' + a.level, { title: a.kind, dataset: { testid: 'alert-marker', id: a.id }, onclick: () => show(a) });
    if (fresh) m.classList.add('fresh');
    view.place(m, a.longitude, a.latitude);
    const row = h('button.alert-row', { type: 'button', onclick: () => show(a) }, h('i.dot.level-' + a.level), t('kind_' + a.kind, a.kind), h('small', fmtTime(a.time) + ' · ' + a.device_id));
    if (fresh) list.prepend(row); else list.append(row);
    list.querySelector('.empty')?.remove();
    byID.set(a.id, { a, marker: m, row });
    if (a.acked_by) markAcked(a.id);
  };
  // an acknowledgement, from this page or pushed from another: the marker and row
  // fade, and the open panel names who took it
  const markAcked = id => {
    const e = byID.get(id);
    if (!e) return;
    e.marker.classList.add('acked'); e.row.classList.add('acked');
    if (shown === e.a) show(e.a);
  };
  const acked = ack => { const e = byID.get(ack.id); if (e && !e.a.acked_by) { Object.assign(e.a, ack); markAcked(ack.id); } };
  if (!alerts.length) list.append(emptyState(t('no_alerts')));
  alerts.forEach(a => add(a, false)); // newest first
  // the feed starts after the newest alert listed, so none is missed or shown twice
  // in between, and resumes after the last one received whenever it reconnects
  const state = on => { live.textContent = t(on ? 'live' : 'disconnected'); live.classList.toggle('on', on); };
  const lastId = Math.max(0, ...alerts.map(a => a.seq || 0)) || '';
  events('/api/v1/alerts/stream', ctx.signal, (name, a) => { if (name === 'alert') add(a, true); else if (name === 'ack') acked(a); }, { lastId, onState: state })
    .then(() => state(false))
    .catch(err => { if (err.name !== 'AbortError') { state(false); live.textContent = t('disconnected') + ': ' + err.message; } });
}

// ackView shows who acknowledged an alert and when, or, for the roles that act on
// alerts, a button that acknowledges it through the API (the first one stands).
function ackView(a, ctx, acked) {
  const el = h('span', { dataset: { testid: 'alert-ack' } });
  if (a.acked_by) return clear(el, a.acked_by + ' · ' + fmtTime(a.acked_at));
  if (!ctx.can('POST /api/v1/alerts/{id}/ack')) return clear(el, t('not_acked'));
  const btn = h('button', { type: 'button', dataset: { testid: 'ack' } }, t('ack'));
  btn.onclick = async () => {
    btn.disabled = true;
    try {
      const r = await post('/api/v1/alerts/' + encodeURIComponent(a.id) + '/ack');
      acked({ id: r.id, acked_by: r.acked_by, acked_at: r.acked_at });
    } catch (err) {
      btn.disabled = false;
      el.append(h('small.error', ' ' + err.message));
    }
  };
  return clear(el, btn);
}

// makeView fits the points into the box: Web Mercator on tiles when a template is
// configured, otherwise an equirectangular plot on a labelled degree grid.
function makeView(box, pts, tiles) {
  const W = box.clientWidth || 900, H = box.clientHeight || 560;
  if (!pts.length) pts = [[115.375, 22.786]]; // Shanwei, the seeds' city
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const pad = Math.max(0.005, (x1 - x0) * 0.15, (y1 - y0) * 0.15);
  x0 -= pad; x1 += pad; y0 -= pad; y1 += pad;
  const layer = h('div.layer');
  box.replaceChildren(layer);
  let project;
  if (tiles) {
    const merc = (lon, lat, z) => { const n = 256 * 2 ** z, s = Math.sin(lat * Math.PI / 180); return [(lon + 180) / 360 * n, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n]; };
    let z = 18;
    for (; z > 2; z--) { const a = merc(x0, y1, z), b = merc(x1, y0, z); if (b[0] - a[0] < W && b[1] - a[1] < H) break; }
    const c = merc((x0 + x1) / 2, (y0 + y1) / 2, z), ox = c[0] - W / 2, oy = c[1] - H / 2;
    for (let tx = Math.floor(ox / 256); tx * 256 < ox + W; tx++) for (let ty = Math.floor(oy / 256); ty * 256 < oy + H; ty++) {
      const src = tiles.replace('{z}', z).replace('{x}', tx).replace('{y}', ty).replace('{s}', 'abc'[(tx + ty) % 3]);
      layer.append(h('img.tile', { src, alt: '', style: { left: (tx * 256 - ox) + 'px', top: (ty * 256 - oy) + 'px' } }));
    }
    project = (lon, lat) => { const p = merc(lon, lat, z); return [p[0] - ox, p[1] - oy]; };
  } else {
    const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
    const scale = Math.min(W / ((x1 - x0) * k), H / (y1 - y0));
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    project = (lon, lat) => [W / 2 + (lon - cx) * k * scale, H / 2 - (lat - cy) * scale];
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.classList.add('grid');
    const step = niceStep(Math.max(W / (k * scale), H / scale) / 8);
    const line = (a, b, label, lx, ly) => {
      const l = document.createElementNS(SVG, 'line');
      l.setAttribute('x1', a[0]); l.setAttribute('y1', a[1]); l.setAttribute('x2', b[0]); l.setAttribute('y2', b[1]);
      const tx = document.createElementNS(SVG, 'text');
      tx.setAttribute('x', lx); tx.setAttribute('y', ly); tx.textContent = label;
      svg.append(l, tx);
    };
    const lonMin = cx - W / 2 / (k * scale), lonMax = cx + W / 2 / (k * scale), latMin = cy - H / 2 / scale, latMax = cy + H / 2 / scale;
    const dec = Math.max(0, -Math.floor(Math.log10(step)));
    for (let lon = Math.ceil(lonMin / step) * step; lon < lonMax; lon += step) {
      const x = project(lon, cy)[0];
      line([x, 0], [x, H], lon.toFixed(dec) + '°E', x + 3, H - 6);
    }
    for (let lat = Math.ceil(latMin / step) * step; lat < latMax; lat += step) {
      const y = project(cx, lat)[1];
      line([0, y], [W, y], lat.toFixed(dec) + '°N', 4, y - 3);
    }
    layer.append(svg);
  }
  return {
    place(el, lon, lat) {
      const [x, y] = project(lon, lat);
      el.style.left = x + 'px'; el.style.top = y + 'px';
      layer.append(el);
      return el;
    },
  };
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map(m => m * p).find(s => s >= raw);
}
