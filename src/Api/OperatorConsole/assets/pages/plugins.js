import { api } from '../api.js';
import { h, clear, num, table } from '../dom.js';

export default {
  id: 'plugins',
  title: 'Plugins',
  scopes: ['plugins:read'],
  mount(body) {
    const out = h('div', { id: 'plugins' });
    clear(body, out);
    return {
      async refresh() {
        const { items } = await api('/plugins');
        clear(out, items.length === 0 ? h('p', { class: 'muted' }, 'No plugin registered.') : table([
          { title: 'plugin', cell: (p) => `${p.name} ${p.version}` },
          { title: 'category', cell: (p) => p.category },
          { title: 'status', cell: (p) => h('span', { class: `tag ${p.status}` }, p.status) },
          { title: 'calls', cell: (p) => p.invocations },
          { title: 'success', cell: (p) => num(p.successRate) },
          { title: 'p50 ms', cell: (p) => num(p.p50Ms, 0) },
          { title: 'p95 ms', cell: (p) => num(p.p95Ms, 0) },
          { title: 'last error', cell: (p) => p.lastError ?? '' },
        ], items));
      },
    };
  },
};
