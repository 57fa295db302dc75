import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import * as pf from '../../src/policy/policy-file.js';
test('p', () => { console.log(JSON.stringify((pf as any).parsePolicy?.(readFileSync('/work/main/examples/policy.yml','utf8'), 'examples/policy.yml') ?? Object.keys(pf), null, 1)); });
