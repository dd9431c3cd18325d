export interface CommandOptions {
  /** Hard limit; the process is killed (SIGTERM, then SIGKILL) when it passes. */
  timeoutMs: number;
  cwd?: string;
  /** Extra variables merged over the server's own environment. */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  input?: string;
}

export interface CommandResult {
  command: string;
  args: readonly string[];
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The executable was not found (ENOENT). */
  notFound: boolean;
  cancelled: boolean;
  durationMs: number;
}

/** Runs a program with an argument array (never through a shell) and always resolves, even on failure. */
export interface CommandRunner {
  run(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult>;
}

export class ExecaCommandRunner implements CommandRunner {
  async run(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
    const started = performance.now();
    // Loaded on first use: agents spawn the server often and most sessions start with a cheap call.
    const { execa } = await import('execa');
    const result = await execa(command, [...args], {
      reject: false,
      timeout: options.timeoutMs,
      forceKillAfterDelay: 2_000,
      cwd: options.cwd,
      env: options.env,
      cancelSignal: options.signal,
      input: options.input,
      stdin: options.input === undefined ? 'ignore' : undefined,
      stripFinalNewline: true,
      maxBuffer: 64 * 1024 * 1024,
    });
    const error = result as { code?: string };
    return {
      command,
      args,
      exitCode: result.exitCode,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut: result.timedOut === true,
      notFound: error.code === 'ENOENT',
      cancelled: result.isCanceled === true,
      durationMs: Math.round(performance.now() - started),
    };
  }
}
