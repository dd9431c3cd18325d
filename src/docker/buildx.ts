// What buildx says about its builders: `docker buildx inspect [NAME]` (one builder: driver, nodes, platforms) and
// `docker buildx ls` (every builder, the current one starred), read from their text output, which every buildx
// version prints (`ls --format json` is 0.13+ only). Captured outputs are in tests/fixtures/buildx/.
import type { DockerClient } from './client.js';

export interface BuildxNode {
  name: string;
  endpoint?: string;
  status?: string;
  /** BuildKit's version on that node (`v0.13.2`; the docker driver of Debian's engines says `v0.0.0+unknown`). */
  buildkit?: string;
  platforms: string[];
}

export interface BuildxBuilder {
  name: string;
  /** docker, docker-container, kubernetes, remote, cloud. */
  driver?: string;
  /** The builder `docker buildx build` uses when none is named (starred in `buildx ls`). */
  current?: boolean;
  nodes: BuildxNode[];
}

/** Docker's and buildx's names for contexts and builders: the buildx rule, or a context's (builders named after one). */
export const BUILDER_NAME = /^(?:[a-zA-Z][a-zA-Z0-9._-]*|[a-zA-Z0-9][a-zA-Z0-9_.+-]+)$/;
/** Docker's rule for context names (docker/cli context store). */
export const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** `linux/amd64, linux/arm64*` → ['linux/amd64', 'linux/arm64'] (a star marks platforms set by the user). */
function platformList(text: string): string[] {
  return text
    .split(',')
    .map((platform) => platform.trim().replace(/\*$/, ''))
    .filter((platform) => /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/.test(platform));
}

/** The platforms a builder can build: every node's, once each, in the order buildx lists them. */
export function builderPlatforms(builder: BuildxBuilder): string[] {
  return [...new Set(builder.nodes.flatMap((node) => node.platforms))];
}

/** Reads `docker buildx inspect` text: `Name:` and `Driver:` first, then one block per node after `Nodes:`. */
export function parseBuildxInspect(text: string): BuildxBuilder | undefined {
  const builder: BuildxBuilder = { name: '', nodes: [] };
  let node: BuildxNode | undefined;
  let inNodes = false;
  for (const line of text.split('\n')) {
    if (/^Nodes:\s*$/.test(line)) {
      inNodes = true;
      continue;
    }
    const field = /^([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$/.exec(line);
    if (!field) continue;
    const [, key, value] = field as unknown as [string, string, string];
    if (!inNodes) {
      if (key === 'Name') builder.name = value;
      else if (key === 'Driver') builder.driver = value;
      continue;
    }
    if (key === 'Name') {
      node = { name: value, platforms: [] };
      builder.nodes.push(node);
    } else if (node && key === 'Endpoint') node.endpoint = value;
    else if (node && key === 'Status') node.status = value;
    // `BuildKit version:` since buildx 0.12, `Buildkit:` before.
    else if (node && /^Build[Kk]it(?: version)?$/.test(key)) node.buildkit = value;
    else if (node && key === 'Platforms') node.platforms = platformList(value);
  }
  return builder.name ? builder : undefined;
}

/**
 * Reads `docker buildx ls` text by its header's columns (tabwriter-aligned): a builder line starts in the first
 * column (`name*` or `name *` when current), a node line is indented (`  name` or ` \_ name`).
 */
export function parseBuildxLs(text: string): BuildxBuilder[] {
  const lines = text.split('\n');
  const headerIndex = lines.findIndex((line) => /^NAME\/NODE\s+DRIVER\/ENDPOINT/.test(line));
  if (headerIndex < 0) return [];
  const header = lines[headerIndex]!;
  const column = (name: string) => header.indexOf(name);
  const [driverAt, statusAt, buildkitAt, platformsAt] = ['DRIVER/ENDPOINT', 'STATUS', 'BUILDKIT', 'PLATFORMS'].map(
    column,
  ) as [number, number, number, number];
  const cell = (line: string, from: number, to?: number) =>
    from < 0 ? '' : line.slice(from, to !== undefined && to >= 0 ? to : undefined).trim();
  const builders: BuildxBuilder[] = [];
  for (const line of lines.slice(headerIndex + 1)) {
    if (line.trim() === '') continue;
    if (/^\S/.test(line)) {
      const match = /^([^\s*]+)\s*(\*)?/.exec(line);
      // A line that names no builder (e.g. a trailing error section) ends the table.
      if (!match || !BUILDER_NAME.test(match[1]!)) break;
      const driver = cell(line, driverAt, statusAt).replace(/^\\_\s*/, '');
      builders.push({ name: match[1]!, ...(driver ? { driver } : {}), current: match[2] === '*', nodes: [] });
      continue;
    }
    const builder = builders.at(-1);
    if (!builder) continue;
    const name = cell(line, 0, driverAt).replace(/^\\_\s*/, '');
    const endpoint = cell(line, driverAt, statusAt).replace(/^\\_\s*/, '');
    const status = cell(line, statusAt, buildkitAt);
    const buildkit = cell(line, buildkitAt, platformsAt);
    builder.nodes.push({
      name,
      ...(endpoint ? { endpoint } : {}),
      ...(status ? { status } : {}),
      ...(buildkit ? { buildkit } : {}),
      platforms: platformList(cell(line, platformsAt)),
    });
  }
  return builders;
}

/** `github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3` or `... v0.24.0 abc` → `0.13.1+ds1` / `0.24.0`. */
export function buildxVersionOf(versionLine: string): string | undefined {
  return /^\S*buildx\S*\s+v?(\d[^\s]*)/.exec(versionLine.trim())?.[1];
}

export type BuildxAnswer<T> = { ok: true; value: T } | { ok: false; error: string };

function failure(result: { stderr: string; stdout: string; timedOut: boolean; exitCode?: number }): string {
  if (result.timedOut) return 'did not answer in time';
  const text = (result.stderr || result.stdout).trim();
  const line = text.split('\n').find((candidate) => /error|not found|unknown|failed/i.test(candidate)) ?? text;
  return line.split('\n')[0]?.trim() || `exited with code ${String(result.exitCode)}`;
}

/** The named builder, or the current one; `ok: false` with buildx's reason when it has none by that name. */
export async function inspectBuilder(
  docker: DockerClient,
  builder: string | undefined,
  timeoutMs: number,
): Promise<BuildxAnswer<BuildxBuilder>> {
  const result = await docker.run(['buildx', 'inspect', ...(builder ? [builder] : [])], { timeoutMs });
  const parsed = result.exitCode === 0 ? parseBuildxInspect(result.stdout) : undefined;
  return parsed ? { ok: true, value: parsed } : { ok: false, error: failure(result) };
}

/** Every builder buildx knows (one per docker context, with the docker driver, plus the ones `buildx create` made). */
export async function listBuilders(docker: DockerClient, timeoutMs: number): Promise<BuildxAnswer<BuildxBuilder[]>> {
  const result = await docker.run(['buildx', 'ls'], { timeoutMs });
  const parsed = result.exitCode === 0 ? parseBuildxLs(result.stdout) : [];
  return parsed.length > 0 ? { ok: true, value: parsed } : { ok: false, error: failure(result) };
}
