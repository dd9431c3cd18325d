import { basename } from './shell.js';
import { parseCondaSpec, parseRequirement, type Requirement } from './requirements.js';
import { UNRESOLVED, type MStr } from './text.js';

/**
 * Recognises the commands that matter in a RUN: pip / pip3 / python -m pip / uv pip installs, conda / mamba /
 * micromamba, apt installs of Python, get-pip.py, cache clean-ups. Option parsing follows pip's optparse rules,
 * including unambiguous abbreviations of long options (`--no-cache` = `--no-cache-dir`, `--force` =
 * `--force-reinstall`).
 */

/** pip install / global long options; true = takes a value. */
const PIP_LONG: Record<string, boolean> = {
  requirement: true,
  constraint: true,
  'no-deps': false,
  pre: false,
  editable: true,
  'dry-run': false,
  target: true,
  platform: true,
  'python-version': true,
  implementation: true,
  abi: true,
  user: false,
  root: true,
  prefix: true,
  src: true,
  upgrade: false,
  'upgrade-strategy': true,
  'force-reinstall': false,
  'ignore-installed': false,
  'ignore-requires-python': false,
  'no-build-isolation': false,
  'use-pep517': false,
  'no-use-pep517': false,
  'check-build-dependencies': false,
  'break-system-packages': false,
  'config-settings': true,
  'global-option': true,
  'install-option': true,
  'build-option': true,
  compile: false,
  'no-compile': false,
  'no-warn-script-location': false,
  'no-warn-conflicts': false,
  'no-binary': true,
  'only-binary': true,
  'prefer-binary': false,
  'require-hashes': false,
  'progress-bar': true,
  'root-user-action': true,
  report: true,
  group: true,
  'index-url': true,
  'extra-index-url': true,
  'no-index': false,
  'find-links': true,
  help: false,
  debug: false,
  isolated: false,
  'require-virtualenv': false,
  python: true,
  verbose: false,
  version: false,
  quiet: false,
  log: true,
  'no-input': false,
  'keyring-provider': true,
  proxy: true,
  retries: true,
  timeout: true,
  'exists-action': true,
  'trusted-host': true,
  cert: true,
  'client-cert': true,
  'cache-dir': true,
  'no-cache-dir': false,
  'disable-pip-version-check': false,
  'no-color': false,
  'no-python-version-warning': false,
  'use-feature': true,
  'use-deprecated': true,
  'resume-retries': true,
};
const PIP_SHORT: Record<string, [string, boolean]> = {
  r: ['requirement', true],
  c: ['constraint', true],
  e: ['editable', true],
  t: ['target', true],
  U: ['upgrade', false],
  I: ['ignore-installed', false],
  C: ['config-settings', true],
  i: ['index-url', true],
  f: ['find-links', true],
  h: ['help', false],
  v: ['verbose', false],
  V: ['version', false],
  q: ['quiet', false],
};

/** uv pip install options (clap: no abbreviations); true = takes a value. */
const UV_LONG: Record<string, boolean> = {
  requirement: true,
  requirements: true,
  constraint: true,
  constraints: true,
  override: true,
  overrides: true,
  editable: true,
  'index-url': true,
  'extra-index-url': true,
  'default-index': true,
  index: true,
  'find-links': true,
  'no-index': false,
  upgrade: false,
  'upgrade-package': true,
  reinstall: false,
  'reinstall-package': true,
  'force-reinstall': false,
  'no-deps': false,
  pre: false,
  prerelease: true,
  resolution: true,
  'index-strategy': true,
  'torch-backend': true,
  python: true,
  system: false,
  'break-system-packages': false,
  target: true,
  prefix: true,
  'no-cache': false,
  'no-cache-dir': false,
  'cache-dir': true,
  'no-build-isolation': false,
  'config-settings': true,
  'link-mode': true,
  'compile-bytecode': false,
  'exclude-newer': true,
  extra: true,
  'all-extras': false,
  'keyring-provider': true,
  'python-platform': true,
  'python-version': true,
  quiet: false,
  verbose: false,
  'no-progress': false,
  offline: false,
  'config-file': true,
  'no-config': false,
};
const UV_SHORT: Record<string, [string, boolean]> = {
  r: ['requirement', true],
  c: ['constraint', true],
  e: ['editable', true],
  i: ['index-url', true],
  f: ['find-links', true],
  U: ['upgrade', false],
  P: ['upgrade-package', true],
  p: ['python', true],
  n: ['no-cache', false],
  q: ['quiet', false],
  v: ['verbose', false],
  t: ['target', true],
};

function resolveLong(name: string, table: Record<string, boolean>, abbreviations: boolean): string | null {
  if (name in table) return name;
  if (!abbreviations) return null;
  const candidates = Object.keys(table).filter((option) => option.startsWith(name));
  return candidates.length === 1 ? candidates[0]! : null;
}

export interface ParsedOption {
  name: string;
  value: MStr | null;
  /** The argument that carried the option (for pointing at it). */
  arg: MStr;
}

export interface PipInstallArgs {
  options: ParsedOption[];
  requirements: Requirement[];
  /** Arguments that were neither options nor requirements (local paths, `.`). */
  others: MStr[];
}

function sliceValue(arg: MStr, from: number): MStr {
  return { text: arg.text.slice(from), src: arg.src.slice(from) };
}

export function parsePipInstallArgs(args: readonly MStr[], tool: 'pip' | 'uv'): PipInstallArgs {
  const long = tool === 'pip' ? PIP_LONG : UV_LONG;
  const short = tool === 'pip' ? PIP_SHORT : UV_SHORT;
  const result: PipInstallArgs = { options: [], requirements: [], others: [] };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const text = arg.text;
    if (text.startsWith('--') && text.length > 2) {
      const eq = text.indexOf('=');
      const rawName = text.slice(2, eq === -1 ? undefined : eq);
      const name = resolveLong(rawName, long, tool === 'pip');
      if (!name) {
        result.options.push({ name: rawName, value: null, arg });
        continue;
      }
      let value: MStr | null = null;
      if (long[name]) {
        if (eq !== -1) value = sliceValue(arg, eq + 1);
        else if (index + 1 < args.length) value = args[++index]!;
      }
      if (name === 'editable' && value) {
        const requirement = parseRequirement(value, true);
        if (requirement) result.requirements.push(requirement);
        else result.others.push(value);
        continue;
      }
      result.options.push({ name, value, arg });
      continue;
    }
    if (text.startsWith('-') && text.length > 1 && !text.startsWith('--')) {
      for (let position = 1; position < text.length; position++) {
        const spec = short[text[position]!];
        if (!spec) continue;
        const [name, takesValue] = spec;
        if (!takesValue) {
          result.options.push({ name, value: null, arg });
          continue;
        }
        let value: MStr | null;
        if (position + 1 < text.length) value = sliceValue(arg, position + 1);
        else value = index + 1 < args.length ? args[++index]! : null;
        if (name === 'editable' && value) {
          const requirement = parseRequirement(value, true);
          if (requirement) result.requirements.push(requirement);
          else result.others.push(value);
        } else result.options.push({ name, value, arg });
        break;
      }
      continue;
    }
    const requirement = parseRequirement(arg);
    if (requirement) result.requirements.push(requirement);
    else result.others.push(arg);
  }
  return result;
}

export type Recognized =
  | {
      kind: 'pip';
      tool: 'pip' | 'uv';
      subcommand: string;
      pythonHint: string | null;
      args: MStr[];
      subcommandWord: MStr;
      globalOptions: PipInstallArgs;
    }
  | { kind: 'conda'; tool: string; subcommand: string; args: MStr[] }
  | { kind: 'apt'; packages: string[] }
  | { kind: 'get-pip'; python: string | null }
  | { kind: 'venv'; python: string | null }
  | { kind: 'alternatives'; link: string; target: string; priority: number }
  | { kind: 'symlink'; target: string; link: string }
  | { kind: 'cache-clean'; what: 'pip' | 'uv' | 'all' }
  | { kind: 'git-clone'; dest: string | null; url: string }
  | { kind: 'other'; name: string };

const PIP_NAME = /^pip(\d+(?:\.\d+)?)?\uE000?$/;
const PYTHON_NAME = /^python(\d+(?:\.\d+)?)?\uE000?$/;

function pythonVersionOf(name: string): string | null {
  const match = /(\d+\.\d+)$/.exec(name.replace(UNRESOLVED, ''));
  return match && !name.includes(UNRESOLVED) ? match[1]! : null;
}

/** Splits `pip [global options] <subcommand> args...` */
function pipInvocation(tool: 'pip' | 'uv', pythonHint: string | null, rest: MStr[]): Recognized {
  let index = 0;
  const globalArgs: MStr[] = [];
  const long = tool === 'pip' ? PIP_LONG : UV_LONG;
  while (index < rest.length && rest[index]!.text.startsWith('-')) {
    const text = rest[index]!.text;
    globalArgs.push(rest[index]!);
    const name = text.startsWith('--') ? resolveLong(text.slice(2).split('=')[0]!, long, tool === 'pip') : null;
    if (name && long[name] && !text.includes('=') && index + 1 < rest.length) globalArgs.push(rest[++index]!);
    index++;
  }
  const subcommandWord = rest[index];
  if (!subcommandWord) return { kind: 'other', name: tool };
  return {
    kind: 'pip',
    tool,
    subcommand: subcommandWord.text,
    pythonHint,
    args: rest.slice(index + 1),
    subcommandWord,
    globalOptions: parsePipInstallArgs(globalArgs, tool),
  };
}

function pipOrCacheClean(invocation: Recognized): Recognized {
  if (
    invocation.kind === 'pip' &&
    invocation.subcommand === 'cache' &&
    /^(purge|remove)$/.test(invocation.args[0]?.text ?? '')
  ) {
    return { kind: 'cache-clean', what: 'pip' };
  }
  return invocation;
}

export function recognise(argv: readonly MStr[]): Recognized {
  const first = argv[0];
  if (!first) return { kind: 'other', name: '' };
  const name = basename(first.text);
  const args = argv.slice(1);
  if (PIP_NAME.test(name)) return pipOrCacheClean(pipInvocation('pip', pythonVersionOf(name), args));
  if (name === 'uv' && args[0]?.text === 'pip') return pipInvocation('uv', null, args.slice(1));
  if (name === 'uv' && args[0]?.text === 'cache' && /^(clean|prune)$/.test(args[1]?.text ?? ''))
    return { kind: 'cache-clean', what: 'uv' };
  if (PYTHON_NAME.test(name)) {
    const python = pythonVersionOf(name);
    for (let index = 0; index < args.length; index++) {
      const text = args[index]!.text;
      if (text === '-m' || text.startsWith('-m')) {
        const module = text === '-m' ? args[index + 1]?.text : text.slice(2);
        const after = args.slice(index + (text === '-m' ? 2 : 1));
        if (module === 'pip') return pipOrCacheClean(pipInvocation('pip', python, after));
        if (module === 'uv' && after[0]?.text === 'pip') return pipInvocation('uv', python, after.slice(1));
        if (module === 'venv') return { kind: 'venv', python };
        return { kind: 'other', name };
      }
      if (!text.startsWith('-')) {
        if (/get-pip\.py$/.test(text)) return { kind: 'get-pip', python };
        return { kind: 'other', name };
      }
    }
    return { kind: 'other', name };
  }
  if (name === 'conda' || name === 'mamba' || name === 'micromamba') {
    let subcommand = args[0]?.text ?? '';
    let rest = args.slice(1);
    if (subcommand === 'env') {
      subcommand = `env-${args[1]?.text ?? ''}`;
      rest = args.slice(2);
    }
    return { kind: 'conda', tool: name, subcommand, args: rest };
  }
  if (
    name === 'apt-get' ||
    name === 'apt' ||
    name === 'aptitude' ||
    name === 'yum' ||
    name === 'dnf' ||
    name === 'apk' ||
    name === 'microdnf'
  ) {
    const verbs = args.filter((arg) => !arg.text.startsWith('-')).map((arg) => arg.text);
    if (verbs[0] === 'install' || verbs[0] === 'add') return { kind: 'apt', packages: verbs.slice(1) };
    return { kind: 'other', name };
  }
  if (name === 'update-alternatives') {
    const install = args.findIndex((arg) => arg.text === '--install');
    if (install !== -1 && args.length >= install + 5) {
      return {
        kind: 'alternatives',
        link: args[install + 1]!.text,
        target: args[install + 3]!.text,
        priority: Number(args[install + 4]!.text) || 0,
      };
    }
    return { kind: 'other', name };
  }
  if (name === 'ln') {
    const positional = args.filter((arg) => !arg.text.startsWith('-')).map((arg) => arg.text);
    if (positional.length === 2) return { kind: 'symlink', target: positional[0]!, link: positional[1]! };
    return { kind: 'other', name };
  }
  if (name === 'rm') {
    const paths = args.filter((arg) => !arg.text.startsWith('-')).map((arg) => arg.text);
    if (paths.some((path) => /(^|\/)\.cache(\/pip)?\/?$|\/\.cache\/?\*?$/.test(path) || path === '~/.cache')) {
      return { kind: 'cache-clean', what: 'all' };
    }
    if (paths.some((path) => /\.cache\/uv\/?$/.test(path))) return { kind: 'cache-clean', what: 'uv' };
    return { kind: 'other', name };
  }
  if (name === 'git' && args[0]?.text === 'clone') {
    const positional = args.slice(1).filter((arg) => !arg.text.startsWith('-'));
    // options with values (-b/--branch, --depth) make positional detection loose; take URL = first with '://' or '@'
    const urlIndex = positional.findIndex((arg) => /:\/\/|@/.test(arg.text));
    const url = urlIndex === -1 ? '' : positional[urlIndex]!.text;
    const dest = urlIndex !== -1 && positional[urlIndex + 1] ? positional[urlIndex + 1]!.text : null;
    return { kind: 'git-clone', url, dest };
  }
  return { kind: 'other', name };
}

/** Parses conda install/create args: packages, channels, -n/-p, --file. */
export interface CondaArgs {
  packages: Requirement[];
  channels: string[];
  newEnv: boolean;
  files: MStr[];
}

const CONDA_VALUE_OPTIONS = new Set([
  '-c',
  '--channel',
  '-n',
  '--name',
  '-p',
  '--prefix',
  '-f',
  '--file',
  '--solver',
  '--repodata-fn',
  '--platform',
  '--subdir',
]);

export function parseCondaArgs(subcommand: string, args: readonly MStr[]): CondaArgs {
  const result: CondaArgs = {
    packages: [],
    channels: [],
    newEnv: subcommand === 'create' || subcommand === 'env-create',
    files: [],
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const text = arg.text;
    if (text.startsWith('-')) {
      const [flag, inline] = text.includes('=')
        ? [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]
        : [text, null];
      if (CONDA_VALUE_OPTIONS.has(flag)) {
        const value = inline ?? args[++index]?.text ?? '';
        const valueArg = inline === null ? args[index] : undefined;
        if (flag === '-c' || flag === '--channel') result.channels.push(value);
        if ((flag === '-f' || flag === '--file') && valueArg) result.files.push(valueArg);
      }
      continue;
    }
    const requirement = parseCondaSpec(arg);
    if (requirement) result.packages.push(requirement);
  }
  return result;
}
