import { describe, expect, test } from 'vitest';
import { expandBuildkitWord } from '../../src/targets/file-formats/buildkit-words.js';
import { parseDockerfile } from '../../src/targets/file-formats/dockerfile.js';

// Cases written from BuildKit's documented Dockerfile semantics (the Dockerfile reference: parser directives,
// escape, heredocs, environment replacement; the parser's handling of continuation and empty lines) — our own
// files, not BuildKit's test data. Each case: the Dockerfile, then the images with their lines.

const F = 'Dockerfile';
const found = (text: string, platform?: string) =>
  parseDockerfile(text, F, platform ? { platform } : {}).found.map(
    (f) => `${f.image}@${f.origin.line}${f.platform ? ` ${f.platform}` : ''}`,
  );

describe('heredocs: bodies are not instructions', () => {
  test.each<[string, string, string[]]>([
    ['RUN heredoc', 'FROM alpine\nRUN <<EOT\nFROM node:20\nEOT\nFROM busybox', ['alpine@1', 'busybox@5']],
    [
      'a Python body',
      'FROM python:3.12\nRUN <<EOF python3\nfrom huggingface_hub import snapshot_download\nEOF\n',
      ['python:3.12@1'],
    ],
    ['COPY heredoc', 'FROM alpine\nCOPY <<EOF /etc/x\nFROM evil\nEOF\nFROM b', ['alpine@1', 'b@5']],
    ['ADD heredoc', 'FROM alpine\nADD <<EOF /x\nFROM evil\nEOF', ['alpine@1']],
    [
      'several heredocs in one instruction, read in order',
      'FROM alpine\nCOPY <<A <<B /dst/\nFROM one\nA\nFROM two\nB\nFROM c',
      ['alpine@1', 'c@7'],
    ],
    ['quoted terminator', 'FROM a\nRUN <<"EOT"\nFROM x\nEOT\nFROM b', ['a@1', 'b@5']],
    ['single-quoted terminator', "FROM a\nRUN <<'EOT'\nFROM x\nEOT\nFROM b", ['a@1', 'b@5']],
    ['blank between << and the word', 'FROM a\nRUN cat << EOT\nFROM x\nEOT\nFROM b', ['a@1', 'b@5']],
    ['a file descriptor', 'FROM a\nRUN cat 3<<EOT\nFROM x\nEOT\nFROM b', ['a@1', 'b@5']],
    [
      '<<- strips leading tabs of the terminator',
      'FROM a\nRUN <<-EOT\n\tFROM x\n\tEOT\nFROM b',
      ['a@1', 'b@5'],
    ],
    [
      'without -, a tab-indented terminator does not close',
      'FROM a\nRUN <<EOT\n\tEOT\nFROM x\nEOT\nFROM b',
      ['a@1', 'b@6'],
    ],
    ['a terminator is the whole line', 'FROM a\nRUN <<EOT\nEOT2\nFROM x\nEOT\nFROM b', ['a@1', 'b@6']],
    ['a heredoc on a continued line', 'FROM a\nRUN \\\n  cat <<EOT\nFROM x\nEOT\nFROM b', ['a@1', 'b@6']],
    ['ONBUILD RUN heredoc', 'FROM a\nONBUILD RUN <<EOT\nFROM x\nEOT\nFROM b', ['a@1', 'b@5']],
    ['<< inside quotes is text', 'FROM a\nRUN echo "<<EOT"\nFROM b', ['a@1', 'b@3']],
    ['ENV cannot open a heredoc', 'FROM a\nENV X=<<EOT\nFROM b\nEOT', ['a@1', 'b@3']],
    ['a here-string is not a heredoc', 'FROM a\nRUN cat <<<EOT\nFROM b', ['a@1', 'b@3']],
  ])('%s', (_name, text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  test('an unterminated heredoc: what came before is kept, the rest is reported with the line', () => {
    const f = parseDockerfile('FROM a\nRUN <<EOT\nFROM x\n', F);
    expect(f.found.map((x) => x.image)).toEqual(['a']);
    expect(f.skipped).toMatchObject({ level: 'warning', line: 2 });
    expect(f.skipped?.reason).toMatch(/heredoc opened on line 2 \(<<EOT\) is never closed/);
  });
});

describe('line continuation', () => {
  test.each<[string, string, string[]]>([
    [
      'empty lines inside a continuation are skipped',
      'FROM \\\n\n   \nalpine:3\nFROM b',
      ['alpine:3@4', 'b@5'],
    ],
    ['comment lines inside a continuation are skipped', 'FROM \\\n# c\n  # d\nalpine\n', ['alpine@4']],
    ['trailing blanks after the escape', 'FROM \\  \t\nalpine', ['alpine@2']],
    ['an escaped backslash does not continue', 'FROM a\nRUN echo \\\\\nFROM b', ['a@1', 'b@3']],
    ['a backslash alone on a line continues', 'FROM a\nRUN x \\\n\\\nFROM-not\nFROM b', ['a@1', 'b@5']],
    ['escape=` : backtick continues', '# escape=`\nFROM `\nalpine', ['alpine@3']],
    ['escape=` : backslash is text', '# escape=`\nFROM a\nRUN dir c:\\\nFROM b', ['a@2', 'b@4']],
    [
      'escape=` : escaped backtick does not continue',
      '# escape=`\nFROM a\nRUN echo ``\nFROM b',
      ['a@2', 'b@4'],
    ],
    ['a directive after a comment is a comment', '# hello\n# escape=`\nFROM a\nRUN x \\\nFROM b', ['a@3']],
    ['a directive after a blank line is a comment', '\n# escape=`\nFROM a\nRUN x `\nFROM b', ['a@3', 'b@5']],
    ['directives may follow each other', '# syntax=docker/dockerfile:1\n# escape=`\nFROM `\nb', ['b@4']],
    [
      'an unknown directive ends the directives',
      '# foo=bar\n# escape=`\nFROM a\nRUN x `\nFROM b',
      ['a@3', 'b@5'],
    ],
    ['a continuation at the end of the file', 'FROM a \\', ['a@1']],
  ])('%s', (_name, text, expected) => {
    expect(found(text)).toEqual(expected);
  });
});

describe('word expansion (BuildKit shell lexer)', () => {
  const vars = new Map([
    ['IMG', 'registry.example.com/team/app:1.2.3'],
    ['EMPTY', ''],
    ['V', '3.19'],
    ['PATHY', 'a/b/c'],
  ]);
  const expand = (word: string) => {
    const r = expandBuildkitWord(word, (n) => vars.get(n));
    return r.ok ? r.value : `!${r.variable}`;
  };
  test.each<[string, string]>([
    ['"${V}"', '3.19'],
    ["'${V}'", '${V}'],
    ['alpine:"$V"', 'alpine:3.19'],
    ['\\$V', '$V'],
    ['"\\$V"', '$V'],
    ['${IMG#*/}', 'team/app:1.2.3'],
    ['${IMG##*/}', 'app:1.2.3'],
    ['${IMG%:*}', 'registry.example.com/team/app'],
    ['${IMG%%/*}', 'registry.example.com'],
    ['${IMG%.*}', 'registry.example.com/team/app:1.2'],
    ['${IMG#nomatch}', 'registry.example.com/team/app:1.2.3'],
    ['${PATHY/\\//-}', 'a-b/c'],
    ['${PATHY//\\//-}', 'a-b-c'],
    ['${V/3/4}', '4.19'],
    ['${V?x}', '3.19'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${UNSET:-$V}', '3.19'],
    ['${V:-$UNSET}', '3.19'],
    ['${V:+set}', 'set'],
    ['${EMPTY:+set}', ''],
    ['${EMPTY+set}', 'set'],
    ['${UNSET:+$ALSO_UNSET}', ''],
    ['$', '$'],
    ['a$', 'a$'],
    ['${UNSET}', '!UNSET'],
    ['$UNSET', '!UNSET'],
    ['${UNSET:-$ALSO_UNSET}', '!ALSO_UNSET'],
    ['${UNSET#x}', '!UNSET'],
    ['${UNSET:?required}', '!UNSET'],
    ['${EMPTY:?required}', '!EMPTY'],
  ])('%s → %s', (word, expected) => {
    expect(expand(word)).toBe(expected);
  });

  test.each(['${', '${V', '${:x}', '${V:#x}', '${V^}', '"open', "'open"])(
    '%s is not a word BuildKit builds',
    (word) => {
      expect(expandBuildkitWord(word, (n) => vars.get(n)).ok).toBe(false);
    },
  );

  test('patterns from the file run in linear time', () => {
    vars.set('LONG', 'a'.repeat(20_000));
    const started = Date.now();
    expect(expand(`\${LONG%%${'*a'.repeat(50)}b}`)).toBe('a'.repeat(20_000));
    expect(Date.now() - started).toBeLessThan(30_000); // finished, not hung
  });
});

describe('ARG and FROM', () => {
  test.each<[string, string, string[]]>([
    ['quotes removed from FROM', 'ARG BASE=alpine:3\nFROM "${BASE}"', ['alpine:3@2']],
    ['quotes in an ARG default with a blank', 'ARG A="x y" B=alpine\nFROM ${B}', ['alpine@2']],
    [
      'ARG redeclared without a value keeps the default',
      'ARG V=3.19\nARG V\nFROM alpine:${V}',
      ['alpine:3.19@3'],
    ],
    ['ARG redeclared with a value replaces it', 'ARG V=1\nARG V=2\nFROM alpine:${V}', ['alpine:2@3']],
    ['a suffix trimmed from an ARG', 'ARG GO=1.22.3\nFROM golang:${GO%.*}', ['golang:1.22@2']],
    [
      'an ARG default built from another',
      'ARG R=ghcr.io/acme\nARG IMG="${R}/api"\nFROM $IMG',
      ['ghcr.io/acme/api@3'],
    ],
    ['TARGETARCH in the image (default linux/amd64)', 'FROM acme/base-${TARGETARCH}', ['acme/base-amd64@1']],
    ['TARGETOS and TARGETVARIANT', 'FROM acme/b:${TARGETOS}-${TARGETVARIANT:-none}', ['acme/b:linux-none@1']],
    [
      'global ARG TARGETARCH keeps the automatic value',
      'ARG TARGETARCH\nFROM acme/b-${TARGETARCH}',
      ['acme/b-amd64@2'],
    ],
    [
      'an ARG default from the platform',
      'ARG ARCH=${TARGETARCH}\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM acme/run-$ARCH',
      ['golang:1.22@2 linux/amd64', 'acme/run-amd64@3'],
    ],
    [
      'a stage named from the platform is a stage',
      'FROM alpine AS base-amd64\nFROM alpine AS base-arm64\nFROM base-${TARGETARCH}',
      ['alpine@1', 'alpine@2'],
    ],
    [
      'a stage named by an unresolved ARG, every candidate an earlier stage',
      'ARG VARIANT\nFROM alpine AS build-a\nFROM debian AS build-b\nFROM build-${VARIANT}',
      ['alpine@2', 'debian@3'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  test('the platform input resolves TARGET* and BUILD*', () => {
    expect(
      found(
        'FROM --platform=$BUILDPLATFORM golang AS b\nFROM acme/app-${TARGETARCH}${TARGETVARIANT}',
        'linux/arm/v7',
      ),
    ).toEqual(['golang@1 linux/arm/v7', 'acme/app-armv7@2']);
  });

  test('an unresolved ARG that could name an image is listed, not taken for a stage', () => {
    const f = parseDockerfile('ARG REPO\nFROM alpine AS build-a\nFROM ${REPO}/build-a', F);
    expect(f.unresolved.map((u) => u.text)).toEqual(['${REPO}/build-a']);
    expect(f.unresolved[0].reason).toBe('ARG REPO has no default value');
  });

  test('the same image on several FROM lines with different platforms keeps each platform', () => {
    expect(found('FROM --platform=linux/amd64 alpine:3\nFROM --platform=linux/arm64 alpine:3')).toEqual([
      'alpine:3@1 linux/amd64',
      'alpine:3@2 linux/arm64',
    ]);
  });
});
