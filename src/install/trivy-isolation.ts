import { mkdtemp, open } from 'node:fs/promises';
import path from 'node:path';

// Trivy reads `trivy.yaml`, `.trivyignore` (and `trivy-secret.yaml`) from its working directory by default, and a
// pull request controls the workspace. A `severity:` there would shrink what the gate sees and a `.trivyignore`
// would hide findings before the action could report them as ignored (the verdict must reflect only the action's own
// decisions). So every Trivy process runs in a private empty directory, and scans also name a private config and
// ignore file explicitly: Trivy loads an explicit --config that exists (an empty one sets nothing) and reads
// --ignorefile instead of the default. Settings the workflow asked for (`trivy-config`, `ignore-policy`) reach Trivy
// as files the action writes here, from the text it validated (scan/trivy-settings.ts), never as a path into the
// workspace.

export interface TrivyIsolation {
  /** A private directory with nothing from the workspace in it: every Trivy process's cwd. */
  cwd: string;
  /** An empty `trivy.yaml` (for --config of DB downloads and version checks). */
  configFile: string;
  /** The scans' --config: the validated part of `trivy-config`; the empty `configFile` when absent. */
  scanConfigFile?: string;
  /** An empty `.trivyignore` (for --ignorefile): ignores are the action's own, applied after the scan. */
  ignoreFile: string;
  /** A private copy of the `ignore-policy` Rego (for --ignore-policy), when one is given. */
  ignorePolicyFile?: string;
}

/** What the scans are to read besides the empty files: the validated config text and the ignore policy's text. */
export interface IsolatedScanFiles {
  configYaml: string;
  ignorePolicy?: string;
  /** Trivy's secret rules: written as trivy-secret.yaml, where Trivy looks for them by default. */
  secretConfig?: string;
}

export async function prepareTrivyIsolation(
  tempDir: string,
  scanFiles: IsolatedScanFiles = { configYaml: '' },
): Promise<TrivyIsolation> {
  const cwd = await mkdtemp(path.join(tempDir, 'image-scan-gate-trivy-cwd-'));
  const configFile = path.join(cwd, 'trivy.yaml');
  const ignoreFile = path.join(cwd, '.trivyignore');
  for (const file of [configFile, ignoreFile]) await writePrivate(file, '');
  const isolation: TrivyIsolation = { cwd, configFile, ignoreFile };
  if (scanFiles.configYaml) {
    isolation.scanConfigFile = path.join(cwd, 'scan-config.yaml');
    await writePrivate(isolation.scanConfigFile, scanFiles.configYaml);
  }
  if (scanFiles.secretConfig !== undefined) {
    await writePrivate(path.join(cwd, 'trivy-secret.yaml'), scanFiles.secretConfig);
  }
  if (scanFiles.ignorePolicy !== undefined) {
    isolation.ignorePolicyFile = path.join(cwd, 'ignore-policy.rego');
    await writePrivate(isolation.ignorePolicyFile, scanFiles.ignorePolicy);
  }
  return isolation;
}

/** Created here (`wx`: never through a file or symlink already there), readable by this user only. */
async function writePrivate(file: string, text: string): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    if (text) await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
}
