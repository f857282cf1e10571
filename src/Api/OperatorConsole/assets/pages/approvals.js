import { api, session, qs } from '../api.js';
import { h, clear, time, num } from '../dom.js';

// The approval queue: escalated decisions, oldest first (GET /decisions?status=escalated pages in proposal order).
export default {
  id: 'approvals',
  title: 'Approval queue',
  scopes: ['decisions:read'],
  mount(body, ctx) {
    const list = h('div', { class: 'cards', id: 'queue' });
    const count = h('p', { class: 'muted', id: 'queue-count' });
    clear(body, count, list);
    const cards = new Map();

    async function review(id, verdict, note, card) {
      card.classList.add('busy');
      try {
        await api(`/decisions/${id}/${verdict}`, { method: 'POST', body: { note: note || undefined } });
        card.remove();
        cards.delete(id);
        count.textContent = `${cards.size} waiting`;
        ctx.refreshed();
      } catch (e) {
        card.classList.remove('busy');
        ctx.error(e);
      }
    }

    function render(d) {
      const note = h('input', { type: 'text', placeholder: 'note (optional)', 'aria-label': 'note', class: 'note' });
      const above = d.threshold !== null && d.confidence >= d.threshold;
      const card = h('article', { class: `card risk-${d.risk}`, 'data-decision': d.id },
        h('header', {}, h('strong', {}, d.action), ' ', h('span', { class: `tag risk-${d.risk}` }, `${d.risk} risk`)),
        h('p', { class: 'muted' }, `${d.agent} · ${d.category} · proposed ${time(d.proposedAt)}`),
        h('p', { class: 'rationale' }, d.rationale),
        h('div', { class: 'gauge', title: 'confidence against the threshold in force' },
          h('meter', { min: 0, max: 1, value: d.confidence }),
          h('span', {}, `confidence ${num(d.confidence)} ${above ? '≥' : '<'} threshold ${num(d.threshold)}`)),
        d.escalationReason ? h('p', { class: 'muted' }, `escalated: ${d.escalationReason}`) : null,
        d.evidence.length === 0 ? h('p', { class: 'muted' }, 'no memories cited') :
          h('ul', { class: 'evidence' }, d.evidence.map((e) => h('li', {},
            h('code', {}, `${e.memoryId.slice(0, 8)} v${e.version}`), ' ',
            e.withheld ? h('em', {}, 'withheld (the key lacks memory:read)')
              : e.forgotten ? h('em', {}, 'forgotten since')
                : e.content))),
        session.can('decisions:approve') ? h('div', { class: 'actions' }, note,
          h('button', { type: 'button', class: 'approve', onclick: () => review(d.id, 'approve', note.value, card) }, 'Approve'),
          h('button', { type: 'button', class: 'reject', onclick: () => review(d.id, 'reject', note.value, card) }, 'Reject')) : null);
      return card;
    }

    return {
      async refresh() {
        const page = await api(`/decisions${qs({ status: 'escalated', limit: 200 })}`);
        const ids = new Set(page.items.map((d) => d.id));
        for (const [id, card] of cards) if (!ids.has(id)) { card.remove(); cards.delete(id); }
        // Details of new ones only: a card being read (or a note being typed) is left as it is.
        const fresh = await Promise.all(page.items.filter((d) => !cards.has(d.id)).map((d) => api(`/decisions/${d.id}`)));
        // Newer than every card shown, so appended: moving a card would take the focus from a note being typed.
        for (const d of fresh) { const card = render(d); cards.set(d.id, card); list.append(card); }
        count.textContent = cards.size === 0 ? 'Nothing waiting for approval.' : `${cards.size} waiting`;
      },
    };
  },
};
