import {
  DockerfileParser,
  type Arg,
  type Copy,
  type Env as EnvInstruction,
  type From,
  type Instruction,
  type Run,
} from 'dockerfile-ast';
import { DISTRO_PYTHON } from '../compat/distro.js';
import { parseCondaArgs, parsePipInstallArgs, recognise, type ParsedOption, type Recognized } from './commands.js';
import { imageFacts, type ImageFacts } from './images.js';
import { parseCondaEnvironment, parseRequirementsFile, type Requirement } from './requirements.js';
import { basename, expandPartsJoined, Interpreter, joinPath, lex, type CommandEvent, type Env } from './shell.js';
import {
  firstSource,
  mstr,
  NO_SOURCE,
  SourceSet,
  spanOf,
  UNRESOLVED,
  type MStr,
  type Position,
  type Span,
} from './text.js';

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
const PYTORCH_INDEX =
  /^https?:\/\/download\.pytorch\.org\/(whl)(?:\/(nightly|test))?(?:\/(cu\d+|cpu(?:-cxx11-abi)?|rocm\d+(?:\.\d+)*|xpu))?\/?(?:torch_stable\.html|torch_test\.html|torch_nightly\.html)?\/?$/;

function indexRef(url: MStr, sources: SourceSet, viaFile: string | null): IndexRef {
  const text = url.text;
  const pytorch = /^https?:\/\/download\.pytorch\.org\//.test(text);
  const match = PYTORCH_INDEX.exec(text);
  const variantMatch = /download\.pytorch\.org\/whl\/(?:(?:nightly|test)\/)?(cu\d+|cpu|rocm[\d.]+|xpu)(?:\/|$)/.exec(
    text,
  );
  const channel = pytorch ? (match?.[2] ?? /\/whl\/(nightly|test)\//.exec(text)?.[1] ?? 'release') : null;
  const first = firstSource(url);
  return {
    url,
    text,
    position: first === undefined ? null : sources.position(first),
    variant: variantMatch?.[1] ?? null,
    channel,
    pytorch,
    pypi: /^https?:\/\/(pypi\.org|pypi\.python\.org|files\.pythonhosted\.org)\//.test(text),
    viaFile,
  };
}

/** Whether an index URL at download.pytorch.org has a path pip can use. */
export function isValidPytorchIndex(text: string): boolean {
  return PYTORCH_INDEX.test(text);
}

interface RunContext {
  stage: Stage;
  instruction: Instruction;
  cacheMounts: string[];
  bindMounts: Array<{ source: string; target: string }>;
  commands: Array<{ event: CommandEvent; recognised: Recognized }>;
}

export function buildModel(input: ModelInput): Model {
  const sources = new SourceSet();
  const dockerfileIndex = sources.add(input.dockerfilePath, input.dockerfileText);
  const buildArgs = input.buildArgs ?? {};
  const model: Model = {
    sources,
    dockerfileIndex,
    dockerfilePath: input.dockerfilePath,
    stages: [],
    installs: [],
    missingFiles: [],
    notes: [],
    platform: buildArgs.TARGETPLATFORM ?? PLATFORM_ARGS.TARGETPLATFORM!,
    buildArgs,
  };
  const text = input.dockerfileText;
  const dockerfile = DockerfileParser.parse(text);
  const escape = dockerfile.getEscapeCharacter();
  const lineStarts = sources.file(dockerfileIndex).lineStarts;
  const offsetAt = (position: { line: number; character: number }) =>
    (lineStarts[position.line] ?? text.length) + position.character;
  const fromRange = (range: {
    start: { line: number; character: number };
    end: { line: number; character: number };
  }): MStr => mstr.fromFile(dockerfileIndex, text, offsetAt(range.start), offsetAt(range.end));
  const positionOf = (value: MStr | null, fallbackLine: number): Position => {
    const first = value ? firstSource(value) : undefined;
    return first === undefined
      ? { file: input.dockerfilePath, line: fallbackLine, column: 1 }
      : sources.position(first);
  };

  /** Expands $VAR / ${VAR:-x} in a Dockerfile value (FROM, COPY, ENV, ARG, WORKDIR), with quote removal. */
  const expand = (value: MStr, env: Env): MStr => {
    const words = lex(value).filter((token) => token.k === 'w');
    const pieces: MStr[] = [];
    words.forEach((token, index) => {
      if (token.k !== 'w') return;
      if (index > 0) pieces.push(mstr.literal(' '));
      pieces.push(expandPartsJoined(token.w.parts, env));
    });
    return mstr.concat(pieces);
  };

  // global ARGs (before the first FROM): visible in FROM lines, and as defaults for ARG re-declarations in stages
  const globalArgs: Env = new Map();
  for (const [name, value] of Object.entries(PLATFORM_ARGS))
    globalArgs.set(name, mstr.literal(buildArgs[name] ?? value));

  let stage: Stage | null = null;
  let stageEnv: Env = new Map();
  let installId = 0;
  let noCacheConfigured = false;
  const generated = new Set<string>();
  const externalDirs: string[] = [];
  const pythonEvidence = new Map<string, { version: string; priority: number }>();

  const declareArg = (instruction: Arg, scope: Env, inStage: boolean) => {
    for (const property of instruction.getProperties()) {
      const name = property.getName();
      let value: MStr | null;
      if (buildArgs[name] !== undefined) value = mstr.literal(buildArgs[name]!);
      else if (property.getValueRange())
        value = expand(fromRange(property.getValueRange()!), inStage ? scope : globalArgs);
      else if (inStage && globalArgs.has(name)) value = globalArgs.get(name) ?? null;
      else if (property.getValue() === '' && property.getAssignmentOperator() === '=') value = mstr.empty();
      else value = null;
      scope.set(name, value);
    }
  };

  const resolveContextPath = (imagePath: string, current: Stage): { contextPath: string; direct: boolean } | null => {
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
    for (const candidate of candidates) if (readContext(candidate.contextPath) !== undefined) return candidate;
    return candidates.find((candidate) => candidate.direct) ?? candidates[0]!;
  };

  const contextCache = new Map<string, string | undefined>();
  const readContext = (path: string): string | undefined => {
    if (contextCache.has(path)) return contextCache.get(path);
    let value: string | undefined;
    try {
      value = input.readContextFile?.(path);
    } catch {
      value = undefined;
    }
    contextCache.set(path, value);
    return value;
  };

  /** Reads a file the build uses at `imagePath` (a requirements file, a script) from the context, if it came from there. */
  const loadImageFile = (
    imagePath: string,
    current: Stage,
    run: RunContext | null,
    position: Position,
    kind: string,
  ): { index: number; path: string } | null => {
    for (const mount of run?.bindMounts ?? []) {
      if (imagePath === mount.target || imagePath.startsWith(`${mount.target}/`)) {
        const contextPath = normaliseContextPath(joinContext(mount.source, imagePath.slice(mount.target.length + 1)));
        const content = contextPath === null ? undefined : readContext(contextPath);
        if (contextPath !== null && content !== undefined)
          return { index: sources.add(contextPath, content), path: contextPath };
      }
    }
    if (generated.has(imagePath)) return null;
    if (externalDirs.some((dir) => imagePath.startsWith(`${dir}/`))) {
      model.notes.push(
        `${kind} ${imagePath} (line ${position.line}) comes from a git clone, not the build context; not analysed`,
      );
      return null;
    }
    const resolved = resolveContextPath(imagePath, current);
    if (!resolved) {
      if (kind !== 'script') {
        model.notes.push(
          `${kind} ${imagePath} (line ${position.line}) is not copied from the build context; not analysed`,
        );
      }
      return null;
    }
    const content = readContext(resolved.contextPath);
    if (content === undefined) {
      if (kind === 'script') return null;
      if (resolved.direct) model.missingFiles.push({ imagePath, contextPath: resolved.contextPath, position });
      else model.notes.push(`${kind} ${imagePath} (line ${position.line}) was not found in the build context`);
      return null;
    }
    return { index: sources.add(resolved.contextPath, content), path: resolved.contextPath };
  };

  const addPython = (
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

  const handleRun = (run: RunContext) => {
    const current = run.stage;
    const laterCleans = (order: number, tool: 'pip' | 'uv') =>
      run.commands.some(
        ({ event, recognised }) =>
          event.order > order &&
          recognised.kind === 'cache-clean' &&
          (recognised.what === 'all' || recognised.what === tool),
      );
    for (const { event, recognised } of run.commands) {
      const position = positionOf(event.argv[0] ?? null, run.instruction.getRange().start.line + 1);
      for (const write of event.writes) {
        const path = joinPath(event.cwd, write.text);
        if (path) generated.add(path);
      }
      switch (recognised.kind) {
        case 'pip': {
          if (recognised.subcommand === 'install') {
            const install = buildPipInstall(
              run,
              event,
              recognised,
              position,
              laterCleans(event.order, recognised.tool),
            );
            current.events.push({ kind: 'install', install });
            model.installs.push(install);
          } else if (recognised.subcommand === 'uninstall') {
            const names = recognised.args
              .filter((arg) => !arg.text.startsWith('-'))
              .map((arg) => arg.text.toLowerCase());
            current.events.push({ kind: 'uninstall', names, position });
          } else if (recognised.subcommand === 'config') {
            const key = recognised.args.find((arg) => /\.no-cache-dir$/.test(arg.text));
            if (key && recognised.args.some((arg) => arg.text === 'set')) noCacheConfigured = true;
          }
          break;
        }
        case 'conda': {
          const install = buildCondaInstall(run, event, recognised, position);
          if (install) {
            current.events.push({ kind: 'install', install });
            model.installs.push(install);
          }
          current.events.push({ kind: 'python-provider', position });
          break;
        }
        case 'apt': {
          const packages = recognised.packages;
          if (packages.some((name) => /^python/.test(name))) current.events.push({ kind: 'python-provider', position });
          const explicit = packages.map((name) => /^python(\d+\.\d+)(-[a-z]+)?$/.exec(name)?.[1]).find(Boolean);
          const distroPython = packages.includes('python3-pip') || (!explicit && packages.includes('python3'));
          const facts = rootFacts(current);
          if (distroPython && facts?.distro) {
            const version = DISTRO_PYTHON[facts.distro]?.python ?? null;
            addPython(current, version, `apt-get install python3 on ${facts.distro}`, position);
          } else if (explicit) addPython(current, explicit, `apt-get install python${explicit}`, position);
          break;
        }
        case 'get-pip':
          addPython(current, recognised.python, `python${recognised.python} get-pip.py`, position, 5);
          current.events.push({ kind: 'python-provider', position });
          break;
        case 'venv':
          addPython(current, recognised.python, `python${recognised.python} -m venv`, position, 5);
          break;
        case 'alternatives':
        case 'symlink': {
          const target = recognised.target;
          const link = recognised.link;
          const version = /python(\d+\.\d+)$/.exec(target)?.[1];
          if (version && /\/python3?$/.test(link)) {
            const priority = recognised.kind === 'alternatives' ? recognised.priority : 100;
            const previous = pythonEvidence.get(link);
            if (!previous || priority >= previous.priority) {
              pythonEvidence.set(link, { version, priority });
              addPython(
                current,
                version,
                `${recognised.kind === 'alternatives' ? 'update-alternatives' : 'ln -s'} ${target}`,
                position,
                4,
              );
            }
          }
          break;
        }
        case 'git-clone': {
          const dest = recognised.dest ?? basename(recognised.url).replace(/\.git$/, '');
          const path = joinPath(event.cwd, dest);
          if (path) externalDirs.push(path);
          break;
        }
        case 'other': {
          const name = recognised.name;
          const readsStdin = (name === 'bash' || name === 'sh') && event.argv.length === 1;
          if (readsStdin || event.argv.some((arg) => /conda|mamba|forge|pyenv/i.test(arg.text))) {
            current.events.push({ kind: 'python-provider', position });
          }
          if (name === 'uv' && event.argv[1]?.text === 'python')
            current.events.push({ kind: 'python-provider', position });
          if ((name === 'cp' || name === 'mv') && event.argv.length >= 3) {
            const path = joinPath(event.cwd, event.argv[event.argv.length - 1]!.text);
            if (path) generated.add(path);
          }
          const output = event.argv.findIndex(
            (arg) => arg.text === '-o' || arg.text === '-O' || arg.text === '--output',
          );
          if ((name === 'curl' || name === 'wget') && output !== -1 && event.argv[output + 1]) {
            const path = joinPath(event.cwd, event.argv[output + 1]!.text);
            if (path) generated.add(path);
          }
          break;
        }
        default:
          break;
      }
    }
  };

  const optionValues = (options: ParsedOption[], name: string) =>
    options.filter((option) => option.name === name && option.value).map((option) => option.value!);

  const buildPipInstall = (
    run: RunContext,
    event: CommandEvent,
    recognised: Extract<Recognized, { kind: 'pip' }>,
    position: Position,
    cleanedLater: boolean,
  ): InstallCommand => {
    const current = run.stage;
    const tool = recognised.tool;
    const parsed = parsePipInstallArgs(recognised.args, tool);
    const options = [...recognised.globalOptions.options, ...parsed.options];
    const has = (...names: string[]) => options.some((option) => names.includes(option.name));
    const install: InstallCommand = {
      id: installId++,
      tool,
      stage: current,
      position,
      instructionLine: run.instruction.getRange().start.line + 1,
      conditional: event.conditional,
      requests: [],
      indexUrl: null,
      extraIndexUrls: [],
      findLinks: [],
      noIndex: has('no-index'),
      upgrade: has('upgrade'),
      forceReinstall: has('force-reinstall', 'ignore-installed', 'reinstall'),
      pre: has('pre') || optionValues(options, 'prerelease').some((value) => value.text === 'allow'),
      cache: { disabled: false, reason: null },
      installWordEnd: spanOf(
        recognised.subcommandWord,
        recognised.subcommandWord.text.length,
        recognised.subcommandWord.text.length,
      ),
      pythonHint: recognised.pythonHint,
      newEnv: false,
      condaCuda: null,
      condaCpu: false,
      torchBackend: optionValues(options, 'torch-backend')[0]?.text ?? null,
    };
    for (const req of parsed.requirements) {
      install.requests.push({
        req,
        position: positionOf(req.token, install.instructionLine),
        viaFile: null,
        constraint: false,
      });
    }
    const indexValue = (name: string) => optionValues(options, name).map((value) => indexRef(value, sources, null));
    install.indexUrl = indexValue('index-url')[0] ?? indexValue('default-index')[0] ?? null;
    install.extraIndexUrls.push(...indexValue('extra-index-url'), ...indexValue('index'));
    install.findLinks.push(...indexValue('find-links'));
    // environment: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, UV_*
    const envValue = (name: string) => {
      const value = event.env.get(name);
      return value === undefined ? undefined : value;
    };
    const prefix = tool === 'pip' ? 'PIP' : 'UV';
    const envIndex = envValue(`${prefix}_INDEX_URL`) ?? (tool === 'uv' ? envValue('UV_DEFAULT_INDEX') : undefined);
    if (!install.indexUrl && envIndex) install.indexUrl = indexRef(envIndex, sources, null);
    for (const name of [`${prefix}_EXTRA_INDEX_URL`, ...(tool === 'uv' ? ['UV_INDEX'] : [])]) {
      const value = envValue(name);
      if (value) for (const part of splitSpaces(value)) install.extraIndexUrls.push(indexRef(part, sources, null));
    }
    const envFindLinks = envValue(`${prefix}_FIND_LINKS`);
    if (envFindLinks)
      for (const part of splitSpaces(envFindLinks)) install.findLinks.push(indexRef(part, sources, null));

    // requirement and constraint files
    const seen = new Set<string>();
    const readRequirementFile = (imagePath: string | null, from: Position, constraint: boolean, depth: number) => {
      if (!imagePath || depth > 5 || seen.has(imagePath)) return;
      seen.add(imagePath);
      const loaded = loadImageFile(
        imagePath,
        current,
        run,
        from,
        constraint ? 'constraints file' : 'requirements file',
      );
      if (!loaded) return;
      const file = sources.file(loaded.index);
      const entries = parseRequirementsFile(mstr.fromFile(loaded.index, file.text, 0, file.text.length));
      const dir = imagePath.slice(0, imagePath.lastIndexOf('/')) || '/';
      for (const entry of entries) {
        if (entry.requirement) {
          const req = entry.requirement;
          install.requests.push({ req, position: positionOf(req.token, 1), viaFile: loaded.path, constraint });
          continue;
        }
        const option = entry.option!;
        const value = option.value;
        const at = value ? positionOf(value, 1) : from;
        if ((option.name === 'requirement' || option.name === 'constraint') && value) {
          readRequirementFile(
            value.text.includes('://') ? null : joinPath(dir, value.text),
            at,
            constraint || option.name === 'constraint',
            depth + 1,
          );
        } else if (option.name === 'index-url' && value) install.indexUrl = indexRef(value, sources, loaded.path);
        else if (option.name === 'extra-index-url' && value)
          install.extraIndexUrls.push(indexRef(value, sources, loaded.path));
        else if (option.name === 'find-links' && value) install.findLinks.push(indexRef(value, sources, loaded.path));
        else if (option.name === 'pre') install.pre = true;
        else if (option.name === 'no-index') install.noIndex = true;
      }
    };
    for (const option of options) {
      if (
        (option.name === 'requirement' ||
          option.name === 'requirements' ||
          option.name === 'constraint' ||
          option.name === 'constraints') &&
        option.value
      ) {
        if (option.value.text.includes('://')) {
          model.notes.push(`remote requirements file ${option.value.text} (line ${position.line}) is not analysed`);
          continue;
        }
        readRequirementFile(
          joinPath(event.cwd, option.value.text),
          positionOf(option.value, install.instructionLine),
          option.name.startsWith('constraint'),
          0,
        );
      }
    }

    // cache
    const cacheDirOption = optionValues(options, 'cache-dir')[0]?.text ?? null;
    const cacheEnv = tool === 'pip' ? envValue('PIP_CACHE_DIR') : envValue('UV_CACHE_DIR');
    const cacheDir = cacheDirOption ?? (cacheEnv ? cacheEnv.text : null);
    const defaultCache = tool === 'pip' ? /(^|\/)\.cache(\/pip)?\/?$/ : /(^|\/)\.cache(\/uv)?\/?$/;
    const mounted = run.cacheMounts.some((target) =>
      cacheDir ? target.replace(/\/$/, '') === cacheDir.replace(/\/$/, '') : defaultCache.test(target),
    );
    if (has('no-cache-dir', 'no-cache')) install.cache = { disabled: true, reason: 'flag' };
    else if (tool === 'pip' && envValue('PIP_NO_CACHE_DIR') !== undefined)
      install.cache = { disabled: true, reason: 'PIP_NO_CACHE_DIR' };
    else if (tool === 'uv' && envValue('UV_NO_CACHE') !== undefined)
      install.cache = { disabled: true, reason: 'UV_NO_CACHE' };
    else if (tool === 'pip' && noCacheConfigured) install.cache = { disabled: true, reason: 'pip config no-cache-dir' };
    else if (mounted) install.cache = { disabled: true, reason: 'BuildKit cache mount' };
    else if (cleanedLater) install.cache = { disabled: true, reason: 'cache removed later in the same RUN' };
    return install;
  };

  const buildCondaInstall = (
    run: RunContext,
    event: CommandEvent,
    recognised: Extract<Recognized, { kind: 'conda' }>,
    position: Position,
  ): InstallCommand | null => {
    const sub = recognised.subcommand;
    if (!['install', 'create', 'update', 'env-create', 'env-update'].includes(sub)) return null;
    const parsed = parseCondaArgs(sub, recognised.args);
    const install: InstallCommand = {
      id: installId++,
      tool: 'conda',
      stage: run.stage,
      position,
      instructionLine: run.instruction.getRange().start.line + 1,
      conditional: event.conditional,
      requests: parsed.packages.map((req) => ({
        req,
        position: positionOf(req.token, position.line),
        viaFile: null,
        constraint: false,
      })),
      indexUrl: null,
      extraIndexUrls: [],
      findLinks: [],
      noIndex: false,
      upgrade: sub === 'update',
      forceReinstall: recognised.args.some((arg) => arg.text === '--force-reinstall'),
      pre: false,
      cache: { disabled: true, reason: 'conda' },
      installWordEnd: null,
      pythonHint: null,
      newEnv: parsed.newEnv,
      condaCuda: null,
      condaCpu: false,
      torchBackend: null,
    };
    for (const file of parsed.files) {
      const imagePath = joinPath(event.cwd, file.text);
      if (!imagePath) continue;
      const loaded = loadImageFile(
        imagePath,
        run.stage,
        run,
        positionOf(file, position.line),
        'conda environment file',
      );
      if (!loaded) continue;
      const content = sources.file(loaded.index).text;
      const whole = mstr.fromFile(loaded.index, content, 0, content.length);
      if (/\.ya?ml$/.test(loaded.path) || sub.startsWith('env-')) {
        const environment = parseCondaEnvironment(whole);
        for (const req of environment.conda)
          install.requests.push({ req, position: positionOf(req.token, 1), viaFile: loaded.path, constraint: false });
        for (const req of environment.pip)
          install.requests.push({ req, position: positionOf(req.token, 1), viaFile: loaded.path, constraint: false });
      }
    }
    for (const request of install.requests) {
      const req = request.req;
      if (!req.conda) continue;
      if (req.name === 'pytorch-cuda' || req.name === 'cudatoolkit' || req.name === 'cuda-version') {
        const version = req.pin.text ?? req.spec.replace(/^[=<>!~]+/, '');
        const match = /^(\d+\.\d+)/.exec(version);
        if (match) install.condaCuda = { cuda: match[1]!, position: request.position };
      }
      if (req.name === 'cpuonly') install.condaCpu = true;
      if (req.name === 'python') {
        const match = /^(\d+\.\d+)/.exec(req.pin.text ?? '');
        const span = req.versionRange ? spanOf(req.token, req.versionRange[0], req.versionRange[1]) : null;
        if (match) {
          addPython(
            run.stage,
            match[1]!,
            `${recognised.tool} ${sub} python=${req.pin.text}`,
            request.position,
            3,
            span,
          );
        }
      }
      if (req.name === 'pytorch' && req.condaBuild) {
        const cuda = /cuda(\d+\.\d+)/.exec(req.condaBuild);
        if (cuda) install.condaCuda = { cuda: cuda[1]!, position: request.position };
      }
    }
    return install;
  };

  // ------------------------------------------------------------------------------------------------------------
  // walk the instructions
  const instructions = dockerfile.getInstructions();
  for (const instruction of instructions) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const from = instruction as From;
      const imageRange = from.getImageRange();
      const raw = imageRange ? fromRange(imageRange) : mstr.empty();
      const image = expand(raw, globalArgs);
      const unresolvedArgs = [...raw.text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)]
        .map((match) => match[1]!)
        .filter((name) => {
          const value = globalArgs.get(name);
          return value === undefined || value === null;
        });
      const parent =
        model.stages.find(
          (candidate) => candidate.name !== null && candidate.name.toLowerCase() === image.text.toLowerCase(),
        ) ?? null;
      const name = from.getBuildStage();
      stage = {
        index: model.stages.length,
        name,
        line,
        image,
        imageRaw: raw.text,
        imageSpan: imageRange
          ? { file: dockerfileIndex, start: offsetAt(imageRange.start), end: offsetAt(imageRange.end) }
          : null,
        parent,
        facts: parent || image.text === '' || image.text.includes(UNRESOLVED) ? null : imageFacts(image.text),
        events: [],
        copies: parent ? [...parent.copies] : [],
        env: new Map(),
        workdir: parent ? parent.workdir : '/',
        unresolvedArgs,
      };
      // ENV from a parent stage is inherited; ARGs are not.
      stageEnv = new Map(parent ? parent.env : []);
      if (parent) for (const [key, value] of parent.env) stage.env.set(key, value);
      model.stages.push(stage);
      if (!parent) pythonEvidence.clear();
      if (!parent) noCacheConfigured = false;
      continue;
    }
    if (keyword === 'ARG') {
      if (!stage) declareArg(instruction as Arg, globalArgs, false);
      else {
        const scope: Env = new Map(stageEnv);
        declareArg(instruction as Arg, scope, true);
        for (const property of (instruction as Arg).getProperties()) {
          const name = property.getName();
          const platformDefault = PLATFORM_ARGS[name];
          if (platformDefault !== undefined && !property.getValueRange()) {
            stageEnv.set(name, mstr.literal(buildArgs[name] ?? platformDefault));
            continue;
          }
          // an ENV of the same name wins over ARG
          if (!stage.env.has(name)) stageEnv.set(name, scope.get(name) ?? null);
        }
      }
      continue;
    }
    if (!stage) continue;
    const current: Stage = stage;
    switch (keyword) {
      case 'ENV': {
        for (const property of (instruction as EnvInstruction).getProperties()) {
          const range = property.getValueRange();
          const value = range ? expand(fromRange(range), stageEnv) : mstr.empty();
          stageEnv.set(property.getName(), value);
          current.env.set(property.getName(), value);
        }
        break;
      }
      case 'WORKDIR': {
        const range = instruction.getArgumentsRange();
        if (range) {
          const value = expand(fromRange(range), stageEnv).text;
          current.workdir = joinPath(current.workdir, value) ?? current.workdir;
        }
        break;
      }
      case 'COPY':
      case 'ADD': {
        const copy = instruction as Copy;
        const fromFlag = copy.getFlags().find((flag) => flag.getName() === 'from');
        const args = argumentValues(copy, fromRange).map((value) => expand(value, stageEnv).text);
        if (args.length < 2 || (keyword === 'COPY' && args.some((arg) => arg.startsWith('<<')))) break;
        const dest = args[args.length - 1]!;
        const sourcesList = args.slice(0, -1);
        const position = { file: input.dockerfilePath, line, column: 1 };
        if (fromFlag) {
          const fromName = (fromFlag.getValue() ?? '').toLowerCase();
          const fromStage = model.stages.find(
            (candidate) => candidate.name?.toLowerCase() === fromName || String(candidate.index) === fromName,
          );
          if (fromStage) {
            const python = sourcesList.some((source) => PYTHON_ENV_PATH.test(source));
            const cuda = sourcesList.some((source) => /^\/usr\/local\/cuda/.test(source));
            current.events.push({ kind: 'stage-copy', from: fromStage, python, cuda, position });
          }
          current.events.push({ kind: 'python-provider', position });
          break;
        }
        const absoluteDest = joinPath(current.workdir, dest) ?? dest;
        current.copies.push({
          sources: sourcesList.filter((source) => !/^https?:\/\//.test(source)),
          dest: absoluteDest,
          destIsDir: dest.endsWith('/') || sourcesList.length > 1 || dest === '.' || dest === '..',
          line,
        });
        break;
      }
      case 'RUN': {
        const run = instruction as Run;
        const runContext: RunContext = { stage: current, instruction, cacheMounts: [], bindMounts: [], commands: [] };
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
        const env: Env = new Map(stageEnv);
        const interpreter = new Interpreter(
          {
            onCommand: (event) => runContext.commands.push({ event, recognised: recognise(event.argv) }),
            resolveScript: (path, cwd) => {
              const imagePath = joinPath(cwd, path.replace(/^~\//, '/root/'));
              if (!imagePath) return undefined;
              const loaded = loadImageFile(
                imagePath,
                current,
                runContext,
                { file: input.dockerfilePath, line, column: 1 },
                'script',
              );
              if (!loaded) return undefined;
              const content = sources.file(loaded.index).text;
              return mstr.fromFile(loaded.index, content, 0, content.length);
            },
          },
          current.workdir,
        );
        const script = runScript(run, text, dockerfileIndex, lineStarts, escape, fromRange);
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
        handleRun(runContext);
        break;
      }
      default:
        break;
    }
  }
  return model;
}

function rootFacts(stage: Stage): ImageFacts | null {
  let current: Stage | null = stage;
  while (current?.parent) current = current.parent;
  return current?.facts ?? null;
}

function splitSpaces(value: MStr): MStr[] {
  const parts: MStr[] = [];
  let start = -1;
  for (let index = 0; index <= value.text.length; index++) {
    const char = value.text[index];
    if (char === undefined || /\s/.test(char)) {
      if (start !== -1) parts.push(mstr.slice(value, start, index));
      start = -1;
    } else if (start === -1) start = index;
  }
  return parts;
}

function normaliseContextPath(path: string): string | null {
  if (path.includes(UNRESOLVED)) return null;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(segment);
  }
  return out.join('/');
}

function joinContext(dir: string, rest: string): string {
  const left = normaliseContextPath(dir) ?? '';
  return left === '' ? rest : `${left}/${rest}`;
}

function argumentValues(
  instruction: Instruction,
  fromRange: (range: ReturnType<Instruction['getRange']>) => MStr,
): MStr[] {
  const args = instruction.getArguments();
  if (args.length > 0 && args[0]!.getValue().startsWith('[')) {
    const json = parseJsonArray(
      fromRange({ start: args[0]!.getRange().start, end: args[args.length - 1]!.getRange().end }),
    );
    if (json) return json;
  }
  return args.map((argument) => fromRange(argument.getRange()));
}

/**
 * Parses the exec (JSON array) form, keeping the source position of every decoded character; escaped characters
 * get no position so an edit never lands inside an escape sequence. Null when it is not a JSON string array.
 */
export function parseJsonArray(raw: MStr): MStr[] | null {
  const text = raw.text;
  let index = 0;
  const skipSpace = () => {
    while (
      index < text.length &&
      (/\s/.test(text[index]!) || (text[index] === '\\' && /^\\[ \t]*\r?\n/.test(text.slice(index))))
    ) {
      if (text[index] === '\\') index = text.indexOf('\n', index) + 1;
      else index++;
    }
  };
  skipSpace();
  if (text[index] !== '[') return null;
  index++;
  const values: MStr[] = [];
  for (;;) {
    skipSpace();
    if (text[index] === ']' && values.length === 0) {
      index++;
      break;
    }
    if (text[index] !== '"') return null;
    index++;
    let value = '';
    const src: number[] = [];
    while (index < text.length && text[index] !== '"') {
      if (text[index] === '\\') {
        const next = text[index + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (next === 'u') {
          value += String.fromCharCode(parseInt(text.slice(index + 2, index + 6), 16));
          index += 6;
        } else if (next !== undefined && simple[next] !== undefined) {
          value += simple[next];
          index += 2;
        } else return null;
        src.push(NO_SOURCE);
        continue;
      }
      value += text[index];
      src.push(raw.src[index] ?? NO_SOURCE);
      index++;
    }
    if (text[index] !== '"') return null;
    index++;
    values.push({ text: value, src });
    skipSpace();
    if (text[index] === ',') {
      index++;
      continue;
    }
    if (text[index] === ']') {
      index++;
      break;
    }
    return null;
  }
  skipSpace();
  return index >= text.length ? values : null;
}

type RunScript = { kind: 'shell'; text: MStr } | { kind: 'exec'; argv: MStr[] } | { kind: 'none' };

/**
 * The text the shell runs for a RUN: Docker's line continuations removed (comment and empty lines inside a
 * continuation dropped), and for `RUN <<EOF` / `RUN bash <<EOF` the here-document body.
 */
function runScript(
  run: Run,
  text: string,
  fileIndex: number,
  lineStarts: number[],
  escape: string,
  fromRange: (range: ReturnType<Instruction['getRange']>) => MStr,
): RunScript {
  const args = run.getArguments();
  if (args.length === 0) return { kind: 'none' };
  const argsRange = { start: args[0]!.getRange().start, end: args[args.length - 1]!.getRange().end };
  if (args[0]!.getValue().startsWith('[')) {
    const argv = parseJsonArray(fromRange(argsRange));
    if (argv) return { kind: 'exec', argv };
  }
  const endLine = run.getRange().end.line;
  const heredocs = args.some((arg) => arg.getValue().includes('<<')) ? run.getHeredocs() : [];
  const bodyStart = heredocs.find((heredoc) => heredoc.getContentRange() !== null)?.getContentRange()?.start.line;
  const lastCommandLine = bodyStart !== undefined ? bodyStart - 1 : endLine;
  const continuation = new RegExp(`${escape === '`' ? '`' : '\\\\'}[ \\t]*$`);
  const parts: MStr[] = [];
  let line = argsRange.start.line;
  let offset = (lineStarts[line] ?? text.length) + argsRange.start.character;
  for (;;) {
    const nextStart = lineStarts[line + 1];
    let lineEnd = nextStart === undefined ? text.length : nextStart - 1;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    const segment = text.slice(offset, lineEnd);
    const match = continuation.exec(segment);
    if (match && line < lastCommandLine) {
      parts.push(mstr.fromFile(fileIndex, text, offset, offset + match.index));
      line++;
      while (line < lastCommandLine) {
        const start = lineStarts[line] ?? text.length;
        const end = lineStarts[line + 1] === undefined ? text.length : lineStarts[line + 1]! - 1;
        const content = text.slice(start, end);
        if (content.trim() === '' || /^\s*#/.test(content)) line++;
        else break;
      }
      offset = lineStarts[line] ?? text.length;
      if (offset >= text.length) break;
      continue;
    }
    parts.push(mstr.fromFile(fileIndex, text, offset, lineEnd));
    break;
  }
  const command = mstr.concat(parts);
  const withBody = heredocs.find((heredoc) => heredoc.getContentRange() !== null);
  if (withBody) {
    const range = withBody.getContentRange()!;
    const body = fromRange(range);
    const head = command.text.trim();
    if (
      /^(?:(?:\/usr)?\/bin\/)?(?:ba|da)?sh(?:\s+-[a-z]+)*\s+<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(head) ||
      /^<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(head)
    ) {
      return { kind: 'shell', text: body };
    }
  }
  return { kind: 'shell', text: command };
}
