import { expect, test } from 'vitest';
import { scanErrorHeadline } from '../../src/findings/scan-error.js';

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
