import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withReference } from '../../scripts/render-config-reference.ts';

describe('README config reference', () => {
  it('matches the config schema (regenerate with `npm run docs`)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withReference(readme)).toBe(readme);
  });

  it('shows the two commands first', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const firstBlock = readme.slice(
      readme.indexOf('```sh'),
      readme.indexOf('```', readme.indexOf('```sh') + 5),
    );
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm test');
  });
});
