import { api } from '../api.js';
import { h, clear, table } from '../dom.js';

// Projections with their lag and status; a rebuild runs as a job whose progress is polled into a bar.
export default {
  id: 'projections',
  title: 'Projections',
  scopes: ['admin'],
  mount(body, ctx) {
    const out = h('div', { id: 'projections' });
    const jobs = h('div', { id: 'jobs' });
    const running = new Map();

    async function rebuild(name) {
      const { jobId } = await api(`/admin/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', body: {} });
      const bar = h('progress', { max: 1, value: 0 });
      const text = h('span', {}, 'starting');
      const row = h('p', { class: 'job', 'data-job': jobId }, `${name} rebuild `, bar, ' ', text);
      jobs.prepend(row);
      running.set(jobId, { bar, text, row });
      await poll();
    }

    async function poll() {
      for (const [id, { bar, text, row }] of running) {
        const j = await api(`/admin/jobs/${id}`);
        bar.max = Math.max(1, j.total ?? 1);
        bar.value = j.processed ?? 0;
        text.textContent = `${j.status}: ${j.processed ?? 0} / ${j.total ?? '?'}${j.error ? ` — ${j.error}` : ''}`;
        if (j.status !== 'running') { running.delete(id); row.classList.add(j.status); }
      }
    }

    clear(body, out, h('h3', {}, 'Rebuilds'), jobs);
    const timer = setInterval(() => poll().catch(ctx.error), 1000);
    return {
      dispose: () => clearInterval(timer),
      async refresh() {
        const list = await api('/admin/projections');
        clear(out, table([
          { title: 'projection', cell: (p) => p.name },
          { title: 'lifecycle', cell: (p) => p.lifecycle },
          { title: 'position', cell: (p) => p.position },
          { title: 'lag', cell: (p) => p.lag },
          { title: 'status', cell: (p) => h('span', { class: `tag ${p.status}` }, p.status) },
          { title: '', cell: (p) => (p.lifecycle === 'async'
            ? h('button', { type: 'button', onclick: () => rebuild(p.name).catch(ctx.error) }, 'Rebuild') : '') },
        ], list, (p) => ({ 'data-projection': p.name })));
      },
    };
  },
};
