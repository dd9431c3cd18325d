import { parseCondaArgs, parsePipInstallArgs, type ParsedOption, type Recognized } from './commands.js';
import { indexRef } from './index-ref.js';
import type { InstallCommand } from './model.js';
import type { ModelBuilder, RunContext } from './model-builder.js';
import { splitSpaces } from './model-text.js';
import { parseCondaEnvironment, parseRequirementsFile } from './requirements.js';
import { joinPath, type CommandEvent } from './shell.js';
import { mstr, spanOf, type MStr, type Position } from './text.js';

/** The pip / uv and conda install commands of a RUN, with the requirement, constraint and environment files they read. */

function optionValues(options: ParsedOption[], name: string): MStr[] {
  return options.filter((option) => option.name === name && option.value).map((option) => option.value!);
}

export function buildPipInstall(
  b: ModelBuilder,
  run: RunContext,
  event: CommandEvent,
  recognised: Extract<Recognized, { kind: 'pip' }>,
  position: Position,
  cleanedLater: boolean,
): InstallCommand {
  const current = run.stage;
  const tool = recognised.tool;
  const parsed = parsePipInstallArgs(recognised.args, tool);
  const options = [...recognised.globalOptions.options, ...parsed.options];
  const has = (...names: string[]) => options.some((option) => names.includes(option.name));
  const install: InstallCommand = {
    id: b.installId++,
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
      position: b.positionOf(req.token, install.instructionLine),
      viaFile: null,
      constraint: false,
    });
  }
  const indexValue = (name: string) => optionValues(options, name).map((value) => indexRef(value, b.sources, null));
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
  if (!install.indexUrl && envIndex) install.indexUrl = indexRef(envIndex, b.sources, null);
  for (const name of [`${prefix}_EXTRA_INDEX_URL`, ...(tool === 'uv' ? ['UV_INDEX'] : [])]) {
    const value = envValue(name);
    if (value) for (const part of splitSpaces(value)) install.extraIndexUrls.push(indexRef(part, b.sources, null));
  }
  const envFindLinks = envValue(`${prefix}_FIND_LINKS`);
  if (envFindLinks)
    for (const part of splitSpaces(envFindLinks)) install.findLinks.push(indexRef(part, b.sources, null));

  readRequirementFiles(b, run, event, install, options, position);
  install.cache = pipCache(b, run, event, tool, options, cleanedLater);
  return install;
}

/** Reads the requirement and constraint files (-r / -c, nested) an install names into its requests and indexes. */
function readRequirementFiles(
  b: ModelBuilder,
  run: RunContext,
  event: CommandEvent,
  install: InstallCommand,
  options: ParsedOption[],
  position: Position,
): void {
  const current = run.stage;
  const seen = new Set<string>();
  const readRequirementFile = (imagePath: string | null, from: Position, constraint: boolean, depth: number) => {
    if (!imagePath || depth > 5 || seen.has(imagePath)) return;
    seen.add(imagePath);
    const loaded = b.loadImageFile(
      imagePath,
      current,
      run,
      from,
      constraint ? 'constraints file' : 'requirements file',
    );
    if (!loaded) return;
    const file = b.sources.file(loaded.index);
    const entries = parseRequirementsFile(mstr.fromFile(loaded.index, file.text, 0, file.text.length));
    const dir = imagePath.slice(0, imagePath.lastIndexOf('/')) || '/';
    for (const entry of entries) {
      if (entry.requirement) {
        const req = entry.requirement;
        install.requests.push({ req, position: b.positionOf(req.token, 1), viaFile: loaded.path, constraint });
        continue;
      }
      const option = entry.option!;
      const value = option.value;
      const at = value ? b.positionOf(value, 1) : from;
      if ((option.name === 'requirement' || option.name === 'constraint') && value) {
        readRequirementFile(
          value.text.includes('://') ? null : joinPath(dir, value.text),
          at,
          constraint || option.name === 'constraint',
          depth + 1,
        );
      } else if (option.name === 'index-url' && value) install.indexUrl = indexRef(value, b.sources, loaded.path);
      else if (option.name === 'extra-index-url' && value)
        install.extraIndexUrls.push(indexRef(value, b.sources, loaded.path));
      else if (option.name === 'find-links' && value) install.findLinks.push(indexRef(value, b.sources, loaded.path));
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
        b.model.notes.push(`remote requirements file ${option.value.text} (line ${position.line}) is not analysed`);
        continue;
      }
      readRequirementFile(
        joinPath(event.cwd, option.value.text),
        b.positionOf(option.value, install.instructionLine),
        option.name.startsWith('constraint'),
        0,
      );
    }
  }
}

/** Whether the install keeps its cache in the layer, and if not, why. */
function pipCache(
  b: ModelBuilder,
  run: RunContext,
  event: CommandEvent,
  tool: 'pip' | 'uv',
  options: ParsedOption[],
  cleanedLater: boolean,
): InstallCommand['cache'] {
  const has = (...names: string[]) => options.some((option) => names.includes(option.name));
  const envValue = (name: string) => event.env.get(name);
  const cacheDirOption = optionValues(options, 'cache-dir')[0]?.text ?? null;
  const cacheEnv = tool === 'pip' ? envValue('PIP_CACHE_DIR') : envValue('UV_CACHE_DIR');
  const cacheDir = cacheDirOption ?? (cacheEnv ? cacheEnv.text : null);
  const defaultCache = tool === 'pip' ? /(^|\/)\.cache(\/pip)?\/?$/ : /(^|\/)\.cache(\/uv)?\/?$/;
  const mounted = run.cacheMounts.some((target) =>
    cacheDir ? target.replace(/\/$/, '') === cacheDir.replace(/\/$/, '') : defaultCache.test(target),
  );
  if (has('no-cache-dir', 'no-cache')) return { disabled: true, reason: 'flag' };
  else if (tool === 'pip' && envValue('PIP_NO_CACHE_DIR') !== undefined)
    return { disabled: true, reason: 'PIP_NO_CACHE_DIR' };
  else if (tool === 'uv' && envValue('UV_NO_CACHE') !== undefined) return { disabled: true, reason: 'UV_NO_CACHE' };
  else if (tool === 'pip' && b.noCacheConfigured) return { disabled: true, reason: 'pip config no-cache-dir' };
  else if (mounted) return { disabled: true, reason: 'BuildKit cache mount' };
  else if (cleanedLater) return { disabled: true, reason: 'cache removed later in the same RUN' };
  return { disabled: false, reason: null };
}

export function buildCondaInstall(
  b: ModelBuilder,
  run: RunContext,
  event: CommandEvent,
  recognised: Extract<Recognized, { kind: 'conda' }>,
  position: Position,
): InstallCommand | null {
  const sub = recognised.subcommand;
  if (!['install', 'create', 'update', 'env-create', 'env-update'].includes(sub)) return null;
  const parsed = parseCondaArgs(sub, recognised.args);
  const install: InstallCommand = {
    id: b.installId++,
    tool: 'conda',
    stage: run.stage,
    position,
    instructionLine: run.instruction.getRange().start.line + 1,
    conditional: event.conditional,
    requests: parsed.packages.map((req) => ({
      req,
      position: b.positionOf(req.token, position.line),
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
    const loaded = b.loadImageFile(
      imagePath,
      run.stage,
      run,
      b.positionOf(file, position.line),
      'conda environment file',
    );
    if (!loaded) continue;
    const content = b.sources.file(loaded.index).text;
    const whole = mstr.fromFile(loaded.index, content, 0, content.length);
    if (/\.ya?ml$/.test(loaded.path) || sub.startsWith('env-')) {
      const environment = parseCondaEnvironment(whole);
      for (const req of environment.conda)
        install.requests.push({ req, position: b.positionOf(req.token, 1), viaFile: loaded.path, constraint: false });
      for (const req of environment.pip)
        install.requests.push({ req, position: b.positionOf(req.token, 1), viaFile: loaded.path, constraint: false });
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
        b.addPython(
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
}
