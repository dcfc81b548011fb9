/**
 * The shared assertion suite: one check per feature, run identically against an upstream directly
 * and through the proxy. A dialect maps each feature to the tool, prompt or resource a kind of
 * upstream offers for it (our fixtures, or server-everything's own names).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { ANSWER_NAME, MODEL_SAYS, type TestClient, type ToolResult } from './clients.ts';

export const FEATURES = [
  'text',
  'structured',
  'binary',
  'progress',
  'cancel',
  'toolError',
  'prompt',
  'resource',
  'subscribe',
  'elicit',
  'sample',
  'listChanged',
] as const;
export type Feature = (typeof FEATURES)[number];

type Args = Record<string, unknown>;
interface ToolUse {
  tool: string;
  args: Args;
}
export interface Dialect {
  /**
   * Features checked alone (nothing else of the row in flight): input requests, which a proxy may
   * relay only while one call is in flight, and server-everything's per-session update toggle.
   */
  alone: readonly Feature[];
  echo: { tool: string; args: (t: string) => Args; expect: (t: string) => string };
  structured: ToolUse & { expect: Record<string, unknown> };
  image: ToolUse;
  slow: { tool: string; args: (steps: number, delayMs: number) => Args; done: RegExp };
  /** A tool that reports its counts of cancelled slow calls, when the upstream has one. */
  stats?: string;
  fail: ToolUse & { expect: RegExp };
  prompt: { name: string; args: Record<string, string>; expect: string };
  resource: { uri: string; expect: RegExp };
  subscribe: { uri: string; trigger: ToolUse; repeatable: boolean };
  elicit: ToolUse;
  sample: ToolUse;
  listChanged: {
    tool: string;
    args: (name: string) => Args;
    method: string;
    /** The new name shows up in tools/list afterwards. */
    listsTool: boolean;
  };
}

const PNG_SIGNATURE = '89504e470d0a1a0a';
const NOTE_WAIT_MS = 7_000;
const RETRIGGER_MS = 1_000;

/** Whether `seen` turns true within `ms` (polled). */
async function heardWithin(seen: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return seen();
}

const texts = (r: ToolResult) => (r.content ?? []).map((c) => c.text ?? '').join('\n');

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, ms = NOTE_WAIT_MS) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function slowStats(c: TestClient, tool: string): Promise<number> {
  const r = await c.callTool(tool, {});
  return (JSON.parse(texts(r)) as { slowCancelled: number }).slowCancelled;
}

export const CHECKS: Record<Feature, (c: TestClient, d: Dialect) => Promise<void>> = {
  async text(c, d) {
    const sent = `interop ✓ ${c.era}\n  exact`;
    expect(texts(await c.callTool(d.echo.tool, d.echo.args(sent)))).toBe(d.echo.expect(sent));
  },
  async structured(c, d) {
    const r = await c.callTool(d.structured.tool, d.structured.args);
    expect(r.structuredContent).toEqual(d.structured.expect);
  },
  async binary(c, d) {
    const r = await c.callTool(d.image.tool, d.image.args);
    const image = r.content?.find((b) => b.type === 'image');
    expect(image?.mimeType).toBe('image/png');
    expect(
      Buffer.from(image?.data ?? '', 'base64')
        .subarray(0, 8)
        .toString('hex'),
    ).toBe(PNG_SIGNATURE);
  },
  async progress(c, d) {
    const seen: number[] = [];
    const r = await c.callTool(d.slow.tool, d.slow.args(4, 150), {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(texts(r)).toMatch(d.slow.done);
    // SDK clients may drop a last progress that lands in the same read as the result.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
  },
  async cancel(c, d) {
    const before = d.stats ? await slowStats(c, d.stats) : 0;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort('test cancels'), 400);
    const call = c.callTool(d.slow.tool, d.slow.args(100, 50), { signal: abort.signal });
    await expect(call).rejects.toThrow();
    clearTimeout(timer);
    const { stats } = d;
    if (stats)
      await waitFor('the upstream to see the cancellation', async () => (await slowStats(c, stats)) > before);
    // The connection is still usable after a cancelled call.
    expect(texts(await c.callTool(d.echo.tool, d.echo.args('after cancel')))).toBe(
      d.echo.expect('after cancel'),
    );
  },
  async toolError(c, d) {
    const r = await c.callTool(d.fail.tool, d.fail.args);
    expect(r.isError).toBe(true);
    expect(texts(r)).toMatch(d.fail.expect);
  },
  async prompt(c, d) {
    const r = await c.getPrompt(d.prompt.name, d.prompt.args);
    expect(r.messages[0]?.content).toMatchObject({ type: 'text', text: d.prompt.expect });
  },
  async resource(c, d) {
    const r = await c.readResource(d.resource.uri);
    expect(r.contents[0]?.uri).toBe(d.resource.uri);
    expect(r.contents[0]?.text).toMatch(d.resource.expect);
  },
  async subscribe(c, d) {
    const { uri, trigger } = d.subscribe;
    await c.subscribe(uri);
    const seen = () =>
      c.notes.some((n) => n.method === 'notifications/resources/updated' && n.params?.uri === uri);
    await c.callTool(trigger.tool, trigger.args);
    // A 2025 client's GET stream opens in the background after connect: an update sent before it is
    // up is lost, so a repeatable trigger fires again (server-everything's toggle repeats by itself).
    await waitFor(`notifications/resources/updated for ${uri}`, async () => {
      if (!seen() && d.subscribe.repeatable) await c.callTool(trigger.tool, trigger.args);
      return heardWithin(seen, RETRIGGER_MS);
    });
    // A toggle (server-everything) is switched back off for whoever shares the upstream session next.
    if (!d.subscribe.repeatable) await c.callTool(trigger.tool, trigger.args);
  },
  async elicit(c, d) {
    const r = await c.callTool(d.elicit.tool, d.elicit.args);
    expect(r.isError ?? false, `tool error: ${texts(r)}`).toBe(false);
    expect(JSON.stringify(r.content)).toContain(ANSWER_NAME);
  },
  async sample(c, d) {
    const r = await c.callTool(d.sample.tool, d.sample.args);
    expect(r.isError ?? false, `tool error: ${texts(r)}`).toBe(false);
    expect(JSON.stringify(r.content)).toContain(MODEL_SAYS);
  },
  async listChanged(c, d) {
    const { tool, args, method, listsTool } = d.listChanged;
    await c.watchListChanged();
    const name = `dyn_${randomUUID().slice(0, 8)}`;
    const seen = () => c.notes.some((n) => n.method === method);
    // Each trigger is a new change; fire again until one is heard (see subscribe on the GET stream).
    let round = 0;
    await waitFor(method, async () => {
      // The first trigger always fires: a list_changed from another check's change may already be in.
      if (round === 0 || !seen()) await c.callTool(tool, args(round++ === 0 ? name : `${name}_${round}`));
      return heardWithin(seen, RETRIGGER_MS);
    });
    if (listsTool) await waitFor(`${name} in tools/list`, async () => (await c.listTools()).includes(name));
  },
};

/** Runs the given features' checks one after another on one client (the first failure throws). */
export async function runFeatureChecks(
  c: TestClient,
  d: Dialect,
  features: readonly Feature[],
): Promise<void> {
  for (const f of features) await CHECKS[f](c, d);
}
