import { constants } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';

// Repository files are untrusted (paths stay inside the workspace, content is never echoed): a pull request controls
// their content, their names and whether they are symlinks. Every repository file the action reads (policy, ignore
// files, files matched by `discover-files`) goes through here: the path and every symlink in it must resolve inside
// the workspace, the file must be a regular file, and at most MAX_REPOSITORY_FILE_BYTES are read. A refusal names
// the input and the path, never the content.

/** Policy files, ignore files and manifests are hand-written and small; more is a mistake or an attack. */
export const MAX_REPOSITORY_FILE_BYTES = 5 * 1024 * 1024;

/** A repository file that passed the checks: `real` is inside the workspace and was a regular file. */
export interface RepositoryFile {
  /** The path as the input or the lookup named it, for messages. */
  shown: string;
  /** Every symlink resolved. */
  real: string;
  size: number;
}

/** True when `file` is `dir` or below it (both absolute and normalised). */
export function isInsideDir(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative));
}

/** A path for a message: quoted, control characters escaped, so a hostile name cannot forge a log line. */
export function quotePath(file: string): string {
  return JSON.stringify(file);
}

/**
 * Checks a repository path (relative to the workspace, or absolute inside it) without reading it. Undefined when
 * nothing is there; a ConfigurationError naming `input` when the path or a symlink in it leads outside the
 * workspace, when it is a dangling symlink, or when it is not a regular file.
 */
export async function locateRepositoryFile(
  workspace: string,
  file: string,
  input: string,
): Promise<RepositoryFile | undefined> {
  const root = path.resolve(workspace);
  const lexical = path.resolve(root, file);
  const refuse = (why: string) => refusal(input, file, why);
  if (!isInsideDir(root, lexical)) {
    throw refuse('is outside the workspace; give a path relative to the repository root');
  }
  try {
    await lstat(lexical);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw refuse(`cannot be read (${errorCode(e)})`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (e) {
    throw refuse(
      isMissing(e) || errorCode(e) === 'ELOOP'
        ? 'is a symlink whose target does not exist; only files inside the repository are read'
        : `cannot be read (${errorCode(e)})`,
    );
  }
  if (!isInsideDir(await realpath(root), real)) {
    throw refuse(
      `resolves outside the workspace (to ${quotePath(real)}) through a symlink; ` +
        'only files inside the repository are read',
    );
  }
  const found = await stat(real);
  if (found.isDirectory()) throw refuse('is a directory, not a file');
  if (!found.isFile()) throw refuse('is not a regular file (a FIFO, socket or device)');
  return { shown: file, real, size: found.size };
}

/** Reads a located repository file; a ConfigurationError naming `input` when it is larger than `maxBytes`. */
export async function readRepositoryFile(
  file: RepositoryFile,
  input: string,
  maxBytes = MAX_REPOSITORY_FILE_BYTES,
): Promise<string> {
  return readRegularFile(file.real, { input, shown: file.shown, maxBytes, followSymlink: false });
}

/**
 * Opens without following a final symlink (when asked) and without blocking on a FIFO, checks on the open file
 * that it is a regular file, then reads at most `maxBytes`: a size reported as 0 (procfs) or a file that grows
 * while it is read cannot get past the bound.
 */
export async function readRegularFile(
  file: string,
  opts: { input: string; shown: string; maxBytes?: number; followSymlink: boolean },
): Promise<string> {
  const refuse = (why: string) => refusal(opts.input, opts.shown, why);
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.followSymlink ? 0 : constants.O_NOFOLLOW);
  let handle;
  try {
    handle = await open(file, flags);
  } catch (e) {
    const code = errorCode(e);
    throw refuse(
      code === 'ELOOP'
        ? 'is a symlink; it is not followed'
        : isMissing(e)
          ? 'does not exist'
          : `cannot be read (${code})`,
    );
  }
  try {
    const found = await handle.stat();
    if (found.isDirectory()) throw refuse('is a directory, not a file');
    if (!found.isFile()) throw refuse('is not a regular file (a FIFO, socket or device)');
    const max = opts.maxBytes;
    if (max === undefined) return await handle.readFile('utf8');
    const tooLarge = () =>
      refuse(`is larger than ${formatBytes(max)}; that is not a file anyone writes by hand`);
    if (found.size > max) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(max + 1, 1024 * 1024));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) throw tooLarge();
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

function refusal(input: string, file: string, why: string): ConfigurationError {
  return new ConfigurationError(`\`${input}\`: ${quotePath(file)} ${why}.`, input);
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

function isMissing(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A path given for a local image (archive or layout): `real` is inside one of the roots, all symlinks resolved. */
export interface ConfinedPath {
  real: string;
  isDirectory: boolean;
  size: number;
}

/**
 * Checks a path the workflow names for an image archive or layout (`images`): it, and every symlink on the way,
 * must resolve inside one of `roots` (the workspace, RUNNER_TEMP), and it must be a regular file or a directory.
 * Refusals are ConfigurationErrors naming `input` and the path as written, never its content.
 */
export async function locateConfinedPath(
  file: string,
  opts: { roots: readonly string[]; input: string; shown: string },
): Promise<ConfinedPath> {
  const refuse = (why: string) => refusal(opts.input, opts.shown, why);
  const lexical = path.resolve(opts.roots[0], file);
  const where = 'the workspace and RUNNER_TEMP';
  if (!opts.roots.some((root) => isInsideDir(path.resolve(root), lexical)))
    throw refuse(`is outside ${where}`);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (e) {
    throw refuse(
      isMissing(e)
        ? 'does not exist (or is a symlink whose target does not)'
        : errorCode(e) === 'ELOOP'
          ? 'is a symlink loop'
          : `cannot be read (${errorCode(e)})`,
    );
  }
  const realRoots = await Promise.all(
    opts.roots.map((root) => realpath(root).catch(() => path.resolve(root))),
  );
  if (!realRoots.some((root) => isInsideDir(root, real))) {
    throw refuse(`resolves outside ${where} (to ${quotePath(real)}) through a symlink; it is not read`);
  }
  const found = await stat(real);
  if (!found.isFile() && !found.isDirectory()) throw refuse('is not a regular file or a directory');
  return { real, isDirectory: found.isDirectory(), size: found.size };
}
