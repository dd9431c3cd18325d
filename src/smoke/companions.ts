/**
 * Which torchvision / torchaudio minor release belongs to each torch minor release, and the newest Python the
 * release supports. Source: /work/shared/reference/pytorch-compat.md §1 (torchvision: pytorch/vision README;
 * torchaudio: pytorch/audio installation docs up to 2.6 and the 2.11 docs after; Python: the test-infra wheel
 * matrix, else RELEASE.md). Add a row when PyTorch ships a release; versions not listed are reported as unknown.
 */
interface CompanionRow {
  torchvision: string;
  torchaudio: string;
  /** Newest Python with wheels for this release. */
  pythonMax: string;
}

const COMPANIONS: Readonly<Record<string, CompanionRow>> = {
  '1.10': { torchvision: '0.11', torchaudio: '0.10', pythonMax: '3.9' },
  '1.11': { torchvision: '0.12', torchaudio: '0.11', pythonMax: '3.10' },
  '1.12': { torchvision: '0.13', torchaudio: '0.12', pythonMax: '3.10' },
  '1.13': { torchvision: '0.14', torchaudio: '0.13', pythonMax: '3.10' },
  '2.0': { torchvision: '0.15', torchaudio: '2.0', pythonMax: '3.11' },
  '2.1': { torchvision: '0.16', torchaudio: '2.1', pythonMax: '3.11' },
  '2.2': { torchvision: '0.17', torchaudio: '2.2', pythonMax: '3.12' },
  '2.3': { torchvision: '0.18', torchaudio: '2.3', pythonMax: '3.12' },
  '2.4': { torchvision: '0.19', torchaudio: '2.4', pythonMax: '3.12' },
  '2.5': { torchvision: '0.20', torchaudio: '2.5', pythonMax: '3.12' },
  '2.6': { torchvision: '0.21', torchaudio: '2.6', pythonMax: '3.13' },
  '2.7': { torchvision: '0.22', torchaudio: '2.7', pythonMax: '3.13' },
  '2.8': { torchvision: '0.23', torchaudio: '2.8', pythonMax: '3.13' },
  '2.9': { torchvision: '0.24', torchaudio: '2.9', pythonMax: '3.14' },
  '2.10': { torchvision: '0.25', torchaudio: '2.10', pythonMax: '3.14' },
  // From 2.11 torchaudio is built on torch's stable ABI: torchaudio 2.11 serves torch 2.11 and every later release.
  '2.11': { torchvision: '0.26', torchaudio: '2.11', pythonMax: '3.14' },
  '2.12': { torchvision: '0.27', torchaudio: '2.11', pythonMax: '3.14' },
  '2.13': { torchvision: '0.28', torchaudio: '2.11', pythonMax: '3.14' },
};

/** First torchaudio release that works with every later torch (stable ABI). */
const STABLE_ABI_TORCHAUDIO: MajorMinor = [2, 11];

type MajorMinor = [number, number];

/** Reads "major.minor" from versions such as "2.7.1+cu126", "1.13.0a0" or "2.3.0a0+6ddf5cf". */
export function majorMinor(version: string): MajorMinor | undefined {
  const match = /^\s*v?(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function compare(a: MajorMinor, b: MajorMinor): number {
  return a[0] - b[0] || a[1] - b[1];
}

const text = (v: MajorMinor) => `${v[0]}.${v[1]}`;

export interface CompanionVerdict {
  /** match: the pair belongs together; mismatch: it does not (a failure); unknown: not in the table (not a failure). */
  verdict: 'match' | 'mismatch' | 'unknown';
  /** The companion major.minor the table expects, when it knows one. */
  expected?: string;
  message: string;
}

/** Judges whether a torchvision or torchaudio version belongs with a torch version. */
export function checkCompanion(
  kind: 'torchvision' | 'torchaudio',
  torchVersion: string,
  companionVersion: string,
): CompanionVerdict {
  const torch = majorMinor(torchVersion);
  const companion = majorMinor(companionVersion);
  if (!torch || !companion) {
    return {
      verdict: 'unknown',
      message: `Could not read versions torch ${torchVersion} / ${kind} ${companionVersion}.`,
    };
  }
  const row = COMPANIONS[text(torch)];
  const pair = `${kind} ${companionVersion} with torch ${torchVersion}`;
  const fix = (expected: string) =>
    `${pair}: torch ${text(torch)} needs ${kind} ${expected}.*. Install the ${kind} release that matches torch ` +
    '(from the same index URL, e.g. the same cuXXX or cpu wheel index).';

  if (kind === 'torchaudio') {
    if (compare(torch, STABLE_ABI_TORCHAUDIO) >= 0) {
      // torchaudio >= 2.11 works with any torch >= 2.11; an older torchaudio only with its own torch release.
      if (compare(companion, STABLE_ABI_TORCHAUDIO) === 0 || compare(companion, torch) === 0) {
        return { verdict: 'match', expected: text(STABLE_ABI_TORCHAUDIO), message: `${pair}: compatible.` };
      }
      if (compare(companion, STABLE_ABI_TORCHAUDIO) < 0) {
        return { verdict: 'mismatch', expected: text(STABLE_ABI_TORCHAUDIO), message: fix('2.11') };
      }
      return { verdict: 'unknown', message: `${pair}: this torchaudio release is newer than the known table.` };
    }
  }
  if (!row) {
    // Past the table, torchvision has kept the 0.(minor + 15) pattern since 2.0; a pair that follows it is fine.
    if (kind === 'torchvision' && torch[0] === 2 && compare(companion, [0, torch[1] + 15]) === 0) {
      return { verdict: 'match', expected: text(companion), message: `${pair}: follows the 0.(minor+15) pattern.` };
    }
    return {
      verdict: 'unknown',
      message: `${pair}: torch ${text(torch)} is not in the known compatibility table, so the pair was not judged.`,
    };
  }
  const expected = row[kind];
  if (text(companion) === expected) return { verdict: 'match', expected, message: `${pair}: compatible.` };
  return { verdict: 'mismatch', expected, message: fix(expected) };
}

/** The companion major.minor the table lists for a torch version; undefined past the table. */
export function expectedCompanion(kind: 'torchvision' | 'torchaudio', torchVersion: string): string | undefined {
  const torch = majorMinor(torchVersion);
  return torch ? COMPANIONS[text(torch)]?.[kind] : undefined;
}

/** Says when the image's Python is newer than the newest one a torch release supports (a common cause of odd import errors). */
export function pythonSupportNote(torchVersion: string, pythonVersion: string): string | undefined {
  const torch = majorMinor(torchVersion);
  const python = majorMinor(pythonVersion);
  const row = torch ? COMPANIONS[text(torch)] : undefined;
  const max = row ? majorMinor(row.pythonMax) : undefined;
  if (!torch || !python || !row || !max || compare(python, max) <= 0) return undefined;
  return (
    `torch ${text(torch)} supports Python up to ${row.pythonMax}, but the image has Python ${pythonVersion}; ` +
    'parts of torch may fail to import. Use a Python the release supports, or a newer torch.'
  );
}

/** The CPU-vs-CUDA build of a wheel, from its local version suffix ("+cpu", "+cu126"); undefined when absent. */
export function buildFlavour(version: string): 'cpu' | 'cuda' | 'rocm' | undefined {
  const local = /\+([a-z]+)/i.exec(version)?.[1]?.toLowerCase();
  if (local === 'cpu') return 'cpu';
  if (local?.startsWith('cu')) return 'cuda';
  if (local?.startsWith('rocm')) return 'rocm';
  return undefined;
}
