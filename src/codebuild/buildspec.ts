/**
 * The buildspec a CodeBuild build runs, generated per attempt and sent as `buildspecOverride` (pure functions).
 *
 * Shape (YAML; every command is one double-quoted scalar, so nothing in a value can change the YAML structure):
 *
 * ```yaml
 * version: 0.2
 * env:
 *   shell: bash
 * phases:
 *   pre_build:            # only when pushing: ECR login, so a bad login fails before the long build
 *     commands: ["aws ecr get-login-password ... | docker login ..."]
 *   build:                # BuildKit when the CLI can (buildx, or a CLI older than 23), else the legacy builder
 *     commands: ["DOCKER_BUILDKIT=1 docker build --progress=plain -f <dockerfile> -t <image> ... ."]
 *   post_build:           # only with smoke checks or a push; each command is skipped when the build failed
 *     commands: [pytorch probe (no GPU), each smoke command, docker tag + push]
 *     finally: [rm -rf the scratch dir]
 * ```
 *
 * The `docker build` arguments are the ones a local build uses (`dockerBuildArgs` from ../docker/build-args.ts
 * makes them; only the paths are rewritten to be relative to the unpacked source), so a build behaves the same in
 * both places. Every value that comes from the request is quoted with `shellQuote`: the commands are shell scripts.
 *
 * Lines starting with `@@dib-codebuild@@ ` are markers the runner reads back from the CloudWatch log (where the
 * docker build output starts and ends, its exit code, the image id, smoke results, the push). The marker text is
 * never contiguous in a command's source, so CodeBuild's `Running command ...` echo cannot be mistaken for one.
 */
import { gzipSync } from 'node:zlib';
import { InputError } from '../util/errors.js';
import { PROBE_SCRIPT } from '../smoke/probe-script.js';
import { dockerBuildArgs, type LocalBuilderKind } from '../docker/build-args.js';
import { codebuildValueInArgv } from './build-env.js';

export const MARKER = '@@dib-codebuild@@';
/** Per-container limit for smoke checks inside CodeBuild, as the local smoke tester's default. */
export const CODEBUILD_SMOKE_TIMEOUT_SECONDS = 180;

export interface BuildspecOptions {
  /** Dockerfile path inside the source zip (relative, `/`-separated), e.g. `Dockerfile` or `Dockerfile.dib-fixed`. */
  dockerfile: string;
  imageRef: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
  noCache: boolean;
  pull?: boolean;
  labels: Record<string, string>;
  /** Run the PyTorch probe (no GPU) and the smoke commands after the build (default true). */
  smokeTest?: boolean;
  /** Shell commands run inside the image after the build (`sh -c`), each must exit 0. */
  smokeCommands: string[];
  /** Full ECR repository URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`) to push to. */
  ecrRepository?: string;
  /** Push to `ecrRepository` (default true when a repository is given). */
  push?: boolean;
  /** `--secret id=ID,env=VARIABLE`: the value is in the build's environment (see build-env.ts), never here. */
  secrets?: { id: string; env: string }[];
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes a value as one POSIX shell word: single quotes, with each `'` written as `'\''`. Nothing inside single
 * quotes is special to sh or bash (`$`, backquotes, `\`, `!` in scripts, newlines), so the word is always taken
 * literally. Words made only of safe characters are returned as they are, for readable logs. NUL cannot be passed
 * to a program and is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new InputError('value', 'contains a NUL character, which cannot be passed to a command', 'Remove it.');
  }
  if (value !== '' && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A YAML double-quoted scalar holding exactly `value` (JSON-like escapes; YAML line-break characters escaped). */
export function yamlQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) || // DEL and the C1 controls: not printable in YAML
      code === 0x2028 ||
      code === 0x2029 ||
      code === 0xfeff ||
      code === 0xfffe ||
      code === 0xffff ||
      (code >= 0xd800 && code <= 0xdfff) // a lone surrogate
    ) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

function validateDockerfilePath(dockerfile: string): void {
  const parts = dockerfile.split('/');
  if (
    dockerfile === '' ||
    dockerfile.startsWith('/') ||
    dockerfile.includes('\\') ||
    parts.some((part) => part === '..' || part === '') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f]/.test(dockerfile)
  ) {
    throw new InputError(
      'dockerfile',
      `"${dockerfile}" is not a relative path inside the build context`,
      'Pass the Dockerfile path relative to the context, e.g. "Dockerfile" or "docker/Dockerfile.gpu".',
    );
  }
}

/**
 * The `docker build` arguments (after `docker`) for CodeBuild: exactly the local build's for that builder (same
 * function), with the Dockerfile path relative to the unpacked source and the context `.`; `--iidfile` is added by
 * the buildspec.
 */
export function codebuildDockerArgs(options: BuildspecOptions, builder: LocalBuilderKind = 'buildkit'): string[] {
  validateDockerfilePath(options.dockerfile);
  // CodeBuild's Docker has the classic image store and one build here makes one image: several platforms would
  // need the per-platform builds and tags of a local build.
  if (options.platform?.includes(',')) {
    throw new InputError(
      'platform',
      `CodeBuild builds one platform per build, not ${options.platform}`,
      'Build each platform as its own build_image call (image_tag per platform), or build several platforms locally.',
    );
  }
  // Validates the image reference, build args, labels, target and platform as a local build does.
  const args = dockerBuildArgs({
    contextDir: '.',
    dockerfilePath: options.dockerfile,
    imageRef: options.imageRef,
    buildArgs: options.buildArgs,
    labels: options.labels,
    builder,
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(options.platform === undefined ? {} : { platform: options.platform }),
    noCache: options.noCache,
    pull: options.pull ?? false,
    secrets: options.secrets ?? [],
    // Build-arg values come from the build's environment (environmentVariablesOverride), not this text.
    valueInArgv: codebuildValueInArgv,
  });
  const f = args.indexOf('-f');
  if (f < 0 || f + 1 >= args.length) throw new Error('docker build arguments without -f');
  args[f + 1] = options.dockerfile;
  args[args.length - 1] = '.';
  return args;
}

/** `echo` of a marker line whose text is split in the source (see the module comment); `tail` is shell text. */
function marker(text: string, tail = ''): string {
  return `echo '@@dib-''codebuild@@ '${shellQuote(text)}${tail}`;
}

const SCRATCH = 'DIB_TMP="${TMPDIR:-/tmp}/dib-${CODEBUILD_BUILD_ID##*:}"; mkdir -p "$DIB_TMP"';
const IF_SUCCEEDING = 'if [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = 1 ]; then';

function lines(...parts: string[]): string {
  return parts.join('\n');
}

/**
 * Every command starts with a no-op naming the step, so CodeBuild's `Running command <first line>` log line says
 * what runs (the runner folds away the echoed rest of the command).
 */
function step(name: string): string {
  return `: ${shellQuote(`docker-image-builder: ${name}`)}`;
}

/**
 * Chooses the builder as the local environment probe does: BuildKit when the CLI has buildx (CodeBuild's standard
 * images do) or is older than 23 (BuildKit built in); otherwise the legacy builder, since a newer CLI without buildx
 * fails with DOCKER_BUILDKIT=1.
 */
const CHOOSE_BUILDER = [
  'if docker buildx version >/dev/null 2>&1; then dib_builder=buildkit',
  "else dib_cli=$(docker version --format '{{.Client.Version}}' 2>/dev/null) || dib_cli=''; dib_major=${dib_cli%%.*}",
  '  case "$dib_major" in',
  "    ''|*[!0-9]*) dib_builder=legacy ;;",
  '    *) if [ "$dib_major" -lt 23 ]; then dib_builder=buildkit; else dib_builder=legacy; fi ;;',
  '  esac',
  'fi',
].join('\n');

function buildCommand(options: BuildspecOptions): string {
  const invocation = (builder: LocalBuilderKind) => {
    const args = codebuildDockerArgs(options, builder);
    const context = args.pop() ?? '.';
    const quoted = args.map(shellQuote).join(' ');
    return `DOCKER_BUILDKIT=${builder === 'buildkit' ? '1' : '0'} docker ${quoted} --iidfile "$DIB_TMP/image.iid" ${context} || rc=$?`;
  };
  return lines(
    step('docker build'),
    'set -o pipefail',
    SCRATCH,
    'rm -f "$DIB_TMP/image.iid"',
    CHOOSE_BUILDER,
    marker('docker-build-start builder=', '"$dib_builder"'),
    'rc=0',
    'if [ "$dib_builder" = buildkit ]; then',
    `  ${invocation('buildkit')}`,
    'else',
    `  ${invocation('legacy')}`,
    'fi',
    marker('docker-build-end exit=', '"$rc"'),
    `if [ "$rc" -eq 0 ] && [ -s "$DIB_TMP/image.iid" ]; then ${marker('image-id ', '"$(cat "$DIB_TMP/image.iid")"')}; fi`,
    '[ "$rc" -eq 0 ]',
  );
}

let probeBase64: string | undefined;
/** The local smoke tester's probe program, gzipped and base64-encoded (about 3.5 KB). */
function probeScriptBase64(): string {
  probeBase64 ??= gzipSync(Buffer.from(PROBE_SCRIPT, 'utf8'), { level: 9 }).toString('base64');
  return probeBase64;
}

/**
 * The PyTorch probe of the local smoke tester, without the GPU checks (CodeBuild has no GPU here): torch,
 * torchvision, torchaudio imports and versions, torchvision nms, FSDP import, a tensor op. Its `@@dib-smoke@@`
 * lines land in the log, where the runner parses them like the local smoke tester does. Skipped (passes) when the
 * image has no sh, no python or no torch; fails the command when the container cannot start, a check failed or the
 * probe crashed.
 */
function pytorchProbeCommand(image: string): string {
  const img = shellQuote(image);
  const t = CODEBUILD_SMOKE_TIMEOUT_SECONDS;
  return lines(
    step('smoke checks (PyTorch probe, no GPU)'),
    IF_SUCCEEDING,
    'set -o pipefail',
    SCRATCH,
    marker('smoke-start'),
    // docker run exits 125 when it cannot run the container (124: timeout), 126/127 when the image has no sh.
    `rc=0; py=$(timeout ${t} docker run --rm --network none --entrypoint sh ${img} -c 'command -v python3 || command -v python || true' 2>"$DIB_TMP/start.err" | tail -n 1) || rc=$?`,
    'if [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then',
    `  ${marker('smoke-probe status=skipped reason=no-sh')}`,
    'elif [ "$rc" -ne 0 ]; then',
    '  cat "$DIB_TMP/start.err"',
    `  ${marker('smoke-probe status=failed reason=container-failed exit=', '"$rc"')}; false`,
    'elif [ -z "$py" ]; then',
    `  ${marker('smoke-probe status=skipped reason=no-python')}`,
    'else',
    `  echo ${probeScriptBase64()} | base64 -d | gunzip > "$DIB_TMP/probe.py"`,
    `  rc=0; timeout ${t} docker run --rm --network none --entrypoint "$py" ${img} -u -c "$(cat "$DIB_TMP/probe.py")" '{"gpu": false}' 2>&1 | tee "$DIB_TMP/probe.out" || rc=$?`,
    `  if grep -q '"missing_module": "torch"' "$DIB_TMP/probe.out"; then ${marker('smoke-probe status=skipped reason=no-torch')}`,
    `  elif [ "$rc" -ne 0 ] || ! grep -q '"kind": "done"' "$DIB_TMP/probe.out" || grep -Eq '"status": ?"failed"' "$DIB_TMP/probe.out"; then ${marker('smoke-probe status=failed exit=', '"$rc"')}; false`,
    `  else ${marker('smoke-probe status=passed')}; fi`,
    'fi',
    'else',
    `  ${marker('smoke-probe status=skipped reason=build-failed')}`,
    'fi',
  );
}

function smokeCommand(image: string, command: string, index: number): string {
  const n = index + 1;
  return lines(
    step(`smoke command ${n}`),
    IF_SUCCEEDING,
    marker(`smoke-command-start n=${n}`),
    `rc=0; timeout ${CODEBUILD_SMOKE_TIMEOUT_SECONDS} docker run --rm --entrypoint sh ${shellQuote(image)} -c ${shellQuote(command)} || rc=$?`,
    marker(`smoke-command-end n=${n} exit=`, '"$rc"'),
    '[ "$rc" -eq 0 ]',
    'else',
    `  ${marker(`smoke-command-end n=${n} status=skipped reason=build-failed`)}`,
    'fi',
  );
}

/** `<registry>/<name>` parts of a repository URI; the registry is an ECR host. */
export function parseEcrRepositoryUri(uri: string): { registry: string; name: string; region?: string } {
  const slash = uri.indexOf('/');
  const registry = slash > 0 ? uri.slice(0, slash) : '';
  const name = slash > 0 ? uri.slice(slash + 1) : '';
  if (registry === '' || name === '' || /[:@\s]/.test(name) || /\s/.test(registry)) {
    throw new InputError(
      'ecr_repository',
      `"${uri}" is not a repository URI`,
      'Pass <account>.dkr.ecr.<region>.amazonaws.com/<name>, or the repository name alone.',
    );
  }
  const region = /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(registry)?.[1];
  return { registry, name, ...(region === undefined ? {} : { region }) };
}

/** The tag of an image reference (`latest` when it has none). */
export function imageTag(imageRef: string): string {
  const lastSlash = imageRef.lastIndexOf('/');
  const colon = imageRef.lastIndexOf(':');
  return colon > lastSlash ? imageRef.slice(colon + 1) : 'latest';
}

function loginCommand(repositoryUri: string): string {
  const { registry, region } = parseEcrRepositoryUri(repositoryUri);
  const regionArg = region === undefined ? '"$AWS_REGION"' : shellQuote(region);
  return lines(
    step('ECR login'),
    'set -o pipefail',
    marker('ecr-login-start'),
    `aws ecr get-login-password --region ${regionArg} | docker login --username AWS --password-stdin ${shellQuote(registry)}`,
  );
}

function pushCommand(imageRef: string, repositoryUri: string): string {
  const target = `${repositoryUri}:${imageTag(imageRef)}`;
  return lines(
    step('push to ECR'),
    IF_SUCCEEDING,
    marker('push-start'),
    `docker tag ${shellQuote(imageRef)} ${shellQuote(target)}`,
    `docker push ${shellQuote(target)}`,
    marker(`pushed ${target}`),
    'else',
    `  ${marker('push status=skipped reason=build-failed')}`,
    'fi',
  );
}

/** Whether the options ask for a push (a repository is given and push is not false). */
export function wantsPush(options: Pick<BuildspecOptions, 'ecrRepository' | 'push'>): boolean {
  return options.ecrRepository !== undefined && options.push !== false;
}

/** The buildspec YAML for one attempt. Throws InputError for invalid values (as a local build would). */
export function generateBuildspec(options: BuildspecOptions): string {
  const push = wantsPush(options);
  if (options.push === true && options.ecrRepository === undefined) {
    throw new InputError('push', 'push was asked without an ECR repository', 'Pass ecr_repository, or drop push.');
  }
  for (const [i, command] of options.smokeCommands.entries()) {
    if (command.includes('\0')) {
      throw new InputError(`smoke_commands[${i}]`, 'contains a NUL character', 'Remove the NUL character.');
    }
  }
  const smoke = options.smokeTest !== false;
  const out: string[] = ['version: 0.2', 'env:', '  shell: bash'];
  out.push('phases:');
  const phase = (name: string, commands: string[], finallyCommands: string[] = []) => {
    out.push(`  ${name}:`, '    commands:', ...commands.map((c) => `      - ${yamlQuote(c)}`));
    if (finallyCommands.length > 0) out.push('    finally:', ...finallyCommands.map((c) => `      - ${yamlQuote(c)}`));
  };
  const cleanup = [`${step('cleanup')}; ${SCRATCH}; rm -rf "$DIB_TMP"`];
  if (push && options.ecrRepository !== undefined) phase('pre_build', [loginCommand(options.ecrRepository)]);
  const post: string[] = [];
  if (smoke) {
    post.push(pytorchProbeCommand(options.imageRef));
    options.smokeCommands.forEach((command, i) => post.push(smokeCommand(options.imageRef, command, i)));
  }
  if (push && options.ecrRepository !== undefined) post.push(pushCommand(options.imageRef, options.ecrRepository));
  phase('build', [buildCommand(options)], post.length === 0 ? cleanup : []);
  if (post.length > 0) phase('post_build', post, cleanup);
  return `${out.join('\n')}\n`;
}

export interface MarkerLine {
  /** First word after the marker, e.g. `docker-build-end`. */
  kind: string;
  /** `key=value` words. */
  fields: Record<string, string>;
  /** Everything after the kind. */
  rest: string;
}

/** Reads a marker line written by the buildspec; undefined for any other line. */
export function parseMarker(line: string): MarkerLine | undefined {
  if (!line.startsWith(`${MARKER} `)) return undefined;
  const text = line.slice(MARKER.length + 1).trim();
  const space = text.indexOf(' ');
  const kind = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? '' : text.slice(space + 1).trim();
  const fields: Record<string, string> = {};
  for (const word of rest.split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq > 0) fields[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return { kind, fields, rest };
}

/**
 * The commands (and `finally` commands) of a buildspec this module generated, in order — read back from a build's
 * `source.buildspec` so the runner can fold CodeBuild's echo of multi-line commands. Other buildspecs give [].
 */
export function buildspecCommands(yaml: string | undefined): string[] {
  if (yaml === undefined) return [];
  const commands: string[] = [];
  for (const line of yaml.split('\n')) {
    const match = /^ {6}- ("(?:[^"\\]|\\.)*")$/.exec(line);
    if (match === null) continue;
    try {
      const value: unknown = JSON.parse(match[1]!);
      if (typeof value === 'string') commands.push(value);
    } catch {
      // not one of ours
    }
  }
  return commands;
}
