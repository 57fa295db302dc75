import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';

/**
 * `trivy-path` must name an executable file: checked before any registry call, download or scan (bad inputs are
 * refused before any work), so a typo fails the step at once instead of after discovery. A bare name is looked up
 * on PATH, as the process start would.
 */
export async function checkTrivyPath(trivyPath: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  if (trivyPath === undefined) return;
  if (/[\\/]/.test(trivyPath)) {
    const problem = await notExecutable(trivyPath);
    if (problem) {
      throw new ConfigurationError(
        `\`trivy-path\` ${trivyPath} ${problem}. Give the path of an installed Trivy binary, or leave ` +
          '`trivy-path` empty to install the pinned, verified Trivy.',
        'trivy-path',
      );
    }
    return;
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    if (!(await notExecutable(path.join(dir, trivyPath)))) return;
  }
  throw new ConfigurationError(
    `\`trivy-path\` ${trivyPath} is not an executable on PATH. Give the full path of an installed Trivy binary, ` +
      'or leave `trivy-path` empty to install the pinned, verified Trivy.',
    'trivy-path',
  );
}

/** Why a path cannot be run, or undefined when it can. */
async function notExecutable(file: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return 'does not exist';
  }
  if (!info.isFile()) return 'is not a file';
  if (process.platform === 'win32') return undefined; // no execute bit; the process start will tell
  try {
    await access(file, constants.X_OK);
    return undefined;
  } catch {
    return 'is not executable';
  }
}
