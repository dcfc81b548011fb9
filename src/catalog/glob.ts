/** Compiles shell-style globs (`*` any run, `?` one char) into one matcher. Used by `expose` and the ACL. */
export function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.includes('*')) return () => true;
  const source = patterns
    .map((p) =>
      p
        .split('')
        .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join(''),
    )
    .join('|');
  const re = new RegExp(`^(?:${source})$`);
  return (name) => re.test(name);
}
