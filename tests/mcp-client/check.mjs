// An independent MCP client: the official TypeScript SDK lists Aetherra's tools and calls some of them over
// Streamable HTTP, as the key in MCP_KEY, against the server at MCP_URL (its /mcp endpoint). It prints one JSON
// object on stdout for McpTypeScriptClientTests to check; any failure exits non-zero with the reason on stderr.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL("/mcp", process.env.MCP_URL);
const transport = new StreamableHTTPClientTransport(url, {
  requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_KEY}` } },
});
const client = new Client({ name: "aetherra-ts-check", version: "1.0.0" });
await client.connect(transport);

const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
const call = async (name, args) => {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${text(result)}`);
  return result;
};

const tools = (await client.listTools()).tools;
const remembered = await call("remember", {
  content: "the TypeScript client was here", subject: "ts-check", agent: "node", kind: "observation", tags: ["sdk"],
});
const id = remembered.structuredContent.id;
const read = await call("get_memory", { id });

// Recall reads an async projection: ask with the write's sequence, again while it is not there yet (bounded).
let recalled;
for (let attempt = 0; ; attempt++) {
  const result = await client.callTool({
    name: "recall", arguments: { query: "typescript client", subject: "ts-check", minSequence: remembered.structuredContent.sequence },
  });
  if (!result.isError) { recalled = result; break; }
  if (attempt >= 20 || !text(result).startsWith("Read model not yet consistent")) throw new Error(`recall failed: ${text(result)}`);
}

// A conversation: started, a turn logged, a reply grounded in the memory above (no provider: the memory quoted, cited).
const conversation = (await call("start_conversation", { subject: "ts-check", agent: "node", extraction: false })).structuredContent.id;
const turn = (await call("record_turn", { id: conversation, role: "user", content: "hello from TypeScript" })).structuredContent.turn;
const reply = (await call("reply", {
  id: conversation, message: "what about the TypeScript client?", minSequence: remembered.structuredContent.sequence,
})).structuredContent;

const refused = await client.callTool({ name: "get_memory", arguments: { id: "not-a-uuid" } });
const stranger = await client.callTool({ name: "get_memory", arguments: { id: "01900000-0000-7000-8000-000000000000" } });

console.log(JSON.stringify({
  tools: tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint ?? null, destructive: t.annotations?.destructiveHint ?? null })),
  id,
  content: read.structuredContent.content,
  actorText: text(remembered),
  recalled: recalled.structuredContent.results.map((r) => r.id),
  conversation: { turn, replyTurn: reply.turn, generated: reply.generated, cited: reply.citations.map((c) => c.memoryId) },
  refused: { isError: refused.isError === true, text: text(refused) },
  notFound: { isError: stranger.isError === true, text: text(stranger) },
}));
await client.close();
