// The audit log checked in the browser, with WebCrypto only: an auditor need not trust the server's verifier.
// Checkpoint: a C2SP signed note (Ed25519); inclusion: RFC 9162 §2.1.3.2 over SHA-256 with 0x00/0x01 prefixes.
const enc = new TextEncoder();

export const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
export const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (...parts) => new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

/** RFC 9162 §2.1.3.2: the root the proof leads to from the leaf, or null when the proof is malformed. */
export async function rootFromInclusion(index, size, leafHash, proof) {
  if (index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/**
 * Opens a signed note: the checkpoint {origin, treeSize, root} when a signature line by origin's key verifies
 * over the body; otherwise throws saying why.
 */
export async function openCheckpoint(note, origin, publicKey) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const keyId = (await sha256(enc.encode(origin), Uint8Array.of(0x0a, 0x01), publicKey)).slice(0, 4);
  const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  let signed = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith('\u2014 ')) throw new Error('a signature line does not start with an em dash');
    const [name, sig] = line.slice(2).split(' ');
    if (name !== origin || !sig) continue;
    const blob = b64(sig);
    if (blob.length !== 68 || !equal(blob.slice(0, 4), keyId)) continue;
    signed ||= await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), enc.encode(body));
  }
  if (!signed) throw new Error(`no valid Ed25519 signature by ${origin} on the checkpoint`);
  const [o, size, root] = body.slice(0, -1).split('\n');
  const rootHash = b64(root);
  if (!/^\d+$/.test(size) || rootHash.length !== 32) throw new Error('the checkpoint body is malformed');
  return { origin: o, treeSize: Number(size), root: rootHash };
}

/**
 * Fetches the public key, the latest checkpoint and an inclusion proof of the event at `sequence` in that
 * tree, and checks both: answers {ok, steps: [text], checkpoint, proof}; never throws for a bad proof.
 */
export async function verifyInBrowser(api, sequence) {
  const steps = [];
  try {
    const { origin, publicKey } = await api('/audit/public-key');
    const pk = b64(publicKey);
    steps.push(`public key of ${origin}: ${hex(pk).slice(0, 16)}…`);
    const note = await api('/audit/checkpoint', { text: true });
    const checkpoint = await openCheckpoint(note, origin, pk);
    steps.push(`checkpoint signature valid (Ed25519): tree size ${checkpoint.treeSize}, root ${hex(checkpoint.root).slice(0, 16)}…`);
    const proof = await api(`/audit/proof/inclusion?sequence=${encodeURIComponent(sequence)}&treeSize=${checkpoint.treeSize}`);
    if (proof.treeSize !== checkpoint.treeSize) throw new Error(`the proof is for tree size ${proof.treeSize}, not ${checkpoint.treeSize}`);
    const root = await rootFromInclusion(proof.leafIndex, proof.treeSize, b64(proof.leafHash), proof.hashes.map(b64));
    if (!root) throw new Error('the inclusion proof is malformed');
    if (!equal(root, checkpoint.root)) throw new Error(`the inclusion proof leads to root ${hex(root).slice(0, 16)}…, not the signed root`);
    steps.push(`event ${sequence} is leaf ${proof.leafIndex} (${proof.hashes.length} hashes on its path): the path leads to the signed root`);
    return { ok: true, steps, checkpoint, proof };
  } catch (e) {
    steps.push(String(e.message ?? e));
    return { ok: false, steps };
  }
}
