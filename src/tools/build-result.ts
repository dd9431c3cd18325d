import type { BuildsApi } from '../build-model/api.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { buildLogUri } from '../build-model/log-uris.js';
import { nextStepFor } from '../build-model/next-step.js';
import type { BuildResult } from './build-schemas.js';
import type { ResourceLink } from './tool.js';

function elapsedSeconds(record: BuildRecord, now: Date): number {
  if (record.build_time_seconds !== undefined) return record.build_time_seconds;
  return Math.round((now.getTime() - new Date(record.created_at).getTime()) / 100) / 10;
}

/** The seed's result fields plus the record and a bounded log tail. */
export async function toBuildResult(builds: BuildsApi, record: BuildRecord, tailLines: number): Promise<BuildResult> {
  return {
    success: record.status === 'succeeded',
    status: record.status,
    phase: record.phase,
    image_name: record.image_name,
    mode: record.mode,
    build_time: `${elapsedSeconds(record, new Date()).toFixed(1)}s`,
    attempts: record.attempt,
    fixes_applied: record.fixes_applied,
    build_id: record.build_id,
    next_step: nextStepFor(record),
    log_tail: await builds.logTail(record, tailLines),
    log_uri: buildLogUri(record.build_id),
    record,
  };
}

/** The link to a build's full log that goes beside its result. */
export function buildLogLink(result: BuildResult): ResourceLink {
  return {
    uri: result.log_uri,
    name: `${result.build_id}.log`,
    description: `Full log of build ${result.build_id} (attempt ${result.attempts}).`,
    mimeType: 'text/plain',
  };
}

export function summarizeBuild(result: BuildResult): string {
  const fixes = result.fixes_applied.length > 0 ? `, ${result.fixes_applied.length} fix(es) applied` : '';
  const error = result.record.error ? ` Error: ${result.record.error.summary}` : '';
  const warnings = result.record.warnings?.length ? `${result.record.warnings.join(' ')} ` : '';
  return `${warnings}Build ${result.build_id} ${result.status} (${result.phase}) for ${result.image_name} after ${result.attempts} attempt(s) in ${result.build_time}${fixes}.${error} Next: ${result.next_step}`;
}
