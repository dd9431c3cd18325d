import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config.js';
import { createDefaultDeps, environmentDeps } from '../deps.js';
import { DEFAULT_CODEBUILD_PROJECT, DEFAULT_REGION } from '../environment/aws-probe.js';
import { detectEnvironment } from '../environment/detect.js';
import { summarize } from '../tools/detect-environment.js';
import { InputError } from '../util/errors.js';
import { SERVER_NAME, VERSION } from '../version.js';
import { addBuildCommands } from './build-commands.js';
import { addDiagnoseCommand } from './diagnose-command.js';
import { parseKeyValue } from './options.js';
import { note, printAnalysis, printJson } from './output.js';

/** Exit codes: 0 done, 1 the work found a problem (errors, not ready, build failed), 2 bad usage or input. */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;

export function buildProgram(setExitCode: (code: number) => void): Command {
  let created: ReturnType<typeof createDefaultDeps> | undefined;
  const deps = () => (created ??= createDefaultDeps(loadConfig(process.env), process.env));
  const program = new Command(SERVER_NAME)
    .description('Build container images reliably. With no command (or `serve`), runs the MCP server on stdio.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stderr.write(text),
      writeErr: (text) => process.stderr.write(text),
    });

  program.command('serve').description('Run the MCP server on stdin/stdout (the default).');

  program
    .command('detect')
    .description('Detect where images can be built (local Docker or AWS CodeBuild) and print the report as JSON.')
    .option('--region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile, us-west-2)')
    .option('--codebuild-project <name>', 'CodeBuild project to check', DEFAULT_CODEBUILD_PROJECT)
    .option('--use-sudo', 'run docker through sudo -n', false)
    .addOption(new Option('--force-local', 'recommend local Docker only').conflicts('forceCodebuild'))
    .addOption(new Option('--force-codebuild', 'recommend CodeBuild (charges apply)').conflicts('forceLocal'))
    .action(async (options) => {
      const report = await detectEnvironment(environmentDeps(deps()), {
        region: options.region,
        codebuildProject: options.codebuildProject,
        useSudo: options.useSudo,
        forceLocal: options.forceLocal ?? false,
        forceCodebuild: options.forceCodebuild ?? false,
      });
      printJson(report);
      note(summarize(report));
      setExitCode(report.recommendation.ready ? EXIT_OK : EXIT_PROBLEM);
    });

  program
    .command('analyze')
    .description('Find (and with --fix, fix) PyTorch/CUDA/Python/base-image conflicts in a Dockerfile before building.')
    .option('--context <dir>', 'build context', '.')
    .option('--dockerfile <path>', 'Dockerfile relative to the context', 'Dockerfile')
    .option('--build-arg <KEY=VALUE>', 'ARG value (repeatable)', parseKeyValue('build-arg'))
    .option('--target-gpu <gpu>', 'GPU to check kernels for: sm_120, 9.0, H100, B200 ...')
    .option('--base-image <image>', 'replace the base image of the final stage')
    .option('--fix', 'include fixed file texts and diffs', false)
    .option('--write', 'write the fixes into the files (atomically, with a .bak backup)', false)
    .option('--json', 'print the full JSON result', false)
    .action(async (options) => {
      const { analyzeDockerfile } = await import('../dockerfile/analyze.js');
      const result = await analyzeDockerfile({
        context: options.context,
        dockerfile: options.dockerfile,
        buildArgs: options.buildArg ?? {},
        targetGpu: options.targetGpu,
        baseImage: options.baseImage,
        fix: options.fix,
        write: options.write,
      });
      if (options.json) printJson(result);
      else printAnalysis(result);
      const remaining = result.fixed ? result.fixed.remaining_findings : result.findings;
      setExitCode(remaining.some((finding) => finding.severity === 'error') ? EXIT_PROBLEM : EXIT_OK);
    });

  program
    .command('setup-codebuild')
    .description('Create (or find) the CodeBuild service role, S3 bucket and project that CodeBuild builds need.')
    .option('--project-name <name>', 'CodeBuild project', DEFAULT_CODEBUILD_PROJECT)
    .option('--region <region>', `AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, ${DEFAULT_REGION})`)
    .option('--s3-bucket <bucket>', 'bucket for build sources (default: docker-image-builder-<account>-<region>)')
    .option('--compute-type <type>', 'CodeBuild compute type', 'BUILD_GENERAL1_MEDIUM')
    .option('--image <image>', 'CodeBuild image (a standard image with Docker)', 'aws/codebuild/standard:7.0')
    .option('--ecr', 'let the role push to ECR', false)
    .option(
      '--ecr-repository <name>',
      'ECR repository to allow (repeatable; created when missing)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--role-name <name>', 'service role name (default: docker-image-builder-codebuild-<project>)')
    .option('--dry-run', 'print the plan and the policies without calling AWS', false)
    .action(async (options) => {
      const { setupCodebuildCommand } = await import('../codebuild/setup/setup.js');
      const { createAwsClients } = await import('../codebuild/clients.js');
      const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? DEFAULT_REGION;
      const { result } = await setupCodebuildCommand(
        {
          project: options.projectName,
          region,
          ...(options.s3Bucket ? { bucket: options.s3Bucket } : {}),
          computeType: options.computeType,
          image: options.image,
          ecr: options.ecr || (options.ecrRepository?.length ?? 0) > 0,
          ...(options.ecrRepository ? { ecrRepositories: options.ecrRepository } : {}),
          ...(options.roleName ? { roleName: options.roleName } : {}),
          dryRun: options.dryRun,
        },
        {
          clients: (forRegion) => createAwsClients({ region: forRegion }),
          out: (text) => process.stdout.write(`${text}\n`),
          progress: (line) => note(line),
        },
      );
      if (result) note(`created ${result.created.length}, found ${result.found.length}`);
    });

  addBuildCommands(program, () => deps().builds(), setExitCode);
  addDiagnoseCommand(program, setExitCode);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof InputError) {
      note(`error: ${error.message}\nhint: ${error.hint}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
