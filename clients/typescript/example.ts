// Record a memory and recall it with the generated types (aetherra.d.ts, from `npm run generate`).
// AETHERRA_URL (default http://127.0.0.1:5080) and AETHERRA_KEY (a key with memory:read and memory:write).
import createClient from "openapi-fetch";
import type { paths } from "./aetherra.js";

declare const process: { env: Record<string, string | undefined> }; // Node's, without @types/node

const aetherra = createClient<paths>({
  baseUrl: process.env.AETHERRA_URL ?? "http://127.0.0.1:5080",
  headers: { Authorization: `Bearer ${process.env.AETHERRA_KEY}` },
});

const recorded = await aetherra.POST("/memories", {
  body: { content: "Alice prefers green tea", subject: "alice", agent: "assistant", kind: "preference" },
});
if (!recorded.data) throw new Error(`record: ${recorded.response.status} ${JSON.stringify(recorded.error)}`);

// The read model follows a write a moment later: recall waits for minSequence up to 5 s, then answers 503
// with Retry-After, and a client asks again.
const recall = () => aetherra.POST("/recall", {
  body: { query: "what does Alice like to drink?", subject: "alice", minSequence: recorded.data.sequence },
});
let recalled = await recall();
for (let attempt = 1; recalled.response.status === 503 && attempt < 10; attempt++) {
  await new Promise((resolve) => setTimeout(resolve, 1000 * Number(recalled.response.headers.get("Retry-After") ?? 1)));
  recalled = await recall();
}
if (!recalled.data) throw new Error(`recall: ${recalled.response.status} ${JSON.stringify(recalled.error)}`);
console.log(recalled.data.results[0]?.content);
