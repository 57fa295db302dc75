import { describe, expect, test } from 'vitest';
import { resolveCredentials, type CredentialConfig } from '../../src/auth/resolve-credentials.js';
import type { DiscoveryConfig } from '../../src/config.js';
import { ConfigurationError } from '../../src/errors.js';
import type { HttpClient } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';

const discovery: DiscoveryConfig = {
  repositories: ['**'],
  excludeRepositories: [],
  tags: ['*'],
  excludeTags: [],
  maxImagesPerRepository: 5,
  maxImages: 500,
  discoverFiles: [],
};
const noHttp: HttpClient = () => Promise.reject(new Error('no HTTP expected in this test'));

function config(c: Partial<CredentialConfig> = {}): CredentialConfig {
  return { registryAuth: [], discovery, ...c };
}
function deps(env: NodeJS.ProcessEnv = {}) {
  return { logger: new MemoryLogger(), http: noHttp, env };
}
async function refusal(p: Promise<unknown>): Promise<ConfigurationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return e as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('registry-username / registry-password / registry-token', () => {
  test('belong to the `registry` host when it is given', async () => {
    const creds = await resolveCredentials(
      config({
        registryUsername: 'u',
        registryPassword: 'pw-1',
        discovery: { ...discovery, registry: 'registry.example.com/team' },
      }),
      ['ghcr.io', 'docker.io'],
      deps(),
    );
    expect(creds).toEqual([
      { registry: 'registry.example.com', username: 'u', password: 'pw-1', via: 'registry-username' },
    ]);
  });

  test('without `registry`, belong to the one host all images share', async () => {
    const creds = await resolveCredentials(
      config({ registryToken: 'tok-1' }),
      ['index.docker.io', 'docker.io'],
      deps(),
    );
    expect(creds).toEqual([{ registry: 'docker.io', token: 'tok-1', via: 'registry-token' }]);
  });

  test('images on several hosts: refused, pointing at registry-auth', async () => {
    const e = await refusal(
      resolveCredentials(
        config({ registryUsername: 'u', registryPassword: 'pw-1' }),
        ['a.io', 'b.io'],
        deps(),
      ),
    );
    expect(e.message).toMatch(/images are on 2 hosts \(a\.io, b\.io\)/);
    expect(e.message).toContain('registry-auth');
    expect(e.message).not.toContain('pw-1');
  });

  test.each<[string, Partial<CredentialConfig>, RegExp]>([
    [
      'password without username',
      { registryPassword: 'pw-1' },
      /registry-password.*registry-username.*give both/,
    ],
    [
      'username without password',
      { registryUsername: 'u' },
      /registry-username.*registry-password.*give both/,
    ],
    [
      'token and username',
      { registryUsername: 'u', registryPassword: 'pw-1', registryToken: 't' },
      /give one of them/,
    ],
  ])('%s is refused', async (_name, c, message) => {
    const e = await refusal(resolveCredentials(config(c), ['a.io'], deps()));
    expect(e.message).toMatch(message);
  });

  test('no image and no registry: ignored with a warning', async () => {
    const d = deps();
    expect(await resolveCredentials(config({ registryToken: 'tok-1' }), [], d)).toEqual([]);
    expect(d.logger.messages('warning')).toEqual([expect.stringContaining('registry-token')]);
  });

  test('the same host in registry-auth too: refused', async () => {
    const e = await refusal(
      resolveCredentials(
        config({ registryToken: 't', registryAuth: [{ registry: 'a.io', token: 'u' }] }),
        ['a.io'],
        deps(),
      ),
    );
    expect(e.message).toMatch(/a\.io are given twice \(registry-token and registry-auth\[1\]\)/);
  });
});

describe('registry-auth entries', () => {
  test('plain entries keep their host; gar and ghcr providers', async () => {
    const d = deps({ GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.gar-token', GITHUB_ACTOR: 'octocat' });
    const creds = await resolveCredentials(
      config({
        githubToken: 'ghs_token',
        registryAuth: [
          { registry: 'a.io', username: 'u', password: 'pw-a' },
          { registry: 'b.io:5000', token: 'tok-b' },
          { registry: 'europe-docker.pkg.dev', provider: 'gar' },
          { registry: 'ghcr.io', provider: 'ghcr' },
        ],
      }),
      ['a.io'],
      d,
    );
    expect(creds).toEqual([
      { registry: 'a.io', username: 'u', password: 'pw-a', via: 'registry-auth[1]' },
      { registry: 'b.io:5000', token: 'tok-b', via: 'registry-auth[2]' },
      {
        registry: 'europe-docker.pkg.dev',
        username: 'oauth2accesstoken',
        password: 'ya29.gar-token',
        via: 'registry-auth[3] provider gar',
      },
      {
        registry: 'ghcr.io',
        username: 'octocat',
        password: 'ghs_token',
        via: 'registry-auth[4] provider ghcr',
      },
    ]);
    for (const s of ['pw-a', 'tok-b', 'ya29.gar-token', 'ghs_token']) expect(d.logger.secrets).toContain(s);
  });

  test('gar without a token: that registry is unavailable, saying how to get one (not a refusal of the run)', async () => {
    const d = deps();
    const [c] = await resolveCredentials(
      config({ registryAuth: [{ registry: 'us-docker.pkg.dev', provider: 'gar' }] }),
      [],
      d,
    );
    expect(c).toMatchObject({ registry: 'us-docker.pkg.dev', via: 'registry-auth[1] provider gar' });
    expect(c.password).toBeUndefined();
    expect(d.logger.messages('warning').join('\n')).toContain(c.unavailable);
    expect(c.unavailable).toMatch(
      /registry-auth\[1\] provider gar.*GOOGLE_OAUTH_ACCESS_TOKEN.*google-github-actions\/auth.*token_format: access_token/s,
    );
  });

  test('CLOUDSDK_AUTH_ACCESS_TOKEN works too', async () => {
    const creds = await resolveCredentials(
      config({ registryAuth: [{ registry: 'gcr.io', provider: 'gar' }] }),
      [],
      deps({ CLOUDSDK_AUTH_ACCESS_TOKEN: 'ya29.other' }),
    );
    expect(creds[0].password).toBe('ya29.other');
  });

  test('ghcr provider without github-token is refused', async () => {
    const e = await refusal(
      resolveCredentials(config({ registryAuth: [{ registry: 'ghcr.io', provider: 'ghcr' }] }), [], deps()),
    );
    expect(e.input).toBe('github-token');
  });

  test('acr without a service principal: unavailable, saying what is missing and the alternative', async () => {
    const [c] = await resolveCredentials(
      config({ registryAuth: [{ registry: 'acme.azurecr.io', provider: 'acr' }] }),
      [],
      deps({ AZURE_CLIENT_ID: 'id' }),
    );
    expect(c.unavailable).toMatch(/^registry-auth\[1\] provider acr: .*acme\.azurecr\.io/);
    expect(c.unavailable).toMatch(/AZURE_CLIENT_SECRET, AZURE_TENANT_ID are not set/);
    expect(c.unavailable).toMatch(/username and password/);
  });

  test('ecr without AWS credentials: unavailable with the provider and the fix; the other entries resolve', async () => {
    const creds = await resolveCredentials(
      config({
        registryAuth: [
          { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', provider: 'ecr' },
          { registry: 'a.io', username: 'u', password: 'pw-a' },
        ],
      }),
      [],
      {
        ...deps(),
        ecrClientFactory: () => ({
          send: () =>
            Promise.reject(
              Object.assign(new Error('Could not load credentials from any providers'), {
                name: 'CredentialsProviderError',
              }),
            ),
        }),
      },
    );
    expect(creds[0]).toEqual({
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      via: 'registry-auth[1] provider ecr',
      unavailable: expect.stringMatching(
        /^registry-auth\[1\] provider ecr: could not get an ECR token .*Could not load credentials.*configure-aws-credentials/s,
      ) as unknown,
    });
    expect(creds[1]).toMatchObject({ registry: 'a.io', password: 'pw-a' });
  });

  test('ecr needs an ECR host', async () => {
    const e = await refusal(
      resolveCredentials(config({ registryAuth: [{ registry: 'a.io', provider: 'ecr' }] }), [], deps()),
    );
    expect(e.message).toMatch(/dkr\.ecr/);
  });
});

describe('github-token for ghcr.io images', () => {
  test('added when an image is on ghcr.io and nothing else covers it (x-access-token without GITHUB_ACTOR)', async () => {
    const creds = await resolveCredentials(
      config({ githubToken: 'ghs_x' }),
      ['ghcr.io', 'docker.io'],
      deps(),
    );
    expect(creds).toEqual([
      { registry: 'ghcr.io', username: 'x-access-token', password: 'ghs_x', via: 'github-token' },
    ]);
  });

  test('not added when no image is on ghcr.io', async () => {
    expect(await resolveCredentials(config({ githubToken: 'ghs_x' }), ['docker.io'], deps())).toEqual([]);
  });

  test('explicit credentials for ghcr.io win', async () => {
    const creds = await resolveCredentials(
      config({ githubToken: 'ghs_x', registryUsername: 'me', registryPassword: 'pat' }),
      ['ghcr.io'],
      deps(),
    );
    expect(creds).toEqual([
      { registry: 'ghcr.io', username: 'me', password: 'pat', via: 'registry-username' },
    ]);
  });
});

test('every secret is masked, and no log entry shows one', async () => {
  const d = deps({ GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.secret' });
  await resolveCredentials(
    config({
      registryUsername: 'u',
      registryPassword: 'pw-secret',
      githubToken: 'ghs_secret',
      registryAuth: [
        { registry: 'x.io', token: 'tok-secret' },
        { registry: 'gcr.io', provider: 'gar' },
      ],
    }),
    ['a.io'],
    d,
  );
  for (const s of ['pw-secret', 'ghs_secret', 'tok-secret', 'ya29.secret']) {
    expect(d.logger.secrets).toContain(s);
    for (const entry of d.logger.entries) expect(entry.message).not.toContain(s);
  }
  expect(d.logger.entries.length).toBeGreaterThan(0);
});
