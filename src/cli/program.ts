import { Command, CommanderError } from 'commander';
import { defaultStateDir, describeConfigProblem, readConfig, type Config } from '../config.js';
import { createDefaultDeps, environmentDeps } from '../deps.js';
import { DEFAULT_CODEBUILD_PROJECT, DEFAULT_REGION } from '../environment/aws-probe.js';
import { detectEnvironment } from '../environment/detect.js';
import { summarize } from '../environment/summary.js';
import { analyzeDockerfileInputs, toAnalyzeOptions } from '../inputs/analyze-dockerfile.js';
import { addInputs, inputFromCli } from '../inputs/cli.js';
import { detectEnvironmentInputs, toDetectOptions } from '../inputs/detect-environment.js';
import { ExpectedFailure, InputError } from '../util/errors.js';
import { SERVER_NAME, VERSION } from '../version.js';
import { addBuildCommands } from './build-commands.js';
import { writeCrashReport } from './crash-report.js';
import { addDiagnoseCommand } from './diagnose-command.js';
import { note, printAnalysis, printJson } from './output.js';

/**
 * Exit codes (README "Exit codes"): 0 done, 1 the work found a problem (errors, not ready, build failed), 2 bad usage
 * or input (options, arguments, DIB_* variables), 70 a bug in docker-image-builder (EX_SOFTWARE of sysexits.h).
 */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

/** The settings for a CLI command; an unusable DIB_* variable is bad input, refused with its name. */
function cliConfig(env: NodeJS.ProcessEnv): Config {
  const { config, problems } = readConfig(env);
  const [first] = problems;
  if (first) {
    throw new InputError(
      first.variable,
      `is ${first.value}, which is not usable`,
      `Set it to ${first.expected}, or unset it.${problems.length > 1 ? ` Also: ${problems.slice(1).map(describeConfigProblem).join(' ')}` : ''}`,
    );
  }
  return config;
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  let created: ReturnType<typeof createDefaultDeps> | undefined;
  const deps = () => (created ??= createDefaultDeps(cliConfig(process.env), process.env));
  const program = new Command(SERVER_NAME)
    .description('Build container images reliably. With no command (or `serve`), runs the MCP server on stdio.')
    .version(VERSION)
    .exitOverride()
    // Help and --version asked for go to stdout (`build --help | less`); usage errors and their help to stderr.
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    });

  program.command('serve').description('Run the MCP server on stdin/stdout (the default).');

  const detect = program
    .command('detect')
    .description('Detect where images can be built (local Docker or AWS CodeBuild) and print the report as JSON.')
    .action(async (_options, command: Command) => {
      const input = inputFromCli(detectEnvironmentInputs, command);
      const report = await detectEnvironment(environmentDeps(deps()), toDetectOptions(input));
      printJson(report);
      note(summarize(report));
      setExitCode(report.recommendation.ready ? EXIT_OK : EXIT_PROBLEM);
    });
  addInputs(detect, detectEnvironmentInputs);

  const analyze = program
    .command('analyze')
    .description(
      'Find (and with --fix, fix) PyTorch/CUDA/Python/base-image conflicts in a Dockerfile before building.',
    );
  addInputs(analyze, analyzeDockerfileInputs)
    .option('--json', 'print the full JSON result', false)
    .action(async (options, command: Command) => {
      const input = inputFromCli(analyzeDockerfileInputs, command);
      const { analyzeDockerfile } = await import('../dockerfile/analyze.js');
      const result = await analyzeDockerfile({
        ...toAnalyzeOptions(input),
        inspectImagePlatforms: async (refs) => (await deps().builds()).imagePlatforms(refs, false),
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
    if (error instanceof ExpectedFailure) {
      note(`error: ${error.message}\nnext: ${error.nextStep}`);
      return EXIT_PROBLEM;
    }
    // A bug: one line for the user, the stack in a report file for the maintainers.
    const message = error instanceof Error ? error.message : String(error);
    const report = writeCrashReport(error, argv, defaultStateDir(process.env));
    note(
      `internal error (a bug in docker-image-builder): ${message.split('\n')[0]}` +
        (report ? `\nreport: ${report} (please attach it to an issue)` : ''),
    );
    return EXIT_INTERNAL;
  }
}
