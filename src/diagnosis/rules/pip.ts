import { breakSystemPackagesEdit } from '../dockerfile-edits.js';
import { excerpt, findLine, type FailureScope } from '../failure-scope.js';
import type { ConflictingRequirement, Diagnosis } from '../types.js';

interface Requirement {
  name: string;
  /** Name as printed, for messages. */
  display: string;
  spec: string;
  exactVersion?: string;
}

/** PEP 503 normalised name: `Torch_Vision` and `torch-vision` are the same project. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function parseRequirement(text: string): Requirement | undefined {
  const withoutMarker = text.split(';', 1)[0]!.trim();
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$/.exec(withoutMarker);
  if (!match) return undefined;
  const spec = match[3]!.replace(/\s+/g, '');
  const exact = /^===?([^,]+)$/.exec(spec)?.[1];
  return {
    name: normalizeName(match[1]!),
    display: match[1]!,
    spec,
    ...(exact === undefined ? {} : { exactVersion: exact }),
  };
}

const TORCH_FAMILY = new Set(['torch', 'torchvision', 'torchaudio', 'torchtext', 'torchdata', 'torchrec', 'triton']);
const PYTORCH_VARIANT = /^(?:cu\d{2,3}|cpu|rocm\d+(?:\.\d+)*|xpu)$/;

interface DependsOn {
  parent: string;
  parentVersion: string;
  requirement: Requirement;
  text: string;
}

/**
 * `ERROR: Cannot install A and B ...` and `The conflict is caused by:` (pip's ResolutionImpossible). pip writes the
 * first to stderr and the block to stdout, so in a build log either can come first.
 */
export function pipResolutionImpossible(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const start = findLine(
    lines,
    /ERROR: Cannot install .+ because these package versions have conflicting dependencies/,
  );
  const impossible = findLine(lines, /ResolutionImpossible/);
  const fragment = findLine(lines, /^\s*The user requested /) >= 0 && findLine(lines, /^\s*\S+ \S+ depends on \S/) >= 0;
  if (start < 0 && impossible < 0 && !fragment) return [];
  // A pasted fragment may keep only the `The user requested` / `depends on` lines.
  const headed = findLine(lines, /^\s*The conflict is caused by:\s*$/);
  const firstCause = findLine(lines, /^\s*(?:The user requested |\S+ \S+ depends on )/);
  const causedBy = headed >= 0 ? headed : firstCause;
  const requested: { requirement: Requirement; source: 'user' | 'constraint' }[] = [];
  const dependsOn: DependsOn[] = [];
  let end = causedBy;
  const causesFrom = headed >= 0 ? headed + 1 : firstCause;
  for (let index = causesFrom; causesFrom >= 0 && index < lines.length; index++) {
    const line = lines[index]!;
    const user = /^\s*The user requested (\(constraint\) )?(.+?)\s*$/.exec(line);
    const depends = /^\s*(\S+) (\S+) depends on (.+?)\s*$/.exec(line);
    if (user) {
      const requirement = parseRequirement(user[2]!);
      if (requirement) requested.push({ requirement, source: user[1] ? 'constraint' : 'user' });
    } else if (depends) {
      const requirement = parseRequirement(depends[3]!);
      if (requirement)
        dependsOn.push({ parent: depends[1]!, parentVersion: depends[2]!, requirement, text: depends[3]! });
    } else break;
    end = index;
  }
  const anchors = [start, impossible, Math.max(causedBy, firstCause), end].filter((index) => index >= 0);
  const shown = excerpt(lines, Math.min(...anchors), Math.max(...anchors));
  const base = { kind: 'pip-resolution-impossible' as const, excerpt: shown, ...lineOf(scope) };

  const diagnoses: Diagnosis[] = [];
  for (const dependency of dependsOn) {
    const asked = requested.find((request) => request.requirement.name === dependency.requirement.name);
    const other = dependsOn.find(
      (candidate) =>
        candidate !== dependency &&
        candidate.requirement.name === dependency.requirement.name &&
        candidate.requirement.spec !== dependency.requirement.spec,
    );
    let conflictsWith: ConflictingRequirement;
    if (asked && asked.requirement.spec !== dependency.requirement.spec) {
      conflictsWith = {
        package: asked.requirement.display,
        spec: asked.requirement.spec,
        source: asked.source,
        ...(asked.requirement.exactVersion === undefined ? {} : { requested: asked.requirement.exactVersion }),
      };
    } else if (!asked && other && dependsOn.indexOf(dependency) < dependsOn.indexOf(other)) {
      conflictsWith = {
        package: other.requirement.display,
        spec: other.requirement.spec,
        source: 'dependency',
        requiredBy: `${other.parent} ${other.parentVersion}`,
        ...(other.requirement.exactVersion === undefined ? {} : { requested: other.requirement.exactVersion }),
      };
    } else continue;
    const wanted = `${conflictsWith.package}${conflictsWith.spec}`;
    const reason = `${dependency.parent} ${dependency.parentVersion} depends on ${dependency.text}, but ${
      conflictsWith.source === 'dependency' ? `${conflictsWith.requiredBy} needs` : 'the Dockerfile asks for'
    } ${wanted}`;
    diagnoses.push({
      ...base,
      summary: `pip cannot install ${wanted} together with ${dependency.parent} ${dependency.parentVersion}, which requires ${dependency.text}.`,
      fixable: true,
      fix: {
        action: 'repin',
        package: dependency.parent,
        currentVersion: dependency.parentVersion,
        requires: dependency.text,
        reason,
        conflictsWith,
      },
      nextStep: `Pin ${dependency.parent} to the release built for ${wanted} (see the torch/torchvision/torchaudio compatibility table), keep every torch package on the same CUDA variant, and rebuild.`,
    });
  }
  if (diagnoses.length > 0) return diagnoses;
  return [
    {
      ...base,
      summary: 'pip could not find a set of package versions that satisfies every requirement (ResolutionImpossible).',
      fixable: false,
      nextStep:
        'Read the conflict in the excerpt, loosen or align the pins it names (torch packages must come from the same release), then rebuild.',
    },
  ];
}

function lineOf(scope: FailureScope): { dockerfileLine?: number } {
  return scope.dockerfileLine === undefined ? {} : { dockerfileLine: scope.dockerfileLine };
}

function versionsList(text: string): string[] {
  return text.trim() === 'none'
    ? []
    : text
        .split(',')
        .map((version) => version.trim())
        .filter(Boolean);
}

/** `Could not find a version that satisfies the requirement X (from versions: ...)` / `No matching distribution found`. */
export function noMatchingDistribution(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const index = findLine(lines, /Could not find a version that satisfies the requirement /);
  const noMatch = findLine(lines, /No matching distribution found for /);
  if (index < 0 && noMatch < 0) return [];
  const satisfies = index >= 0 ? /requirement (.+?) \(from versions: (.*)\)\s*$/.exec(lines[index]!) : null;
  const requirementText = (
    satisfies?.[1] ??
    /No matching distribution found for (.+?)\s*$/.exec(lines[noMatch]!)?.[1] ??
    ''
  )
    .replace(/\s*\(from .*\)$/, '')
    .trim();
  const requirement = parseRequirement(requirementText);
  const available = versionsList(satisfies?.[2] ?? 'none');
  const indexes = lines.flatMap((line) => {
    const looking = /Looking in (?:indexes|links): (.+)$/.exec(line);
    return looking ? looking[1]!.split(',').map((location) => location.trim()) : [];
  });
  const ignored = lines
    .map((line) => /Ignored the following versions that require a different python version: (.+)$/.exec(line)?.[1])
    .find((value) => value !== undefined);
  const pythonIncompatible = ignored?.split(';').map((entry) => entry.trim().split(/\s+/, 1)[0]!) ?? [];
  const version = requirement?.exactVersion;
  const variant = version?.includes('+') ? version.slice(version.indexOf('+') + 1) : undefined;
  const packageName = requirement?.display ?? requirementText;
  const torchFamily = requirement !== undefined && TORCH_FAMILY.has(requirement.name);
  const onPytorchIndex = indexes.some((location) => location.includes('download.pytorch.org'));
  const suggestedIndexUrl =
    torchFamily && variant !== undefined && PYTORCH_VARIANT.test(variant) && !onPytorchIndex
      ? `https://download.pytorch.org/whl/${variant}`
      : undefined;
  const where = indexes.length > 0 ? indexes.join(', ') : 'the configured index';
  const seen = available.length > 0 ? `available: ${available.slice(-8).join(', ')}` : 'it saw no versions at all';

  let nextStep: string;
  if (suggestedIndexUrl) {
    nextStep = `Local-version wheels such as ${requirementText} are only on PyTorch's index: add \`--index-url ${suggestedIndexUrl}\` to this pip command (or drop the +${variant} suffix and accept PyPI's default build), then rebuild.`;
  } else if (available.length > 0) {
    nextStep = `Pick a version of ${packageName} that ${where} has (e.g. ${available[available.length - 1]}), keeping related torch packages on the same release and CUDA variant, then rebuild.`;
  } else if (pythonIncompatible.length > 0) {
    nextStep = `Every ${packageName} release found needs a different Python version: use a base image with a supported Python or a ${packageName} version that supports this one.`;
  } else {
    nextStep = `Check the package name and version, and that ${where} is reachable and serves ${packageName}, then rebuild.`;
  }
  const shownFrom = Math.min(...[index, noMatch].filter((value) => value >= 0));
  return [
    {
      kind: 'no-matching-distribution',
      summary: `pip found no ${requirementText} on ${where} (${seen}).`,
      ...lineOf(scope),
      excerpt: excerpt(lines, shownFrom, Math.max(index, noMatch)),
      fixable: suggestedIndexUrl !== undefined || (torchFamily && available.length > 0),
      fix: {
        action: 'fix-requirement',
        package: packageName,
        requirement: requirementText,
        ...(version === undefined ? {} : { version }),
        ...(variant === undefined ? {} : { variant }),
        indexes,
        availableVersions: available.slice(-30),
        ...(pythonIncompatible.length > 0 ? { pythonIncompatibleVersions: pythonIncompatible } : {}),
        ...(suggestedIndexUrl === undefined ? {} : { suggestedIndexUrl }),
        reason: `No ${requirementText} on ${where}`,
      },
      nextStep,
    },
  ];
}

/** PEP 668: the base image's Python is managed by the OS package manager (Debian 12+, Ubuntu 23.04+). */
export function pipExternallyManaged(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const index = findLine(lines, /^error: externally-managed-environment\s*$/);
  if (index < 0) return [];
  const edit =
    scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? breakSystemPackagesEdit(scope.dockerfileText, scope.dockerfileLine, scope.dockerfilePath)
      : undefined;
  return [
    {
      kind: 'pip-externally-managed',
      summary: "pip refused to install into the base image's system Python (externally-managed-environment, PEP 668).",
      ...lineOf(scope),
      excerpt: excerpt(lines, index, index + 2),
      fixable: edit !== undefined,
      fix: { action: 'allow-pip-system-install', ...(edit ? { edit } : {}) },
      nextStep:
        'In a container it is safe to add `--break-system-packages` to the pip command (or set ENV PIP_BREAK_SYSTEM_PACKAGES=1); alternatively create a venv and put it first on PATH. Then rebuild.',
    },
  ];
}

/** pip's downloaded file does not hash to what the index promised: almost always a truncated download. */
export function pipHashMismatch(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const index = findLine(lines, /THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE/);
  if (index < 0) return [];
  const what = lines
    .slice(index + 1, index + 4)
    .map((line) => /^\s*(\S+?)(?:[=<>~!]=?\S*)? from (\S+)/.exec(line))
    .find((match) => match !== null);
  const name = what?.[1] ?? 'a package';
  const file = what?.[2]?.split('/').pop()?.split('#')[0];
  const progress = lines
    .slice(Math.max(0, index - 3), index)
    .some((line) => /\d+(?:\.\d+)?\/\d+(?:\.\d+)? [MG]B/.test(line));
  return [
    {
      kind: 'pip-hash-mismatch',
      summary: `The download of ${name}${file ? ` (${decodeURIComponent(file)})` : ''} did not match its published sha256${progress ? ', and the progress bar stopped part-way: the download was cut short' : ''}.`,
      ...lineOf(scope),
      excerpt: excerpt(lines, index, index + 3),
      fixable: false,
      fix: { action: 'retry', hosts: [] },
      nextStep:
        'Retry the build: this is a truncated or corrupted download, not a wrong pin (do not change versions or hashes). Add --no-cache-dir so a broken cached file is not reused, and raise pip --timeout / use a closer mirror if it recurs.',
    },
  ];
}
