// The docker contexts of the CLI's configuration (`docker context ls --format '{{json .}}'`, one JSON object a
// line on every CLI since 19.03). Listing them reads files only: no daemon is asked.
import type { DockerClient } from './client.js';

export interface DockerContextEntry {
  name: string;
  /** The context the CLI uses when nothing else selects one (`docker context use`). */
  current: boolean;
  /** Its Docker endpoint, e.g. `unix:///var/run/docker.sock` or `ssh://user@host`. */
  endpoint?: string;
  /** Why the CLI cannot load it (a broken context), as it says. */
  error?: string;
}

interface ContextLine {
  Name?: unknown;
  Current?: unknown;
  DockerEndpoint?: unknown;
  Error?: unknown;
}

/** Reads the JSON lines of `docker context ls --format '{{json .}}'`; lines that are not a context are skipped. */
export function parseContextList(text: string): DockerContextEntry[] {
  const contexts: DockerContextEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let entry: ContextLine;
    try {
      entry = JSON.parse(line) as ContextLine;
    } catch {
      continue;
    }
    if (typeof entry.Name !== 'string' || entry.Name === '') continue;
    contexts.push({
      name: entry.Name,
      current: entry.Current === true,
      ...(typeof entry.DockerEndpoint === 'string' && entry.DockerEndpoint ? { endpoint: entry.DockerEndpoint } : {}),
      ...(typeof entry.Error === 'string' && entry.Error ? { error: entry.Error } : {}),
    });
  }
  return contexts;
}

/**
 * The CLI's contexts, or why they could not be listed. The client must not carry a context of its own: listing
 * through an unknown one fails before it lists anything.
 */
export async function listContexts(
  docker: DockerClient,
  timeoutMs: number,
): Promise<{ ok: true; contexts: DockerContextEntry[] } | { ok: false; error: string }> {
  const result = await docker.run(['context', 'ls', '--format', '{{json .}}'], { timeoutMs });
  const contexts = result.exitCode === 0 ? parseContextList(result.stdout) : [];
  if (contexts.length > 0) return { ok: true, contexts };
  const reason = result.timedOut
    ? 'did not answer in time'
    : (result.stderr || result.stdout).trim().split('\n')[0] || `exited with code ${String(result.exitCode)}`;
  return { ok: false, error: `docker context ls failed: ${reason}` };
}
