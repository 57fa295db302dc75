import {
  ECRClient,
  GetAuthorizationTokenCommand,
  type GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { ConfigurationError, errorMessage } from '../../errors.js';
import type { Logger } from '../../infra/logger.js';
import { CredentialProviderError } from '../host-credential.js';
import { parseEcrHost } from '../../registry/ecr-host.js';

// Amazon ECR: GetAuthorizationToken with the ambient AWS credentials (env, OIDC role from
// aws-actions/configure-aws-credentials, instance profile...). The token is base64 `AWS:<password>`, valid 12 h.

/** What the provider needs of an ECR client; tests pass a client pointed at a local endpoint. */
interface EcrClientLike {
  send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
}

export type EcrClientFactory = (region: string) => EcrClientLike;

const defaultEcrClientFactory: EcrClientFactory = (region) => new ECRClient({ region });

/** The region of an ECR host (registry/ecr-host.ts knows their shapes, dual-stack included). */
function ecrRegion(host: string): string | undefined {
  return parseEcrHost(host)?.region;
}

export async function ecrCredential(
  host: string,
  via: string,
  deps: { logger: Logger; ecrClientFactory?: EcrClientFactory },
): Promise<{ username: string; password: string }> {
  const region = ecrRegion(host);
  if (!region) {
    throw new ConfigurationError(
      `${via}: provider ecr needs an ECR registry host like 123456789012.dkr.ecr.eu-west-1.amazonaws.com, not ${host}.`,
      'registry-auth',
    );
  }
  const client = (deps.ecrClientFactory ?? defaultEcrClientFactory)(region);
  let output: GetAuthorizationTokenCommandOutput;
  try {
    output = await client.send(new GetAuthorizationTokenCommand({}));
  } catch (e) {
    throw new CredentialProviderError(
      `${via}: could not get an ECR token for ${host} (${errorMessage(e)}). Give the job AWS credentials first, ` +
        'e.g. aws-actions/configure-aws-credentials with a role allowed ecr:GetAuthorizationToken.',
    );
  }
  const encoded = output.authorizationData?.[0]?.authorizationToken;
  if (!encoded)
    throw new CredentialProviderError(`${via}: ECR answered without an authorization token for ${host}.`);
  deps.logger.setSecret(encoded);
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw new CredentialProviderError(
      `${via}: ECR's authorization token for ${host} is not "user:password".`,
    );
  const password = decoded.slice(colon + 1);
  deps.logger.setSecret(password);
  return { username: decoded.slice(0, colon), password };
}
