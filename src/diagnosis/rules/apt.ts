import { insertLineBeforeEdit } from '../dockerfile-edits.js';
import type { FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';
import { around, firstMatch, lineOf } from './common.js';

/** NVIDIA rotated its CUDA repository key in 2022: old images ship the old key, so `apt-get update` fails. */
export function aptNvidiaRepoKey(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [/NO_PUBKEY (A4B469963BF863CC|F60F4B3D7FA2AF80)/, /NO_PUBKEY ([0-9A-F]{16})/]);
  if (!hit) return [];
  const repo =
    /https?:\/\/developer\.download\.nvidia\.com\/compute\/(?:cuda|machine-learning)\/repos\/([\w.]+)\/(\w+)/.exec(
      hit.lines.slice(Math.max(0, hit.index - 2), hit.index + 3).join(' '),
    );
  const nvidia = repo !== null || /A4B469963BF863CC|F60F4B3D7FA2AF80/.test(hit.match[1]!);
  if (!nvidia) return [];
  const where = repo ? `${repo[1]}/${repo[2]}` : '$distro/$arch';
  return [
    {
      kind: 'apt-nvidia-repo-key',
      summary: `apt rejects NVIDIA's CUDA repository (${where}): the image has the old signing key, not ${hit.match[1]} (NVIDIA rotated it in April 2022).`,
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 0, 1),
      fixable: false,
      fix: {
        action: 'manual',
        change: 'install cuda-keyring before apt-get update',
        details: { key: hit.match[1]!, repository: where },
      },
      nextStep: `Before the first apt-get update: remove /etc/apt/sources.list.d/cuda.list (and nvidia-ml.list), then install https://developer.download.nvidia.com/compute/cuda/repos/${where}/cuda-keyring_1.0-1_all.deb with dpkg -i (or \`apt-key adv --fetch-keys .../${where}/3bf863cc.pub\`); better, move to a current nvidia/cuda tag. Then rebuild.`,
    },
  ];
}

/** tzdata (or another debconf package) waits for an answer nobody can type: the build hangs. */
export function aptTzdataPrompt(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, [
    /^\s*Configuring tzdata\s*$/,
    /^\s*(?:Geographic area|Please select the geographic area)/,
  ]);
  if (!hit) return [];
  const edit =
    scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? insertLineBeforeEdit(
          scope.dockerfileText,
          scope.dockerfileLine,
          'ARG DEBIAN_FRONTEND=noninteractive',
          scope.dockerfilePath,
        )
      : undefined;
  return [
    {
      kind: 'apt-tzdata-prompt',
      summary:
        'apt is installing tzdata, which stops to ask for a time zone ("Geographic area:"): the build hangs until it times out.',
      ...lineOf(scope),
      excerpt: around(hit.lines, hit.index, 0, 3),
      fixable: edit !== undefined,
      fix: { action: 'dockerfile-edit', change: 'ARG DEBIAN_FRONTEND=noninteractive', ...(edit ? { edit } : {}) },
      nextStep:
        'Add `ARG DEBIAN_FRONTEND=noninteractive` (and ENV TZ=Etc/UTC if the time zone matters) before the apt-get install, then rebuild.',
    },
  ];
}
