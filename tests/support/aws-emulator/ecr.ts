/** ECR (JSON 1.1, `AmazonEC2ContainerRegistry_V20150921.*`): the three calls a push helper needs. */
import { ServiceError, asString, epochSeconds, requireString } from './protocol.js';

export interface EcrRepository {
  repositoryName: string;
  repositoryArn: string;
  registryId: string;
  repositoryUri: string;
  createdAt: Date;
  imageTagMutability: string;
  scanOnPush: boolean;
}

const NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export class EcrState {
  readonly repositories = new Map<string, EcrRepository>();

  constructor(
    private readonly account: string,
    /** Registry host for a region; e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com`, or a local registry. */
    private readonly registryHost: (region: string) => string,
    private readonly password: string,
  ) {}

  private toJson(repo: EcrRepository) {
    return {
      repositoryArn: repo.repositoryArn,
      registryId: repo.registryId,
      repositoryName: repo.repositoryName,
      repositoryUri: repo.repositoryUri,
      createdAt: epochSeconds(repo.createdAt),
      imageTagMutability: repo.imageTagMutability,
      imageScanningConfiguration: { scanOnPush: repo.scanOnPush },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  handle(operation: string, input: Record<string, unknown>, region: string): unknown {
    switch (operation) {
      case 'GetAuthorizationToken': {
        const host = this.registryHost(region);
        return {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${this.password}`).toString('base64'),
              expiresAt: epochSeconds(new Date(Date.now() + 12 * 3600 * 1000)),
              proxyEndpoint: /^https?:\/\//.test(host) ? host : `https://${host}`,
            },
          ],
        };
      }
      case 'DescribeRepositories': {
        const names = Array.isArray(input['repositoryNames']) ? (input['repositoryNames'] as unknown[]) : undefined;
        if (names === undefined) return { repositories: [...this.repositories.values()].map((r) => this.toJson(r)) };
        const found = names.map((name) => {
          const repo = this.repositories.get(String(name));
          if (repo === undefined) {
            throw new ServiceError(
              'RepositoryNotFoundException',
              `The repository with name '${String(name)}' does not exist in the registry with id '${this.account}'`,
            );
          }
          return this.toJson(repo);
        });
        return { repositories: found };
      }
      case 'CreateRepository': {
        const name = requireString(input, 'repositoryName', 'InvalidParameterException');
        if (!NAME.test(name) || name.length < 2 || name.length > 256) {
          throw new ServiceError(
            'InvalidParameterException',
            `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '${NAME.source}''`,
          );
        }
        if (this.repositories.has(name)) {
          throw new ServiceError(
            'RepositoryAlreadyExistsException',
            `The repository with name '${name}' already exists in the registry with id '${this.account}'`,
          );
        }
        const host = this.registryHost(region).replace(/^https?:\/\//, '');
        const scanning = input['imageScanningConfiguration'] as Record<string, unknown> | undefined;
        const repo: EcrRepository = {
          repositoryName: name,
          repositoryArn: `arn:aws:ecr:${region}:${this.account}:repository/${name}`,
          registryId: this.account,
          repositoryUri: `${host}/${name}`,
          createdAt: new Date(),
          imageTagMutability: asString(input['imageTagMutability']) ?? 'MUTABLE',
          scanOnPush: scanning?.['scanOnPush'] === true,
        };
        this.repositories.set(name, repo);
        return { repository: this.toJson(repo) };
      }
      default:
        throw new ServiceError('UnknownOperationException', `The emulator does not implement ECR ${operation}`);
    }
  }
}
