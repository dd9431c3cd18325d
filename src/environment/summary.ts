import type { EnvironmentReport } from './detect.js';

/** `, buildx builder NAME (driver) for PLATFORMS`, when buildx reported one. */
function buildxNote(docker: EnvironmentReport['docker']): string {
  const builder = docker.buildx.builder;
  if (!builder) return '';
  const driver = builder.driver ? ` (${builder.driver})` : '';
  return `, buildx builder ${builder.name}${driver} for ${builder.platforms.join(', ') || 'no platforms listed'}`;
}

/** One paragraph for people (the CLI's stderr) and for the MCP text content: the recommendation and why. */
export function summarize(report: EnvironmentReport): string {
  const { docker, aws, recommendation } = report;
  const dockerLine =
    docker.daemon.state === 'reachable'
      ? `Docker ${docker.daemon.server_version} reachable (builder: ${docker.builder.selected}${buildxNote(docker)}${docker.gpu.available ? ', GPU runtime' : ''}).`
      : `Docker ${docker.daemon.state}${docker.daemon.error ? `: ${docker.daemon.error}` : ''}.`;
  const awsLine = aws.credentials.found
    ? `AWS credentials from ${aws.credentials.source}, region ${aws.region.name}${aws.identity.account_id ? `, account ${aws.identity.account_id}` : ''}.`
    : 'No AWS credentials.';
  const steps = recommendation.next_steps.length > 0 ? ` Next: ${recommendation.next_steps.join(' ')}` : '';
  return `Recommendation: ${recommendation.mode}${recommendation.ready ? '' : ' (not ready)'} - ${recommendation.reason} ${dockerLine} ${awsLine}${steps}`;
}
