import { describe, expect, test } from 'vitest';
import { explainScanError, scanErrorHeadline } from '../../src/findings/scan-error.js';

test.each([
  [
    'run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: unable to find the specified image "r/x:1" in ["docker" "containerd" "podman" "remote"]: 4 errors occurred:\n\t* docker error: unable to inspect the image (r/x:1): Cannot connect to the Docker daemon\n\t* containerd error: failed to initialize a containerd client\n\t* podman error: unable to initialize Podman client\n\t* remote error: GET https://r/v2/x/manifests/1: UNAUTHORIZED: authentication required',
    'remote error: GET https://r/v2/x/manifests/1: UNAUTHORIZED: authentication required',
  ],
  ['run error: image scan error: context deadline exceeded', 'context deadline exceeded'],
  ['timed out after 10m', 'timed out after 10m'],
  ['\n\n', 'unknown error'],
  [undefined, 'unknown error'],
])('%#: the line that says what went wrong', (error, headline) => {
  expect(scanErrorHeadline(error)).toBe(headline);
});

const trivyUnableToFind = (remote: string) =>
  'run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan ' +
  'service: unable to find the specified image "r.example/x:1" in ["docker" "containerd" "podman" "remote"]: 4 errors ' +
  'occurred:\n\t* docker error: unable to inspect the image (r.example/x:1): Cannot connect to the Docker daemon at ' +
  'unix:///var/run/docker.sock. Is the docker daemon running?\n\t* containerd error: containerd socket not found: ' +
  '/run/containerd/containerd.sock\n\t* podman error: unable to initialize Podman client: no podman socket found\n' +
  `\t* remote error: ${remote}`;

describe('explainScanError: the registry’s cause first, then the fix, never the daemon fallbacks', () => {
  test('refused credentials', () => {
    const e = explainScanError(
      trivyUnableToFind(
        'GET https://r.example/v2/x/manifests/1: UNAUTHORIZED: authentication required; [map[]]',
      ),
      'r.example',
    );
    expect(e.registryCause).toBe('credentials');
    expect(e.cause).toBe(
      'r.example refused the pull: GET https://r.example/v2/x/manifests/1: UNAUTHORIZED: authentication required; [map[]]',
    );
    expect(e.fix).toMatch(/registry-username and registry-password .* registry-auth/);
    expect(`${e.cause} ${e.fix}`).not.toMatch(/docker|containerd|podman/i);
  });

  test('a certificate from a private CA', () => {
    const e = explainScanError(
      trivyUnableToFind(
        'Get "https://r.example/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      ),
      'r.example',
    );
    expect(e.registryCause).toBe('tls');
    expect(e.cause).toMatch(
      /^r\.example presented a TLS certificate that is not trusted: .*x509: certificate signed/,
    );
    expect(e.fix).toContain('NODE_EXTRA_CA_CERTS and SSL_CERT_FILE');
  });

  test.each([
    ['GET https://r.example/v2/x/manifests/9: MANIFEST_UNKNOWN: manifest unknown', undefined],
    ['timed out after 10m (the `timeout` input, now 10m; raise it)', undefined],
  ])('other causes are the image’s own: %s', (text, registryCause) => {
    const e = explainScanError(text.startsWith('GET') ? trivyUnableToFind(text) : text, 'r.example');
    expect(e.registryCause).toBe(registryCause);
    expect(e.fix).toBeUndefined();
    expect(e.cause).toBe(text);
  });
});
