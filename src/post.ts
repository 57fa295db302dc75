import fs from 'node:fs/promises';
import * as core from '@actions/core';
import { errorMessage } from './errors.js';

/** State keys saved by the main step for the post step. */
export const STATE = {
  dockerConfigDir: 'dockerConfigDir',
  scratchDir: 'scratchDir',
} as const;

/**
 * The post step: delete what main left that could hold credentials (the private DOCKER_CONFIG) and its scratch
 * files. Runs even when main failed or was cancelled; never fails the job itself.
 */
export async function runPost(): Promise<void> {
  for (const key of [STATE.dockerConfigDir, STATE.scratchDir]) {
    const dir = core.getState(key);
    if (!dir) continue;
    try {
      await fs.rm(dir, { recursive: true, force: true });
      core.info(
        `Removed ${key === STATE.dockerConfigDir ? 'temporary registry credentials' : 'scratch files'} (${dir}).`,
      );
    } catch (e) {
      core.warning(`Could not remove ${dir}: ${errorMessage(e)}`);
    }
  }
}
