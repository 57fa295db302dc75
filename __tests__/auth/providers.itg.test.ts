import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeDockerConfig } from '../../src/auth/docker-config.js';
import { ACR_USERNAME, acrCredential } from '../../src/auth/providers/acr.js';
import { ecrCredential, type EcrClientFactory } from '../../src/auth/providers/ecr.js';
import { resolveCredentials } from '../../src/auth/resolve-credentials.js';
import { createHttpClient } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';

// Cloud providers' token flows against local HTTP servers speaking their protocols: the real AWS SDK client
// (JSON 1.1, SigV4 with static test credentials) and the real HTTP client for Entra + ACR's token exchange.

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function serve(
  handler: Handler,
): Promise<{ server: Server; base: string; host: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, requests };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const noSleep = { now: () => new Date(), sleep: () => Promise.resolve() };
const http = createHttpClient({ clock: noSleep });
const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

describe('ECR', () => {
  let ecr: Awaited<ReturnType<typeof serve>>;
  let deny = false;
  const token = Buffer.from('AWS:ecr-password-123').toString('base64');
  beforeAll(async () => {
    ecr = await serve((req, _body, res) => {
      if (deny) {
        json(
          res,
          400,
          { __type: 'AccessDeniedException', message: 'not authorized to perform ecr:GetAuthorizationToken' },
          {
            'content-type': 'application/x-amz-json-1.1',
            'x-amzn-errortype': 'AccessDeniedException',
          },
        );
        return;
      }
      json(
        res,
        200,
        {
          authorizationData: [
            { authorizationToken: token, expiresAt: 1893456000, proxyEndpoint: `https://${ECR_HOST}` },
          ],
        },
        {
          'content-type': 'application/x-amz-json-1.1',
        },
      );
    });
  });
  afterAll(() => ecr.server.close());

  const regions: string[] = [];
  const factory: EcrClientFactory = (region) => {
    regions.push(region);
    return new ECRClient({
      region,
      endpoint: ecr.base,
      credentials: { accessKeyId: 'AKIDTESTEXAMPLE', secretAccessKey: 'test-secret-key' },
      maxAttempts: 1,
    });
  };

  test('GetAuthorizationToken, signed for the region in the host; token decoded to AWS + password, both masked', async () => {
    const logger = new MemoryLogger();
    const cred = await ecrCredential(ECR_HOST, 'registry-auth[1] provider ecr', {
      logger,
      ecrClientFactory: factory,
    });
    expect(cred).toEqual({ username: 'AWS', password: 'ecr-password-123' });
    expect(regions.at(-1)).toBe('eu-west-1');
    const req = ecr.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTESTEXAMPLE\/\d{8}\/eu-west-1\/ecr\/aws4_request/,
    );
    expect(logger.secrets).toEqual(expect.arrayContaining([token, 'ecr-password-123']));
  });

  test('a refusal says how to give the job AWS credentials', async () => {
    deny = true;
    try {
      await expect(
        ecrCredential(ECR_HOST, 'registry-auth[1] provider ecr', {
          logger: new MemoryLogger(),
          ecrClientFactory: factory,
        }),
      ).rejects.toThrow(
        /registry-auth\[1\] provider ecr: could not get an ECR token .*not authorized.*aws-actions\/configure-aws-credentials/s,
      );
    } finally {
      deny = false;
    }
  });
});

describe('ACR (service principal → Entra token → /oauth2/exchange)', () => {
  let aad: Awaited<ReturnType<typeof serve>>;
  let registry: Awaited<ReturnType<typeof serve>>;
  const env = {
    AZURE_CLIENT_ID: 'client-id',
    AZURE_CLIENT_SECRET: 'sp-secret-value',
    AZURE_TENANT_ID: 'tenant-1',
  };
  beforeAll(async () => {
    aad = await serve((req, body, res) => {
      const form = new URLSearchParams(body);
      if (req.url !== '/tenant-1/oauth2/v2.0/token' || form.get('client_secret') !== 'sp-secret-value') {
        json(res, 401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1',
        });
        return;
      }
      json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: 'aad-access-token' });
    });
    registry = await serve((req, body, res) => {
      const form = new URLSearchParams(body);
      if (req.url === '/oauth2/exchange' && form.get('access_token') === 'aad-access-token') {
        json(res, 200, { refresh_token: 'acr-refresh-token' });
      } else json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
    });
  });
  afterAll(() => {
    aad.server.close();
    registry.server.close();
  });

  test('the refresh token becomes the password of the all-zero user; every token masked', async () => {
    const logger = new MemoryLogger();
    const cred = await acrCredential(registry.host, 'registry-auth[1] provider acr', {
      http,
      env,
      logger,
      azureLoginBase: aad.base,
      registryBaseUrl: (h) => `http://${h}`,
    });
    expect(cred).toEqual({ username: ACR_USERNAME, password: 'acr-refresh-token' });

    const login = new URLSearchParams(aad.requests.at(-1)!.body);
    expect(Object.fromEntries(login)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-id',
      client_secret: 'sp-secret-value',
      scope: 'https://management.azure.com/.default',
    });
    const exchange = registry.requests.at(-1)!;
    expect(exchange.method).toBe('POST');
    expect(exchange.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(exchange.body))).toEqual({
      grant_type: 'access_token',
      service: registry.host,
      tenant: 'tenant-1',
      access_token: 'aad-access-token',
    });
    expect(logger.secrets).toEqual(
      expect.arrayContaining(['sp-secret-value', 'aad-access-token', 'acr-refresh-token']),
    );
  });

  test("Entra's refusal is explained by its code, without the secret", async () => {
    const err = await acrCredential(registry.host, 'registry-auth[1] provider acr', {
      http,
      env: { ...env, AZURE_CLIENT_SECRET: 'wrong-secret' },
      logger: new MemoryLogger(),
      azureLoginBase: aad.base,
      registryBaseUrl: (h) => `http://${h}`,
    }).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e as Error,
    );
    expect(err.message).not.toBe('expected a refusal');
    expect(err.message).toMatch(
      /HTTP 401 \(invalid_client: AADSTS7000215: Invalid client secret provided\.\)/,
    );
    expect(err.message).not.toContain('wrong-secret');
    expect(err.message).not.toContain('Trace ID');
  });

  test('end to end: resolved credentials written to a private Docker config, one entry per host', async () => {
    const logger = new MemoryLogger();
    const creds = await resolveCredentials(
      {
        registryAuth: [
          { registry: registry.host, provider: 'acr' },
          { registry: ECR_HOST, provider: 'ecr' },
          { registry: 'plain.example.com', username: 'ci', password: 'plain-pw' },
        ],
        githubToken: 'ghs_e2e',
        discovery: {
          repositories: [],
          excludeRepositories: [],
          tags: [],
          excludeTags: [],
          maxImagesPerRepository: 5,
          maxImages: 500,
          discoverFiles: [],
        },
      },
      ['ghcr.io', registry.host],
      {
        logger,
        http,
        env,
        azureLoginBase: aad.base,
        registryBaseUrl: (h) => `http://${h}`,
        ecrClientFactory: () => ({
          send: () =>
            Promise.resolve({
              authorizationData: [{ authorizationToken: Buffer.from('AWS:ecr-e2e').toString('base64') }],
              $metadata: {},
            }),
        }),
      },
    );
    const root = await mkdtemp(path.join(os.tmpdir(), 'isg-auth-'));
    try {
      const { dir, file } = await writeDockerConfig(path.join(root, 'docker'), creds);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const { auths } = JSON.parse(await readFile(file, 'utf8')) as {
        auths: Record<string, { auth: string }>;
      };
      const decoded = Object.fromEntries(
        Object.entries(auths).map(([h, e]) => [h, Buffer.from(e.auth, 'base64').toString()]),
      );
      expect(decoded).toEqual({
        [registry.host]: `${ACR_USERNAME}:acr-refresh-token`,
        [ECR_HOST]: 'AWS:ecr-e2e',
        'plain.example.com': 'ci:plain-pw',
        'ghcr.io': 'x-access-token:ghs_e2e',
      });
      for (const secret of [
        'acr-refresh-token',
        'ecr-e2e',
        'plain-pw',
        'ghs_e2e',
        'sp-secret-value',
        'aad-access-token',
      ]) {
        expect(logger.secrets).toContain(secret);
        for (const e of logger.entries) expect(e.message).not.toContain(secret);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
