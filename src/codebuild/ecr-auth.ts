// The registry login for an ECR host: ecr:GetAuthorizationToken, decoded into the user name and password that
// `docker login --password-stdin` takes. The SDK is loaded only when a push goes to ECR; its endpoint comes from the
// SDK's own configuration (AWS_ENDPOINT_URL_ECR), never from here.
import { describeAwsError, unexpectedAwsAnswer, type AwsCall } from '../util/aws-errors.js';
import { createAwsClients, withDeadline, type AwsClients } from './clients.js';

export interface EcrLogin {
  username: string;
  password: string;
  /** `https://<account>.dkr.ecr.<region>.amazonaws.com`, as ECR names it. */
  proxyEndpoint?: string;
  expiresAt?: Date;
}

export interface EcrLoginOptions {
  region: string;
  /** The clients to use (tests pass their own); default lazily made ones for the region. */
  clients?: AwsClients;
  signal?: AbortSignal;
  timeoutMs?: number;
}

function ecrCall(region: string, signal: AbortSignal | undefined): AwsCall {
  return {
    service: 'ECR',
    operation: 'GetAuthorizationToken',
    region,
    nextSteps: {
      'aws-permissions':
        'Give the caller ecr:GetAuthorizationToken (resource "*") and ecr:BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload and PutImage on the repository.',
    },
    ...(signal ? { signal } : {}),
  };
}

/** Asks ECR for a registry login; AWS failures throw ExpectedFailure with the next step. */
export async function ecrLogin(options: EcrLoginOptions): Promise<EcrLogin> {
  const clients = options.clients ?? createAwsClients({ region: options.region });
  const call = ecrCall(options.region, options.signal);
  try {
    const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
    const ecr = await clients.ecr();
    const answer = await withDeadline(
      (abortSignal) => ecr.send(new GetAuthorizationTokenCommand({}), { abortSignal }),
      {
        operation: 'ECR GetAuthorizationToken',
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    const data = answer.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (!data || colon <= 0) throw unexpectedAwsAnswer(call, 'the answer carries no usable authorization token');
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      ...(data.proxyEndpoint ? { proxyEndpoint: data.proxyEndpoint } : {}),
      ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}),
    };
  } catch (error) {
    throw describeAwsError(error, call);
  } finally {
    if (!options.clients) clients.destroy();
  }
}
