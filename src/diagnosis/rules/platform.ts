import type { FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';
import { around, firstMatch, lineOf } from './common.js';

/**
 * How `exec format error` reads: runc in Docker 23+ (`exec /bin/sh: exec format error`), runc before it
 * (`standard_init_linux.go:228: exec user process caused: exec format error`), bash (`cannot execute binary file:
 * Exec format error`) and the kernel's errno text after a path.
 */
const EXEC_FORMAT = [
  /exec (\S+): exec format error/,
  /exec user process caused:? "?exec format error/,
  /(\S+): cannot execute binary file: Exec format error/,
  /(\/\S+): Exec format error/,
];
/** A script run without a `#!` line gives the same error; its name usually says it is one. */
const SCRIPT = /\.(?:sh|bash|py|pl|rb)$|entrypoint/i;
const PLATFORM_IN_LOG = /\b(linux\/(?:amd64|arm64(?:\/v8)?|arm\/v[5-8]|386|ppc64le|s390x|riscv64|mips64le))\b/;

/** The platform the log mentions (a BuildKit step header `[linux/arm64 2/3]`, a smoke test's image platform). */
function platformMentioned(scope: FailureScope): string | undefined {
  for (const line of scope.allLines) {
    const match = PLATFORM_IN_LOG.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * exec format error: a program for another CPU architecture than the host can run, in a RUN step of the build or
 * in the container of a smoke test. That is a platform mismatch (the image, or a binary in it, is for another
 * platform, and no QEMU emulator is registered for it), unless the file run is a script without a `#!` line.
 */
export function execFormatError(scope: FailureScope): Diagnosis[] {
  const hit = firstMatch(scope, EXEC_FORMAT, 'all');
  if (!hit) return [];
  const program = hit.match[1];
  const excerpt = around(hit.lines, hit.index);
  if (program && SCRIPT.test(program)) {
    return [
      {
        kind: 'runtime-exec-format-error',
        summary: `${program} cannot be executed (exec format error): a script without a #! line, or a binary for another CPU architecture.`,
        excerpt,
        fixable: false,
        fix: { action: 'manual', change: 'add a #! line to the script, or build the binary for this platform' },
        nextStep: `Start ${program} with a #! line (e.g. #!/bin/sh) and make it executable; if it is a binary, build it for the platform the image runs on. Then rebuild.`,
      },
    ];
  }
  const platform = platformMentioned(scope);
  const step = scope.failedInstruction ? ` in \`${scope.failedInstruction.slice(0, 120)}\`` : '';
  const what = program ? `${program} is a program` : 'The program started is one';
  return [
    {
      kind: 'platform-mismatch',
      summary: `Platform mismatch${step}: ${what} for another CPU architecture than this host runs (exec format error)${platform ? `; the log names ${platform}` : ''}, and no emulator for it is registered.`,
      ...lineOf(scope),
      excerpt,
      fixable: false,
      fix: {
        action: 'manual',
        change: 'build for the platform the image runs on, or register a QEMU emulator for it',
        details: platform ? { platform } : {},
      },
      nextStep:
        'Build for the platform this host runs (platform: "linux/amd64" on x86_64, "linux/arm64" on ARM) from a base that publishes it; or, to build and run other architectures here, register QEMU binfmt emulation (apt-get install qemu-user-static binfmt-support; or docker run --privileged --rm tonistiigi/binfmt --install all). A binary copied into the image must be built for the image platform. Then rebuild.',
    },
  ];
}
