import type { CommandOptions, CommandResult, CommandRunner } from '../../src/util/command-runner.js';

export interface RecordedCall {
  command: string;
  args: string[];
  options: CommandOptions;
}

/** A CommandResult of a successful call, with `partial` laid over it. */
export function commandResult(
  command: string,
  args: readonly string[],
  partial: Partial<CommandResult> = {},
): CommandResult {
  return {
    command,
    args,
    exitCode: 0,
    stdout: '',
    stderr: '',
    timedOut: false,
    notFound: false,
    cancelled: false,
    durationMs: 1,
    ...partial,
  };
}

type Reply = Partial<Omit<CommandResult, 'command' | 'args'>> | ((call: RecordedCall) => Partial<CommandResult>);

/** A CommandRunner that records every call and answers from a table keyed by the argument list. */
export class RecordingRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  private readonly replies = new Map<string, Reply>();

  /** Registers the reply for calls whose arguments start with `argsPrefix` (longest prefix wins). */
  on(argsPrefix: string[], reply: Reply): this {
    this.replies.set(argsPrefix.join('\u0000'), reply);
    return this;
  }

  async run(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
    const call = { command, args: [...args], options };
    this.calls.push(call);
    let best: Reply | undefined;
    let bestLength = -1;
    for (const [key, reply] of this.replies) {
      const prefix = key === '' ? [] : key.split('\u0000');
      if (prefix.length > bestLength && prefix.every((part, index) => args[index] === part)) {
        best = reply;
        bestLength = prefix.length;
      }
    }
    const partial = typeof best === 'function' ? best(call) : (best ?? { exitCode: 127, notFound: true });
    return commandResult(command, args, partial);
  }
}
