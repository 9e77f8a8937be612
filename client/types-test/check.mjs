#!/usr/bin/env node
// Checks wxlogin-client's types as mini-program TypeScript projects consume them: the
// package is packed (`npm pack`, so only its published files count) and unpacked into
// node_modules/wxlogin-client here, then `tsc --strict --noEmit` runs each case against
// WeChat's miniprogram-api-typings:
//   esm-node16   ES modules, moduleResolution node16: the `import` condition, wxlogin.d.ts
//   cjs-node16   CommonJS, node16: the `require` condition, dist/wxlogin.d.cts (no TS1479)
//   esm-node10   ES module syntax, the classic node10 resolution: the `types` field
//   cjs-node10   "module": "CommonJS" (node10 by default): the `types` field
//   esm-bundler  moduleResolution bundler (uni-app, Taro): the `import` condition
// Each includes mistakes.ts, whose `// @ts-expect-error` lines must all be errors.
// TypeScript 5.9.3 runs every case; 7.0.2 (the native compiler, which has dropped
// node10) the others. Both are pinned in package.json / package-lock.json here:
//   npm ci --prefix client/types-test   (scripts/lib.sh's ensure_client_type_tools)
//   node client/types-test/check.mjs    (offline once installed)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(HERE, '..');
const INSTALLED = join(HERE, 'node_modules', 'wxlogin-client');

/** Each case: the types file its consumers must resolve to, and one it must not (if any). */
const CASES = {
  'esm-node16': { what: 'ES modules, node16', uses: 'wxlogin.d.ts' },
  'cjs-node16': { what: 'CommonJS, node16', uses: 'dist/wxlogin.d.cts', never: 'wxlogin.d.ts' },
  'esm-node10': { what: 'ES module syntax, node10', uses: 'wxlogin.d.ts', never: 'dist/wxlogin.d.cts' },
  'cjs-node10': { what: 'CommonJS, node10', uses: 'wxlogin.d.ts', never: 'dist/wxlogin.d.cts' },
  'esm-bundler': { what: 'ES modules, bundler', uses: 'wxlogin.d.ts', never: 'dist/wxlogin.d.cts' },
};
const COMPILERS = [
  { pkg: 'typescript', cases: Object.keys(CASES) },
  { pkg: 'typescript-7', cases: ['esm-node16', 'cjs-node16', 'esm-bundler'] },
];

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

/** `npm pack` of client/ unpacked into node_modules/wxlogin-client: what a user installs. */
function installPackedClient() {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-client-types-'));
  try {
    // --ignore-scripts: prepack would rewrite the committed builds; build.test.mjs checks them.
    const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--loglevel=error', '--pack-destination', dir], CLIENT);
    if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
    const [{ filename }] = JSON.parse(pack.stdout);
    rmSync(INSTALLED, { recursive: true, force: true });
    mkdirSync(INSTALLED, { recursive: true });
    const tar = run('tar', ['-xzf', join(dir, filename), '-C', INSTALLED, '--strip-components=1'], HERE);
    if (tar.status !== 0) throw new Error(`tar failed:\n${tar.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  for (const { pkg } of COMPILERS) {
    if (!existsSync(join(HERE, 'node_modules', pkg, 'package.json'))) {
      console.error(`client/types-test: ${pkg} is not installed: npm ci --prefix client/types-test`);
      process.exit(2);
    }
  }
  installPackedClient();
  let passed = 0;
  let failed = 0;
  // The README promises ES2017: what a mini-program's older JS engines parse with the
  // project's ES5 compilation off. Every shipped script must parse at that level.
  const { parse } = createRequire(import.meta.url)('acorn');
  for (const [file, sourceType] of [
    ['wxlogin.js', 'module'],
    ['dist/wxlogin.cjs', 'script'],
    ['miniprogram_dist/index.js', 'script'],
  ]) {
    try {
      parse(readFileSync(join(CLIENT, file), 'utf8'), { ecmaVersion: 2017, sourceType });
      console.log(`ok    ${file} parses as ES2017`);
      passed += 1;
    } catch (err) {
      console.log(`FAIL  ${file} is not ES2017: ${err.message}`);
      failed += 1;
    }
  }
  for (const { pkg, cases } of COMPILERS) {
    const version = JSON.parse(readFileSync(join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    const tsc = join(HERE, 'node_modules', pkg, 'bin', 'tsc');
    for (const name of cases) {
      const { what, uses, never } = CASES[name];
      const label = `TypeScript ${version} ${name.padEnd(11)} (${what})`;
      const result = run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`, '--listFiles', '--pretty', 'false'], HERE);
      const lines = (result.stdout + result.stderr).split('\n').filter(Boolean);
      const files = new Set(lines.filter((l) => l.startsWith(sep) && existsSync(l))
        .map((l) => relative(INSTALLED, l).split(sep).join('/')));
      const problems = lines.filter((l) => !(l.startsWith(sep) && existsSync(l)));
      if (result.status !== 0 && problems.length === 0) problems.push(`tsc exited ${result.status}`);
      if (!files.has(uses)) problems.push(`expected the types from ${uses}; tsc read ${[...files].filter((f) => !f.startsWith('..')).join(', ') || 'none of the package'}`);
      if (never && files.has(never)) problems.push(`read ${never}, which this case must not resolve to`);
      if (problems.length === 0) {
        passed += 1;
        console.log(`ok      ${label} → ${uses}`);
      } else {
        failed += 1;
        console.log(`FAILED  ${label}`);
        for (const line of problems) console.log(`        ${line}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
