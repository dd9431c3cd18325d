import {
  DockerfileParser,
  type Arg,
  type Copy,
  type Env as EnvInstruction,
  type From,
  type Instruction,
  type Run,
} from 'dockerfile-ast';
import { recognise, type Recognized } from './commands.js';
import { imageFacts } from './images.js';
import type { Model, ModelInput, Stage } from './model.js';
import { handleRun } from './model-run.js';
import { argumentValues, joinContext, normaliseContextPath, runScript } from './model-text.js';
import { basename, expandPartsJoined, Interpreter, joinPath, lex, type CommandEvent, type Env } from './shell.js';
import { firstSource, mstr, SourceSet, UNRESOLVED, type MStr, type Position, type Span } from './text.js';

const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
};

const PYTHON_ENV_PATH =
  /^(\/opt\/conda|\/root\/(mini|ana)conda3?|\/opt\/(venv|miniconda3?|mambaforge|miniforge3?)|\/home\/venv|\/usr\/local\/lib\/python|\/usr\/lib\/python|.*site-packages|\/usr\/local\/bin\/python)/;

/** One RUN instruction while its commands are collected. */
export interface RunContext {
  stage: Stage;
  instruction: Instruction;
  cacheMounts: string[];
  bindMounts: Array<{ source: string; target: string }>;
  commands: Array<{ event: CommandEvent; recognised: Recognized }>;
}

/** Builds the model of a Dockerfile (see model.ts). */
export function buildModel(input: ModelInput): Model {
  return new ModelBuilder(input).build();
}

/** Builds the model by walking the Dockerfile's instructions; one method per instruction, state shared here. */
export class ModelBuilder {
  readonly sources = new SourceSet();
  readonly dockerfileIndex: number;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly model: Model;
  readonly text: string;
  readonly lineStarts: number[];
  escape = '\\';
  /** Global ARGs (before the first FROM): visible in FROM lines, and as defaults for ARG re-declarations in stages. */
  readonly globalArgs: Env = new Map();
  /** The stage being built (null before the first FROM). */
  stage: Stage | null = null;
  /** What $VAR expands to in the current stage: its ARGs and ENVs. */
  stageEnv: Env = new Map();
  installId = 0;
  noCacheConfigured = false;
  /** Image paths a RUN wrote (not from the build context). */
  readonly generated = new Set<string>();
  /** Directories a RUN cloned with git. */
  readonly externalDirs: string[] = [];
  readonly pythonEvidence = new Map<string, { version: string; priority: number }>();
  readonly contextCache = new Map<string, string | undefined>();

  constructor(readonly input: ModelInput) {
    this.dockerfileIndex = this.sources.add(input.dockerfilePath, input.dockerfileText);
    this.buildArgs = input.buildArgs ?? {};
    this.model = {
      sources: this.sources,
      dockerfileIndex: this.dockerfileIndex,
      dockerfilePath: input.dockerfilePath,
      stages: [],
      installs: [],
      missingFiles: [],
      notes: [],
      platform: this.buildArgs.TARGETPLATFORM ?? PLATFORM_ARGS.TARGETPLATFORM!,
      buildArgs: this.buildArgs,
    };
    this.text = input.dockerfileText;
    this.lineStarts = this.sources.file(this.dockerfileIndex).lineStarts;
    for (const [name, value] of Object.entries(PLATFORM_ARGS))
      this.globalArgs.set(name, mstr.literal(this.buildArgs[name] ?? value));
  }

  build(): Model {
    const dockerfile = DockerfileParser.parse(this.text);
    this.escape = dockerfile.getEscapeCharacter();
    for (const instruction of dockerfile.getInstructions()) {
      const keyword = instruction.getKeyword();
      const line = instruction.getRange().start.line + 1;
      if (keyword === 'FROM') this.from(instruction as From, line);
      else if (keyword === 'ARG') this.arg(instruction as Arg);
      else if (this.stage) STAGE_INSTRUCTIONS[keyword]?.(this, instruction, this.stage, line);
    }
    return this.model;
  }

  readonly offsetAt = (position: { line: number; character: number }) =>
    (this.lineStarts[position.line] ?? this.text.length) + position.character;

  readonly fromRange = (range: {
    start: { line: number; character: number };
    end: { line: number; character: number };
  }): MStr => mstr.fromFile(this.dockerfileIndex, this.text, this.offsetAt(range.start), this.offsetAt(range.end));

  readonly positionOf = (value: MStr | null, fallbackLine: number): Position => {
    const first = value ? firstSource(value) : undefined;
    return first === undefined
      ? { file: this.input.dockerfilePath, line: fallbackLine, column: 1 }
      : this.sources.position(first);
  };

  /** Expands $VAR / ${VAR:-x} in a Dockerfile value (FROM, COPY, ENV, ARG, WORKDIR), with quote removal. */
  readonly expand = (value: MStr, env: Env): MStr => {
    const words = lex(value).filter((token) => token.k === 'w');
    const pieces: MStr[] = [];
    words.forEach((token, index) => {
      if (token.k !== 'w') return;
      if (index > 0) pieces.push(mstr.literal(' '));
      pieces.push(expandPartsJoined(token.w.parts, env));
    });
    return mstr.concat(pieces);
  };

  readonly declareArg = (instruction: Arg, scope: Env, inStage: boolean) => {
    for (const property of instruction.getProperties()) {
      const name = property.getName();
      let value: MStr | null;
      if (this.buildArgs[name] !== undefined) value = mstr.literal(this.buildArgs[name]!);
      else if (property.getValueRange())
        value = this.expand(this.fromRange(property.getValueRange()!), inStage ? scope : this.globalArgs);
      else if (inStage && this.globalArgs.has(name)) value = this.globalArgs.get(name) ?? null;
      else if (property.getValue() === '' && property.getAssignmentOperator() === '=') value = mstr.empty();
      else value = null;
      scope.set(name, value);
    }
  };

  readonly resolveContextPath = (
    imagePath: string,
    current: Stage,
  ): { contextPath: string; direct: boolean } | null => {
    const candidates: Array<{ contextPath: string; direct: boolean }> = [];
    for (let index = current.copies.length - 1; index >= 0; index--) {
      const copy = current.copies[index]!;
      for (const source of copy.sources) {
        const src = normaliseContextPath(source);
        if (src === null) continue;
        if (/[*?[]/.test(src)) {
          const dir = src.includes('/') ? src.slice(0, src.lastIndexOf('/')) : '';
          const pattern = new RegExp(
            `^${src
              .slice(src.lastIndexOf('/') + 1)
              .replace(/[.+^${}()|\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]')}$`,
          );
          const destDir = copy.dest.replace(/\/$/, '');
          if (imagePath.startsWith(`${destDir}/`) && pattern.test(imagePath.slice(destDir.length + 1))) {
            candidates.push({ contextPath: joinContext(dir, imagePath.slice(destDir.length + 1)), direct: true });
          }
          continue;
        }
        const dest = copy.dest.replace(/\/$/, '') || '/';
        const prefix = dest === '/' ? '/' : `${dest}/`;
        // A source is a file or a directory, and a destination without a trailing slash may be an existing
        // directory; try every reading (latest COPY first) and keep the one whose context file exists.
        if (imagePath === `${prefix}${basename(src)}`) candidates.push({ contextPath: src, direct: copy.destIsDir });
        if (!copy.destIsDir && imagePath === dest) candidates.push({ contextPath: src, direct: true });
        if (imagePath.startsWith(prefix))
          candidates.push({ contextPath: joinContext(src, imagePath.slice(prefix.length)), direct: false });
      }
    }
    if (candidates.length === 0) return null;
    for (const candidate of candidates) if (this.readContext(candidate.contextPath) !== undefined) return candidate;
    return candidates.find((candidate) => candidate.direct) ?? candidates[0]!;
  };

  readonly readContext = (path: string): string | undefined => {
    if (this.contextCache.has(path)) return this.contextCache.get(path);
    let value: string | undefined;
    try {
      value = this.input.readContextFile?.(path);
    } catch {
      value = undefined;
    }
    this.contextCache.set(path, value);
    return value;
  };

  /** Reads a file the build uses at `imagePath` (a requirements file, a script) from the context, if it came from there. */
  readonly loadImageFile = (
    imagePath: string,
    current: Stage,
    run: RunContext | null,
    position: Position,
    kind: string,
  ): { index: number; path: string } | null => {
    for (const mount of run?.bindMounts ?? []) {
      if (imagePath === mount.target || imagePath.startsWith(`${mount.target}/`)) {
        const contextPath = normaliseContextPath(joinContext(mount.source, imagePath.slice(mount.target.length + 1)));
        const content = contextPath === null ? undefined : this.readContext(contextPath);
        if (contextPath !== null && content !== undefined)
          return { index: this.sources.add(contextPath, content), path: contextPath };
      }
    }
    if (this.generated.has(imagePath)) return null;
    if (this.externalDirs.some((dir) => imagePath.startsWith(`${dir}/`))) {
      this.model.notes.push(
        `${kind} ${imagePath} (line ${position.line}) comes from a git clone, not the build context; not analysed`,
      );
      return null;
    }
    const resolved = this.resolveContextPath(imagePath, current);
    if (!resolved) {
      if (kind !== 'script') {
        this.model.notes.push(
          `${kind} ${imagePath} (line ${position.line}) is not copied from the build context; not analysed`,
        );
      }
      return null;
    }
    const content = this.readContext(resolved.contextPath);
    if (content === undefined) {
      if (kind === 'script') return null;
      if (resolved.direct) this.model.missingFiles.push({ imagePath, contextPath: resolved.contextPath, position });
      else this.model.notes.push(`${kind} ${imagePath} (line ${position.line}) was not found in the build context`);
      return null;
    }
    return { index: this.sources.add(resolved.contextPath, content), path: resolved.contextPath };
  };

  readonly addPython = (
    current: Stage,
    version: string | null,
    how: string,
    position: Position,
    priority = 0,
    span: Span | null = null,
  ) => {
    if (!version) return;
    current.events.push({ kind: 'python', version, how, position, priority, span });
  };

  /** FROM: a new stage, from a base image (after global ARG substitution) or from an earlier stage. */
  from(from: From, line: number): void {
    const imageRange = from.getImageRange();
    const raw = imageRange ? this.fromRange(imageRange) : mstr.empty();
    const image = this.expand(raw, this.globalArgs);
    const unresolvedArgs = [...raw.text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)]
      .map((match) => match[1]!)
      .filter((name) => {
        const value = this.globalArgs.get(name);
        return value === undefined || value === null;
      });
    const parent =
      this.model.stages.find(
        (candidate) => candidate.name !== null && candidate.name.toLowerCase() === image.text.toLowerCase(),
      ) ?? null;
    const name = from.getBuildStage();
    // FROM --platform=...: after global ARG substitution ($BUILDPLATFORM, $TARGETPLATFORM or a literal).
    const platformFlag = from.getPlatformFlag();
    const platformRange = platformFlag?.getValueRange();
    const platformRaw = platformRange ? this.fromRange(platformRange) : null;
    const platform = platformRaw ? this.expand(platformRaw, this.globalArgs).text : null;
    this.stage = {
      index: this.model.stages.length,
      name,
      line,
      image,
      imageRaw: raw.text,
      imageSpan: imageRange
        ? { file: this.dockerfileIndex, start: this.offsetAt(imageRange.start), end: this.offsetAt(imageRange.end) }
        : null,
      parent,
      facts: parent || image.text === '' || image.text.includes(UNRESOLVED) ? null : imageFacts(image.text),
      events: [],
      copies: parent ? [...parent.copies] : [],
      env: new Map(),
      workdir: parent ? parent.workdir : '/',
      unresolvedArgs,
      platform:
        platform === null || platform === '' || platform.includes(UNRESOLVED)
          ? null
          : { value: platform, raw: platformRaw!.text },
    };
    // ENV from a parent stage is inherited; ARGs are not.
    this.stageEnv = new Map(parent ? parent.env : []);
    if (parent) for (const [key, value] of parent.env) this.stage.env.set(key, value);
    this.model.stages.push(this.stage);
    if (!parent) this.pythonEvidence.clear();
    if (!parent) this.noCacheConfigured = false;
  }

  /** ARG: a global ARG before the first FROM, else a stage ARG (defaults from the global one). */
  arg(instruction: Arg): void {
    if (!this.stage) this.declareArg(instruction as Arg, this.globalArgs, false);
    else {
      const scope: Env = new Map(this.stageEnv);
      this.declareArg(instruction as Arg, scope, true);
      for (const property of (instruction as Arg).getProperties()) {
        const name = property.getName();
        const platformDefault = PLATFORM_ARGS[name];
        if (platformDefault !== undefined && !property.getValueRange()) {
          this.stageEnv.set(name, mstr.literal(this.buildArgs[name] ?? platformDefault));
          continue;
        }
        // an ENV of the same name wins over ARG
        if (!this.stage.env.has(name)) this.stageEnv.set(name, scope.get(name) ?? null);
      }
    }
  }

  env(instruction: EnvInstruction, current: Stage): void {
    for (const property of (instruction as EnvInstruction).getProperties()) {
      const range = property.getValueRange();
      const value = range ? this.expand(this.fromRange(range), this.stageEnv) : mstr.empty();
      this.stageEnv.set(property.getName(), value);
      current.env.set(property.getName(), value);
    }
  }

  workdir(instruction: Instruction, current: Stage): void {
    const range = instruction.getArgumentsRange();
    if (range) {
      const value = this.expand(this.fromRange(range), this.stageEnv).text;
      current.workdir = joinPath(current.workdir, value) ?? current.workdir;
    }
  }

  /** COPY / ADD: a copy from another stage (Python, CUDA), or context files that later RUNs may read. */
  copy(copy: Copy, current: Stage, line: number): void {
    const fromFlag = copy.getFlags().find((flag) => flag.getName() === 'from');
    const args = argumentValues(copy, this.fromRange).map((value) => this.expand(value, this.stageEnv).text);
    if (args.length < 2 || (copy.getKeyword() === 'COPY' && args.some((arg) => arg.startsWith('<<')))) return;
    const dest = args[args.length - 1]!;
    const sourcesList = args.slice(0, -1);
    const position = { file: this.input.dockerfilePath, line, column: 1 };
    if (fromFlag) {
      const fromName = (fromFlag.getValue() ?? '').toLowerCase();
      const fromStage = this.model.stages.find(
        (candidate) => candidate.name?.toLowerCase() === fromName || String(candidate.index) === fromName,
      );
      if (fromStage) {
        const python = sourcesList.some((source) => PYTHON_ENV_PATH.test(source));
        const cuda = sourcesList.some((source) => /^\/usr\/local\/cuda/.test(source));
        current.events.push({ kind: 'stage-copy', from: fromStage, python, cuda, position });
      }
      current.events.push({ kind: 'python-provider', position });
      return;
    }
    const absoluteDest = joinPath(current.workdir, dest) ?? dest;
    current.copies.push({
      sources: sourcesList.filter((source) => !/^https?:\/\//.test(source)),
      dest: absoluteDest,
      destIsDir: dest.endsWith('/') || sourcesList.length > 1 || dest === '.' || dest === '..',
      line,
    });
  }

  /** RUN: its mounts, then its shell script through the interpreter; what the commands do goes to handleRun. */
  run(run: Run, current: Stage, line: number): void {
    const runContext: RunContext = { stage: current, instruction: run, cacheMounts: [], bindMounts: [], commands: [] };
    for (const flag of run.getFlags()) {
      if (flag.getName() !== 'mount') continue;
      const fields = new Map((flag.getValue() ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
      const type = fields.get('type') ?? 'bind';
      const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
      if (type === 'cache' && target) runContext.cacheMounts.push(target.replace(/^~/, '/root'));
      if (type === 'bind' && target && !fields.has('from')) {
        runContext.bindMounts.push({
          source: fields.get('source') ?? fields.get('src') ?? '.',
          target: joinPath(current.workdir, target) ?? target,
        });
      }
    }
    const env: Env = new Map(this.stageEnv);
    const interpreter = new Interpreter(
      {
        onCommand: (event) => runContext.commands.push({ event, recognised: recognise(event.argv) }),
        resolveScript: (path, cwd) => {
          const imagePath = joinPath(cwd, path.replace(/^~\//, '/root/'));
          if (!imagePath) return undefined;
          const loaded = this.loadImageFile(
            imagePath,
            current,
            runContext,
            { file: this.input.dockerfilePath, line, column: 1 },
            'script',
          );
          if (!loaded) return undefined;
          const content = this.sources.file(loaded.index).text;
          return mstr.fromFile(loaded.index, content, 0, content.length);
        },
      },
      current.workdir,
    );
    const script = runScript(run, this.text, this.dockerfileIndex, this.lineStarts, this.escape, this.fromRange);
    if (script.kind === 'shell') interpreter.run(script.text, env);
    else if (script.kind === 'exec') {
      const argv = script.argv;
      const shell = basename(argv[0]?.text ?? '');
      if ((shell === 'sh' || shell === 'bash') && argv[1]?.text === '-c' && argv[2]) interpreter.run(argv[2], env);
      else
        runContext.commands.push({
          event: { argv, env, cwd: current.workdir, conditional: false, writes: [], order: 0 },
          recognised: recognise(argv),
        });
    }
    handleRun(this, runContext);
  }
}

type StageInstruction = (builder: ModelBuilder, instruction: Instruction, stage: Stage, line: number) => void;

/** The instructions that change a stage, by keyword; others (CMD, LABEL, USER, ...) do not affect the analysis. */
const STAGE_INSTRUCTIONS: Partial<Record<string, StageInstruction>> = {
  ENV: (builder, instruction, stage) => builder.env(instruction as EnvInstruction, stage),
  WORKDIR: (builder, instruction, stage) => builder.workdir(instruction, stage),
  COPY: (builder, instruction, stage, line) => builder.copy(instruction as Copy, stage, line),
  ADD: (builder, instruction, stage, line) => builder.copy(instruction as Copy, stage, line),
  RUN: (builder, instruction, stage, line) => builder.run(instruction as Run, stage, line),
};
