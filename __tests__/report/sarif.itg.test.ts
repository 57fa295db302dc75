import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SEVERITIES } from '../../src/model.js';
import { buildSarifFiles, type SarifLog, type SarifOptions } from '../../src/report/sarif.js';
import { validateSarifFiles, type SarifValidation } from '../../test-support/sarif-multitool.js';
import { gitHubLimitViolations } from './fixtures/sarif/github-limits.js';
import { goldenImage, goldenReportNames } from './fixtures/sarif/golden-images.js';
import { syntheticEstate } from './fixtures/sarif/synthetic-images.js';

// Every SARIF file the action writes must pass the SARIF Multitool with GitHub's ingestion rules ("Gh;Sarif") with
// zero errors, and stay within GitHub's limits. The tool takes seconds to start and long on big files, so all files
// (the negative control included) are validated in one run of it.

const options = {
  category: 'image-scan',
  severities: [...SEVERITIES],
  toolVersion: '0.1.0',
  trivyVersion: '0.74.0',
};

interface Case {
  label: string;
  log: SarifLog;
  file: string;
}

const goldens = goldenReportNames();
let dir: string;
const cases: Case[] = [];
let validations: SarifValidation[] = [];
let estate: { files: SarifLog[]; warnings: string[] };
let scaledWarnings: string[] = [];
let brokenValidation: SarifValidation | undefined;

/** The synthetic estate, every count divided by `scale`; a failed image and two tags of svc-1 included. */
function syntheticBuild(scale: number, limits: Partial<SarifOptions> = {}) {
  const images = syntheticEstate({
    images: 30,
    findings: 60_000 / scale,
    heaviest: 27_000 / scale,
    descriptionWords: [3, 8],
    distinctIds: 3_000 / scale,
  });
  images.push({
    ...images[5],
    target: { ...images[5].target, repository: 'acme/broken', ref: 'ghcr.io/acme/broken:1' },
    status: 'failed',
    error: 'unable to pull',
    findings: [],
  });
  return buildSarifFiles(images, { ...options, ...limits, reportFailedScans: true });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-sarif-itg-'));
  const add = (label: string, logs: SarifLog[]) => {
    logs.forEach((log, index) => {
      const file = path.join(dir, `${cases.length}-${label.replace(/[^a-z0-9]+/gi, '-')}-${index}.sarif`);
      fs.writeFileSync(file, JSON.stringify(log));
      cases.push({ label: `${label} #${index + 1}`, log, file });
    });
  };

  for (const name of goldens) {
    const { image } = goldenImage(name);
    // Ignore the first finding, so every golden's SARIF also carries a suppression; and show it in the repository.
    const first = image.findings[0];
    image.target.origins = [{ file: 'deploy/Dockerfile', line: 3 }];
    const { files } = buildSarifFiles([image], {
      ...options,
      includeSuppressed: true,
      suppressed: first
        ? [{ image: image.target.ref, findingId: first.id, pkg: first.pkg, reason: 'accepted risk' }]
        : [],
    });
    add(name, files);
  }

  // The estate at GitHub's scale: 30 images, 60,000 findings; the first image alone has 27,000 (over the 25,000 per
  // run), one image failed, two tags of one repository. Its files are checked against GitHub's limits and its shape
  // is asserted below; they are ~65 MB, which the Multitool takes minutes to read (about 20 MB a minute).
  estate = syntheticBuild(1);
  // The same estate at a tenth of the size, with the limits tightened to a tenth (the options exist for this), takes
  // the same code paths — the cut of the heaviest image, the split into several files, the failed image's run, the
  // two tags in one run — and goes to the Multitool: what it checks is each result's structure, not their number.
  const scaled = syntheticBuild(10, { maxResultsPerRun: 2_500, maxGzipBytes: 1_000_000 });
  scaledWarnings = scaled.warnings;
  add('synthetic 30x6000', scaled.files);

  // The negative control (a file GitHub would refuse) goes into the same run of the tool: one .NET start-up in all.
  const [bad] = buildSarifFiles(syntheticEstate({ images: 1, findings: 20 }), options).files as unknown as [
    { runs: { results: { locations?: unknown; message: unknown }[] }[] },
  ];
  const run = bad.runs[0];
  delete run.results[0].locations;
  run.results[0].message = {};
  const badFile = path.join(dir, 'broken.sarif');
  fs.writeFileSync(badFile, JSON.stringify(bad));

  const all = await validateSarifFiles([...cases.map((c) => c.file), badFile]);
  validations = all.slice(0, cases.length);
  brokenValidation = all[cases.length];
}, 600_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('SARIF Multitool validate --rule-kind "Gh;Sarif"', () => {
  test('validated every file', () => {
    expect(validations).toHaveLength(cases.length);
    // Goldens are read when ../shared is present; the synthetic estate always splits into at least 2 files.
    expect(cases.filter((c) => c.label.startsWith('synthetic')).length).toBeGreaterThanOrEqual(2);
  });

  test('zero errors, and within GitHub limits, for every file', () => {
    const report = cases.map((c, i) => ({
      file: c.label,
      errors: validations[i].errors,
      limits: gitHubLimitViolations(c.log),
    }));
    expect(report.filter((r) => r.errors.length > 0 || r.limits.length > 0)).toEqual([]);
    // The estate at GitHub's scale stays within GitHub's limits too.
    expect(estate.files.map((log) => gitHubLimitViolations(log))).toEqual(estate.files.map(() => []));
  });

  test('the synthetic estate: 30 runs over 2 files, the 27,000-finding image cut to 25,000 with a warning', () => {
    expect(estate.files.length).toBeGreaterThanOrEqual(2);
    const runs = estate.files.flatMap((log) => log.runs);
    // 31 images in 30 repositories: the estate's two tags of svc-1 share one run (one category per repository).
    expect(runs).toHaveLength(30);
    expect(runs.filter((r) => r.properties.imageNames?.length === 2)).toHaveLength(1);
    expect(Math.max(...runs.map((r) => r.results.length))).toBe(25_000);
    // Same CVE in the same package twice is one alert, so slightly fewer than 27,000 candidates remain.
    const cut = estate.warnings
      .map((w) =>
        /^image ghcr\.io\/acme\/svc-0:1: kept 25,000 of (\d\d),(\d{3}) results \(the most severe\)/.exec(w),
      )
      .find(Boolean);
    expect(Number(`${cut?.[1]}${cut?.[2]}`)).toBeGreaterThan(25_000);
    const failed = runs.find((r) => r.automationDetails.id === 'image-scan/ghcr.io/acme/broken/');
    expect(failed?.invocations?.[0].executionSuccessful).toBe(false);
  });

  test('the estate the Multitool validates has the same shape: cut, split, a failed run, two tags in one run', () => {
    const validated = cases.filter((c) => c.label.startsWith('synthetic'));
    const runs = validated.flatMap((c) => c.log.runs);
    expect(runs).toHaveLength(30);
    expect(runs.filter((r) => r.properties.imageNames?.length === 2)).toHaveLength(1);
    expect(Math.max(...runs.map((r) => r.results.length))).toBe(2_500);
    expect(scaledWarnings.some((w) => /^image ghcr\.io\/acme\/svc-0:1: kept 2,500 of /.test(w))).toBe(true);
    const failed = runs.find((r) => r.automationDetails.id === 'image-scan/ghcr.io/acme/broken/');
    expect(failed?.invocations?.[0].executionSuccessful).toBe(false);
  });

  test.runIf(goldens.length > 0)('goldens: suppressions survive validation', () => {
    const withSuppression = cases.filter(
      (c) => !c.label.startsWith('synthetic') && c.log.runs[0].results.some((r) => r.suppressions),
    );
    expect(withSuppression.length).toBeGreaterThan(0);
  });

  test('the oracle is not blind: a file GitHub would refuse gets errors, and only that file', () => {
    expect(brokenValidation?.errors.some((e) => e.includes('locations'))).toBe(true);
    // Validated in the same run as the good files: its errors are mapped back to it, not spread over the others.
    expect(validations.every((v) => !v.errors.some((e) => e.includes('locations')))).toBe(true);
  });
});
