import { mkdtemp, open } from 'node:fs/promises';
import path from 'node:path';

// Trivy reads `trivy.yaml`, `.trivyignore` (and `trivy-secret.yaml`) from its working directory by default, and
// a pull request controls the workspace. A `severity:` there would shrink what the gate sees and a `.trivyignore`
// would hide findings before the action could report them as ignored (SECURITY.md rule 8). So every Trivy process
// runs in a private empty directory, and scans also name a private empty config and ignore file explicitly: Trivy
// loads an explicit --config that exists (an empty one sets nothing) and reads --ignorefile instead of the default.

export interface TrivyIsolation {
  /** A private directory with nothing from the workspace in it: every Trivy process's cwd. */
  cwd: string;
  /** An empty `trivy.yaml` (for --config). */
  configFile: string;
  /** An empty `.trivyignore` (for --ignorefile): ignores are the action's own, applied after the scan. */
  ignoreFile: string;
}

export async function prepareTrivyIsolation(tempDir: string): Promise<TrivyIsolation> {
  const cwd = await mkdtemp(path.join(tempDir, 'image-scan-gate-trivy-cwd-'));
  const configFile = path.join(cwd, 'trivy.yaml');
  const ignoreFile = path.join(cwd, '.trivyignore');
  for (const file of [configFile, ignoreFile]) await (await open(file, 'wx', 0o600)).close();
  return { cwd, configFile, ignoreFile };
}
