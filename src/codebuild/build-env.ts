// What a CodeBuild build gets through its environment instead of the buildspec text: the build args' values
// (PLAINTEXT) and the secrets, as Secrets Manager / Parameter Store references that CodeBuild resolves itself (and
// masks in the log). The buildspec only names the variables: `--build-arg NAME`, `--secret id=X,env=DIB_SECRET_N`.
import type { BuildSecretInput } from '../build-model/api.js';
import { buildArgEnv, valueInArgv } from '../docker/build-args.js';

export interface CodeBuildVariable {
  name: string;
  value: string;
  type: 'PLAINTEXT' | 'SECRETS_MANAGER' | 'PARAMETER_STORE';
}

/**
 * Build args that keep their value in the buildspec: those the docker CLI reads itself (as locally), and names
 * CodeBuild reserves (CODEBUILD_*, refused by StartBuild) or uses (AWS_*), or this tool's own variables (DIB_*).
 */
export function codebuildValueInArgv(name: string): boolean {
  return valueInArgv(name) || /^(?:CODEBUILD_|AWS_|DIB_)/.test(name);
}

/** The variable a secret's value is in during the build (its id may hold characters a variable name cannot). */
export function secretVariable(index: number): string {
  return `DIB_SECRET_${index}`;
}

/** The secrets the buildspec passes to docker, each by its variable. AWS references only (checked before). */
export function buildspecSecrets(secrets: BuildSecretInput[] = []): { id: string; env: string }[] {
  return secrets.map((secret, index) => ({ id: secret.id, env: secretVariable(index) }));
}

/** The environmentVariablesOverride entries for the build args' values and the secrets' references. */
export function codebuildVariables(
  buildArgs: Record<string, string>,
  secrets: BuildSecretInput[] = [],
): CodeBuildVariable[] {
  const variables: CodeBuildVariable[] = Object.entries(buildArgEnv(buildArgs, codebuildValueInArgv)).map(
    ([name, value]) => ({ name, value, type: 'PLAINTEXT' }),
  );
  secrets.forEach((secret, index) => {
    if ('aws_secret' in secret)
      variables.push({ name: secretVariable(index), value: secret.aws_secret, type: 'SECRETS_MANAGER' });
    else if ('aws_parameter' in secret) {
      variables.push({ name: secretVariable(index), value: secret.aws_parameter, type: 'PARAMETER_STORE' });
    }
  });
  return variables;
}
