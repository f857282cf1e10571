import { api, session } from '../api.js';
import { h, clear, time, num, table } from '../dom.js';

// Recall for a subject, a memory's version history, forgetting a memory or a whole subject (each confirmed first).
export default {
  id: 'memories',
  title: 'Memories',
  scopes: ['memory:read'],
  pollMs: 15000,
  mount(body, ctx) {
    const subject = h('input', { id: 'subject', type: 'text', placeholder: 'subject', required: true });
    const query = h('input', { id: 'query', type: 'text', placeholder: 'what to recall (defaults to the subject)' });
    const results = h('div', { id: 'recall-results' });
    const detail = h('div', { id: 'memory-detail' });
    const subjectActions = h('div', { class: 'actions' });
    let last = null;

    async function recall() {
      if (!subject.value.trim()) return;
      last = { query: query.value.trim() || subject.value.trim(), subject: subject.value.trim(), limit: 25 };
      await show();
    }

    async function show() {
      if (!last) return;
      const r = await api('/recall', { method: 'POST', body: last });
      clear(results, h('p', { class: 'muted' }, `${r.results.length} memories of ${last.subject} (${r.tookMs} ms)`),
        table([
          { title: 'score', cell: (m) => num(m.score) },
          { title: 'content', cell: (m) => m.content },
          { title: 'version', cell: (m) => m.version },
          { title: 'occurred', cell: (m) => time(m.occurredAt) },
          { title: '', cell: (m) => h('span', { class: 'actions' },
            h('button', { type: 'button', class: 'history', onclick: () => history(m).catch(ctx.error) }, 'History'),
            session.can('memory:write') ? h('button', { type: 'button', class: 'forget', onclick: () => confirmForget(m) }, 'Forget…') : null) },
        ], r.results, (m) => ({ 'data-memory': m.id })));
      clear(subjectActions, session.can('memory:write')
        ? h('button', { type: 'button', class: 'danger', id: 'forget-subject', onclick: confirmForgetSubject }, `Forget the subject ${last.subject}…`) : null);
    }

    async function history(m) {
      const versions = await api(`/memories/${m.id}/history`);
      clear(detail, h('h3', {}, `History of ${m.id}`),
        table([
          { title: 'version', cell: (v) => v.version },
          { title: 'event', cell: (v) => v.type },
          { title: 'at', cell: (v) => time(v.at) },
          { title: 'by', cell: (v) => v.actor ?? '' },
        ], versions));
    }

    function confirmForget(m) {
      const reason = h('input', { type: 'text', placeholder: 'reason', 'aria-label': 'reason', value: 'forgotten from the console' });
      clear(detail, h('div', { class: 'confirm', role: 'alertdialog' },
        h('p', {}, 'Forget this memory? Its content stops being readable; the audit keeps that it existed.'),
        h('blockquote', {}, m.content), reason,
        h('button', { type: 'button', class: 'danger', id: 'confirm-forget', onclick: async () => {
          try {
            await api(`/memories/${m.id}?reason=${encodeURIComponent(reason.value)}`, { method: 'DELETE' });
            clear(detail, h('p', { class: 'ok', id: 'forgotten' }, `Forgot ${m.id}.`));
            await show();
          } catch (e) { ctx.error(e); }
        } }, 'Forget it'),
        h('button', { type: 'button', onclick: () => clear(detail) }, 'Cancel')));
    }

    function confirmForgetSubject() {
      const name = last.subject;
      const typed = h('input', { type: 'text', placeholder: `type ${name} to confirm`, 'aria-label': 'confirm subject', id: 'confirm-subject' });
      clear(detail, h('div', { class: 'confirm', role: 'alertdialog' },
        h('p', {}, `Forget every memory of ${name}? The subject's key is destroyed: this cannot be undone.`), typed,
        h('button', { type: 'button', class: 'danger', id: 'confirm-forget-subject', onclick: async () => {
          if (typed.value !== name) { ctx.error(new Error(`type ${name} exactly to confirm`)); return; }
          try {
            const r = await api(`/subjects/${encodeURIComponent(name)}`, { method: 'DELETE' });
            clear(detail, h('p', { class: 'ok' }, `Forgot ${r.memoriesForgotten} memories of ${name}.`));
            await show();
          } catch (e) { ctx.error(e); }
        } }, 'Forget the subject'),
        h('button', { type: 'button', onclick: () => clear(detail) }, 'Cancel')));
    }

    clear(body,
      h('form', { class: 'row', id: 'recall-form', onsubmit: (e) => { e.preventDefault(); recall().then(ctx.refreshed, ctx.error); } },
        subject, query, h('button', { type: 'submit' }, 'Recall')),
      results, subjectActions, detail);
    return { refresh: show };
  },
};
