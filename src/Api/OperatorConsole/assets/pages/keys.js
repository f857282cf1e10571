import { api, session } from '../api.js';
import { h, clear } from '../dom.js';

const SCOPES = ['memory:read', 'memory:write', 'decisions:read', 'decisions:write', 'decisions:approve', 'plugins:read',
  'plugins:invoke', 'plugins:admin', 'audit:read', 'homeostasis:read', 'events:read', 'admin', 'operator'];

// Create a key with scopes (its secret is shown once), revoke a key by id. Nothing here lists secrets.
export default {
  id: 'keys',
  title: 'Keys',
  scopes: ['admin'],
  mount(body, ctx) {
    const name = h('input', { id: 'key-name', type: 'text', placeholder: 'name', required: true });
    const tenant = h('input', { id: 'key-tenant', type: 'text', value: session.whoami.tenant, required: true });
    const boxes = SCOPES.filter((s) => session.can(s)).map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: s }), s));
    const created = h('div', { id: 'created' });
    const revokeId = h('input', { id: 'revoke-id', type: 'text', placeholder: 'key id' });
    const revoked = h('p', { id: 'revoked' });

    async function create(e) {
      e.preventDefault();
      const scopes = boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value);
      const k = await api('/admin/keys', { method: 'POST', body: { name: name.value, tenant: tenant.value, scopes } });
      clear(created, h('div', { class: 'confirm' },
        h('p', {}, `Key ${k.id} for tenant ${k.tenant} (${k.scopes.join(' ')}). Copy it now: it is not shown again.`),
        h('code', { class: 'secret', id: 'new-key' }, k.key),
        h('p', {}, h('button', { type: 'button', onclick: () => { revokeId.value = k.id; } }, 'Revoke this one…'))));
      ctx.refreshed();
    }

    async function revoke(e) {
      e.preventDefault();
      if (revokeId.value === session.whoami.keyId && !confirm('This is the key you are signed in with. Revoke it?')) return;
      await api(`/admin/keys/${encodeURIComponent(revokeId.value.trim())}`, { method: 'DELETE' });
      revoked.textContent = `Revoked ${revokeId.value}: it stops working at once.`;
      revokeId.value = '';
      ctx.refreshed();
    }

    clear(body,
      h('h3', {}, 'Create a key'),
      h('form', { id: 'create-key', onsubmit: (e) => create(e).catch(ctx.error) },
        h('div', { class: 'row' }, h('label', {}, 'name ', name), h('label', {}, 'tenant ', tenant)),
        h('fieldset', {}, h('legend', {}, 'scopes'), boxes),
        h('button', { type: 'submit' }, 'Create')),
      created,
      h('h3', {}, 'Revoke a key'),
      h('form', { class: 'row', id: 'revoke-key', onsubmit: (e) => revoke(e).catch(ctx.error) }, revokeId, h('button', { type: 'submit', class: 'danger' }, 'Revoke')),
      revoked,
      h('p', { class: 'muted' }, `You are signed in with key ${session.whoami.keyId}.`));
    return {};
  },
};
