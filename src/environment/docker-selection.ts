// docker_context and builder, checked against the CLI's contexts and buildx's builders before anything builds, and
// turned into the two parts of the DockerInvocation they decide: the context of every call, and the builder.
import { builderPlatforms, type BuildxBuilder } from '../docker/buildx.js';
import type { DockerContextEntry } from '../docker/contexts.js';
import { shellLine } from '../util/quoted.js';

export interface RequestedTarget {
  context?: string;
  builder?: string;
}

export interface SelectedTarget {
  context?: string;
  builder?: string;
  warnings: string[];
}

export interface SelectionProblem {
  error: string;
  hint: string;
}

function contextNames(contexts: readonly DockerContextEntry[]): string {
  return contexts.map((context) => `${context.name}${context.current ? ' (current)' : ''}`).join(', ') || 'none';
}

/**
 * Which context every call goes to and which builder builds, from what was asked and the contexts that exist.
 *
 * buildx lists every docker context as a builder of the `docker` driver, named after it, and refuses such a builder
 * from any other context ("use `docker --context=NAME buildx`"); `buildx create` refuses a name a context has. So
 * a builder named like a context is that context's own engine: it is mapped to docker_context NAME (with
 * `--builder NAME`), since its image lands in that engine and the smoke test, push and inspect must go there too.
 * Asked together with a different docker_context, that is a contradiction and is refused.
 */
export function selectTarget(
  requested: RequestedTarget,
  contexts: readonly DockerContextEntry[],
): SelectedTarget | SelectionProblem {
  const byName = new Map(contexts.map((context) => [context.name, context]));
  const { context, builder } = requested;
  if (context !== undefined) {
    const entry = byName.get(context);
    if (!entry) {
      return {
        error: `docker context "${context}" does not exist. Contexts here: ${contextNames(contexts)}.`,
        hint: `Pass one of them as docker_context, or create it: ${shellLine('docker', 'context', 'create', context, '--docker', 'host=unix:///path/to/docker.sock')} (or host=ssh://user@host).`,
      };
    }
    if (entry.error) {
      return {
        error: `docker context "${context}" cannot be loaded: ${entry.error}`,
        hint: `Repair it (${shellLine('docker', 'context', 'inspect', context)} shows it) or pass another docker_context.`,
      };
    }
  }
  if (builder === undefined || !byName.has(builder)) return { context, builder, warnings: [] };
  if (context !== undefined && context !== builder) {
    return {
      error:
        `builder "${builder}" is the docker driver of docker context "${builder}": it builds only on that context's ` +
        `engine, and docker_context is "${context}".`,
      hint: `Pass docker_context "${builder}" (or only builder "${builder}"), or name a builder of context "${context}" (${shellLine('docker', '--context', context, 'buildx', 'ls')}).`,
    };
  }
  const warnings =
    context === undefined
      ? [
          `builder "${builder}" is docker context "${builder}"'s own engine (docker driver), so every docker call of ` +
            `this build goes to that context (docker --context ${builder}): the build, the smoke test and the push.`,
        ]
      : [];
  return { context: builder, builder, warnings };
}

/** A builder that buildx does not know, with the ones it does (from `buildx ls`) and the next step. */
export function unknownBuilder(
  builder: string,
  reason: string,
  builders: readonly BuildxBuilder[] | undefined,
  context: string | undefined,
): SelectionProblem {
  const known = builders?.length
    ? builders
        .map(
          (candidate) =>
            `${candidate.name}${candidate.current ? ' (current)' : ''}${candidate.driver ? ` [${candidate.driver}]` : ''}`,
        )
        .join(', ')
    : 'none listed';
  const ls = context ? shellLine('docker', '--context', context, 'buildx', 'ls') : shellLine('docker', 'buildx', 'ls');
  return {
    error: `buildx has no builder "${builder}" (${reason}). Builders here: ${known}.`,
    hint: `Pass one of them as builder (${ls} lists them), or create it: ${shellLine('docker', 'buildx', 'create', '--name', builder, '--driver', 'docker-container')}.`,
  };
}

/** What a selected builder can build, for the probe's report. */
export function builderSummary(builder: BuildxBuilder) {
  const node = builder.nodes[0];
  return {
    name: builder.name,
    ...(builder.driver ? { driver: builder.driver } : {}),
    ...(node?.status ? { status: node.status } : {}),
    ...(node?.buildkit ? { buildkit_version: node.buildkit } : {}),
    platforms: builderPlatforms(builder),
  };
}
