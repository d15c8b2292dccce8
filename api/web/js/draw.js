// Drawing regions on a camera frame: the ROI (one polygon), named zones (polygons)
// and tripwires (lines), in the normalised [0,1] image coordinates task params use.
import { h } from './ui.js';
import { t } from './i18n.js';

const colours = { roi: '#22c55e', zone: '#f59e0b', line: '#ef4444' };

export function regionEditor(imageURL, width, height) {
  const canvas = h('canvas.frame', { width: width || 768, height: height || 432, dataset: { testid: 'draw-canvas' } });
  const g = canvas.getContext('2d');
  const shapes = { roi: [], zones: [], lines: [] };
  let mode = 'roi', pending = [];
  let bg = null;
  if (imageURL) {
    const im = new Image();
    im.onload = () => { bg = im; canvas.width = im.naturalWidth; canvas.height = im.naturalHeight; canvas.dataset.frame = 'loaded'; paint(); };
    im.src = imageURL;
  }
  const pt = e => {
    const r = canvas.getBoundingClientRect();
    return [round((e.clientX - r.left) / r.width), round((e.clientY - r.top) / r.height)];
  };
  canvas.addEventListener('click', e => {
    const p = pt(e);
    if (mode === 'line') {
      pending.push(p);
      if (pending.length === 2) { shapes.lines.push({ name: 'line' + (shapes.lines.length + 1), a: pending[0], b: pending[1] }); pending = []; }
    } else {
      const last = pending[pending.length - 1];
      if (!last || Math.hypot(last[0] - p[0], last[1] - p[1]) > 0.01) pending.push(p); // a double click's second click adds nothing
    }
    paint();
  });
  canvas.addEventListener('dblclick', e => { e.preventDefault(); close(); });
  function close() {
    if (mode === 'line' || pending.length < 3) return;
    if (mode === 'roi') shapes.roi = pending; else shapes.zones.push({ name: 'zone' + (shapes.zones.length + 1), polygon: pending });
    pending = [];
    paint();
  }
  function paint() {
    const W = canvas.width, H = canvas.height;
    g.clearRect(0, 0, W, H);
    if (bg) g.drawImage(bg, 0, 0, W, H);
    else {
      g.fillStyle = '#1f2937'; g.fillRect(0, 0, W, H);
      g.strokeStyle = '#374151';
      for (let i = 1; i < 10; i++) { line([i / 10, 0], [i / 10, 1]); line([0, i / 10], [1, i / 10]); }
      g.fillStyle = '#9ca3af'; g.font = '16px sans-serif'; g.fillText(t('no_frame_yet'), 16, 28);
    }
    poly(shapes.roi, colours.roi, true);
    shapes.zones.forEach(z => poly(z.polygon, colours.zone, true));
    shapes.lines.forEach(l => { g.lineWidth = 3; g.strokeStyle = colours.line; line(l.a, l.b); });
    poly(pending, colours[mode], false);
  }
  function line(a, b) { g.beginPath(); g.moveTo(a[0] * canvas.width, a[1] * canvas.height); g.lineTo(b[0] * canvas.width, b[1] * canvas.height); g.stroke(); }
  function poly(ps, c, closed) {
    if (!ps.length) return;
    g.lineWidth = 3; g.strokeStyle = c; g.fillStyle = c + '33';
    g.beginPath();
    ps.forEach((p, i) => i ? g.lineTo(p[0] * canvas.width, p[1] * canvas.height) : g.moveTo(p[0] * canvas.width, p[1] * canvas.height));
    if (closed) { g.closePath(); g.fill(); }
    g.stroke();
    g.fillStyle = c;
    ps.forEach(p => g.fillRect(p[0] * canvas.width - 4, p[1] * canvas.height - 4, 8, 8));
  }
  const modeBtn = m => h('button.tool', { type: 'button', dataset: { testid: 'mode-' + m }, class: m === mode ? 'tool active' : 'tool', onclick: e => {
    close(); mode = m; pending = [];
    e.target.parentNode.querySelectorAll('.tool').forEach(b => b.classList.toggle('active', b === e.target));
    paint();
  } }, t('draw_' + m));
  const tools = h('div.tools', modeBtn('roi'), modeBtn('zone'), modeBtn('line'),
    h('button', { type: 'button', dataset: { testid: 'draw-close' }, onclick: close }, t('draw_close')),
    h('button', { type: 'button', onclick: () => { shapes.roi = []; shapes.zones = []; shapes.lines = []; pending = []; paint(); } }, t('draw_clear')),
    h('small.hint', t('draw_hint')));
  paint();
  return {
    el: h('div.editor', tools, canvas),
    // params returns what was drawn as task params (only the parts drawn).
    params() {
      close();
      const p = {};
      if (shapes.roi.length) p.roi = shapes.roi;
      if (shapes.zones.length) p.zones = shapes.zones;
      if (shapes.lines.length) p.lines = shapes.lines;
      return p;
    },
  };
}

function round(v) { return Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000; }
