import type { PiiEntity } from '../../config/schema.ts';

/**
 * A token names its entity and carries 64 bits of the keyed hash of the value, so it reads as what it
 * replaced (`<EMAIL_3f9a1c0b7d2e4a61>`), joins like the value within one caller's scope, and says
 * nothing about the value to anyone without the vault.
 */
export { TOKEN_ID_HEX } from '../../store/vault.ts';
export const TOKEN = /<(EMAIL|PHONE|CREDIT_CARD|SSN|IBAN|IP_ADDRESS|AWS_ACCESS_KEY)_([0-9a-f]{16})>/g;

export function token(entity: PiiEntity, id: string): string {
  return `<${entity}_${id}>`;
}

/** The irreversible replacement of `redact` mode and of masked upstream values. */
export function mask(entity: PiiEntity): string {
  return `<${entity}_REDACTED>`;
}

/** `[start, end)` of every token in `text`; empty when there is none. */
export function tokenSpans(text: string): { start: number; end: number; entity: PiiEntity; id: string }[] {
  if (!text.includes('<')) return [];
  const spans = [];
  for (const m of text.matchAll(TOKEN))
    spans.push({ start: m.index, end: m.index + m[0].length, entity: m[1] as PiiEntity, id: m[2]! });
  return spans;
}
