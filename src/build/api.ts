// Types shared by the build tools and the CLI; this module holds no code, so importing it costs nothing at startup.
import type { BuildEvent } from './events.js';
import type { BuildRecord } from './record-schema.js';
import type { SmokeResult, SmokeTestInput } from '../smoke/schema.js';

export interface BuildImageParams {
  context: string;
  dockerfile: string;
  imageName?: string;
  imageTag: string;
  autoFix: boolean;
  fixBeforeBuild: boolean;
  smokeTest: boolean;
  smokeCommands: string[];
  maxAttempts: number;
  baseImage?: string;
  useSudo: boolean;
  forceLocal: boolean;
  forceCodebuild: boolean;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
  noCache: boolean;
  pull: boolean;
  labels: Record<string, string>;
  writeFixes: boolean;
  timeoutSeconds: number;
  region?: string;
  codebuildProject: string;
  s3Bucket?: string;
}

/** Why a build cannot start, with the next step (an expected failure, not a bug). */
export interface BuildRefusal {
  refused: true;
  mode: 'local' | 'codebuild' | 'none';
  message: string;
  nextSteps: string[];
}

export interface BuildsApi {
  start(params: BuildImageParams): Promise<BuildRecord | BuildRefusal>;
  get(buildId: string): Promise<BuildRecord | undefined>;
  isActive(buildId: string): boolean;
  waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined>;
  waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined>;
  cancel(buildId: string): Promise<boolean>;
  list(limit: number): Promise<BuildRecord[]>;
  logTail(record: BuildRecord, lines: number): Promise<string[]>;
  /** Subscribes to one build's events; returns the unsubscribe function. */
  subscribe(buildId: string, listener: (event: BuildEvent, record: BuildRecord) => void): () => void;
  smokeTest(input: SmokeTestInput & { useSudo: boolean }, signal: AbortSignal): Promise<SmokeResult>;
}
