import { substituteVariables } from './variables.js';

// The `.env` file Compose reads from the project directory to interpolate `${VAR}` in the Compose file (the
// Compose specification's "Interpolation" and `.env` format): `KEY=value` lines, `export` allowed, `#` comments
// (in an unquoted value after a blank), single quotes literal, double quotes with `\n \t \\ \"` escapes, and `${VAR}`
// in unquoted and double-quoted values taken from the lines above. The shell environment Compose would also read
// is the runner's, not the deployment's: it is not used. A value that cannot be interpolated leaves its key unset,
// so images that need it are listed as unresolved rather than guessed. Pure.

export function parseComposeEnv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue; // `KEY` alone takes the shell's value in Compose; there is none here.
    const value = parseValue(m[2], vars);
    if (value !== undefined) vars.set(m[1], value);
  }
  return vars;
}

function parseValue(raw: string, vars: ReadonlyMap<string, string>): string | undefined {
  const interpolate = (text: string) => {
    const s = substituteVariables(text, (name) => vars.get(name), { dollarDollar: true });
    return s.ok ? s.value : undefined;
  };
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1);
    return end < 0 ? undefined : raw.slice(1, end);
  }
  if (raw.startsWith('"')) {
    let out = '';
    for (let i = 1; i < raw.length; i++) {
      const c = raw[i];
      if (c === '"') return interpolate(out);
      if (c === '\\' && i + 1 < raw.length) {
        const n = raw[++i];
        out +=
          n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '\\' || n === '"' ? n : `\\${n}`;
      } else out += c;
    }
    return undefined; // unterminated
  }
  return interpolate(raw.replace(/\s+#.*$/, '').trim());
}
