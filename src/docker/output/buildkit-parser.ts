import type { BuildEvent, BuildStepInfo } from '../../build-model/events.js';
import type { BuildPlan, PlannedStep } from '../dockerfile-steps.js';
import {
  StepTracker,
  dockerfileLineInMessage,
  stripAnsi,
  type BuildOutputParser,
  type BuildOutputSummary,
  type FailedStep,
  type OutputStream,
  type ParserOptions,
} from './parser-common.js';

const VERTEX_LOG = /^#(\d+) (\d+\.\d+)(?: (.*))?$/;
const VERTEX_HEADER = /^#(\d+) \[([^\]]+)\] (.*)$/;
const VERTEX_LINE = /^#(\d+) (.*)$/;
const STEP_POSITION = /^(\d+)\/(\d+)$/;
const SOURCE_LOCATION = /^[\w./-]+:(\d+)$/;
const CONTEXT_RULE = '--------------------';
const TAIL_RULE = '------';

interface Vertex {
  step?: number;
  /** Image of an `[internal] load metadata for <image>` vertex: its failure is a FROM failure. */
  metadataImage?: string;
}

/** Image names compare equal with or without a pinned digest. */
function sameImage(planned: string | undefined, printed: string): boolean {
  if (planned === undefined) return false;
  const strip = (name: string) => name.replace(/@sha256:[0-9a-f]+$/, '');
  return planned === printed || strip(planned) === strip(printed);
}

/**
 * Parses BuildKit's plain progress (`--progress=plain`): vertices `#5 [2/4] RUN ...`, their output
 * `#5 0.624 ...`, `#5 CACHED`, `#5 DONE 1.2s`, `#5 ERROR: ...`, then the error summary
 * (`------` blocks, and from BuildKit 0.9 `Dockerfile:12` with the source lines marked `>>>`).
 * Handles both the engine-bundled BuildKit of Docker 20.10 and buildx.
 */
export class BuildKitOutputParser implements BuildOutputParser {
  readonly builder = 'buildkit' as const;
  private readonly tracker: StepTracker;
  private readonly plan: BuildPlan | undefined;
  private readonly vertices = new Map<string, Vertex>();
  /** `[stage i/n]` seen without a plan: `n` per stage, so the total grows as stages appear. */
  private readonly stageTotals = new Map<string, number>();
  private readonly adHocSteps = new Map<string, number>();
  private nextAdHocStep: number;
  private pendingFailure: FailedStep | undefined;
  private failure: FailedStep | undefined;
  private failedVertexMessage: string | undefined;
  private summaryError: string | undefined;
  private sourceLine: number | undefined;
  private inTailBlock = false;
  private inContextBlock = false;
  private inWarningList = false;
  private imageId: string | undefined;
  private readonly warnings: string[] = [];

  constructor(options: ParserOptions = {}) {
    this.plan = options.plan?.builder === 'buildkit' ? options.plan : undefined;
    this.tracker = new StepTracker(this.plan?.totalSteps, options.now ?? (() => performance.now()));
    this.nextAdHocStep = (this.plan?.totalSteps ?? 0) + 1;
  }

  push(rawLine: string, stream: OutputStream = 'stderr'): BuildEvent[] {
    const line = stripAnsi(rawLine).replace(/\r$/, '');
    const events: BuildEvent[] = [];
    let step: number | undefined;
    const vertexId = /^#(\d+) /.exec(line)?.[1];
    if (vertexId !== undefined) {
      events.push(...this.parseVertexLine(vertexId, line));
      step = this.vertices.get(vertexId)?.step;
    } else {
      events.push(...this.parseSummaryLine(line));
    }
    const log: BuildEvent = { type: 'log', line, stream };
    if (step !== undefined) log.step = step;
    return [log, ...events];
  }

  private parseVertexLine(id: string, line: string): BuildEvent[] {
    if (VERTEX_LOG.test(line) && this.vertices.has(id)) return [];
    const known = this.vertices.get(id);
    const header = VERTEX_HEADER.exec(line);
    if (header && !known) return this.startVertex(id, header[2]!, header[3]!);
    if (header) return []; // BuildKit repeats a vertex's header when its output resumes after another's.
    const rest = VERTEX_LINE.exec(line)?.[2] ?? '';
    if (!known) {
      this.vertices.set(id, {});
      return [];
    }
    if (rest === 'CACHED') return this.finishVertex(known, 'cached');
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest);
    if (done) return this.finishVertex(known, 'done', Math.round(Number(done[1]) * 1000));
    if (rest.startsWith('ERROR: ') || rest === 'ERROR') return this.failVertex(known, rest.replace(/^ERROR:? ?/, ''));
    const written = /^writing image (sha256:[0-9a-f]{64})/.exec(rest);
    if (written && this.imageId === undefined) {
      this.imageId = written[1]!;
      return [{ type: 'image-built', imageId: this.imageId }];
    }
    return [];
  }

  private startVertex(id: string, bracket: string, name: string): BuildEvent[] {
    const words = bracket.split(' ');
    const position = STEP_POSITION.exec(words[words.length - 1] ?? '');
    if (!position) {
      const metadataImage = /^load metadata for (\S+)/.exec(name)?.[1];
      this.vertices.set(id, metadataImage ? { metadataImage } : {});
      return [];
    }
    // Words before `i/n`: an optional platform (`linux/amd64`, only in multi-platform builds) and the stage name.
    const stage = words.slice(0, -1).filter((word) => !word.includes('/'))[0] ?? '';
    const index = Number(position[1]);
    const info = this.stepInfo(stage, index, Number(position[2]), name);
    this.vertices.set(id, { step: info.step });
    return this.tracker.start(info);
  }

  private stepInfo(stage: string, index: number, stageTotal: number, instruction: string): BuildStepInfo {
    const keyword = instruction.split(/\s/, 1)[0]?.toUpperCase();
    const planned = this.plan?.steps.find(
      (step) => step.stage === stage && step.indexInStage === index && step.keyword === keyword,
    );
    const info: BuildStepInfo = { step: planned?.number ?? this.adHocStep(stage, index), instruction };
    if (stage !== '') info.stage = stage;
    if (planned?.dockerfileLine !== undefined) info.dockerfileLine = planned.dockerfileLine;
    if (!planned) {
      this.stageTotals.set(stage, stageTotal);
      const seenTotal = [...this.stageTotals.values()].reduce((sum, total) => sum + total, 0);
      this.tracker.setTotal(this.plan ? Math.max(this.plan.totalSteps, this.nextAdHocStep - 1) : seenTotal);
    }
    return info;
  }

  private adHocStep(stage: string, index: number): number {
    const key = `${stage} ${index}`;
    let step = this.adHocSteps.get(key);
    if (step === undefined) {
      step = this.nextAdHocStep++;
      this.adHocSteps.set(key, step);
    }
    return step;
  }

  private finishVertex(vertex: Vertex, outcome: 'done' | 'cached', durationMs?: number): BuildEvent[] {
    if (vertex.step === undefined || !this.tracker.isRunning(vertex.step)) return [];
    const planned = this.plannedStep(vertex.step);
    if (planned?.keyword === 'FROM') {
      // Stages on the same base share one FROM vertex, printed under one stage only.
      const twins = this.plan!.steps.filter((step) => step.keyword === 'FROM' && step.image === planned.image);
      this.tracker.markCompleted(twins.filter((step) => !this.tracker.has(step.number)).map((step) => step.number));
    }
    return this.tracker.finish(vertex.step, outcome, durationMs);
  }

  private plannedStep(step: number): PlannedStep | undefined {
    return this.plan?.steps.find((planned) => planned.number === step);
  }

  private failVertex(vertex: Vertex, message: string): BuildEvent[] {
    if (this.pendingFailure || this.failure) return [];
    this.failedVertexMessage = message;
    const exitCode = /exit code: (\d+)/.exec(message)?.[1];
    let info: BuildStepInfo | undefined = vertex.step === undefined ? undefined : this.tracker.info(vertex.step);
    if (!info && vertex.metadataImage !== undefined) {
      const from = this.plan?.steps.find(
        (step) => step.keyword === 'FROM' && sameImage(step.image, vertex.metadataImage!),
      );
      if (from) {
        info = { step: from.number, instruction: from.instruction };
        if (from.stage) info.stage = from.stage;
        if (from.dockerfileLine !== undefined) info.dockerfileLine = from.dockerfileLine;
      }
    }
    if (info)
      this.pendingFailure = { ...info, message, ...(exitCode === undefined ? {} : { exitCode: Number(exitCode) }) };
    // The error summary follows; the step is reported once it has (or the process has) ended.
    return [];
  }

  private parseSummaryLine(line: string): BuildEvent[] {
    if (line === TAIL_RULE) {
      this.inTailBlock = !this.inTailBlock;
      return [];
    }
    if (line === CONTEXT_RULE) {
      this.inContextBlock = !this.inContextBlock;
      return [];
    }
    if (this.inTailBlock || this.inContextBlock || line.trim() === '') return [];
    const source = SOURCE_LOCATION.exec(line);
    if (source && (this.pendingFailure || this.failure || this.failedVertexMessage !== undefined)) {
      this.sourceLine = Number(source[1]);
      if (this.pendingFailure) this.pendingFailure.dockerfileLine = this.sourceLine;
      return [];
    }
    if (/^\d+ warnings? found/.test(line.trim())) {
      this.inWarningList = true;
      return [];
    }
    const listed = /^\s*- (.*)$/.exec(line);
    if (this.inWarningList && listed) return this.warn(listed[1]!);
    this.inWarningList = false;
    const warning = /^WARNING: (.*)$|^WARN: (.*)$/.exec(line);
    if (warning) return this.warn(warning[1] ?? warning[2]!);
    this.summaryError = line.trim();
    return [];
  }

  private warn(message: string): BuildEvent[] {
    this.warnings.push(message);
    return [{ type: 'warning', message }];
  }

  end(exitCode: number | undefined): BuildEvent[] {
    if (!this.pendingFailure || exitCode === undefined) return [];
    this.failure = this.pendingFailure;
    this.pendingFailure = undefined;
    return this.tracker.fail(this.failure);
  }

  summary(): BuildOutputSummary {
    const failure = this.failure ?? this.pendingFailure;
    const errorMessage = this.summaryError ?? this.failedVertexMessage;
    const errorLine =
      this.sourceLine ?? (errorMessage === undefined ? undefined : dockerfileLineInMessage(errorMessage));
    return {
      builder: 'buildkit',
      ...(this.tracker.total === undefined ? {} : { totalSteps: this.tracker.total }),
      completedSteps: this.tracker.completedCount,
      cachedSteps: this.tracker.cachedCount,
      ...(failure ? { failedStep: failure } : {}),
      ...(errorMessage === undefined || this.imageId ? {} : { errorMessage }),
      ...(errorLine === undefined ? {} : { errorDockerfileLine: errorLine }),
      ...(this.imageId ? { imageId: this.imageId } : {}),
      warnings: [...this.warnings],
    };
  }
}
