import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { readTarEntries } from '../../src/infra/tar-reader.js';

// The bounded tar reader behind archive inspection: long names as Go's archive/tar and GNU tar write them, gzip,
// and refusals for what a crafted archive could use to cost memory.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-tar-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function header(name: string, size: number, type: string, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0);
  h.write('0000644\0', 100);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function entry(name: string, data: Buffer | string, type = '0', linkname = ''): Buffer {
  const body = Buffer.from(data);
  return Buffer.concat([
    header(name, body.length, type, linkname),
    body,
    Buffer.alloc((512 - (body.length % 512)) % 512),
  ]);
}

function file(name: string, ...parts: Buffer[]): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, Buffer.concat([...parts, Buffer.alloc(1024)]));
  return f;
}

const keepAll = { keep: () => true, maxEntryBytes: 1024, maxEntries: 100 };

describe('readTarEntries', () => {
  test('GNU long names, pax paths, ./ prefixes, directories and links', async () => {
    const long = `blobs/sha256/${'a'.repeat(120)}`;
    const pax = `deep/${'b'.repeat(150)}.json`;
    const f = file(
      'names.tar',
      entry('./manifest.json', '[]'),
      entry('././@LongLink', `${long}\0`, 'L'),
      entry(long.slice(0, 100), 'gnu'),
      entry('PaxHeaders/x', `${String(`${pax}`.length + 10)} path=${pax}\n`, 'x'),
      entry('short.json', 'pax'),
      entry('dir/', '', '5'),
      entry('link', '', '2', 'manifest.json'),
    );
    const entries = await readTarEntries(f, keepAll);
    expect(entries.map((e) => [e.name, e.type, e.data?.toString()])).toEqual([
      ['manifest.json', 'file', '[]'],
      [long, 'file', 'gnu'],
      [pax, 'file', 'pax'],
      ['dir', 'directory', undefined],
      ['link', 'symlink', undefined],
    ]);
  });

  test('gzip is detected by its magic bytes, not the file name', async () => {
    const f = path.join(dir, 'packed.bin');
    fs.writeFileSync(f, gzipSync(Buffer.concat([entry('index.json', '{}'), Buffer.alloc(1024)])));
    expect((await readTarEntries(f, keepAll)).map((e) => e.data?.toString())).toEqual(['{}']);
  });

  test('only entries the caller keeps are held; a kept entry over the bound is refused, naming it', async () => {
    const f = file(
      'big.tar',
      entry('layer.tar', Buffer.alloc(5000)),
      entry('manifest.json', Buffer.alloc(2000)),
    );
    const kept = await readTarEntries(f, {
      ...keepAll,
      maxEntryBytes: 10_000,
      keep: (n) => n === 'manifest.json',
    });
    expect(kept.map((e) => [e.name, e.size, e.data?.length])).toEqual([
      ['layer.tar', 5000, undefined],
      ['manifest.json', 2000, 2000],
    ]);
    await expect(readTarEntries(f, { ...keepAll, keep: (n) => n === 'manifest.json' })).rejects.toThrow(
      /its manifest.json is 2000 bytes, more than the 1024/,
    );
  });

  test('entry count, checksum and truncation are checked', async () => {
    const many = file('many.tar', ...Array.from({ length: 5 }, (_, i) => entry(`f${i}`, 'x')));
    await expect(readTarEntries(many, { ...keepAll, maxEntries: 4 })).rejects.toThrow('more than 4 entries');
    const broken = entry('a', 'x');
    broken[0] ^= 1;
    await expect(readTarEntries(file('broken.tar', broken), keepAll)).rejects.toThrow(
      'it is not a tar archive',
    );
    const cut = path.join(dir, 'cut.tar');
    fs.writeFileSync(cut, entry('a', Buffer.alloc(2000)).subarray(0, 1000));
    await expect(readTarEntries(cut, { ...keepAll, keep: () => false })).rejects.toThrow('truncated');
  });

  test('a symlink is not followed', async () => {
    const f = file('real.tar', entry('a', 'x'));
    fs.symlinkSync(f, path.join(dir, 'via-link.tar'));
    await expect(readTarEntries(path.join(dir, 'via-link.tar'), keepAll)).rejects.toMatchObject({
      code: 'ELOOP',
    });
  });
});
