// Build logs as MCP resources: a remote or sandboxed agent cannot open the log's path on this machine, so the server
// serves the text itself, one bounded page at a time. Defined without the SDK (server.ts adapts them), so a port to
// another protocol version stays one adapter.
import type { BuildsApi } from '../build-model/api.js';
import { attemptLogUri, buildLogUri } from '../build-model/log-uris.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { InputError } from '../util/errors.js';
import { readLogPage } from '../util/log-tail.js';

/** The largest page a read returns: enough for the end of a failed step, small enough for any client. */
export const LOG_PAGE_BYTES = 64 * 1024;
/** How many recent builds resources/list shows. */
const LISTED_BUILDS = 20;

export interface ResourceEntry {
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}

export interface ResourceContents {
  uri: string;
  mimeType: string;
  text: string;
  /** Where the page lies in the log, for clients that page by structure rather than by the text's note. */
  meta: { start: number; end: number; size: number; previous?: string; next?: string };
}

export interface ResourceTemplateDefinition {
  name: string;
  title: string;
  description: string;
  uriTemplate: string;
  mimeType: string;
  /** The concrete resources to list (only one template lists; the others are reached through its pages). */
  list?: () => Promise<ResourceEntry[]>;
  read(uri: string, variables: Record<string, string>): Promise<ResourceContents>;
}

/** The build's log files by attempt; the latest attempt's is the record's own. */
function attemptLogs(record: BuildRecord): Map<number, string> {
  const logs = new Map<number, string>();
  for (const attempt of record.attempts) if (attempt.log_file) logs.set(attempt.number, attempt.log_file);
  logs.set(record.attempt, record.log_file);
  return logs;
}

function wholeNumber(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new InputError(
      field,
      `"${value.slice(0, 40)}" is not a whole number`,
      `Use a URI such as ${attemptLogUri('local-…', 1, 0)}.`,
    );
  }
  return Number(value);
}

async function readPage(builds: BuildsApi, variables: Record<string, string>): Promise<ResourceContents> {
  const buildId = decodeURIComponent(variables.build_id ?? '');
  const record = await builds.get(buildId);
  if (!record) {
    throw new InputError(
      'build_id',
      `no build "${buildId.slice(0, 80)}" is known here`,
      'Use list_builds (or resources/list) to see the builds this machine knows.',
    );
  }
  const attempt = wholeNumber(variables.attempt, 'attempt') ?? record.attempt;
  const file = attemptLogs(record).get(attempt);
  if (file === undefined) {
    throw new InputError(
      'attempt',
      `build ${buildId} has no attempt ${attempt}`,
      `Attempts 1 to ${record.attempt} exist.`,
    );
  }
  const offset = wholeNumber(variables.offset, 'offset');
  const page = await readLogPage(file, LOG_PAGE_BYTES, offset).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' && record.status === 'queued') return { text: '', start: 0, end: 0, size: 0 };
    throw new InputError(
      'build_id',
      `the log of attempt ${attempt} of build ${buildId} cannot be read (${error.code ?? String(error)})`,
      'The build may not have started yet, or its log was deleted; get_build_status shows the record.',
    );
  });
  const previous =
    page.start > 0 ? attemptLogUri(buildId, attempt, Math.max(0, page.start - LOG_PAGE_BYTES)) : undefined;
  const next = page.end < page.size ? attemptLogUri(buildId, attempt, page.end) : undefined;
  // Text-only readers see where the page lies and how to read on; the note is the page's first line.
  const note =
    previous === undefined && next === undefined
      ? ''
      : `[docker-image-builder] bytes ${page.start}-${page.end} of ${page.size} of attempt ${attempt}'s log.` +
        `${previous ? ` Earlier: ${previous}` : ''}${next ? ` Later: ${next}` : ''}\n`;
  return {
    uri: attemptLogUri(buildId, attempt, offset),
    mimeType: 'text/plain',
    text: `${note}${page.text}`,
    meta: {
      start: page.start,
      end: page.end,
      size: page.size,
      ...(previous ? { previous } : {}),
      ...(next ? { next } : {}),
    },
  };
}

export function buildLogResources(builds: () => Promise<BuildsApi>): ResourceTemplateDefinition[] {
  const read = async (_uri: string, variables: Record<string, string>) => readPage(await builds(), variables);
  return [
    {
      name: 'build-log',
      title: 'Build log',
      description: `The log of a build's latest attempt: its last ${LOG_PAGE_BYTES / 1024} KiB, with links to earlier pages.`,
      uriTemplate: 'build://{build_id}/log',
      mimeType: 'text/plain',
      list: async () => {
        const { records } = await (await builds()).list(LISTED_BUILDS);
        return records.map((record) => ({
          uri: buildLogUri(record.build_id),
          name: `${record.build_id}.log`,
          title: `Build ${record.build_id} (${record.status}) log`,
          description: `Log of ${record.image_name}, attempt ${record.attempt}, ${record.status}.`,
          mimeType: 'text/plain',
        }));
      },
      read,
    },
    {
      name: 'build-attempt-log',
      title: 'Build attempt log',
      description: "One attempt's log: its last page.",
      uriTemplate: 'build://{build_id}/attempt/{attempt}/log',
      mimeType: 'text/plain',
      read,
    },
    {
      name: 'build-attempt-log-page',
      title: 'Build attempt log page',
      description: `One attempt's log from a byte offset: at most ${LOG_PAGE_BYTES / 1024} KiB, ending at a whole line.`,
      uriTemplate: 'build://{build_id}/attempt/{attempt}/log/{offset}',
      mimeType: 'text/plain',
      read,
    },
  ];
}
