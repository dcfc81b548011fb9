import { type CountryCode, isValidPhoneNumber, Metadata } from 'libphonenumber-js/max';
import metadataJson from 'libphonenumber-js/metadata.max.json';
import { Spans } from './detect.ts';
import type { Push } from './finders.ts';

/*
 * Phones, validated against libphonenumber's full numbering-plan metadata ("max": patterns, not only
 * lengths). Covered: international numbers written with + or the 00 prefix (every country), North
 * American national formats, and national formats with a 0 trunk prefix for the regions below.
 * Countries without a trunk prefix (Spain, ...) are found in international form only.
 *
 * Parsing with the library costs 10-45 µs a call, so a candidate is tested against the compiled
 * national-number pattern of its region(s) from the library's metadata (well under a microsecond; the
 * pattern is the union of the region's number types). A number written with its country code is
 * evidence enough; a national one (weaker evidence, tried against several regions) is confirmed with
 * isValidPhoneNumber.
 */
const TRUNK_ZERO_REGIONS: CountryCode[] = [
  'GB',
  'DE',
  'FR',
  'IT',
  'NL',
  'BE',
  'CH',
  'AT',
  'AU',
  'JP',
  'CN',
  'KR',
  'IE',
  'SE',
  'NZ',
  'IN',
];

const REGIONS_BY_CODE = (metadataJson as { country_calling_codes: Record<string, CountryCode[]> })
  .country_calling_codes;
const metadata = new Metadata();
const plans = new Map<CountryCode, { code: string; nsn: RegExp }>();

function plan(region: CountryCode): { code: string; nsn: RegExp } {
  let p = plans.get(region);
  if (!p) {
    metadata.selectNumberingPlan(region);
    // Typed as private in the library's declarations; public and documented in its README.
    const numbering = metadata.numberingPlan as unknown as {
      callingCode(): string;
      nationalNumberPattern(): string;
    };
    p = { code: numbering.callingCode(), nsn: new RegExp(`^(?:${numbering.nationalNumberPattern()})$`) };
    plans.set(region, p);
  }
  return p;
}

/** Digits after the country code (calling codes are prefix-free): valid for one of its regions? */
function validInternational(digits: string): boolean {
  for (let n = 1; n <= 3; n++) {
    const regions = REGIONS_BY_CODE[digits.slice(0, n)];
    if (!regions) continue;
    const nsn = digits.slice(n);
    return regions.some((r) => plan(r).nsn.test(nsn));
  }
  return false;
}

function validTrunkZero(digits: string): boolean {
  for (const region of TRUNK_ZERO_REGIONS) {
    const { code, nsn } = plan(region);
    // The trunk 0 is dropped in international form, except where it belongs to the number (Italy).
    for (const n of [digits.slice(1), digits])
      if (nsn.test(n) && isValidPhoneNumber(`+${code}${n}`)) return true;
  }
  return false;
}

// International numbers (+ or the 00 prefix); "+44 (0) 20 …" carries the trunk 0 in brackets.
const INTERNATIONAL = /(?<![\w+])(?:\+|00)[ ]?[1-9]\d{0,14}(?:[ \-./]{1,2}\(?\d{1,8}\)?)*/g;
// North American: (415) 555-2671, 415-555-2671, 415.555.2671, 1-800-555-0199.
const NANP = /(?<![\w+.\-/])(?:1[-. ])?(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}/g;
// Bare digits: a phone only when the text just before says so.
const BARE = /(?<![\w+.\-/])\d{10,11}/g;
// National numbers with the 0 trunk prefix, not right after another digit group ("… 1010 0505 0001").
const NATIONAL = /(?<![\w+.]|\d[ \-./])(?:\(0\d{1,5}\)|0\d{1,5})(?:[ \-./]{1,2}\d{1,8})+/g;
const DATE_LIKE = /^\d{1,4}([./-])\d{1,2}\1\d{2,4}(?!\d)/;
// Glued to an identifier ("ORD-2024-000123") or a time ("… 10:30"): not a phone.
const IDENTIFIER_BEFORE = /[A-Za-z0-9][-_/]$/;
const IDENTIFIER_AFTER = /^(?:[-_/][A-Za-z0-9]|:\d|\.\d|\d)/;
const CONTEXT =
  /(?:phone|tel|mobile|cell|fax|call|text|sms|whatsapp|telefon|téléphone|teléfono|telefone|телефон|电话|電話|手机|携帯|전화|هاتف)\W{0,12}$/iu;
// Enough digits and separators to be worth a look at all.
const PHONE_HINT = /\d[\d\s().\-/]{5,}\d/;

const digitsOf = (s: string) => s.replace(/\(0\)/, '').replace(/\D/g, '');

export function findPhones(text: string, push: Push): void {
  if (!PHONE_HINT.test(text)) return;
  const taken = new Spans(text.length);
  const tryAdd = (
    start: number,
    candidate: string,
    valid: (digits: string) => boolean,
    minDigits: number,
  ) => {
    const length = longestValid(candidate, valid, minDigits);
    if (length === 0) return;
    const end = start + length;
    if (IDENTIFIER_BEFORE.test(text.slice(Math.max(0, start - 2), start))) return;
    if (IDENTIFIER_AFTER.test(text.slice(end, end + 2))) return;
    if (taken.overlaps(start, end)) return;
    taken.add(start, end);
    push('PHONE', start, end);
  };
  if (text.includes('+') || text.includes('00'))
    for (const m of text.matchAll(INTERNATIONAL))
      tryAdd(m.index, m[0], (d) => validInternational(d.startsWith('00') ? d.slice(2) : d), 7);
  const nanp = (d: string) =>
    (d.length === 10 || (d.length === 11 && d[0] === '1')) &&
    validInternational(d.length === 10 ? `1${d}` : d);
  for (const m of text.matchAll(NANP)) tryAdd(m.index, m[0], nanp, 10);
  for (const m of text.matchAll(BARE))
    if (CONTEXT.test(text.slice(Math.max(0, m.index - 24), m.index))) tryAdd(m.index, m[0], nanp, 10);
  // Nine digits at least: shorter national numbers exist, but so do too many look-alikes (ISSNs, codes).
  if (text.includes('0'))
    for (const m of text.matchAll(NATIONAL))
      if (!DATE_LIKE.test(m[0])) tryAdd(m.index, m[0], validTrunkZero, 9);
}

/** Length of the longest prefix made of whole digit groups whose digits `valid` accepts; 0 for none. */
function longestValid(candidate: string, valid: (digits: string) => boolean, minDigits: number): number {
  // "(see +41 44 668 18 00)": a closing bracket without its opening one belongs to the text.
  let c = candidate.endsWith(')') && !candidate.includes('(') ? candidate.slice(0, -1) : candidate;
  // No phone has more than 17 digits with its prefix: cut a long run down first (linear, not quadratic).
  let seen = 0;
  for (let i = 0; i < c.length; i++) {
    if (c.charCodeAt(i) >= 48 && c.charCodeAt(i) <= 57 && ++seen > 17) {
      const groupStart = c.slice(0, i).search(/[ \-./(]+\d*$/);
      c = c.slice(0, Math.max(0, groupStart));
      break;
    }
  }
  for (;;) {
    const digits = digitsOf(c);
    if (digits.length < minDigits) return 0;
    if (digits.length <= 17 && valid(digits)) return c.length;
    const cut = c.search(/[ \-./(]+\d+\)?$/);
    if (cut <= 0) return 0;
    c = c.slice(0, cut);
  }
}
