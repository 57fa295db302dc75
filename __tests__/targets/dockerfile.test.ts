import { describe, expect, test } from 'vitest';
import { isDockerfileName, parseDockerfile } from '../../src/targets/file-formats/dockerfile.js';

const F = 'app/Dockerfile';
const images = (text: string) => parseDockerfile(text, F).found.map((f) => f.image);

describe('isDockerfileName', () => {
  test.each([
    ['Dockerfile', true],
    ['dockerfile', true],
    ['Containerfile', true],
    ['api.Dockerfile', true],
    ['Dockerfile.prod', true],
    ['Dockerfile.dockerignore', false],
    ['api.dockerfile.dockerignore', false],
    ['Dockerfiles.md', false],
    ['docker-compose.yml', false],
    ['MyDockerfileNotes.txt', false],
  ])('%s → %s', (name, expected) => {
    expect(isDockerfileName(name)).toBe(expected);
  });
});

describe('FROM lines', () => {
  test.each<[string, string, string[]]>([
    ['simple', 'FROM alpine:3.19\nRUN echo hi', ['alpine:3.19']],
    ['lower-case instruction', 'from alpine:3.19', ['alpine:3.19']],
    [
      'AS name',
      'FROM golang:1.22 AS build\nFROM gcr.io/distroless/static',
      ['golang:1.22', 'gcr.io/distroless/static'],
    ],
    [
      'stage reference is not an image',
      'FROM golang:1.22 AS build\nFROM build AS test\nFROM BUILD',
      ['golang:1.22'],
    ],
    ['stage names are case-insensitive', 'FROM node:20 as Deps\nFROM deps', ['node:20']],
    ['only EARLIER stages count', 'FROM alpine AS alpine\nFROM alpine', ['alpine']],
    ['a later stage of the same name is not yet known', 'FROM base\nFROM alpine AS base', ['base', 'alpine']],
    ['scratch is not an image', 'FROM scratch\nFROM Scratch', []],
    ['global ARG default', 'ARG V=3.19\nFROM alpine:${V}', ['alpine:3.19']],
    ['$VAR form', 'ARG V=3.19\nFROM alpine:$V', ['alpine:3.19']],
    ['quoted ARG default', 'ARG V="3.19"\nARG R=\'ghcr.io/acme\'\nFROM $R/api:$V', ['ghcr.io/acme/api:3.19']],
    ['several ARGs on one line', 'ARG A=alpine B=3\nFROM ${A}:${B}', ['alpine:3']],
    ['ARG defaults may use earlier ARGs', 'ARG V=3\nARG IMG=alpine:${V}\nFROM ${IMG}', ['alpine:3']],
    ['${VAR:-default} when unset', 'ARG V\nFROM alpine:${V:-3.18}', ['alpine:3.18']],
    ['${VAR:-default} when set', 'ARG V=3.20\nFROM alpine:${V:-3.18}', ['alpine:3.20']],
    ['a global ARG serves every FROM', 'ARG V=1\nFROM a:${V}\nFROM b:${V}', ['a:1', 'b:1']],
    ['stage named by a variable', 'ARG BASE=builder\nFROM golang AS builder\nFROM ${BASE}', ['golang']],
    ['digest pin', `FROM alpine:3.19@sha256:${'c'.repeat(64)}`, [`alpine:3.19@sha256:${'c'.repeat(64)}`]],
    [
      'comments and blank lines',
      '# syntax=docker/dockerfile:1\n\n# FROM commented:1\nFROM alpine # not a comment token\n',
      ['alpine'],
    ],
    ['line continuation', 'FROM \\\n  alpine:3.19 \\\n  AS base', ['alpine:3.19']],
    ['comment inside a continuation', 'FROM \\\n# comment\n  alpine:3.19', ['alpine:3.19']],
    ['escape directive', '# escape=`\nFROM `\n  alpine:3', ['alpine:3']],
    ['CRLF line endings', 'ARG V=3\r\nFROM alpine:${V}\r\n', ['alpine:3']],
    ['RUN text mentioning FROM is not an instruction', 'FROM alpine\nRUN echo FROM evil:1', ['alpine']],
    ['COPY --from is not a base image', 'FROM alpine\nCOPY --from=nginx:1 /a /b', ['alpine']],
  ])('%s', (_name, text, expected) => {
    expect(images(text)).toEqual(expected);
  });
});

describe('positions', () => {
  test('line and column of the image', () => {
    const f = parseDockerfile('ARG V=1\n\nFROM --platform=linux/amd64   alpine:${V} AS x\n', F);
    expect(f.found).toEqual([
      { image: 'alpine:1', origin: { file: F, line: 3, column: 31 }, platform: 'linux/amd64' },
    ]);
  });

  test('an image on a continued line points at that line', () => {
    const f = parseDockerfile('FROM \\\n    alpine:3', F);
    expect(f.found[0].origin).toEqual({ file: F, line: 2, column: 5 });
  });
});

describe('--platform', () => {
  test.each<[string, string | undefined]>([
    ['FROM --platform=linux/arm64 alpine', 'linux/arm64'],
    ['FROM --platform=linux/arm/v7 alpine', 'linux/arm/v7'],
    // The platform ARGs resolve for the `platform` input, linux/amd64 when it is not set.
    ['FROM --platform=$BUILDPLATFORM golang', 'linux/amd64'],
    ['FROM --platform=${TARGETPLATFORM} golang', 'linux/amd64'],
    ['FROM --platform=linux/${TARGETARCH} golang', 'linux/amd64'],
    ['ARG P=linux/s390x\nFROM --platform=${P} alpine', 'linux/s390x'],
    ['ARG P\nFROM --platform=${P} alpine', undefined],
  ])('%s', (text, platform) => {
    const [found] = parseDockerfile(text, F).found;
    expect(found.platform).toBe(platform);
  });
});

describe('unresolvable references are reported, never guessed', () => {
  test.each<[string, string, RegExp]>([
    ['ARG V\nFROM alpine:${V}', 'alpine:${V}', /ARG V has no default/],
    ['FROM alpine:${NEVER}', 'alpine:${NEVER}', /\$NEVER is not declared/],
    [
      'ARG V=${NEVER}\nFROM alpine:${V}',
      'alpine:${V}',
      /default of ARG V cannot be resolved: \$NEVER is not declared/,
    ],
    ['ARG V=${NEVER}\nARG V\nFROM alpine:${V}', 'alpine:${V}', /default of ARG V cannot be resolved/],
    [
      'ARG V\nFROM alpine:${V:?use--build-arg}',
      'alpine:${V:?use--build-arg}',
      /\$V is required \(use--build-arg\)/,
    ],
    ['FROM a\nARG V=1\nFROM b:${V}', 'b:${V}', /declared inside a stage/],
  ])('%s', (text, written, reason) => {
    const f = parseDockerfile(text, F);
    expect(f.unresolved).toHaveLength(1);
    expect(f.unresolved[0].text).toBe(written);
    expect(f.unresolved[0].reason).toMatch(reason);
    expect(f.unresolved[0].origin.line).toBe(text.split('\n').length);
  });

  test('an unresolved stage still counts as a stage name', () => {
    const f = parseDockerfile('ARG V\nFROM alpine:${V} AS base\nFROM base', F);
    expect(f.found).toEqual([]);
    expect(f.unresolved).toHaveLength(1);
  });
});
