import type { BuildRecord } from './record-schema.js';

/** What to do after a build reached this record's status; the MCP result and the CLI JSON both carry it. */
export function nextStepFor(record: BuildRecord): string {
  switch (record.status) {
    case 'succeeded':
      if (record.push?.pushed) {
        const at = record.push.digest
          ? `${record.push.ref.replace(/:[\w][\w.-]{0,127}$/, '')}@${record.push.digest}`
          : record.push.ref;
        return `Image ${record.image_name} is built${record.smoke ? ', smoke-tested' : ''} and pushed; pull it as ${at}.`;
      }
      return record.smoke
        ? `Image ${record.image_name} is built and smoke-tested; use it (e.g. push it to your registry).`
        : `Image ${record.image_name} is built; run smoke_test on it to prove it runs.`;
    case 'queued':
    case 'running':
      return `The build is still running: call get_build_status with build_id "${record.build_id}" and wait_seconds 30 to follow it.`;
    case 'cancelled':
      return record.error?.next_step ?? 'The build was cancelled; start it again with build_image when wanted.';
    default:
      return record.error?.next_step ?? 'Read error and log_tail, fix the Dockerfile, and build again.';
  }
}
