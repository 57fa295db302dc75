import fs from 'node:fs/promises';
import * as core from '@actions/core';
import { errorMessage } from './errors.js';

/** State keys saved by the main step for the post step. */
export const STATE = {
  dockerConfigDir: 'dockerConfigDir',
} as const;

/**
 * The post step: delete what main left that could hold credentials (the private DOCKER_CONFIG). Runs even when
 * main failed or was cancelled; never fails the job itself.
 */
export async function runPost(): Promise<void> {
  const dir = core.getState(STATE.dockerConfigDir);
  if (!dir) return;
  try {
    await fs.rm(dir, { recursive: true, force: true });
    core.info(`Removed temporary registry credentials (${dir}).`);
  } catch (e) {
    core.warning(`Could not remove ${dir}: ${errorMessage(e)}`);
  }
}
