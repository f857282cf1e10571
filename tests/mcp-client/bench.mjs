// The MCP overhead on recall: the same query as a `recall` tool call (official TypeScript SDK, Streamable HTTP)
// and as POST /recall (plain fetch), alternating, in one run against one server. Prints p50/p95 of each.
//
//   MCP_URL=http://127.0.0.1:5080 MCP_KEY=ak_... node tests/mcp-client/bench.mjs [calls=200]
//
// Seeds 200 memories of its own subject first (POST /memories/batch), waits for them to be recallable, warms
// both paths up, then measures. Bounded: 2 x calls requests.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const base = process.env.MCP_URL;
const headers = { Authorization: `Bearer ${process.env.MCP_KEY}`, "Content-Type": "application/json" };
const calls = Number(process.argv[2] ?? 200);
const subject = `bench-${Date.now()}`;
const topics = ["tea", "coffee", "trains", "databases", "gardening", "chess", "jazz", "hiking", "pasta", "rust"];

const seeded = await fetch(`${base}/memories/batch`, {
  method: "POST", headers,
  body: JSON.stringify({ memories: Array.from({ length: 200 }, (_, i) => ({
    content: `note ${i}: the user mentioned ${topics[i % 10]} and ${topics[(i * 7) % 10]} on day ${i}`,
    subject, agent: "bench", kind: "fact",
  })) }),
}).then((r) => r.json());
const query = { query: "what does the user say about tea and chess", subject, limit: 10, minSequence: seeded.sequence };

const client = new Client({ name: "aetherra-bench", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", base), { requestInit: { headers: { Authorization: headers.Authorization } } }));

const viaMcp = async () => {
  const r = await client.callTool({ name: "recall", arguments: query });
  if (r.isError) throw new Error(r.content[0].text);
  return r.structuredContent.results.length;
};
const viaHttp = async () => {
  const r = await fetch(`${base}/recall`, { method: "POST", headers, body: JSON.stringify(query) });
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return (await r.json()).results.length;
};

for (let i = 0; ; i++) { // read-your-writes, then warm-up
  try { await viaHttp(); break; } catch (e) { if (i > 30) throw e; }
}
for (let i = 0; i < 20; i++) { await viaMcp(); await viaHttp(); }

const time = async (f) => { const t = process.hrtime.bigint(); await f(); return Number(process.hrtime.bigint() - t) / 1e6; };
const mcp = [], http = [];
for (let i = 0; i < calls; i++) {
  if (i % 2 === 0) { mcp.push(await time(viaMcp)); http.push(await time(viaHttp)); }
  else { http.push(await time(viaHttp)); mcp.push(await time(viaMcp)); }
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]; };
const row = (name, xs) => `${name.padEnd(22)} p50 ${pct(xs, 0.5).toFixed(2).padStart(7)} ms   p95 ${pct(xs, 0.95).toFixed(2).padStart(7)} ms`;
console.log(`${calls} calls each, alternating, 10 results of 200 memories`);
console.log(row("recall tool (MCP)", mcp));
console.log(row("POST /recall (HTTP)", http));
console.log(`p95 difference: ${(pct(mcp, 0.95) - pct(http, 0.95)).toFixed(2)} ms`);
await client.close();
