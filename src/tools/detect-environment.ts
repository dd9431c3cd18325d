import { z } from 'zod';
import { detectEnvironment, type EnvironmentDeps, type EnvironmentReport } from '../environment/detect.js';
import { detectEnvironmentInputs, toDetectOptions } from '../inputs/detect-environment.js';
import { summarize } from '../environment/summary.js';
import { InputError } from '../util/errors.js';
import { defineTool } from './tool.js';

const dockerSchema = z
  .object({
    use_sudo: z.boolean().describe('Whether the probe ran docker through `sudo -n`.'),
    cli: z
      .object({
        found: z.boolean().describe('The Docker CLI is on PATH.'),
        path: z.string().optional().describe('Absolute path of the Docker CLI.'),
        version: z.string().optional().describe('Client version.'),
        api_version: z.string().optional().describe('API version the client negotiated.'),
      })
      .describe('The Docker command-line client.'),
    daemon: z
      .object({
        state: z
          .enum(['reachable', 'unreachable', 'permission-denied', 'unresponsive', 'no-cli'])
          .describe(
            'reachable: builds can run. permission-denied: the daemon runs but its socket needs sudo (retry with use_sudo). unresponsive: the daemon hung. unreachable: not running or wrong DOCKER_HOST. no-cli: Docker is not installed.',
          ),
        server_version: z.string().optional().describe('Docker Engine version.'),
        api_version: z.string().optional().describe('Engine API version.'),
        os: z.string().optional().describe('Engine OS (linux or windows).'),
        arch: z.string().optional().describe('Engine CPU architecture.'),
        storage_driver: z.string().optional().describe('Storage driver, e.g. overlay2.'),
        operating_system: z.string().optional().describe('Host operating system as the engine reports it.'),
        error: z.string().optional().describe('Why the daemon could not be used.'),
        hint: z.string().optional().describe('What to do about it.'),
      })
      .describe('The Docker daemon (engine).'),
    builder: z
      .object({
        default: z
          .enum(['buildx', 'buildkit-env', 'legacy', 'broken', 'unknown'])
          .describe(
            'What plain `docker build` uses here: BuildKit through buildx, BuildKit through DOCKER_BUILDKIT=1, the deprecated legacy builder, or broken (DOCKER_BUILDKIT=1 without buildx).',
          ),
        selected: z.enum(['buildkit', 'legacy']).describe('The builder build_image will use.'),
        buildx_version: z.string().optional().describe('buildx plugin version, when installed.'),
        buildkit_available: z.boolean().describe('BuildKit can be used with this CLI.'),
        note: z.string().optional().describe('Why this builder, e.g. the legacy-builder deprecation warning.'),
      })
      .describe('Which image builder is in use.'),
    context: z
      .object({
        name: z.string().optional().describe('Active docker context.'),
        docker_host: z.string().optional().describe('DOCKER_HOST, when set.'),
        source: z
          .enum(['DOCKER_HOST', 'DOCKER_CONTEXT', 'docker-context', 'default', 'docker_context'])
          .describe('What selects the daemon endpoint (docker_context: the input, which wins over the others).'),
        available: z.array(z.string()).optional().describe('The docker contexts of the CLI configuration.'),
      })
      .describe('Which daemon the CLI talks to.'),
    gpu: z
      .object({
        available: z.boolean().describe('An NVIDIA runtime or CDI GPU devices are configured, so --gpus can work.'),
        runtimes: z.array(z.string()).describe('Container runtimes the engine knows.'),
        default_runtime: z.string().optional().describe('The default runtime.'),
        cdi_devices: z.array(z.string()).describe('CDI GPU devices the engine discovered.'),
      })
      .describe('GPU support in the engine.'),
    buildx: z
      .object({
        available: z.boolean().describe('`docker buildx` runs with this CLI.'),
        version: z.string().optional().describe('buildx plugin version, e.g. 0.13.1.'),
        builder: z
          .object({
            name: z.string().describe('Builder name (the one asked for, else the current one).'),
            driver: z.string().optional().describe('buildx driver: docker, docker-container, kubernetes, remote.'),
            status: z.string().optional().describe("Its first node's status, e.g. running."),
            buildkit_version: z.string().optional().describe('BuildKit version of that node.'),
            platforms: z.array(z.string()).describe('Platforms it can build, e.g. linux/amd64, linux/arm64.'),
          })
          .optional()
          .describe('The builder a build uses (`docker buildx inspect`).'),
        reason: z.string().optional().describe('Why buildx or its builder is not reported.'),
      })
      .describe('buildx, the active builder and the platforms it can build.'),
    containerd_image_store: z
      .object({
        enabled: z
          .boolean()
          .optional()
          .describe('The engine keeps images in containerd (needed for multi-platform images); absent when unknown.'),
        reason: z.string().optional().describe('Why it is unknown.'),
      })
      .describe('The containerd image store (docker info DriverStatus io.containerd.snapshotter.v1).'),
    qemu: z
      .object({
        emulators: z
          .array(
            z.object({
              name: z.string().describe('binfmt_misc entry, e.g. qemu-aarch64.'),
              arch: z.string().describe('Emulated CPU, e.g. aarch64.'),
              enabled: z.boolean().describe('The kernel uses it.'),
              interpreter: z.string().optional().describe('Emulator binary.'),
            }),
          )
          .describe("QEMU emulators registered in this machine's kernel (binfmt_misc)."),
        reason: z.string().optional().describe('Why none are listed.'),
      })
      .describe("Emulators for building other CPUs' images (e.g. linux/arm64 on amd64)."),
    selection: z
      .object({
        docker_context: z.string().optional().describe('The docker_context asked for.'),
        builder: z.string().optional().describe('The builder asked for.'),
        ok: z.boolean().describe('A build can use them.'),
        error: z.string().optional().describe('Why not.'),
        hint: z.string().optional().describe('What to do about it.'),
        note: z.string().optional().describe("How they were applied, e.g. a context's builder mapped to that context."),
      })
      .optional()
      .describe('The docker_context / builder asked for.'),
    warnings: z.array(z.string()).describe('Things worth telling the user.'),
  })
  .describe('Local Docker.');

const awsSchema = z
  .object({
    cli: z
      .object({
        found: z.boolean().describe('The AWS CLI is on PATH (credentials matter more than the CLI).'),
        path: z.string().optional().describe('Path of the AWS CLI.'),
        version: z.string().optional().describe('AWS CLI version.'),
      })
      .describe('The AWS CLI.'),
    profile: z.string().describe('The shared-config profile in effect (AWS_PROFILE or "default").'),
    credentials: z
      .object({
        found: z.boolean().describe('Credentials resolve through the SDK default provider chain.'),
        source: z.string().optional().describe('Which source supplied them (never the secret itself).'),
        expires_at: z.string().optional().describe('Expiry of temporary credentials (ISO 8601).'),
        error: z.string().optional().describe('Why no credentials resolved.'),
      })
      .describe('AWS credentials.'),
    region: z
      .object({
        name: z.string().describe('Region CodeBuild would use.'),
        source: z
          .enum(['parameter', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'profile', 'default'])
          .describe('Where the region came from; "default" is us-west-2.'),
      })
      .describe('AWS region.'),
    identity: z
      .object({
        checked: z.boolean().describe('STS GetCallerIdentity was called.'),
        account_id: z.string().optional().describe('AWS account id.'),
        arn: z.string().optional().describe('Caller ARN.'),
        error: z.string().optional().describe('Why STS failed.'),
      })
      .describe('Who the credentials belong to.'),
    codebuild_project: z
      .object({
        name: z.string().describe('CodeBuild project name checked.'),
        checked: z.boolean().describe('BatchGetProjects was called.'),
        exists: z.boolean().optional().describe('The project exists.'),
        error: z.string().optional().describe('Why the check failed.'),
      })
      .describe('The CodeBuild project.'),
  })
  .describe('AWS (CodeBuild fallback).');

const recommendationSchema = z
  .object({
    mode: z.enum(['local', 'codebuild', 'none']).describe('Where build_image would build.'),
    ready: z.boolean().describe('A build in this mode can start now.'),
    reason: z.string().describe('Why this mode, following the detection order.'),
    warnings: z.array(z.string()).describe('E.g. the CodeBuild charges warning.'),
    next_steps: z.array(z.string()).describe('What to do before building, when not ready.'),
  })
  .describe('Where to build.');

const outputSchema = {
  docker: dockerSchema,
  aws: awsSchema,
  recommendation: recommendationSchema,
  duration_ms: z.number().describe('How long detection took.'),
};

// Compile-time proof that the service's report fits the declared output schema.
const _reportFitsSchema: (report: EnvironmentReport) => z.infer<z.ZodObject<typeof outputSchema>> = (r) => r;

export function detectEnvironmentTool(deps: EnvironmentDeps) {
  return defineTool({
    name: 'detect_environment',
    title: 'Detect build environment',
    description:
      'Finds out where images can be built: local Docker (CLI, daemon, sudo need, BuildKit or legacy builder, the buildx builder with its driver and platforms, the containerd image store, registered QEMU emulators, GPU runtime; through docker_context / builder when given) and AWS CodeBuild (credentials, region, account, project). ' +
      'Returns a recommendation (local, codebuild or none) following the order: force flags, local Docker, CodeBuild, none. ' +
      'Read-only and fast (a few seconds at most, even when the daemon or AWS hangs). Call it first, before build_image.',
    inputSchema: detectEnvironmentInputs.schema,
    outputSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true, destructiveHint: false },
    async handler(input) {
      if (input.force_local && input.force_codebuild) {
        return refuseBothForced();
      }
      const report = await detectEnvironment(deps, toDetectOptions(input));
      // The invocation is the builder's decision, not part of what this tool reports.
      const { invocation: _invocation, ...docker } = report.docker;
      return { structured: { ...report, docker }, summary: summarize(report) };
    },
  });
}

function refuseBothForced(): never {
  throw new InputError(
    'force_local',
    'force_local and force_codebuild are mutually exclusive.',
    'Set at most one of them, or neither to let detection choose.',
  );
}
