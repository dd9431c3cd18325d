import type { ParsedGpu, TorchFamily } from '../../compat/index.js';
import type { Category } from '../categories.js';
import type { InstallCommand, Model, PackageRequest, Stage } from '../model.js';
import type { Position, Span } from '../text.js';
import type { Resolved } from './resolve.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Edit {
  span: Span;
  text: string;
}

export interface RawFinding {
  category: Category;
  severity: Severity;
  position: Position;
  message: string;
  evidence: string[];
  fix?: { description: string; edits: Edit[]; alternatives: string[] };
}

export interface PkgState {
  pkg: TorchFamily;
  exact: string | null;
  minor: string | null;
  local: string | null;
  variant: string | null;
  variantHow: string | null;
  origin: 'base' | 'install' | 'stage-copy' | 'implicit';
  install?: InstallCommand;
  request?: PackageRequest;
  /** Installed without a version: whatever was newest at build time. */
  unpinned: boolean;
  /** A vendor build whose version the tag does not state (NGC). */
  vendor: boolean;
  position: Position | null;
  how: string;
}

export interface StageState {
  pkgs: Map<TorchFamily, PkgState>;
  python: { version: string; how: string; position: Position | null; span?: Span | null } | null;
  cuda: { version: string; how: string } | null;
  hasCuda: boolean | null;
  pythonProvided: boolean;
}

/**
 * What the platform guard knows: the build's platforms (asked, or the default), the stages as each platform sees
 * them (`FROM img-${TARGETARCH}` names another image per platform), and the platform of local base images.
 */
export interface PlatformFacts {
  /** The build's platforms, in order; `explicit` when the caller named them (else the default, linux/amd64). */
  platforms: string[];
  explicit: boolean;
  /** The model built with each platform's TARGETPLATFORM/TARGETARCH/... (the first is the main model). */
  models: Map<string, Model>;
  /** `docker image inspect` of base images present locally: reference -> os/arch[/variant]. */
  localImages: Readonly<Record<string, string>>;
}

export interface RuleContext {
  model: Model;
  targetGpu?: ParsedGpu;
  platformFacts?: PlatformFacts;
}

export interface RuleOutput {
  findings: RawFinding[];
  states: Map<Stage, StageState>;
}

/** What every rule reads and reports into during one analysis. */
export interface RuleRun {
  readonly model: Model;
  readonly targetGpu?: ParsedGpu;
  readonly platformFacts?: PlatformFacts;
  /** Path of the Dockerfile, as findings name it. */
  readonly dockerfile: string;
  /** Each stage's simulated state; complete once the stages are simulated. */
  readonly states: Map<Stage, StageState>;
  readonly findings: RawFinding[];
  add(finding: RawFinding): void;
}

/** One install command, as the stage simulation reaches it. */
export interface InstallStep {
  readonly run: RuleRun;
  readonly stage: Stage;
  /** The stage's state before this install takes effect (updated in place afterwards). */
  readonly state: StageState;
  readonly install: InstallCommand;
  /** True the first time a rule asks with this key in this stage: for findings reported once per stage. */
  firstInStage(key: string): boolean;
}

/** An install that names torch-family packages, with what each request resolves to. */
export interface ResolvedStep extends InstallStep {
  readonly resolved: Resolved[];
  /** The first request of each package. */
  readonly byPkg: Map<TorchFamily, Resolved>;
  /** torch in the stage before this install. */
  readonly stateTorch: PkgState | undefined;
}

/** An unconditional install after the stage state took it in. */
export interface UpdatedStep extends ResolvedStep {
  /** The torch this install put in place of another (or first), when it changed torch. */
  readonly changedTorch: Resolved | undefined;
}

/**
 * One family of analyser rules. Each hook is optional; the run calls every rule's hook in the order of RULES
 * (rules/index.ts), so findings keep a stable order: model checks, then per install command in Dockerfile order
 * (before resolution, resolved, after the state update), then the final checks.
 */
export interface DockerfileRule {
  readonly name: string;
  /** Once, before any stage is simulated. */
  checkModel?(run: RuleRun): void;
  /** Every install command, before its packages are resolved. */
  checkInstall?(step: InstallStep): void;
  /** Install commands with torch-family requests, before the stage state takes them in. */
  checkResolved?(step: ResolvedStep): void;
  /** Unconditional install commands with torch-family requests, after the stage state took them in. */
  checkUpdated?(step: UpdatedStep): void;
  /** Once, after every stage is simulated. */
  checkFinal?(run: RuleRun): void;
}
