import type { FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';
import { around, firstMatch, lineOf } from './common.js';

/** `PackagesNotFoundError: The following packages are not available from current channels:` and its list. */
export function condaPackagesNotFound(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/(PackagesNotFoundError|ResolvePackageNotFound):?/]);
  if (!hit) return [];
  const packages: string[] = [];
  const channels: string[] = [];
  let section: 'packages' | 'channels' | undefined = 'packages';
  for (const line of hit.lines.slice(hit.index + 1, hit.index + 60)) {
    if (/^\s*Current channels:/.test(line)) section = 'channels';
    else if (/^\s*To search for alternate channels/.test(line)) section = undefined;
    const item = /^\s*-\s+(\S+)\s*$/.exec(line)?.[1];
    if (!item) continue;
    if (section === 'packages') packages.push(item);
    else if (section === 'channels') channels.push(item);
  }
  const names = packages.length > 0 ? packages.join(', ') : 'some packages';
  const platform = channels
    .map((channel) => /\/(linux-aarch64|linux-ppc64le|osx-arm64)$/.exec(channel)?.[1])
    .find(Boolean);
  return [
    {
      kind: 'conda-packages-not-found',
      summary: `conda cannot find ${names} in the configured channels${platform ? ` for ${platform}` : ''}.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 0, Math.min(8, packages.length + 2)),
      fixable: false,
      fix: {
        action: 'manual',
        change: 'add the channel that has the packages (e.g. conda-forge) or change the pins',
        details: { packages: packages.join(','), channels: channels.join(',') },
      },
      nextStep: `Check ${names} exist${platform ? ` for ${platform}` : ''} (versions removed from defaults often live on conda-forge: add \`-c conda-forge\`), loosen exact build pins, or install them with pip; then rebuild.`,
    },
  ];
}

/** `conda: not found`: the shell has no conda on PATH (not installed, or ENV PATH not set for RUN). */
export function condaNotFound(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/(\S*conda|mamba|micromamba): (?:command )?not found/]);
  if (!hit) return [];
  const path = hit.match[1]!;
  const absolute = path.startsWith('/');
  return [
    {
      kind: 'conda-not-found',
      summary: absolute
        ? `${path} does not exist: the conda installer earlier in this step did not install there (or failed).`
        : `${path} is not on PATH in this RUN step.`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 0, 1),
      fixable: false,
      fix: { action: 'manual', change: 'install conda and put its bin directory on PATH', details: { command: path } },
      nextStep: absolute
        ? 'Check the installer download (curl -L follows redirects; a failed download leaves an empty script) and the -p prefix, then rebuild.'
        : 'Use a base image with conda (e.g. pytorch/pytorch, continuumio/miniconda3) or install Miniconda, and add ENV PATH=/opt/conda/bin:$PATH (RUN does not read .bashrc), then rebuild.',
    },
  ];
}
