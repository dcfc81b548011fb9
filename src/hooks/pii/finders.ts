import { isIP } from 'node:net';
import {
  electronicFormatIBAN,
  getCountrySpecifications,
  ValidationErrorsIBAN,
  validateIBAN,
} from 'ibantools';
import validator from 'validator';
import type { PiiEntity } from '../../config/schema.ts';

/** One detected value: `[start, end)` in the scanned string. */
export interface PiiMatch {
  entity: PiiEntity;
  start: number;
  end: number;
}

export type Push = (entity: PiiEntity, start: number, end: number) => void;

/*
 * Regexes only find candidates; a library or a checksum decides. Every boundary is a lookaround on
 * ASCII letters and digits, so a value glued to non-Latin text ("卡号4111…谢谢") is still found.
 */

// Scripts written without spaces: an address glued to them starts or ends at the script change.
const NO_SPACE_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;
const EMAIL =
  /(?<![\p{L}\p{M}\p{N}._%+-])[\p{L}\p{M}\p{N}._%+-]+@[\p{L}\p{M}\p{N}-]+(?:\.[\p{L}\p{M}\p{N}-]+)+/gu;

export function findEmails(text: string, push: Push): void {
  if (!text.includes('@')) return;
  for (const m of text.matchAll(EMAIL)) {
    let start = m.index;
    let value = m[0];
    const at = value.indexOf('@');
    let local = value.slice(0, at);
    let domain = value.slice(at + 1);
    if (/[\x21-\x7e]/.test(local) && NO_SPACE_SCRIPT.test(local[0] ?? '')) {
      const cut = [...local].findIndex((c) => !NO_SPACE_SCRIPT.test(c));
      const drop = [...local].slice(0, cut).join('').length;
      start += drop;
      local = local.slice(drop);
    }
    while (local.startsWith('.')) {
      local = local.slice(1);
      start++;
    }
    // "…@example.com입니다": the top-level label ends where a no-space script takes over.
    const lastDot = domain.lastIndexOf('.');
    const tld = [...domain.slice(lastDot + 1)];
    if (tld.length > 0 && !NO_SPACE_SCRIPT.test(tld[0]!)) {
      const glued = tld.findIndex((c) => NO_SPACE_SCRIPT.test(c));
      if (glued > 0) domain = domain.slice(0, lastDot + 1 + tld.slice(0, glued).join('').length);
    }
    value = `${local}@${domain}`;
    if (validator.isEmail(value, { allow_utf8_local_part: true, require_tld: true }))
      push('EMAIL', start, start + value.length);
  }
}

// Digit runs in groups separated by one space or dash; 13-19 of their digits may make a card.
const CARD = /(?<![A-Za-z0-9])\d+(?:[ -]\d+)*(?![A-Za-z0-9])/g;
// validator.isCreditCard knows the common networks by prefix and length; beyond them (16-digit Diners,
// old JCB, Maestro, Mir, RuPay, 19-digit UnionPay) a Luhn-valid 13-19 digit number whose major industry
// identifier is 2-6 (banking and financial cards, ISO/IEC 7812) counts as a card.
function isCard(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19 || !luhn(digits)) return false;
  if (validator.isCreditCard(digits)) return true;
  return digits[0]! >= '2' && digits[0]! <= '6' && validator.isLuhnNumber(digits);
}

/** The cheap test first: nine in ten digit runs fail it, and then no library is asked. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

// Digits after a country code and check digits are an IBAN's (a mistyped one if the IBAN finder passed).
const IBAN_HEAD = /[A-Z]{2}\d{2} ?$/;

// Thirteen digits with at most single separators between them: no card without that.
const CARD_HINT = /\d(?:[ -]?\d){12}/;

export function findCards(text: string, push: Push): void {
  if (!CARD_HINT.test(text)) return;
  for (const m of text.matchAll(CARD)) {
    if (IBAN_HEAD.test(text.slice(Math.max(0, m.index - 5), m.index))) continue;
    const groups = m[0].split(/[ -]/);
    const digitCount = groups.reduce((n, g) => n + g.length, 0);
    if (digitCount < 13) continue;
    // The run may carry neighbours ("4111 1111 1111 1111 12/25"): try sub-runs of whole groups.
    let offset = m.index;
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      let best = -1;
      for (let j = i; j < groups.length && digits.length < 19; j++) {
        digits += groups[j];
        if (isCard(digits)) best = j;
      }
      if (best >= 0) {
        const length = groups.slice(i, best + 1).join(' ').length;
        push('CREDIT_CARD', offset, offset + length);
        offset += length + 1;
        i = best;
        continue;
      }
      offset += (groups[i]?.length ?? 0) + 1;
    }
  }
}

const SSN = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g;
const SSN_BARE = /(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])/g;
const SSN_CONTEXT = /(?:ssn|social security|soc\.? ?sec)\W{0,20}(?:number|no\.?|#)?\W{0,5}$/i;

/** SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999. */
export function isSsn(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

export function findSsns(text: string, push: Push): void {
  for (const m of text.matchAll(SSN))
    if (isSsn(m[1]!, m[3]!, m[4]!)) push('SSN', m.index, m.index + m[0].length);
  // Nine bare digits are an SSN only when the text says so just before.
  for (const m of text.matchAll(SSN_BARE)) {
    if (!isSsn(m[1]!, m[2]!, m[3]!)) continue;
    if (SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index)))
      push('SSN', m.index, m.index + m[0].length);
  }
}

const IBAN_START = /(?<![A-Za-z0-9])([A-Z]{2})(\d{2})(?=[ ]?[A-Z0-9])/g;
const IBAN_LENGTHS = new Map<string, number>(
  Object.entries(getCountrySpecifications())
    .filter(([, spec]) => typeof spec.chars === 'number' && spec.chars > 0)
    .map(([code, spec]) => [code, spec.chars as number]),
);

/**
 * Country, registered length and format, and ISO 7064 mod-97 check digits (DESIGN.md): a value whose
 * national check digits are wrong is still someone's (mistyped) account number, so it counts. QR-IBANs
 * are IBANs too.
 */
function isIban(value: string): boolean {
  const { errorCodes } = validateIBAN(value, { allowQRIBAN: true });
  return errorCodes.every((c) => c === ValidationErrorsIBAN.WrongAccountBankBranchChecksum);
}

export function findIbans(text: string, push: Push): void {
  for (const m of text.matchAll(IBAN_START)) {
    const length = IBAN_LENGTHS.get(m[1]!);
    if (!length) continue;
    // Walk the country's exact length, allowing one space between characters (print format).
    let i = m.index + 4;
    let count = 4;
    while (count < length && i < text.length) {
      const c = text[i]!;
      if (c === ' ' && /[A-Z0-9]/.test(text[i + 1] ?? '')) i++;
      else if (/[A-Z0-9]/.test(c)) {
        count++;
        i++;
      } else break;
    }
    if (count !== length || /[A-Za-z0-9]/.test(text[i] ?? '')) continue;
    const value = electronicFormatIBAN(text.slice(m.index, i));
    if (value && isIban(value)) push('IBAN', m.index, i);
  }
}

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)/g;
const IPV6 = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:])/g;

const IPV4_HINT = /\d\.\d{1,3}\.\d/;
const IPV6_HINT = /:[0-9A-Fa-f]{0,4}:/;

export function findIps(text: string, push: Push): void {
  if (IPV4_HINT.test(text))
    for (const m of text.matchAll(IPV4)) {
      const ip = m[0];
      if (isIP(ip) === 4 && ip !== '0.0.0.0' && !ip.startsWith('127.'))
        push('IP_ADDRESS', m.index, m.index + ip.length);
    }
  if (IPV6_HINT.test(text))
    for (const m of text.matchAll(IPV6)) {
      const ip = m[0];
      if (isIP(ip) !== 6 || ip === '::' || ip === '::1') continue;
      // "a::b" is C++ more often than an address: ask for one real-looking group or four groups.
      const groups = ip.split(':').filter((g) => g !== '');
      if (groups.length >= 4 || groups.some((g) => g.length >= 3))
        push('IP_ADDRESS', m.index, m.index + ip.length);
    }
}

const AWS_KEY = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g;

export function findAwsKeys(text: string, push: Push): void {
  if (!text.includes('AKIA') && !text.includes('ASIA')) return;
  for (const m of text.matchAll(AWS_KEY)) push('AWS_ACCESS_KEY', m.index, m.index + m[0].length);
}
