import { api, qs } from '../api.js';
import { h, clear, time, table } from '../dom.js';
import { verifyInBrowser } from '../verify.js';

// The audit timeline (GET /audit and its filters), one request's records, the latest signed checkpoint, and
// "verify in this browser": the checkpoint's signature and an event's inclusion proof checked with WebCrypto.
export default {
  id: 'audit',
  title: 'Audit',
  scopes: ['audit:read'],
  mount(body, ctx) {
    const field = (name, placeholder, type = 'text') => h('input', { name, placeholder, type, 'aria-label': name });
    const f = {
      actor: field('actor', 'actor (key id)'), action: field('action', 'action'), stream: field('stream', 'stream / target'),
      from: field('from', 'from', 'datetime-local'), to: field('to', 'to', 'datetime-local'), requestId: field('requestId', 'request id'),
    };
    const timeline = h('div', { id: 'timeline' });
    const checkpoint = h('pre', { id: 'checkpoint', class: 'note' });
    const sequence = h('input', { id: 'verify-sequence', type: 'number', min: 1, placeholder: 'event sequence', 'aria-label': 'sequence' });
    const verdict = h('div', { id: 'verdict', 'aria-live': 'polite' });
    let after = null;

    const iso = (v) => (v ? new Date(v).toISOString() : undefined);

    async function load() {
      const page = await api(`/audit${qs({ actor: f.actor.value, action: f.action.value, stream: f.stream.value,
        from: iso(f.from.value), to: iso(f.to.value), after, limit: 200 })}`);
      const wanted = f.requestId.value.trim();
      const records = wanted ? page.records.filter((r) => r.requestId === wanted) : page.records;
      if (!sequence.value && records.length) sequence.value = records[records.length - 1].sequence;
      clear(timeline,
        table([
          { title: 'seq', cell: (r) => h('a', { href: '#/audit', onclick: (e) => { e.preventDefault(); sequence.value = r.sequence; } }, r.sequence) },
          { title: 'at', cell: (r) => time(r.at) },
          { title: 'action', cell: (r) => r.action },
          { title: 'outcome', cell: (r) => h('span', { class: `tag ${r.outcome}` }, `${r.outcome} ${r.status}`) },
          { title: 'target', cell: (r) => r.target ?? '' },
          { title: 'actor', cell: (r) => r.actor },
          { title: 'reason', cell: (r) => r.reason ?? '' },
          { title: 'request', cell: (r) => h('a', { href: '#/audit', title: 'only this request', onclick: (e) => { e.preventDefault(); f.requestId.value = r.requestId; load().catch(ctx.error); } }, r.requestId.slice(0, 8)) },
        ], records),
        page.next ? h('button', { type: 'button', onclick: () => { after = page.next; load().then(ctx.refreshed, ctx.error); } }, 'Next page') : null,
        after ? h('button', { type: 'button', onclick: () => { after = null; load().then(ctx.refreshed, ctx.error); } }, 'First page') : null);
      checkpoint.textContent = await api('/audit/checkpoint', { text: true }).catch((e) => `no checkpoint: ${e.message}`);
    }

    async function verify() {
      clear(verdict, h('p', { class: 'muted' }, 'verifying…'));
      const r = await verifyInBrowser(api, sequence.value);
      clear(verdict,
        h('p', { class: r.ok ? 'ok verdict' : 'error verdict', id: 'verdict-text' },
          r.ok ? `Valid: event ${sequence.value} is in the log signed at tree size ${r.checkpoint.treeSize}.` : 'Invalid: the proof does not check out.'),
        h('ol', {}, r.steps.map((s) => h('li', {}, s))));
    }

    clear(body,
      h('form', { class: 'row', id: 'audit-filters', onsubmit: (e) => { e.preventDefault(); after = null; load().then(ctx.refreshed, ctx.error); } },
        Object.values(f), h('button', { type: 'submit' }, 'Filter')),
      h('div', { class: 'split' },
        h('div', {}, h('h3', {}, 'Timeline'), timeline),
        h('aside', {},
          h('h3', {}, 'Latest signed checkpoint'), checkpoint,
          h('h3', {}, 'Verify in this browser'),
          h('p', { class: 'muted' }, 'Fetches the public key, the checkpoint and an inclusion proof, and checks the Ed25519 signature and the SHA-256 Merkle path here, with WebCrypto.'),
          h('div', { class: 'row' }, sequence, h('button', { type: 'button', id: 'verify', onclick: () => verify().catch(ctx.error) }, 'Verify in this browser')),
          verdict)));
    return { refresh: load };
  },
};
