import { describe, expect, it } from 'vitest';
import { attribute, PERF_HZ } from '../../bench/perf-attribution.ts';

// `perf script` output as perf 6 prints it for a node started with --perf-basic-prof: a header line per
// sample, then its stack innermost first, then a blank line.
const ROOT = '/work/main';
const SCRIPT = `node  7641   361.382420:     250000 cpu-clock:ppp:
\t    7ff1d00fd6c2 Builtins_LoadIC_Megamorphic+0x2 (/usr/bin/node)
\t    7ff1d01a4edb JS:*serve file:///work/main/dist/src/inbound/fast-path.js:68:16+0x12db (/tmp/perf-7641.map)
\t    7ff1d010f3bb JS:^processTicksAndRejections node:internal/process/task_queues:67:35+0x47b (/tmp/perf-7641.map)

node  7641   361.382670:     250000 cpu-clock:ppp:
\t    7ff1d01a4edb JS:* file:///work/main/dist/src/upstream/http/exchange.js:108:23+0x1 (/tmp/perf-7641.map)

node  7641   361.382920:     250000 cpu-clock:ppp:
\t          108cae epoll_pwait+0x6e (/usr/lib/x86_64-linux-gnu/libc.so.6)

node  7641   361.383170:     250000 cpu-clock:ppp:
\t    7ff1d01b0000 JS:*ClientRequest node:_http_client:134:23+0x30 (/tmp/perf-7641.map)
\t    7ff1d01a4edb JS:*serve file:///work/main/dist/src/inbound/fast-path.js:68:16+0x12db (/tmp/perf-7641.map)
`;

describe('perf attribution (bench:profile --perf)', () => {
  it('charges each sample to its innermost JavaScript frame, in µs of CPU per call', () => {
    const calls = 2;
    const a = attribute(SCRIPT, calls, 10, ROOT);
    const each = 1e6 / PERF_HZ / calls;
    expect(a.total).toBeCloseTo(4 * each);
    expect(a.frames).toEqual([
      { name: 'serve dist/src/inbound/fast-path.js:68:16', micros: each },
      { name: 'dist/src/upstream/http/exchange.js:108:23', micros: each },
      { name: '(no js)', micros: each },
      { name: 'ClientRequest node:_http_client:134:23', micros: each },
    ]);
    // Own code: the two samples whose innermost frame is in mcp-fed's files (node internals are not).
    expect(a.own).toBeCloseTo(2 * each);
  });

  it('keeps only the top frames asked for', () => {
    expect(attribute(SCRIPT, 1, 1, ROOT).frames).toHaveLength(1);
  });
});
