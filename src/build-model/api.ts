// Types shared by the build tools and the CLI; this module holds no code, so importing it costs nothing at startup.
import type { BuildEvent } from './events.js';
import type { BuildRecord } from './record-schema.js';
import type { SmokeResult, SmokeTestInput } from './smoke-schema.js';

/** How to build, whatever the sources and wherever it runs. */
export interface BuildOptions {
  autoFix: boolean;
  /** Apply the analyser's fixes before the first attempt (auto_fix must be on too). */
  fixBeforeBuild: boolean;
  smokeTest: boolean;
  smokeCommands: string[];
  maxAttempts: number;
  baseImage?: string;
  useSudo: boolean;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
  noCache: boolean;
  pull: boolean;
  labels: Record<string, string>;
  writeFixes: boolean;
  /** With writeFixes: also write files without write permission. */
  forceWrite?: boolean;
  timeoutSeconds: number;
  /** Push the image to the registry named in its reference after a good build (and smoke test). */
  push?: boolean;
  /** Build cache imports and exports, docker syntax (`type=registry,ref=...`, `type=inline`, `type=local,...`). */
  cacheFrom?: string[];
  cacheTo?: string[];
  /** Build secrets by where their value is (a variable name, a file, an AWS reference), never the value itself. */
  secrets?: BuildSecretInput[];
  /** `--ssh` forwards: `default` or `id[=path,...]`. */
  ssh?: string[];
}

export type BuildSecretInput =
  | { id: string; env: string }
  | { id: string; src: string }
  | { id: string; aws_secret: string }
  | { id: string; aws_parameter: string };

/** A build_image call (MCP or CLI): the options plus sources as given and where to build. */
export interface BuildImageParams extends BuildOptions {
  context: string;
  dockerfile: string;
  imageName?: string;
  imageTag: string;
  forceLocal: boolean;
  forceCodebuild: boolean;
  region?: string;
  codebuildProject: string;
  s3Bucket?: string;
  /** A docker context for every docker call of the build (local builds only). */
  dockerContext?: string;
  /** A buildx builder to build with (local builds only). */
  builder?: string;
  /** The user already agreed to CodeBuild's charges: do not ask (confirmCharges of BuildStartOptions). */
  confirmCharges?: boolean;
}

/** What a CodeBuild build will be charged, as asked before it starts. */
export interface ChargeQuestion {
  project: string;
  region: string;
  compute_type: string;
  environment_type: string;
  /** e.g. "about $0.22 for a typical 22-minute build, at most $0.60 (its 60-minute timeout)". */
  estimate: string;
  source: string;
}

export interface BuildStartOptions {
  /**
   * Asked before a CodeBuild build uploads or starts anything, unless params.confirmCharges: true to go on. A caller
   * that cannot ask (no elicitation) passes none, and the build starts with the charges warning.
   */
  confirmCharges?: (question: ChargeQuestion) => Promise<boolean>;
}

/** Recent builds, and the ones whose record is damaged (so none vanishes unseen). */
export interface BuildListing {
  /** Newest first. */
  records: BuildRecord[];
  damaged: { build_id: string; file: string; problem: string }[];
}

/** Why a build cannot start, with the next step (an expected failure, not a bug). */
export interface BuildRefusal {
  refused: true;
  mode: 'local' | 'codebuild' | 'none';
  message: string;
  nextSteps: string[];
}

/** What a follower of a build's events knows besides the event: the attempt and its progress at that moment. */
export interface BuildProgressState {
  attempt: number;
  progress: BuildRecord['progress'];
}

export interface BuildsApi {
  start(params: BuildImageParams, options?: BuildStartOptions): Promise<BuildRecord | BuildRefusal>;
  get(buildId: string): Promise<BuildRecord | undefined>;
  /** True while the build's worker process runs, whichever process started it. */
  isActive(buildId: string): Promise<boolean>;
  waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined>;
  waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined>;
  cancel(buildId: string): Promise<boolean>;
  list(limit: number): Promise<BuildListing>;
  logTail(record: BuildRecord, lines: number): Promise<string[]>;
  /**
   * Follows one build's events from its first; returns the function that stops following, which resolves once no
   * more events will be delivered (so nothing reaches a caller after it has answered).
   */
  subscribe(buildId: string, listener: (event: BuildEvent, state: BuildProgressState) => void): () => Promise<void>;
  smokeTest(input: SmokeTestInput & { useSudo: boolean }, signal: AbortSignal): Promise<SmokeResult>;
  /** Platforms (os/arch[/variant]) of the images among `refs` present in the local engine; {} without Docker. */
  imagePlatforms(refs: string[], useSudo: boolean): Promise<Record<string, string>>;
}
