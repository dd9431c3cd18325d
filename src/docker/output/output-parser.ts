import type { LocalBuilderKind } from '../build-args.js';
import { BuildKitOutputParser } from './buildkit-parser.js';
import { planBuildSteps } from '../dockerfile-steps.js';
import { LegacyOutputParser } from './legacy-parser.js';
import { RawJsonOutputParser } from './rawjson-parser.js';
import { stripAnsi, type BuildOutputParser, type BuildOutputSummary, type ParserOptions } from './parser-common.js';

export function createOutputParser(builder: LocalBuilderKind, options: ParserOptions = {}): BuildOutputParser {
  if (builder === 'legacy') return new LegacyOutputParser(options);
  return options.progress === 'rawjson' ? new RawJsonOutputParser(options) : new BuildKitOutputParser(options);
}

/** Which builder wrote a log, from its first recognisable line; undefined when neither format appears. */
export function detectBuilderKind(log: string): LocalBuilderKind | undefined {
  for (const rawLine of log.split(/\r?\n/)) {
    const line = stripAnsi(rawLine);
    if (/^#\d+ /.test(line)) return 'buildkit';
    if (/^Step \d+\/\d+ : /.test(line) || line.startsWith('Sending build context to Docker daemon')) return 'legacy';
  }
  return undefined;
}

export interface SummarizeOptions {
  /** Defaults to what the log looks like. */
  builder?: LocalBuilderKind;
  /** With the Dockerfile, failing steps are mapped to their lines. */
  dockerfileText?: string;
  target?: string;
  buildArgs?: Record<string, string>;
  /** Whether the build was given `--label` (the legacy builder then adds a step). */
  hasLabels?: boolean;
  exitCode?: number;
}

/**
 * Parses a complete, stored log (e.g. the log file of a finished build, or CodeBuild's) into a summary.
 * Returns undefined when the log is in neither builder's format.
 */
export function summarizeBuildLog(log: string, options: SummarizeOptions = {}): BuildOutputSummary | undefined {
  const builder = options.builder ?? detectBuilderKind(log);
  if (!builder) return undefined;
  let plan;
  if (options.dockerfileText !== undefined) {
    plan = planBuildSteps(options.dockerfileText, {
      builder,
      ...(options.target === undefined ? { allStages: true } : { target: options.target }),
      ...(options.buildArgs === undefined ? {} : { buildArgs: options.buildArgs }),
      ...(options.hasLabels === undefined ? {} : { hasLabels: options.hasLabels }),
    });
  }
  const parser = createOutputParser(builder, plan ? { plan } : {});
  for (const line of log.split(/\r?\n/)) parser.push(line);
  // A stored log has no exit code; one without an image id is taken as a failed build.
  const exitCode = options.exitCode ?? (parser.summary().imageId === undefined ? 1 : 0);
  parser.end(exitCode);
  return parser.summary();
}
