import { expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { parseInputs } from '../../src/inputs.js';

function parse(inputs: Record<string, string>) {
  return parseInputs(
    (n) => inputs[n] ?? '',
    { GITHUB_WORKSPACE: '/ws', RUNNER_TEMP: '/tmp/rt' },
    {
      parseRegistryAuth: () => [],
      maskSecret: () => undefined,
    },
  );
}

test('vex: documents and globs for the action, repo and oci for Trivy, in the order written', () => {
  const config = parse({ images: 'alpine', vex: '.vex/*.json\noci, docs/app.cdx.json\nrepo\noci' });
  expect(config.vexFiles).toEqual(['.vex/*.json', 'docs/app.cdx.json']);
  expect(config.trivy.vexSources).toEqual(['oci', 'repo']);
});

test('vex not given: nothing to read, nothing for Trivy', () => {
  const config = parse({ images: 'alpine' });
  expect(config.vexFiles).toEqual([]);
  expect(config.trivy.vexSources).toEqual([]);
});

test.each([
  ['/etc/vex.json', /`vex`: "\/etc\/vex.json" leaves the workspace/],
  ['../other/vex.json', /`vex`: "..\/other\/vex.json" leaves the workspace/],
  ['.vex/../../x/*.json', /leaves the workspace/],
  ['sbom-ref', /`vex`: `sbom-ref` applies to SBOM scans/],
])('vex: %s is refused before any work, naming the input', (value, message) => {
  let thrown: unknown;
  try {
    parse({ images: 'alpine', vex: value });
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  expect((thrown as ConfigurationError).input).toBe('vex');
  expect((thrown as Error).message).toMatch(message);
});

test('sbom: none by default; cyclonedx and spdx; anything else refused naming the input', () => {
  expect(parse({ images: 'alpine' }).sbom).toBe('none');
  expect(parse({ images: 'alpine', sbom: 'cyclonedx' }).sbom).toBe('cyclonedx');
  expect(parse({ images: 'alpine', sbom: 'spdx' }).sbom).toBe('spdx');
  expect(() => parse({ images: 'alpine', sbom: 'spdx-json' })).toThrow(/sbom/);
  try {
    parse({ images: 'alpine', sbom: 'cdx' });
  } catch (e) {
    expect((e as ConfigurationError).input).toBe('sbom');
  }
});
