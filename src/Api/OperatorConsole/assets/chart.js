// Small SVG charts built with DOM calls (no inline script or style, nothing from another origin).
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

const title = (text) => { const t = s('title'); t.textContent = text; return t; };
const label = (x, y, text, anchor = 'start') => { const t = s('text', { x, y, 'text-anchor': anchor, class: 'axis' }); t.textContent = text; return t; };

export function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (a === 0 || a >= 1) return `${+v.toFixed(2)}`;
  return v.toPrecision(2);
}

/**
 * A time series: points {x (ms), y}, an optional band {min, max} (the setpoint), spans [{from, to}] shaded
 * (deviations) and x/y domains (computed when absent). Each data point is a circle of class "pt".
 */
export function lineChart({ series, band, spans = [], x: [x0, x1], y, width = 640, height = 180, xLabel = (v) => new Date(v).toLocaleTimeString(), stepped = false }) {
  const pad = { l: 48, r: 10, t: 10, b: 22 };
  const ys = series.flatMap((sr) => sr.points.map((p) => p.y));
  if (band?.min !== null && band?.min !== undefined) ys.push(band.min);
  if (band?.max !== null && band?.max !== undefined) ys.push(band.max);
  let [y0, y1] = y ?? [Math.min(0, ...ys), Math.max(1e-9, ...ys)];
  if (y1 === y0) y1 = y0 + 1;
  if (!y) y1 += (y1 - y0) * 0.08;
  const X = (v) => pad.l + ((v - x0) / Math.max(1, x1 - x0)) * (width - pad.l - pad.r);
  const Y = (v) => height - pad.b - ((v - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img' });
  svg.append(s('rect', { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, class: 'frame' }));
  if (band && (band.min !== null || band.max !== null)) {
    const top = Y(Math.min(y1, band.max ?? y1));
    const bottom = Y(Math.max(y0, band.min ?? y0));
    svg.append(s('rect', { x: pad.l, y: top, width: width - pad.l - pad.r, height: Math.max(0, bottom - top), class: 'band' },
      title(`setpoint ${band.min ?? '−∞'} … ${band.max ?? '∞'}`)));
  }
  for (const sp of spans) {
    const a = X(Math.max(x0, sp.from));
    const b = X(Math.min(x1, sp.to ?? x1));
    svg.append(s('rect', { x: a, y: pad.t, width: Math.max(2, b - a), height: height - pad.t - pad.b, class: 'deviation' }, title(sp.title ?? 'deviation')));
  }
  series.forEach((sr, i) => {
    if (sr.points.length === 0) return;
    let d = '';
    sr.points.forEach((p, j) => {
      if (j === 0) d += `M${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`;
      else d += stepped ? `H${X(p.x).toFixed(1)}V${Y(p.y).toFixed(1)}` : `L${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`;
    });
    svg.append(s('path', { d, class: `line s${i}` }));
    for (const p of sr.points)
      svg.append(s('circle', { cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: sr.points.length > 120 ? 1.2 : 2.5, class: `pt s${i}${p.flag ? ' flag' : ''}` },
        title(`${sr.name ?? ''} ${xLabel(p.x)}: ${fmt(p.y)}${p.note ? ` — ${p.note}` : ''}`)));
  });
  svg.append(label(pad.l - 4, pad.t + 8, fmt(y1), 'end'), label(pad.l - 4, height - pad.b, fmt(y0), 'end'),
    label(pad.l, height - 6, xLabel(x0)), label(width - pad.r, height - 6, xLabel(x1), 'end'));
  return svg;
}

/** Calibration: each bin's mean confidence against its observed success rate, with the diagonal of perfect calibration. */
export function reliabilityDiagram(bins, size = 220) {
  const pad = 28;
  const P = (v) => pad + v * (size - 2 * pad);
  const Q = (v) => size - pad - v * (size - 2 * pad);
  const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, class: 'chart reliability', role: 'img' });
  svg.append(s('rect', { x: pad, y: pad, width: size - 2 * pad, height: size - 2 * pad, class: 'frame' }),
    s('line', { x1: P(0), y1: Q(0), x2: P(1), y2: Q(1), class: 'diagonal' }));
  for (const b of bins) {
    if (!b.count || b.meanConfidence === null) continue;
    svg.append(s('circle', { cx: P(b.meanConfidence), cy: Q(b.observedSuccess), r: Math.min(9, 2.5 + Math.sqrt(b.count)), class: 'pt s0' },
      title(`confidence ${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${b.count} decisions, mean ${b.meanConfidence.toFixed(2)}, success ${b.observedSuccess.toFixed(2)}`)));
  }
  svg.append(label(pad, size - 8, 'confidence →'), label(4, pad - 8, '↑ observed success'));
  return svg;
}
