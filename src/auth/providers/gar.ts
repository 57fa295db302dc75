import type { Logger } from '../../infra/logger.js';
import { CredentialProviderError } from '../host-credential.js';

// Google Artifact Registry / Container Registry: user `oauth2accesstoken`, password = an OAuth access token
// the job already holds (this action does not run the OAuth flow itself).

const GAR_USERNAME = 'oauth2accesstoken';
const TOKEN_VARIABLES = ['GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN'] as const;

export function garCredential(
  host: string,
  via: string,
  deps: { env: NodeJS.ProcessEnv; logger: Logger },
): { username: string; password: string } {
  for (const name of TOKEN_VARIABLES) {
    const token = deps.env[name]?.trim();
    if (token) {
      deps.logger.setSecret(token);
      return { username: GAR_USERNAME, password: token };
    }
  }
  throw new CredentialProviderError(
    `${via}: provider gar for ${host} needs a Google access token in ${TOKEN_VARIABLES.join(' or ')}. ` +
      'Run google-github-actions/auth with token_format: access_token before this step and pass it on: ' +
      'env: { GOOGLE_OAUTH_ACCESS_TOKEN: ${{ steps.auth.outputs.access_token }} }. ' +
      `Or give username: ${GAR_USERNAME} and password: <token> in this entry.`,
  );
}
