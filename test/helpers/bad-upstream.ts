import { callText, startRelay } from './relay.ts';

/** What the misbehaving upstream does with a tools/call whose `arguments.text` names a mode. */
export type Misbehaviour = 'garbage' | 'hangup';

export interface BadUpstream {
  url: string;
  /** tools/call requests that reached it with a misbehaviour mode (to prove the proxy really forwarded them). */
  misbehaved: Misbehaviour[];
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of a real sample upstream that behaves until asked not to: every request
 * (server/discover, initialize, lists, normal calls) is relayed to `target` unchanged, but a
 * tools/call with `arguments.text` = "garbage" is answered `200 application/json` with `not json`,
 * and one with "hangup" gets SSE headers and then a destroyed socket (a crash mid-stream).
 */
export async function startBadUpstream(target: string): Promise<BadUpstream> {
  const misbehaved: Misbehaviour[] = [];
  const relay = await startRelay(target, (body, res, forward) => {
    const mode = modeOf(body);
    if (mode) misbehaved.push(mode);
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('not json');
      return;
    }
    if (mode === 'hangup') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    forward();
  });
  return { ...relay, misbehaved };
}

function modeOf(body: Buffer): Misbehaviour | undefined {
  const text = callText(body);
  return text === 'garbage' || text === 'hangup' ? text : undefined;
}
