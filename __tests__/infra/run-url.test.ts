import { describe, expect, test } from 'vitest';
import { workflowRunUrl } from '../../src/infra/run-url.js';

describe('workflowRunUrl', () => {
  test.each([
    ['no run id: no link', { runId: undefined }, undefined],
    ['an empty run id: no link', { runId: '' }, undefined],
    ['no attempt: the run', { runId: 42 }, 'https://ghes.example/acme/shop/actions/runs/42'],
    // A bare run URL shows the latest attempt, so a link written by attempt 1 would show attempt 2 after a re-run.
    [
      'the first attempt is named',
      { runId: '42', runAttempt: '1' },
      'https://ghes.example/acme/shop/actions/runs/42/attempts/1',
    ],
    [
      'a re-run names its attempt',
      { runId: 42, runAttempt: 3 },
      'https://ghes.example/acme/shop/actions/runs/42/attempts/3',
    ],
  ])('%s', (_, run, expected) => {
    expect(workflowRunUrl({ serverUrl: 'https://ghes.example/', repository: 'acme/shop', ...run })).toBe(
      expected,
    );
  });
});
