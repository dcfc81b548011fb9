import fc from 'fast-check';
import { composeIBAN, getCountrySpecifications } from 'ibantools';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.ts';
import { createDetector, createPiiHooks } from '../../src/hooks/pii/index.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryVault } from '../../src/store/memory-vault.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { callContextFor, echoCall } from '../helpers/call-fixtures.ts';

const detect = createDetector([
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'SSN',
  'IBAN',
  'IP_ADDRESS',
  'AWS_ACCESS_KEY',
]);
const RUNS = { numRuns: 300 };

// Text around a value: anything without digits (which would legitimately extend a number), in any
// script, always separated from the value by a space.
const context = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[0-9]/g, ''));
const embed = (value: fc.Arbitrary<string>) =>
  fc.tuple(context, value, context).map(([a, v, b]) => ({ value: v, text: `${a} ${v} ${b}` }));

const caught = (entity: string) => (p: { value: string; text: string }) => {
  const at = p.text.indexOf(p.value);
  const hit = detect(p.text).some(
    (m) => m.entity === entity && m.start <= at && m.end >= at + p.value.length,
  );
  if (!hit) throw new Error(`missed ${entity} in ${JSON.stringify(p.text)}`);
};

function luhnComplete(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d *= 2;
    sum += d > 9 ? d - 9 : d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

const NETWORKS: [prefix: string, lengths: number[]][] = [
  ['4', [13, 16, 19]], // Visa
  ['51', [16]],
  ['55', [16]],
  ['2221', [16]],
  ['2720', [16]], // Mastercard
  ['34', [15]],
  ['37', [15]], // Amex
  ['6011', [16, 19]],
  ['65', [16]], // Discover
  ['3528', [16]],
  ['3589', [16]], // JCB
  ['36', [14]],
  ['300', [14, 16]], // Diners
  ['62', [16, 17, 18, 19]], // UnionPay
  ['6304', [16]], // Maestro
  ['2200', [16]], // Mir
];
const card = fc
  .tuple(
    fc.constantFrom(...NETWORKS),
    fc.nat(),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
  )
  .chain(([[prefix, lengths], pick, digits]) => {
    const length = lengths[pick % lengths.length]!;
    const number = luhnComplete(prefix + digits.join('').slice(0, length - prefix.length - 1));
    return fc.constantFrom(
      number,
      number.replace(/(\d{4})(?=\d)/g, '$1 '),
      number.replace(/(\d{4})(?=\d)/g, '$1-'),
    );
  });

const SPECS = Object.entries(getCountrySpecifications()).filter(([, s]) => s.bban_regexp && s.chars);
const CHARSETS: Record<string, string> = { '0-9': '0123456789', 'A-Z': 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' };
const iban = fc
  .tuple(fc.constantFrom(...SPECS), fc.array(fc.nat(), { minLength: 34, maxLength: 34 }), fc.boolean())
  .map(([[country, spec], randoms, print]) => {
    let bban = '';
    for (const m of spec.bban_regexp!.matchAll(/\[([^\]]+)\]\{(\d+)\}/g)) {
      const set = CHARSETS[m[1]!] ?? `${CHARSETS['0-9']}${CHARSETS['A-Z']}`;
      for (let i = 0; i < Number(m[2]); i++) bban += set[randoms[bban.length]! % set.length];
    }
    const value = composeIBAN({ countryCode: country, bban }) ?? '';
    return print ? value.replace(/(.{4})(?=.)/g, '$1 ') : value;
  })
  // Every mod-97-valid value counts, national check digits right or wrong (most random Belgian, French
  // and Spanish BBANs have wrong ones): a mistyped account number is still a customer's account number.
  .filter((v) => v !== '');

const ssn = fc
  .tuple(
    fc.integer({ min: 1, max: 899 }).filter((a) => a !== 666),
    fc.integer({ min: 1, max: 99 }),
    fc.integer({ min: 1, max: 9999 }),
    fc.constantFrom('-', ' '),
  )
  .map(([a, g, s, sep]) =>
    [String(a).padStart(3, '0'), String(g).padStart(2, '0'), String(s).padStart(4, '0')].join(sep),
  );

describe('PII detector properties', () => {
  it('catches every generated Luhn-valid card, plain, spaced or dashed, in any text', () => {
    fc.assert(fc.property(embed(card), caught('CREDIT_CARD')), RUNS);
  });

  it('catches every generated mod-97-valid IBAN of every registry country, electronic or print format', () => {
    fc.assert(fc.property(embed(iban), caught('IBAN')), RUNS);
  });

  it('catches every generated SSN that follows the SSA rules', () => {
    fc.assert(fc.property(embed(ssn), caught('SSN')), RUNS);
  });
});

const FIXED = ['bob@example.com', '+44 20 7946 0958', '192.0.2.33', 'AKIAIOSFODNN7EXAMPLE', '用户@例子.广告'];
const pii = fc.oneof(card, iban, ssn, fc.constantFrom(...FIXED));
const withPii = fc
  .array(fc.tuple(context, pii), { minLength: 1, maxLength: 6 })
  .map((parts) => ({ values: parts.map(([, v]) => v), text: parts.map(([c, v]) => `${c} ${v} `).join('') }));
const arbitraryText = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  withPii.map((w) => w.text),
);

function hooks(responses: 'off' | 'mask') {
  const vault = new MemoryVault(new VaultCrypto('property-test-vault-key-000'), silentLogger);
  const config = ConfigSchema.parse({ pii: { mode: 'tokenize', responses } }).pii;
  return createPiiHooks(config, { vault, metrics: new Metrics(), log: silentLogger })!;
}
const ctx = callContextFor;
const call = echoCall;

/** What the upstream sees, and what the caller gets back from an upstream echoing it. */
async function roundTrip(h: ReturnType<typeof hooks>, args: Record<string, unknown>, caller = 'alice') {
  const c = ctx(caller);
  const pre = await h.pre.before(call(args), c);
  if (pre.kind === 'reject') throw pre.error;
  const sent = pre.kind === 'mutate' ? pre.value.params.arguments : args;
  const echoed = { content: [{ type: 'text', text: JSON.stringify(sent) }], structuredContent: sent };
  const post = await h.post!.after(call(sent), echoed, c);
  if (post.kind === 'reject') throw post.error;
  return { sent, back: post.kind === 'mutate' ? post.value : echoed };
}

describe('tokenize/detokenize properties', () => {
  const h = hooks('off');
  const masking = hooks('mask');

  it('detokenize(tokenize(x)) = x for arbitrary strings with embedded PII, at any depth', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryText,
        fc.dictionary(fc.string(), arbitraryText, { maxKeys: 3 }),
        async (x, more) => {
          const args = { text: x, nested: { list: [x, more], [x]: 1 } };
          const { back } = await roundTrip(h, args);
          expect(back.structuredContent).toEqual(args);
          expect(back.content).toEqual([{ type: 'text', text: JSON.stringify(args) }]);
        },
      ),
      RUNS,
    );
  });

  it('sends no planted value upstream, and the caller gets every one back, unmasked', async () => {
    await fc.assert(
      fc.asyncProperty(withPii, async ({ values, text }) => {
        const { sent, back } = await roundTrip(masking, { text });
        const wire = JSON.stringify(sent);
        for (const v of values) expect(wire).not.toContain(v);
        expect(back.structuredContent).toEqual({ text });
      }),
      RUNS,
    );
  });

  it("leaves another caller's tokens as tokens", async () => {
    await fc.assert(
      fc.asyncProperty(withPii, async ({ values, text }) => {
        const { sent } = await roundTrip(h, { text }, 'alice');
        const result = { content: [{ type: 'text', text: (sent as { text: string }).text }] };
        const post = await h.post!.after(call(sent), result, ctx('mallory'));
        const seen = JSON.stringify(post.kind === 'mutate' ? post.value : result);
        for (const v of values) expect(seen).not.toContain(v);
      }),
      { numRuns: 100 },
    );
  });
});
