// What a failed `docker push` printed, as a reason and the next step: one small rule per family, first match wins.
// The texts are the Docker CLI's and daemon's own (seen from Docker 26 pushing to distribution 2.8).

export type PushFailureReason = 'auth' | 'denied' | 'unreachable' | 'not-found' | 'insecure' | 'failed';

export interface PushFailure {
  reason: PushFailureReason;
  summary: string;
  nextStep: string;
}

type PushFailureRule = (output: string, host: string) => PushFailure | undefined;

const auth: PushFailureRule = (output, host) =>
  /no basic auth credentials|unauthorized|authentication required|401 Unauthorized/i.test(output)
    ? {
        reason: 'auth',
        summary: `${host} wants a login and none was given (or it was refused).`,
        nextStep: `Log in: \`docker login ${host}\` (in the DOCKER_CONFIG this server uses), then build again with push, or push the local image with \`docker push\`.`,
      }
    : undefined;

const denied: PushFailureRule = (output, host) =>
  /denied|forbidden|403/i.test(output)
    ? {
        reason: 'denied',
        summary: `${host} refused the push: the login may not push to this repository.`,
        nextStep: `Check that the repository exists on ${host} and that your account may push to it (\`docker login ${host}\` as one that may), then push again.`,
      }
    : undefined;

const insecure: PushFailureRule = (output, host) =>
  /server gave HTTP response to HTTPS client/i.test(output)
    ? {
        reason: 'insecure',
        summary: `${host} speaks plain HTTP and the engine expects HTTPS.`,
        nextStep: `Serve the registry over HTTPS, or add "${host}" to "insecure-registries" in the engine's daemon.json and restart it.`,
      }
    : undefined;

const unreachable: PushFailureRule = (output, host) =>
  /connection refused|no such host|i\/o timeout|network is unreachable|dial tcp|TLS handshake timeout|no route to host/i.test(
    output,
  )
    ? {
        reason: 'unreachable',
        summary: `The Docker engine cannot reach the registry ${host}.`,
        nextStep: `Check the host and port in image_name and that ${host} answers from the engine (the engine pushes, not this process), then push again.`,
      }
    : undefined;

const notFound: PushFailureRule = (output, host) =>
  /name unknown|repository .* not found|does not exist in the registry/i.test(output)
    ? {
        reason: 'not-found',
        summary: `${host} has no such repository.`,
        nextStep: /\.dkr\.ecr\./.test(host)
          ? 'Create the repository: `aws ecr create-repository --repository-name <name>`, then push again.'
          : `Create the repository on ${host}, then push again.`,
      }
    : undefined;

/** In order: the more specific texts first (a 401 also says "denied" on some registries). */
export const PUSH_FAILURE_RULES: readonly PushFailureRule[] = [insecure, notFound, auth, denied, unreachable];
