/** CodeBuild build ids, ARNs and console links. */
import { InputError } from '../util/errors.js';

/** The console page of a build. */
export function buildConsoleUrl(buildId: string, region: string, account?: string): string {
  const project = buildId.split(':')[0] ?? buildId;
  const accountPart = account === undefined ? '' : `${account}/`;
  return (
    `https://${region}.console.aws.amazon.com/codesuite/codebuild/${accountPart}projects/${encodeURIComponent(project)}` +
    `/build/${encodeURIComponent(buildId)}/?region=${region}`
  );
}

/** The account in a CodeBuild build ARN. */
export function accountFromArn(arn: string | undefined): string | undefined {
  return /^arn:[^:]+:codebuild:[^:]*:(\d{12}):/.exec(arn ?? '')?.[1];
}

/** The project of a build id (`project:uuid`). */
export function projectOf(buildId: string): string {
  return buildId.split(':')[0] ?? buildId;
}

/** `project:uuid` and its region, from an id (with the fallback region) or a build ARN. */
export function parseBuildIdentifier(id: string, fallbackRegion: string | undefined): { id: string; region: string } {
  const arn = /^arn:[^:]+:codebuild:([^:]+):\d{12}:build\/(.+)$/.exec(id);
  if (arn) return { id: arn[2]!, region: arn[1]! };
  if (!/^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}:[A-Za-z0-9-]+$/.test(id)) {
    throw new InputError(
      'build_id',
      `"${id}" is not a CodeBuild build id`,
      'CodeBuild ids look like "<project>:<uuid>".',
    );
  }
  if (fallbackRegion === undefined) {
    throw new InputError('region', `no region known for CodeBuild build ${id}`, 'Pass the region the build runs in.');
  }
  return { id, region: fallbackRegion };
}
