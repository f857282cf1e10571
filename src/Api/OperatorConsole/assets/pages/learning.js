import { api, qs } from '../api.js';
import { h, clear, time, num, table } from '../dom.js';
import { lineChart, reliabilityDiagram } from '../chart.js';

// Per agent and category: the threshold's history with each adjustment's reason, success rate, Brier score, calibration.
export default {
  id: 'learning',
  title: 'Learning loop',
  scopes: ['decisions:read'],
  pollMs: 10000,
  mount(body) {
    const agent = h('select', { id: 'agent', 'aria-label': 'agent' });
    const out = h('div', { id: 'learning' });
    agent.addEventListener('change', () => show());

    async function agents() {
      const seen = new Set();
      let after;
      // The agents that proposed anything, from the decisions themselves (a few pages at most).
      for (let i = 0; i < 10; i++) {
        const page = await api(`/decisions${qs({ limit: 200, after })}`);
        page.items.forEach((d) => seen.add(d.agent));
        if (!page.next) break;
        after = page.next;
      }
      const chosen = agent.value;
      clear(agent, [...seen].sort().map((a) => h('option', { value: a, selected: a === chosen }, a)));
    }

    async function show() {
      if (!agent.value) { clear(out, h('p', { class: 'muted' }, 'No agent has proposed a decision yet.')); return; }
      const l = await api(`/learning/${encodeURIComponent(agent.value)}`);
      clear(out, l.categories.map((c) => {
        const history = c.thresholdHistory;
        const points = history.map((t) => ({ x: Date.parse(t.at), y: t.to, note: t.reason }));
        if (history.length) points.unshift({ x: points[0].x - 1, y: history[0].from });
        const now = Date.now();
        if (points.length) points.push({ x: now, y: c.threshold });
        const x = points.length ? [points[0].x, now] : [now - 3600e3, now];
        return h('section', { class: 'category', 'data-category': c.category },
          h('h3', {}, c.category),
          h('p', {}, `${c.decisions} decisions · ${c.autoApproved} auto-approved · ${c.escalated} escalated · ${c.resolved} resolved · success ${num(c.successRate)} · Brier ${num(c.brier, 3)} · threshold ${num(c.threshold)}`),
          h('div', { class: 'split' },
            h('figure', {}, h('figcaption', {}, 'threshold over time'),
              points.length ? lineChart({ series: [{ name: 'threshold', points }], x, y: [0, 1], stepped: true, xLabel: (v) => new Date(v).toLocaleString() })
                : h('p', { class: 'muted' }, `unchanged at ${num(c.threshold)}`)),
            h('figure', {}, h('figcaption', {}, 'reliability'), reliabilityDiagram(c.reliability))),
          history.length ? table([
            { title: 'at', cell: (t) => time(t.at) },
            { title: 'from → to', cell: (t) => `${num(t.from)} → ${num(t.to)}` },
            { title: 'reason', cell: (t) => t.reason },
            { title: 'by', cell: (t) => t.by ?? 'the learning loop' },
          ], history) : null);
      }));
      if (l.categories.length === 0) clear(out, h('p', { class: 'muted' }, 'Nothing learnt yet for this agent.'));
    }

    clear(body, h('label', {}, 'agent ', agent), out);
    return { async refresh() { await agents(); await show(); } };
  },
};
