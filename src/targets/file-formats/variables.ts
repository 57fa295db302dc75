// Variable interpolation as the Compose specification defines it (also used for envsubst-style Kubernetes
// manifests): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}`,
// `$$`. Pure. A variable with no value and no default is reported, never replaced by a guess. Dockerfiles follow
// BuildKit's lexer instead: buildkit-words.ts.

/** The value of a variable, or undefined when it is unset. */
export type VariableLookup = (name: string) => string | undefined;

export type Substitution = { ok: true; value: string } | { ok: false; variable: string; reason: string };

export interface SubstitutionStyle {
  /** Character that escapes a `$` (Dockerfile: `\` or the `escape` directive); Compose escapes with `$$`. */
  escape?: string;
  dollarDollar?: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function substituteVariables(
  text: string,
  lookup: VariableLookup,
  style: SubstitutionStyle,
): Substitution {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (style.escape && c === style.escape && text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (style.dollarDollar && text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) return { ok: false, variable: text.slice(i), reason: 'unterminated ${...}' };
      const braced = expandBraced(text.slice(i + 2, end), lookup, style);
      if (!braced.ok) return braced;
      out += braced.value;
      i = end + 1;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (!name) {
      out += c;
      i++;
      continue;
    }
    const value = lookup(name);
    if (value === undefined) return { ok: false, variable: name, reason: `$${name} has no value` };
    out += value;
    i += 1 + name.length;
  }
  return { ok: true, value: out };
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function expandBraced(body: string, lookup: VariableLookup, style: SubstitutionStyle): Substitution {
  const name = NAME.exec(body)?.[0];
  if (!name) return { ok: false, variable: body, reason: `\${${body}} is not a variable reference` };
  const rest = body.slice(name.length);
  const value = lookup(name);
  if (rest === '') {
    return value === undefined
      ? { ok: false, variable: name, reason: `$${name} has no value` }
      : { ok: true, value };
  }
  const op = /^(:?[-+?])/.exec(rest)?.[1];
  if (!op) return { ok: false, variable: name, reason: `\${${body}}: unsupported substitution` };
  const word = () => substituteVariables(rest.slice(op.length), lookup, style);
  const unsetOrEmpty = value === undefined || (op.startsWith(':') && value === '');
  switch (op.replace(':', '')) {
    case '-':
      return unsetOrEmpty ? word() : { ok: true, value: value };
    case '+':
      return unsetOrEmpty ? { ok: true, value: '' } : word();
    default: {
      if (!unsetOrEmpty) return { ok: true, value: value };
      const message = rest.slice(op.length);
      return { ok: false, variable: name, reason: `$${name} has no value${message ? ` (${message})` : ''}` };
    }
  }
}
