import { readFileSync } from 'node:fs';
import pino from 'pino';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { PiiEntity } from '../../src/config/schema.ts';

export interface Planted {
  entity: PiiEntity;
  value: string;
  text: string;
  /** The value is PII only with the words around it (nine bare digits after "SSN:"). */
  needsContext?: boolean;
}

const CORPUS = new URL('../fixtures/pii-corpus/', import.meta.url);
const FILES = ['emails', 'phones', 'cards', 'ssns', 'ibans', 'ips', 'aws-keys'];

/** The evaluation corpus (test/fixtures/pii-corpus): every entity type, in sentences of many scripts. */
export function plantedCorpus(): Planted[] {
  return FILES.flatMap(
    (f) => JSON.parse(readFileSync(new URL(`${f}.json`, CORPUS), 'utf8')).items as Planted[],
  );
}

/**
 * Tool arguments that hide each planted value several ways: in running text, nested objects and
 * arrays, a sentence around it, and once as an object key.
 */
export function argumentsFor(items: Planted[]): Record<string, unknown> {
  const alone = (i: Planted) => (i.needsContext ? i.text : i.value);
  const args: Record<string, unknown> = {
    text: items.map((i) => i.text).join('\n'),
    nested: {
      level: { deeper: items.map((i) => ({ value: alone(i), note: `see ${alone(i)} (${i.entity})` })) },
    },
    list: [[items.map(alone)]],
  };
  if (items[0]) args[alone(items[0])] = 'a value as an object key';
  return args;
}

const ascii = (s: string) =>
  s.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Every planted value found in `haystack`: raw, JSON-escaped, \u-escaped, or (numbers) without separators. */
export function leaked(haystack: string, items: readonly Pick<Planted, 'entity' | 'value'>[]): string[] {
  return items
    .filter((i) => {
      const forms = new Set([
        i.value,
        JSON.stringify(i.value).slice(1, -1),
        ascii(JSON.stringify(i.value).slice(1, -1)),
      ]);
      if ([...forms].some((f) => haystack.includes(f))) return true;
      if (!['CREDIT_CARD', 'IBAN', 'SSN'].includes(i.entity)) return false;
      // The separator-free form as a value of its own: not the digits of a float such as a metric sum
      // (0.0018999999999 once "leaked" the SSN 899-99-9999).
      const bare = i.value.replace(/[ -]/g, '');
      return new RegExp(`(?<![\\d.])${bare}(?!\\d)`).test(haystack);
    })
    .map((i) => i.value);
}

/** The proxy in this process with a logger at trace level whose every line is kept, for leak checks. */
export async function startLoggedProxy(
  raw: Record<string, unknown>,
): Promise<{ app: App; url: string; logs: () => string }> {
  const parsed = parseConfig({
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    audit: { sink: 'off' },
    ...raw,
  });
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.problems)}`);
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
  const app = await createApp(parsed.config, { log, upstreamWaitMs: 10_000 });
  const url = await app.listen(0, '127.0.0.1');
  return { app, url, logs: () => lines.join('') };
}
