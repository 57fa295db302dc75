import { ConfigurationError } from '../../errors.js';
import type { Logger } from '../../infra/logger.js';

// GitHub Container Registry with the job's github-token (needs `packages: read` for private packages).

export function ghcrCredential(
  via: string,
  githubToken: string | undefined,
  deps: { env: NodeJS.ProcessEnv; logger: Logger },
): { username: string; password: string } {
  if (!githubToken) {
    throw new ConfigurationError(
      `${via}: provider ghcr needs \`github-token\` (default \${{ github.token }}, with permissions: packages: read).`,
      'github-token',
    );
  }
  deps.logger.setSecret(githubToken);
  return { username: deps.env.GITHUB_ACTOR?.trim() || 'x-access-token', password: githubToken };
}
