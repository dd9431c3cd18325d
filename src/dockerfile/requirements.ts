import { parseVersion } from '../compat/versions.js';
import { mstr, UNRESOLVED, type MStr } from './text.js';

/** What a version specifier pins, as far as the analyser needs it. */
export interface VersionPin {
  /** 'X.Y.Z' when the spec selects one release (==2.1.0, ==2.1, ==2.6.0.*, conda =2.1.0). */
  exact: string | null;
  /** 'X.Y' when the spec selects one minor release line (also ~=X.Y.Z, ==X.Y.*). */
  minor: string | null;
  /** Local label ('cu121'), when the spec carries one. */
  local: string | null;
  /** The version text as written after the operator (e.g. '2.1.0+cu118'). */
  text: string | null;
}

export interface Requirement {
  /** Normalised name: lower case, '_' and '.' as '-'. */
  name: string;
  /** The whole requirement (one shell word or the requirement part of a requirements-file line). */
  token: MStr;
  /** Specifier text, e.g. '==2.1.0+cu118', '>=1.8', '' when unpinned. */
  spec: string;
  pin: VersionPin;
  /** Characters of `token` that are the version after '==' (for re-pinning), or null. */
  versionRange: [number, number] | null;
  /** Characters of `token` that are the whole specifier (empty range after the name/extras when unpinned). */
  specRange: [number, number];
  /** Direct URL (name @ url, or a bare wheel URL/path). */
  url: string | null;
  /** From a wheel file name: Python tag ('cp310') and the local label in the version. */
  wheelPython: string | null;
  /** Variant from a download.pytorch.org/whl/<variant>/ URL path. */
  urlVariant: string | null;
  /** True when part of the requirement came from a variable we could not resolve. */
  unresolved: boolean;
  /** Conda package spec (name=version=build), not pip. */
  conda: boolean;
  /** Conda build string, e.g. 'py3.6_cuda9.0.176_cudnn7.4.2_2'. */
  condaBuild: string | null;
  editable: boolean;
}

export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[_.]+/g, '-');
}

const PEP508 = /^\s*([A-Za-z0-9\uE000][A-Za-z0-9._\-\uE000]*)\s*(\[[^\]]*\])?\s*/;
const CLAUSE = /^\s*(===|~=|==|!=|<=|>=|<|>)\s*([^,;\s]+)\s*/;
const WHEEL_FILE = /(?:^|\/)([A-Za-z0-9_.]+)-([^-/]+?)(?:-\d[^-/]*)?-(cp\d+|py\d+)-[^-/]+-[^/]+\.whl$/;
const PYTORCH_URL_VARIANT = /download\.pytorch\.org\/whl\/(?:(?:nightly|test)\/)?(cu\d+|cpu|rocm[\d.]+|xpu)\//;

export function pinFromSpec(spec: string): VersionPin {
  const none: VersionPin = { exact: null, minor: null, local: null, text: null };
  if (spec.includes(UNRESOLVED)) return none;
  const clauses = spec
    .replace(/^\(|\)$/g, '')
    .split(',')
    .map((clause) => clause.trim())
    .filter(Boolean);
  if (clauses.length !== 1) return none;
  const match = CLAUSE.exec(clauses[0]!);
  if (!match) return none;
  const [, op, text] = match as unknown as [string, string, string];
  if (op === '==' || op === '===') {
    if (text.endsWith('.*')) {
      const parsed = parseVersion(text.slice(0, -2));
      if (!parsed) return none;
      return {
        exact: parsed.release.length >= 3 ? parsed.base : null,
        minor: parsed.release.length >= 2 ? parsed.minor : null,
        local: null,
        text,
      };
    }
    const parsed = parseVersion(text);
    if (!parsed) return none;
    return { exact: parsed.base, minor: parsed.minor, local: parsed.local, text };
  }
  if (op === '~=') {
    const parsed = parseVersion(text);
    if (!parsed || parsed.release.length < 3) return none;
    return { exact: null, minor: parsed.minor, local: null, text };
  }
  return none;
}

function baseRequirement(token: MStr): Omit<Requirement, 'name' | 'spec' | 'pin' | 'versionRange' | 'specRange'> {
  return {
    token,
    url: null,
    wheelPython: null,
    urlVariant: null,
    unresolved: token.text.includes(UNRESOLVED),
    conda: false,
    condaBuild: null,
    editable: false,
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A wheel URL or path: name, version and tags from the file name. */
function parseWheelReference(token: MStr, url: string): Requirement | null {
  const file = WHEEL_FILE.exec(decode(url.split(/[?#]/)[0]!));
  if (!file) return null;
  const [, rawName, version, python] = file as unknown as [string, string, string, string];
  const pin = pinFromSpec(`==${version}`);
  const variant = PYTORCH_URL_VARIANT.exec(url)?.[1] ?? null;
  return {
    ...baseRequirement(token),
    name: normaliseName(rawName),
    spec: `==${version}`,
    pin,
    versionRange: null,
    specRange: [token.text.length, token.text.length],
    url,
    wheelPython: python,
    urlVariant: pin.local ?? variant,
  };
}

/** Parses one pip requirement (a PEP 508 string, `name @ url`, or a wheel URL/path). */
export function parseRequirement(token: MStr, editable = false): Requirement | null {
  const text = token.text;
  if (text.trim() === '' || text.startsWith('-')) return null;
  if (/^(?:https?|file|git\+[a-z]+):/.test(text) || /\.whl$/.test(text.split(/[?#]/)[0]!)) {
    const wheel = parseWheelReference(token, text);
    if (wheel) return { ...wheel, editable };
    const egg = /#egg=([A-Za-z0-9._-]+)/.exec(text);
    const name = egg ? normaliseName(egg[1]!) : '';
    return {
      ...baseRequirement(token),
      name,
      spec: '',
      pin: pinFromSpec(''),
      versionRange: null,
      specRange: [text.length, text.length],
      url: text,
      editable,
    };
  }
  if (/^[./~]/.test(text)) return null; // a local project path
  const head = PEP508.exec(text);
  if (!head) return null;
  const name = normaliseName(head[1]!);
  const afterName = head[0].length;
  const markerAt = text.indexOf(';', afterName);
  const specEnd = markerAt === -1 ? text.length : markerAt;
  const rest = text.slice(afterName, specEnd);
  if (rest.trimStart().startsWith('@')) {
    const url = rest.trim().slice(1).trim();
    const wheel = parseWheelReference(token, url);
    return {
      ...baseRequirement(token),
      name,
      spec: wheel?.spec ?? '',
      pin: wheel?.pin ?? pinFromSpec(''),
      versionRange: null,
      specRange: [afterName, afterName],
      url,
      wheelPython: wheel?.wheelPython ?? null,
      urlVariant: wheel?.urlVariant ?? null,
      editable,
    };
  }
  const spec = rest.trim();
  const specStart =
    spec === '' ? head[1]!.length + (head[2]?.length ?? 0) : afterName + (rest.length - rest.trimStart().length);
  const specRange: [number, number] = spec === '' ? [specStart, specStart] : [specStart, specStart + spec.length];
  const pin = pinFromSpec(spec);
  let versionRange: [number, number] | null = null;
  if (pin.text !== null) {
    const at = text.indexOf(pin.text, specStart);
    if (at !== -1) versionRange = [at, at + pin.text.length];
  }
  return { ...baseRequirement(token), name, spec, pin, versionRange, specRange, editable };
}

/** Conda package spec: `name`, `name=1.2`, `name==1.2`, `name>=1.2`, `name=1.2=build`, `channel::name=1.2`. */
export function parseCondaSpec(token: MStr): Requirement | null {
  const text = token.text;
  if (text === '' || text.startsWith('-')) return null;
  const channel = text.indexOf('::');
  const nameStart = channel === -1 ? 0 : channel + 2;
  const nameMatch = /^[A-Za-z0-9_.\-\uE000]+/.exec(text.slice(nameStart));
  if (!nameMatch) return null;
  const nameEnd = nameStart + nameMatch[0].length;
  const rest = text.slice(nameEnd);
  let spec = rest.trim();
  let build: string | null = null;
  let pin = pinFromSpec('');
  let versionRange: [number, number] | null = null;
  if (/^=[^=]/.test(rest)) {
    const [version, buildPart] = rest.slice(1).split('=') as [string, string | undefined];
    build = buildPart ?? null;
    const fuzzy = version.replace(/\.\*$/, '');
    const parsed = version.includes(UNRESOLVED) ? null : parseVersion(fuzzy);
    if (parsed) {
      pin = {
        exact: parsed.release.length >= 3 ? parsed.base : null,
        minor: parsed.release.length >= 2 ? parsed.minor : null,
        local: null,
        text: version,
      };
      versionRange = [nameEnd + 1, nameEnd + 1 + version.length];
    }
    spec = `=${version}`;
  } else if (rest.startsWith('==')) {
    const version = rest.slice(2).split('=')[0]!;
    pin = pinFromSpec(`==${version}`);
    if (pin.text) versionRange = [nameEnd + 2, nameEnd + 2 + version.length];
  }
  return {
    ...baseRequirement(token),
    name: normaliseName(nameMatch[0]),
    spec,
    pin,
    versionRange,
    specRange: [nameEnd, text.length],
    conda: true,
    condaBuild: build,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// requirements.txt

export interface RequirementFileOption {
  /** Canonical long option name without dashes: 'requirement', 'constraint', 'index-url', ... */
  name: string;
  value: MStr | null;
}

export interface RequirementFileEntry {
  requirement?: Requirement;
  option?: RequirementFileOption;
}

const FILE_OPTIONS: Record<string, { name: string; takesValue: boolean }> = {
  '-r': { name: 'requirement', takesValue: true },
  '--requirement': { name: 'requirement', takesValue: true },
  '-c': { name: 'constraint', takesValue: true },
  '--constraint': { name: 'constraint', takesValue: true },
  '-e': { name: 'editable', takesValue: true },
  '--editable': { name: 'editable', takesValue: true },
  '-i': { name: 'index-url', takesValue: true },
  '--index-url': { name: 'index-url', takesValue: true },
  '--extra-index-url': { name: 'extra-index-url', takesValue: true },
  '-f': { name: 'find-links', takesValue: true },
  '--find-links': { name: 'find-links', takesValue: true },
  '--no-index': { name: 'no-index', takesValue: false },
  '--pre': { name: 'pre', takesValue: false },
  '--prefer-binary': { name: 'prefer-binary', takesValue: false },
  '--trusted-host': { name: 'trusted-host', takesValue: true },
  '--no-binary': { name: 'no-binary', takesValue: true },
  '--only-binary': { name: 'only-binary', takesValue: true },
  '--use-feature': { name: 'use-feature', takesValue: true },
  '--require-hashes': { name: 'require-hashes', takesValue: false },
  '--config-settings': { name: 'config-settings', takesValue: true },
};

/**
 * Parses a pip requirements file. `text` is the file as an MStr (so positions map back to it). Handles comments,
 * `\` continuations, options (-r, -c, -i, --extra-index-url, -f, --pre, -e) and `${VAR}` references (left as is:
 * pip expands them from the environment; the caller may pre-expand).
 */
export function parseRequirementsFile(text: MStr): RequirementFileEntry[] {
  const entries: RequirementFileEntry[] = [];
  // logical lines: join `\`-newline continuations
  const lines: MStr[] = [];
  let current: MStr[] = [];
  let start = 0;
  const source = text.text;
  for (let index = 0; index <= source.length; index++) {
    if (index === source.length || source[index] === '\n') {
      let line = mstr.slice(text, start, index);
      if (line.text.endsWith('\r')) line = mstr.slice(line, 0, line.text.length - 1);
      if (/\\\s*$/.test(line.text) && index < source.length) {
        current.push(mstr.slice(line, 0, line.text.replace(/\\\s*$/, '').length));
      } else {
        current.push(line);
        lines.push(mstr.concat(current));
        current = [];
      }
      start = index + 1;
    }
  }
  for (const raw of lines) {
    // comments: '#' at start or after whitespace
    const comment = /(^|\s)#/.exec(raw.text);
    const line = mstr.trim(comment ? mstr.slice(raw, 0, comment.index) : raw);
    if (line.text === '') continue;
    if (line.text.startsWith('-')) {
      const match = /^(-[a-z]|--[a-z-]+)(?:=|\s*)(.*)$/.exec(line.text);
      if (!match) continue;
      const option = FILE_OPTIONS[match[1]!];
      if (!option) continue;
      const valueText = match[2] ?? '';
      const valueStart = line.text.length - valueText.length;
      const value = option.takesValue && valueText !== '' ? mstr.trim(mstr.slice(line, valueStart)) : null;
      if (option.name === 'editable' && value) {
        const requirement = parseRequirement(value, true);
        if (requirement) entries.push({ requirement });
        continue;
      }
      entries.push({ option: { name: option.name, value } });
      continue;
    }
    // requirement, possibly followed by per-requirement options (--hash=..., --config-settings ...)
    const optionAt = /\s--?[a-z]/.exec(line.text);
    const requirementText = optionAt ? mstr.trim(mstr.slice(line, 0, optionAt.index)) : line;
    const requirement = parseRequirement(requirementText);
    if (requirement) entries.push({ requirement });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// environment.yml (conda)

export interface CondaEnvironment {
  name: string | null;
  conda: Requirement[];
  pip: Requirement[];
}

/** Reads the parts of a conda environment.yml the analyser needs: name, dependencies and the pip sub-list. */
export function parseCondaEnvironment(text: MStr): CondaEnvironment {
  const result: CondaEnvironment = { name: null, conda: [], pip: [] };
  let section: 'none' | 'deps' | 'pip' | 'name' = 'none';
  let pipIndent = -1;
  let start = 0;
  const source = text.text;
  for (let index = 0; index <= source.length; index++) {
    if (index !== source.length && source[index] !== '\n') continue;
    const line = mstr.slice(text, start, index);
    start = index + 1;
    const content = line.text.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (content.trim() === '') continue;
    const indent = content.length - content.trimStart().length;
    const top = /^([A-Za-z_]+):\s*(.*)$/.exec(content);
    if (indent === 0 && top) {
      section = top[1] === 'dependencies' ? 'deps' : top[1] === 'name' ? 'name' : 'none';
      if (top[1] === 'name' && top[2]) result.name = top[2].trim();
      continue;
    }
    if (section === 'name' && result.name === null) {
      result.name = content.trim();
      continue;
    }
    if (section === 'pip' && indent <= pipIndent) section = 'deps';
    const item = /^(\s*)-\s*(.*?)\s*$/.exec(content);
    if (!item || (section !== 'deps' && section !== 'pip')) continue;
    const value = item[2]!;
    if (section === 'deps' && /^pip\s*:\s*$/.test(value)) {
      section = 'pip';
      pipIndent = indent;
      continue;
    }
    const valueStart = content.indexOf(value, item[1]!.length + 1);
    const token = mstr.slice(line, valueStart, valueStart + value.length);
    const requirement = section === 'pip' ? parseRequirement(token) : parseCondaSpec(token);
    if (requirement) (section === 'pip' ? result.pip : result.conda).push(requirement);
  }
  return result;
}
