import { describe, expect, it } from 'vitest';
import {
  addParamHeaders,
  declaredParamHeaders,
  paramHeaderMismatch,
} from '../../src/upstream/http/param-headers.ts';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    priority: { type: 'integer', 'x-mcp-header': 'Priority' },
    dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
    target: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
    note: { type: 'string' },
  },
};

const headersFor = (args: Record<string, unknown>) => {
  const headers: Record<string, string> = {};
  addParamHeaders(declaredParamHeaders(schema), args, headers);
  return headers;
};

describe('Mcp-Param headers (SEP-2243)', () => {
  it('finds declarations through properties only, nested objects included', () => {
    expect(declaredParamHeaders(schema)).toEqual([
      { path: ['region'], header: 'Region' },
      { path: ['priority'], header: 'Priority' },
      { path: ['dryRun'], header: 'Dry-Run' },
      { path: ['target', 'zone'], header: 'Zone' },
    ]);
  });

  it('declares nothing for a schema that declares a header badly', () => {
    const dup = {
      properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } },
    };
    const spaced = { properties: { a: { type: 'string', 'x-mcp-header': 'Bad Name' } } };
    const object = { properties: { a: { type: 'object', 'x-mcp-header': 'A' } } };
    for (const bad of [dup, spaced, object]) expect(declaredParamHeaders(bad)).toEqual([]);
    expect(declaredParamHeaders(undefined)).toEqual([]);
  });

  it('mirrors primitives as text, omits absent and null arguments', () => {
    expect(
      headersFor({ region: 'us-west1', priority: 3, dryRun: false, target: { zone: 'b' }, note: 'n' }),
    ).toEqual({
      'mcp-param-region': 'us-west1',
      'mcp-param-priority': '3',
      'mcp-param-dry-run': 'false',
      'mcp-param-zone': 'b',
    });
    expect(headersFor({ region: null })).toEqual({});
  });

  it('wraps what a header cannot carry plainly in the Base64 sentinel', () => {
    expect(headersFor({ region: 'Zürich' })['mcp-param-region']).toBe(
      `=?base64?${Buffer.from('Zürich').toString('base64')}?=`,
    );
    expect(headersFor({ region: ' padded' })['mcp-param-region']).toMatch(/^=\?base64\?.*\?=$/);
    // A value shaped like the sentinel is encoded too, so it is never read as one.
    expect(headersFor({ region: '=?base64?SGk=?=' })['mcp-param-region']).toBe(
      `=?base64?${Buffer.from('=?base64?SGk=?=').toString('base64')}?=`,
    );
  });

  it('accepts headers that agree with the body, plain or encoded', () => {
    const declared = declaredParamHeaders(schema);
    expect(
      paramHeaderMismatch(declared, { region: 'Hello' }, { 'mcp-param-region': 'Hello' }),
    ).toBeUndefined();
    expect(
      paramHeaderMismatch(declared, { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8=?=' }),
    ).toBeUndefined();
    expect(paramHeaderMismatch(declared, {}, {})).toBeUndefined();
  });

  it('names what disagrees: absent, extra, different, malformed Base64', () => {
    const declared = declaredParamHeaders(schema);
    expect(paramHeaderMismatch(declared, { region: 'Hello' }, {})).toMatch(
      /Mcp-Param-Region header is absent/,
    );
    expect(paramHeaderMismatch(declared, {}, { 'mcp-param-region': 'Hello' })).toMatch(/body has no region/);
    expect(paramHeaderMismatch(declared, { region: 'a' }, { 'mcp-param-region': 'b' })).toMatch(/disagrees/);
    expect(
      paramHeaderMismatch(declared, { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8?=' }),
    ).toMatch(/bad Base64/);
    expect(
      paramHeaderMismatch(declared, { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGV$bG8=?=' }),
    ).toMatch(/bad Base64/);
  });
});
