import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const builtServer = path.join(repoRoot, 'dist', 'index.js');

export interface StartedServer {
  client: Client;
  stderr: () => string;
  close(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash would: it gets no chance to clean up. */
  kill(): Promise<void>;
}

/** Starts the built server as a child process and connects the SDK client to it over stdio, as an agent would. */
export async function startServer(
  env: Record<string, string | undefined> = {},
  command: { command: string; args: string[] } = { command: process.execPath, args: [builtServer] },
): Promise<StartedServer> {
  const transport = new StdioClientTransport({
    command: command.command,
    args: command.args,
    env: {
      ...(process.env as Record<string, string>),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    } as Record<string, string>,
    stderr: 'pipe',
  });
  let stderrText = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString();
  });
  const client = new Client({ name: 'dib-e2e', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderrText,
    close: () => client.close(),
    kill: async () => {
      if (transport.pid) process.kill(transport.pid, 'SIGKILL');
      await client.close().catch(() => undefined);
    },
  };
}
