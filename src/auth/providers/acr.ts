import type { HttpClient, HttpResponse } from '../../infra/http.js';
import type { Logger } from '../../infra/logger.js';
import { CredentialProviderError } from '../host-credential.js';

// Azure Container Registry with a service principal: a Microsoft Entra (AAD) access token from the login
// endpoint, exchanged at the registry's /oauth2/exchange for an ACR refresh token, which the registry accepts
// as the password of the all-zero user (what `az acr login --expose-token` does).

export const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';
const DEFAULT_LOGIN_BASE = 'https://login.microsoftonline.com';
const ARM_SCOPE = 'https://management.azure.com/.default';
const SERVICE_PRINCIPAL = ['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID'] as const;

export interface AcrDeps {
  http: HttpClient;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Entra login endpoint; AZURE_AUTHORITY_HOST (sovereign clouds) else login.microsoftonline.com. Tests: a local server. */
  azureLoginBase?: string;
  /** Base URL of a registry host; `https://<host>` unless a test serves it over plain HTTP. */
  registryBaseUrl?: (host: string) => string;
}

export async function acrCredential(
  host: string,
  via: string,
  deps: AcrDeps,
): Promise<{ username: string; password: string }> {
  const missing = SERVICE_PRINCIPAL.filter((name) => !deps.env[name]?.trim());
  if (missing.length > 0) {
    throw new CredentialProviderError(
      `${via}: provider acr for ${host} needs a service principal in the environment (${missing.join(', ')} ` +
        `${missing.length === 1 ? 'is' : 'are'} not set): set ${SERVICE_PRINCIPAL.join(', ')} from secrets. ` +
        'Or use an ACR token / admin user: give username and password in this entry instead of provider.',
    );
  }
  const [clientId, clientSecret, tenant] = SERVICE_PRINCIPAL.map((name) => deps.env[name]!.trim()) as [
    string,
    string,
    string,
  ];
  deps.logger.setSecret(clientSecret);

  const loginBase = (deps.azureLoginBase ?? deps.env.AZURE_AUTHORITY_HOST ?? DEFAULT_LOGIN_BASE).replace(
    /\/+$/,
    '',
  );
  const aad = await postForm(
    deps.http,
    `${loginBase}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
    { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: ARM_SCOPE },
    `${via}: Microsoft Entra token for ${host}`,
  );
  const accessToken = stringField(aad, 'access_token');
  if (!accessToken)
    throw new CredentialProviderError(`${via}: Microsoft Entra answered without an access_token.`);
  deps.logger.setSecret(accessToken);

  const registryBase = (deps.registryBaseUrl ?? ((h: string) => `https://${h}`))(host).replace(/\/+$/, '');
  const exchange = await postForm(
    deps.http,
    `${registryBase}/oauth2/exchange`,
    { grant_type: 'access_token', service: host, tenant, access_token: accessToken },
    `${via}: ACR token exchange at ${host}`,
  );
  const refreshToken = stringField(exchange, 'refresh_token');
  if (!refreshToken)
    throw new CredentialProviderError(`${via}: ${host}/oauth2/exchange answered without a refresh_token.`);
  deps.logger.setSecret(refreshToken);
  return { username: ACR_USERNAME, password: refreshToken };
}

async function postForm(
  http: HttpClient,
  url: string,
  form: Record<string, string>,
  what: string,
): Promise<unknown> {
  const res: HttpResponse = await http({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
    timeoutMs: 30_000,
  });
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  if (res.status !== 200) {
    // Entra and ACR explain refusals in `error` / `error_description` (codes like AADSTS7000215), never echoing secrets.
    const detail = [stringField(body, 'error'), stringField(body, 'error_description')?.split(/\r?\n/)[0]]
      .filter(Boolean)
      .join(': ');
    throw new CredentialProviderError(
      `${what} failed: HTTP ${res.status}${detail ? ` (${detail.slice(0, 300)})` : ''}.`,
    );
  }
  if (body === undefined) throw new CredentialProviderError(`${what}: the answer is not JSON.`);
  return body;
}

function stringField(body: unknown, key: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
