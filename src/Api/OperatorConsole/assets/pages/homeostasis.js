import { api, qs } from '../api.js';
import { h, clear, time, table } from '../dom.js';
import { lineChart, fmt } from '../chart.js';

// Each vital over the last hour, day or week with its setpoint band and deviations; the corrections log.
export default {
  id: 'homeostasis',
  title: 'Homeostasis',
  scopes: ['homeostasis:read'],
  pollMs: 10000,
  mount(body) {
    const state = h('p', { id: 'homeostasis-state' });
    const window = h('select', { id: 'window', 'aria-label': 'window' }, ['hour', 'day', 'week'].map((w) => h('option', { value: w }, w)));
    const charts = h('div', { class: 'charts', id: 'vitals' });
    const corrections = h('div', { id: 'corrections' });
    window.addEventListener('change', () => refresh());

    async function refresh() {
      const report = await api('/homeostasis');
      clear(state, 'System ', h('strong', { class: `tag ${report.state}` }, report.state));
      const names = [...new Set(report.vitals.map((v) => v.name))];
      const histories = await Promise.all(names.map((n) => api(`/homeostasis/vitals/${encodeURIComponent(n)}/history${qs({ window: window.value })}`)));
      clear(charts, histories.map((hist) => {
        const now = report.vitals.filter((v) => v.name === hist.vital);
        // A node that began sampling inside the window is drawn from its first sample, not squeezed to the right.
        const first = Math.min(...hist.nodes.flatMap((n) => n.points.map((p) => Date.parse(p.at))));
        const x = [Math.max(Date.parse(hist.from), Number.isFinite(first) ? first : 0), Date.parse(hist.to)];
        const series = hist.nodes.map((n) => ({ name: n.node, points: n.points.map((p) => ({ x: Date.parse(p.at), y: p.value })) }));
        const spans = hist.nodes.flatMap((n) => n.deviations.map((d) => ({
          from: Date.parse(d.at), to: d.until ? Date.parse(d.until) : null,
          title: `${n.node}: deviating from ${time(d.at)}${d.until ? ` to ${time(d.until)}` : ' (ongoing)'}: ${d.reason}` })));
        const xLabel = hist.window === 'hour' ? (v) => new Date(v).toLocaleTimeString() : (v) => new Date(v).toLocaleString();
        const band = hist.setpoint;
        return h('figure', { class: `vital ${now.some((v) => v.state === 'deviating') ? 'deviating' : ''}`, 'data-vital': hist.vital },
          h('figcaption', {}, h('strong', {}, hist.vital), ' ',
            now.map((v) => h('span', { class: 'muted' }, ` ${v.node}: ${fmt(v.value)} (mean ${fmt(v.mean)}) ${v.state}`)),
            band.min !== null || band.max !== null ? h('span', { class: 'muted' }, ` · setpoint ${band.min ?? '−∞'} … ${band.max ?? '∞'}`) : null,
            spans.length ? h('span', { class: 'tag deviating' }, `${spans.length} deviation${spans.length > 1 ? 's' : ''}`) : null),
          lineChart({ series, band, spans, x, xLabel }));
      }));
      clear(corrections, report.corrections.length === 0 ? h('p', { class: 'muted' }, 'No corrections applied.') :
        table([
          { title: 'at', cell: (c) => time(c.at) },
          { title: 'node', cell: (c) => c.node },
          { title: 'vital', cell: (c) => c.vital },
          { title: 'action', cell: (c) => c.action },
          { title: 'target', cell: (c) => c.target ?? '(another tenant)' },
          { title: 'result', cell: (c) => c.result },
        ], report.corrections));
    }

    clear(body, h('div', { class: 'row' }, state, h('label', {}, 'window ', window)), charts, h('h3', {}, 'Corrections'), corrections);
    return { refresh };
  },
};
