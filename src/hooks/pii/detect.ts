import type { PiiEntity } from '../../config/schema.ts';
import {
  findAwsKeys,
  findCards,
  findEmails,
  findIbans,
  findIps,
  findSsns,
  type PiiMatch,
  type Push,
} from './finders.ts';
import { findPhones } from './phone.ts';
import { tokenSpans } from './tokens.ts';

export type { PiiMatch };

const FINDERS: Record<PiiEntity, (text: string, push: Push) => void> = {
  AWS_ACCESS_KEY: findAwsKeys,
  EMAIL: findEmails,
  IBAN: findIbans,
  CREDIT_CARD: findCards,
  IP_ADDRESS: findIps,
  SSN: findSsns,
  PHONE: findPhones,
};
/** When two findings overlap, the more specific one wins (an IBAN holds digits a card finder also sees). */
const PRIORITY: readonly PiiEntity[] = [
  'AWS_ACCESS_KEY',
  'EMAIL',
  'IBAN',
  'CREDIT_CARD',
  'IP_ADDRESS',
  'SSN',
  'PHONE',
];
// Every entity needs a digit, an @, an AWS prefix or an IPv6 "::"; most strings have none of them.
const QUICK = /[\d@]|A[KS]IA|::/;

export type Detector = (text: string) => PiiMatch[];

/** Taken character ranges of one string: linear in the text, however many findings it holds. */
export class Spans {
  private taken: Uint8Array | undefined;
  constructor(private readonly length: number) {}

  overlaps(start: number, end: number): boolean {
    if (!this.taken) return false;
    for (let i = start; i < end; i++) if (this.taken[i]) return true;
    return false;
  }

  add(start: number, end: number): void {
    this.taken ??= new Uint8Array(this.length);
    this.taken.fill(1, start, end);
  }
}

/** A detector for the configured entities: the non-overlapping findings of one string, in order. */
export function createDetector(entities: readonly PiiEntity[]): Detector {
  const finders = PRIORITY.filter((e) => entities.includes(e)).map((e) => FINDERS[e]);
  return (text) => {
    if (text.length < 3 || !QUICK.test(text)) return [];
    const found: PiiMatch[] = [];
    const push: Push = (entity, start, end) => {
      if (end > start) found.push({ entity, start, end });
    };
    for (const find of finders) find(text, push);
    if (found.length === 0) return found;
    // Tokens and masks already in the text are not PII (their hex ids can look like digits).
    const taken = new Spans(text.length);
    for (const t of tokenSpans(text)) taken.add(t.start, t.end);
    const rank = (m: PiiMatch) => PRIORITY.indexOf(m.entity);
    found.sort((a, b) => rank(a) - rank(b) || b.end - b.start - (a.end - a.start));
    const kept: PiiMatch[] = [];
    for (const m of found) {
      if (taken.overlaps(m.start, m.end)) continue;
      taken.add(m.start, m.end);
      kept.push(m);
    }
    return kept.sort((a, b) => a.start - b.start);
  };
}
