import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { list, objects, type FieldIssue } from './field.js';

const id = z.string().min(1).max(128);
const reference = z.string().min(1).max(2048);

/** One build secret: where its value comes from. Only names, paths and references are given, never a value. */
export function secretEntry(error: (issue: FieldIssue) => string) {
  return z.union(
    [
      z.strictObject({ id, env: z.string().min(1).max(256) }),
      z.strictObject({ id, src: z.string().min(1).max(4096) }),
      z.strictObject({ id, aws_secret: reference }),
      z.strictObject({ id, aws_parameter: reference }),
    ],
    { error },
  );
}

const SOURCES = ['env', 'src', 'aws_secret', 'aws_parameter'] as const;

/** `--secret id=hf,env=HF_TOKEN` (docker's own syntax; also src=PATH, aws_secret=ARN-OR-NAME, aws_parameter=/NAME). */
export function parseSecretFlag(value: string): Record<string, string> {
  const entry: Record<string, string> = {};
  for (const part of value.split(',')) {
    const index = part.indexOf('=');
    const key = index > 0 ? part.slice(0, index) : '';
    if (key !== 'id' && !(SOURCES as readonly string[]).includes(key)) {
      throw new InputError(
        '--secret',
        `"${value}" is not id=ID,env=VAR or id=ID,src=FILE`,
        'Write it as --secret id=hf,env=HF_TOKEN (a variable of your environment) or --secret id=hf,src=/path/to/file; for CodeBuild also aws_secret=NAME-OR-ARN or aws_parameter=/NAME.',
      );
    }
    entry[key] = part.slice(index + 1);
  }
  return entry;
}

export const secretFields = {
  secrets: objects({
    maxItems: 20,
    default: [],
    entry: secretEntry,
    looksLike:
      '{"id": ID, "env": VARIABLE} or {"id": ID, "src": FILE} (CodeBuild also {"id": ID, "aws_secret": NAME-OR-ARN} or {"id": ID, "aws_parameter": "/NAME"})',
    description:
      'Build secrets for `RUN --mount=type=secret,id=ID` (docker --secret; needs BuildKit). Each names where the value is, never the value: "env" a variable of the server\'s environment, "src" a file; on CodeBuild also "aws_secret" (Secrets Manager) or "aws_parameter" (Parameter Store). The value stays out of the image, its history, arguments, logs, records and replies.',
    cli: {
      flag: '--secret',
      value: '<id=ID,env=VAR|id=ID,src=FILE>',
      help: 'build secret, e.g. id=hf,env=HF_TOKEN (repeatable)',
    },
    parseCli: parseSecretFlag,
  }),
  ssh: list({
    maxItems: 10,
    default: [],
    description:
      'SSH agent sockets or keys to forward for `RUN --mount=type=ssh` (docker --ssh; needs BuildKit): "default" (SSH_AUTH_SOCK) or "id=/path/to/socket-or-key[,key2]".',
    cli: { flag: '--ssh', value: '<default|id[=path,...]>', help: 'forward an SSH agent or key (repeatable)' },
  }),
};
