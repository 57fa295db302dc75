import { describe, expect, test } from 'vitest';
import { childEnvironment, trivyVariablesIn } from '../../src/infra/child-env.js';

describe('childEnvironment: an allow-list, not a deny-list', () => {
  test.each([
    // what a child needs: kept
    ['PATH', true],
    ['HOME', true],
    ['TMPDIR', true],
    ['LANG', true],
    ['LC_ALL', true],
    ['LC_CTYPE', true],
    ['HTTPS_PROXY', true],
    ['https_proxy', true],
    ['NO_PROXY', true],
    ['SSL_CERT_FILE', true],
    ['NODE_EXTRA_CA_CERTS', true],
    ['DOCKER_HOST', true],
    ['XDG_RUNTIME_DIR', true],
    ['SystemRoot', true],
    ['Path', true],
    // secrets and anything that would change Trivy's report: never
    ['INPUT_REGISTRY-PASSWORD', false],
    ['INPUT_GITHUB-TOKEN', false],
    ['ACTIONS_RUNTIME_TOKEN', false],
    ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', false],
    ['ACTIONS_ID_TOKEN_REQUEST_URL', false],
    ['GITHUB_TOKEN', false],
    ['GH_TOKEN', false],
    ['AWS_SECRET_ACCESS_KEY', false],
    ['AWS_SESSION_TOKEN', false],
    ['AZURE_CLIENT_SECRET', false],
    ['GOOGLE_APPLICATION_CREDENTIALS', false],
    ['TRIVY_SEVERITY', false],
    ['TRIVY_IGNOREFILE', false],
    ['TRIVY_CONFIG', false],
    ['TRIVY_PASSWORD', false],
    ['DOCKER_CONFIG', false], // the job's own logins; the action adds its private one where Trivy needs it
    ['NODE_OPTIONS', false],
    ['LD_PRELOAD', false],
    ['SOME_NEW_SECRET', false],
  ])('%s inherited: %s', (name, kept) => {
    const env = childEnvironment({ [name]: 'value' });
    expect(name in env).toBe(kept);
  });

  test('what the caller adds is kept and wins', () => {
    expect(
      childEnvironment({ PATH: '/bin', DOCKER_CONFIG: '/home/.docker' }, { DOCKER_CONFIG: '/tmp/p' }),
    ).toEqual({ PATH: '/bin', DOCKER_CONFIG: '/tmp/p' });
  });
});

test('trivyVariablesIn names the TRIVY_* variables the job set, sorted', () => {
  expect(trivyVariablesIn({ TRIVY_SEVERITY: 'CRITICAL', PATH: '/bin', TRIVY_CONFIG: 'x' })).toEqual([
    'TRIVY_CONFIG',
    'TRIVY_SEVERITY',
  ]);
});
