import { constants, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

// Reads the entry list of a tar archive (plain or gzip), keeping the content of the few small entries the caller
// asks for. Archives come from the workflow's build but are read as untrusted: headers are checksummed, kept
// content is capped in total, and the entry count is bounded, so a crafted archive costs time, never memory.

export interface TarEntry {
  /** Normalised: no leading `./`. */
  name: string;
  size: number;
  /** `file`, `directory`, `symlink`, `hardlink` or `other`. */
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Set when `keep` asked for it. */
  data?: Buffer;
}

export interface TarReadOptions {
  /** Whether to keep this regular file's content. */
  keep(name: string, size: number): boolean;
  /** A kept entry larger than this: an error naming the entry. */
  maxEntryBytes: number;
  maxEntries: number;
}

class TarFormatError extends Error {}

const BLOCK = 512;

/** Opens `file` without following a final symlink and reads it once, start to end. */
export async function readTarEntries(file: string, opts: TarReadOptions): Promise<TarEntry[]> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let gzip = false;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (e) {
    await handle.close();
    throw e;
  }
  const raw = createReadStream('', { fd: handle, autoClose: true, start: 0 });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (e) => stream.destroy(e));
  try {
    return await parseTar(stream, opts);
  } finally {
    raw.destroy();
    stream.destroy();
  }
}

async function parseTar(stream: AsyncIterable<Buffer>, opts: TarReadOptions): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let body:
    { entry: TarEntry; remaining: number; padding: number; chunks?: Buffer[]; meta?: 'L' | 'x' } | undefined;
  let nextName: string | undefined;
  let ended = false;
  let metaChunks: Buffer[] = [];

  for await (const chunk of stream) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (ended) break;
      if (body) {
        if (body.remaining > 0) {
          if (pending.length === 0) break;
          const n = Math.min(body.remaining, pending.length);
          const part = pending.subarray(0, n);
          if (body.meta) metaChunks.push(Buffer.from(part));
          else body.chunks?.push(Buffer.from(part));
          body.remaining -= n;
          pending = pending.subarray(n);
          continue;
        }
        if (pending.length < body.padding) {
          body.padding -= pending.length;
          pending = Buffer.alloc(0);
          break;
        }
        pending = pending.subarray(body.padding);
        if (body.meta) {
          const text = Buffer.concat(metaChunks).toString('utf8');
          nextName = body.meta === 'L' ? text.replace(/\0+$/, '') : (paxPath(text) ?? nextName);
          metaChunks = [];
        } else {
          if (body.chunks) body.entry.data = Buffer.concat(body.chunks);
          entries.push(body.entry);
        }
        body = undefined;
        continue;
      }
      if (pending.length < BLOCK) break;
      const header = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const parsed = parseHeader(header);
      const padding = (BLOCK - (parsed.size % BLOCK)) % BLOCK;
      if (parsed.flag === 'L' || parsed.flag === 'x') {
        if (parsed.size > 64 * 1024) throw new TarFormatError('a tar header extension is larger than 64 KiB');
        body = {
          entry: { name: '', size: 0, type: 'other' },
          remaining: parsed.size,
          padding,
          meta: parsed.flag,
        };
        continue;
      }
      if (parsed.flag === 'g') {
        body = { entry: { name: '', size: 0, type: 'other' }, remaining: parsed.size, padding, meta: 'x' };
        continue;
      }
      const name = normalise(nextName ?? parsed.name);
      nextName = undefined;
      if (entries.length >= opts.maxEntries) {
        throw new TarFormatError(`it has more than ${opts.maxEntries} entries`);
      }
      const entry: TarEntry = { name, size: parsed.size, type: entryType(parsed.flag) };
      let chunks: Buffer[] | undefined;
      if (entry.type === 'file' && opts.keep(name, parsed.size)) {
        if (parsed.size > opts.maxEntryBytes) {
          throw new TarFormatError(
            `its ${name} is ${parsed.size} bytes, more than the ${opts.maxEntryBytes} an image's metadata needs`,
          );
        }
        chunks = [];
      }
      body = { entry, remaining: parsed.size, padding, chunks };
    }
    if (ended) break;
  }
  if (body) throw new TarFormatError('it ends in the middle of an entry (truncated?)');
  return entries;
}

function parseHeader(header: Buffer): { name: string; size: number; flag: string } {
  const stored = Number.parseInt(cString(header, 148, 8).trim() || 'x', 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  if (!Number.isFinite(stored) || stored !== sum) throw new TarFormatError('it is not a tar archive');
  const name = cString(header, 0, 100);
  const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? cString(header, 345, 155) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: parseSize(header),
    flag: header[156] === 0 ? '0' : String.fromCharCode(header[156]),
  };
}

function parseSize(header: Buffer): number {
  if (header[124] & 0x80) {
    // GNU base-256 for entries of 8 GiB and more
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + header[i];
    return n;
  }
  const size = Number.parseInt(cString(header, 124, 12).trim() || '0', 8);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new TarFormatError('it has an entry with an unreadable size');
  return size;
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function paxPath(text: string): string | undefined {
  for (const record of text.split('\n')) {
    const m = /^\d+ path=(.*)$/s.exec(record);
    if (m) return m[1];
  }
  return undefined;
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function entryType(flag: string): TarEntry['type'] {
  if (flag === '0' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}
