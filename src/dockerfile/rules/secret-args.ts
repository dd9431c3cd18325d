import { DockerfileParser, type Arg, type Env } from 'dockerfile-ast';
import { looksLikeSecretName } from '../../util/secret-names.js';
import type { DockerfileRule } from './types.js';

/**
 * secret-in-arg-or-env: an ARG or ENV whose name says it holds a secret (BuildKit's SecretsUsedInArgOrEnv, with
 * its token list: see util/secret-names.ts). An ENV value is in the image's config, and a build arg's value is in
 * the history of every RUN step that sees it, for anyone who pulls the image; a secret mount leaves neither.
 */
export const secretArgsRule: DockerfileRule = {
  name: 'secret-in-arg-or-env',
  checkModel: (run) => {
    const file = run.model.sources.file(run.model.dockerfileIndex);
    for (const instruction of DockerfileParser.parse(file.text).getInstructions()) {
      const keyword = instruction.getKeyword();
      if (keyword !== 'ARG' && keyword !== 'ENV') continue;
      for (const property of (instruction as Arg | Env).getProperties()) {
        const name = property.getName();
        if (!looksLikeSecretName(name)) continue;
        const start = property.getNameRange().start;
        const given = run.model.buildArgs[name] !== undefined;
        const id = name.toLowerCase().replace(/[^a-z0-9_.-]/g, '_');
        run.add({
          category: 'secret-in-arg-or-env',
          severity: 'warning',
          position: { file: file.path, line: start.line + 1, column: start.character + 1 },
          message:
            keyword === 'ENV'
              ? `ENV ${name} looks like a secret: its value is stored in the image's configuration, which anyone who pulls the image can read (docker inspect).`
              : `ARG ${name} looks like a secret${given ? ' (and build_args gives it a value)' : ''}: docker records a build arg's value in the history of every RUN step that uses it, which anyone who pulls the image can read (docker history).`,
          evidence: [`the name ${name} matches BuildKit's SecretsUsedInArgOrEnv check`],
          fix: {
            description: `Pass it as a build secret instead: build_image secrets [{"id": "${id}", "env": "${name}"}] and read it only in the step that needs it.`,
            edits: [],
            alternatives: [
              `RUN --mount=type=secret,id=${id} ${name}="$(cat /run/secrets/${id})" <command> keeps the value out of the layers and the history`,
              `RUN --mount=type=secret,id=${id},env=${name} <command> (Dockerfile syntax 1.10 or newer) sets it as a variable for that step only`,
            ],
          },
        });
      }
    }
  },
};
