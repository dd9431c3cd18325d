import type { Command } from 'commander';
import { diagnoseLog, summarizeDiagnoses } from '../diagnosis/report.js';
import { printJson } from './output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `diagnose --log FILE|- [--dockerfile F] [--json]`: explains a failed build or run from its log, with the engine the
 * build loop uses. Exit 0 when the log shows no failure or every cause is recognised, 1 when it is not recognised.
 */
export function addDiagnoseCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('diagnose')
    .description('Explain why a build (or a container run) failed, from its log; `--log -` reads stdin.')
    .requiredOption('--log <file>', 'log file, or - for stdin')
    .option('--dockerfile <path>', 'the Dockerfile, to name the failing line and compute edits')
    .option('--json', 'print the full JSON result', false)
    .action(async (options: { log: string; dockerfile?: string; json: boolean }) => {
      const result = await diagnoseLog({
        ...(options.log === '-' ? { log: await readStdin() } : { logFile: options.log }),
        ...(options.dockerfile === undefined ? {} : { dockerfilePath: options.dockerfile }),
      });
      if (options.json) printJson(result);
      else process.stdout.write(`${summarizeDiagnoses(result)}\n`);
      setExitCode(result.diagnoses.some((diagnosis) => diagnosis.kind === 'unknown') ? 1 : 0);
    });
}
