import type { ImageFacts } from './images.js';
import type { Requirement } from './requirements.js';
import type { Env } from './shell.js';
import type { MStr, Position, SourceSet, Span } from './text.js';

export { buildModel } from './model-builder.js';
export { isValidPytorchIndex } from './index-ref.js';
export { parseJsonArray } from './model-text.js';

/**
 * The Dockerfile model: stages (named, multi-stage, FROM <stage>), base images after ARG substitution with Docker's
 * scoping, ENV, WORKDIR, COPY/ADD of context files, and every package install in RUN (pip / pip3 / python -m pip /
 * uv pip, conda / mamba / micromamba) with the requirement and constraint files they read, each requirement with
 * its file and position.
 */

export interface ModelInput {
  /** Path of the Dockerfile relative to the build context (used as `file` in findings). */
  dockerfilePath: string;
  dockerfileText: string;
  /** Reads a file of the build context (path relative to it, forward slashes); undefined when absent. */
  readContextFile?: (relPath: string) => string | undefined;
  buildArgs?: Readonly<Record<string, string>>;
}

export interface IndexRef {
  url: MStr;
  text: string;
  position: Position | null;
  /** 'cu121', 'cpu', 'rocm6.2' from a download.pytorch.org URL. */
  variant: string | null;
  /** 'nightly' | 'test' | 'release' for download.pytorch.org URLs. */
  channel: string | null;
  /** A download.pytorch.org URL. */
  pytorch: boolean;
  /** A PyPI URL (pypi.org / files.pythonhosted.org). */
  pypi: boolean;
  viaFile: string | null;
}

export interface PackageRequest {
  req: Requirement;
  position: Position;
  /** Requirement file it came from (null: the Dockerfile RUN line). */
  viaFile: string | null;
  constraint: boolean;
}

export interface InstallCommand {
  id: number;
  tool: 'pip' | 'uv' | 'conda';
  stage: Stage;
  position: Position;
  instructionLine: number;
  conditional: boolean;
  requests: PackageRequest[];
  indexUrl: IndexRef | null;
  extraIndexUrls: IndexRef[];
  findLinks: IndexRef[];
  noIndex: boolean;
  upgrade: boolean;
  forceReinstall: boolean;
  pre: boolean;
  cache: { disabled: boolean; reason: string | null };
  /** Where ' --no-cache-dir' can be inserted (right after the `install` word). */
  installWordEnd: Span | null;
  /** Python version the installing interpreter is known to be (python3.10 -m pip, pip3.10). */
  pythonHint: string | null;
  /** conda create / env create: a fresh environment. */
  newEnv: boolean;
  /** conda pytorch-cuda=X.Y / cudatoolkit=X.Y[.Z]. */
  condaCuda: { cuda: string; position: Position } | null;
  condaCpu: boolean;
  /** uv --torch-backend value. */
  torchBackend: string | null;
}

export type StageEvent =
  | { kind: 'install'; install: InstallCommand }
  | { kind: 'uninstall'; names: string[]; position: Position }
  | { kind: 'python'; version: string; how: string; position: Position; priority?: number; span?: Span | null }
  | { kind: 'python-provider'; position: Position }
  | { kind: 'stage-copy'; from: Stage; python: boolean; cuda: boolean; position: Position };

export interface Stage {
  index: number;
  name: string | null;
  /** 1-based line of the FROM instruction. */
  line: number;
  /** Image reference after ARG substitution (UNRESOLVED where an ARG had no value). */
  image: MStr;
  imageRaw: string;
  /** FROM image argument range, for --base-image overrides. */
  imageSpan: Span | null;
  parent: Stage | null;
  facts: ImageFacts | null;
  events: StageEvent[];
  copies: CopyRecord[];
  env: Env;
  workdir: string;
  /** Variables the FROM line used that had no value. */
  unresolvedArgs: string[];
  /** `FROM --platform=...`, after ARG substitution (`raw` as written); null when absent or unresolved. */
  platform: { value: string; raw: string } | null;
}

export interface CopyRecord {
  sources: string[];
  dest: string;
  destIsDir: boolean;
  line: number;
}

export interface MissingFile {
  imagePath: string;
  contextPath: string;
  position: Position;
}

export interface Model {
  sources: SourceSet;
  dockerfileIndex: number;
  dockerfilePath: string;
  stages: Stage[];
  installs: InstallCommand[];
  missingFiles: MissingFile[];
  notes: string[];
  platform: string;
  /** Build args that were supplied. */
  buildArgs: Readonly<Record<string, string>>;
}
