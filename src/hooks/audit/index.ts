import type { AuditConfig } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import { AuditLog } from './audit-log.ts';
import { lastHashOf } from './chain.ts';
import type { RecordOptions } from './record.ts';
import { fileSink, streamSink } from './sink.ts';

export { AuditLog } from './audit-log.ts';
export { type AuditRecord, auditRecord, DECISIONS } from './record.ts';

/**
 * The audit log for `audit` in the config, or undefined for `sink: off`. When stdout carries the
 * protocol (`mcp-fed stdio`), `sink: stdout` writes to stderr instead, one JSON object a line as well.
 * A file's hash chain continues from its last line; a stream's starts afresh with each process.
 */
export function createAuditLog(
  config: AuditConfig,
  opts: { log: Logger; stdoutIsProtocol?: boolean; record: RecordOptions },
) {
  if (config.sink === 'off') return undefined;
  if (config.sink === 'file')
    return new AuditLog(fileSink(config.path), opts.log, opts.record, lastHashOf(config.path));
  if (opts.stdoutIsProtocol) {
    opts.log.info('audit sink stdout is the protocol channel under stdio: audit records go to stderr');
    return new AuditLog(streamSink(process.stderr, 'stderr'), opts.log, opts.record);
  }
  return new AuditLog(streamSink(process.stdout, 'stdout'), opts.log, opts.record);
}
