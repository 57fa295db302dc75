import { DescribeImagesCommand, DescribeRepositoriesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import type { Logger } from '../infra/logger.js';
import type { CatalogImage, RegistryCatalog } from './catalog.js';
import { RegistryAuthError } from './errors.js';

// ECR lists through its own API (the SDK signs requests with the AWS credential chain): DescribeRepositories
// and DescribeImages (tags, digest, imagePushedAt), both paged by nextToken. The client is passed in.

function isAccessDenied(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name ?? '';
  return /AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|CredentialsProvider/i.test(name);
}

export function createEcrCatalog(opts: {
  client: Pick<ECRClient, 'send'>;
  registryId?: string;
  logger: Logger;
}): RegistryCatalog {
  const { client, registryId } = opts;
  let requests = 0;
  const registry = registryId ? `${registryId} (ECR)` : 'ECR';

  async function call<T>(run: () => Promise<T>, what: string): Promise<T> {
    requests++;
    try {
      return await run();
    } catch (e) {
      if (isAccessDenied(e)) {
        const tried = 'the AWS credential chain (aws-actions/configure-aws-credentials or AWS_* variables)';
        throw new RegistryAuthError(
          `${registry}: AWS refused ${what} (${(e as Error).name}; tried: ${tried}). The role needs ` +
            'ecr:DescribeRepositories and ecr:DescribeImages.',
          registry,
          tried,
          'access',
        );
      }
      throw e;
    }
  }

  return {
    async listRepositories(namespace) {
      const names: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call(
          () => client.send(new DescribeRepositoriesCommand({ registryId, nextToken, maxResults: 1000 })),
          'DescribeRepositories',
        );
        for (const r of page.repositories ?? []) if (r.repositoryName) names.push(r.repositoryName);
        nextToken = page.nextToken;
      } while (nextToken);
      if (!namespace) return names;
      const prefix = `${namespace.replace(/\/+$/, '')}/`;
      return names.filter((n) => n.startsWith(prefix));
    },
    async listImages(repository) {
      const images: CatalogImage[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call(
          () =>
            client.send(
              new DescribeImagesCommand({
                registryId,
                repositoryName: repository,
                filter: { tagStatus: 'TAGGED' },
                nextToken,
                maxResults: 1000,
              }),
            ),
          `DescribeImages on ${repository}`,
        );
        for (const d of page.imageDetails ?? []) {
          for (const tag of d.imageTags ?? []) {
            images.push({ tag, digest: d.imageDigest, createdAt: d.imagePushedAt?.toISOString() });
          }
        }
        nextToken = page.nextToken;
      } while (nextToken);
      return images;
    },
    requestCount: () => requests,
  };
}
