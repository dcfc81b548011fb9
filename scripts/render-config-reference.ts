/** Rewrites the config reference between the markers in README.md from the config schema. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigReference } from '../src/config/reference.ts';

export const START = '<!-- config-reference:start -->';
export const END = '<!-- config-reference:end -->';

export function withReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a === -1 || b === -1) throw new Error('README.md lacks the config-reference markers');
  return `${readme.slice(0, a + START.length)}\n${renderConfigReference()}\n${readme.slice(b)}`;
}

if (process.argv[1]?.endsWith('render-config-reference.ts')) {
  const readme = readFileSync('README.md', 'utf8');
  writeFileSync('README.md', withReference(readme));
}
