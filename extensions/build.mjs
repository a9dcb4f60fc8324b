// Build every UI extension's bundle as Shopify's CLI does (esbuild: one minified bundle per extension that
// registers each target's module), plus the extensions' unit tests for `node --test`. No network needed.
//
//   node extensions/build.mjs            bundles into build/extensions/<handle>.js, tests into build/extension-tests/
//   SHOPIFY_APP_URL=https://app.example.com node extensions/build.mjs   also sets the backend the blocks call
//
// `shopify app deploy` builds the same sources itself; this build is for the size limit and the tests.
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const out = join(root, 'build');

function writeAppUrl() {
  const file = join(here, 'shared', 'app-url.js');
  const url = (process.env.SHOPIFY_APP_URL || '').replace(/\/+$/, '');
  if (url) {
    if (!/^https:\/\/[^\s/]+$/.test(url)) throw new Error(`SHOPIFY_APP_URL must be https://host, got ${url}`);
    writeFileSync(file, `// Written by extensions/build.mjs from SHOPIFY_APP_URL.\nexport const APP_URL = ${JSON.stringify(url)};\n`);
  } else if (!existsSync(file)) {
    console.warn('SHOPIFY_APP_URL not set: the blocks will call https://app.invalid until you build with it.');
    writeFileSync(file, '// Written by extensions/build.mjs: set SHOPIFY_APP_URL.\nexport const APP_URL = "https://app.invalid";\n');
  }
}

/** The targets and modules a shopify.extension.toml names, in order. */
export function targetsOf(toml) {
  const targets = [];
  for (const block of toml.split('[[extensions.targeting]]').slice(1)) {
    const target = /^\s*target\s*=\s*"([^"]+)"/m.exec(block);
    const module = /^\s*module\s*=\s*"([^"]+)"/m.exec(block);
    if (target && module) targets.push({target: target[1], module: module[1]});
  }
  return targets;
}

const shared = {
  bundle: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
  define: {'process.env.NODE_ENV': '"production"'},
};

async function buildExtensions() {
  const built = [];
  for (const name of readdirSync(here).sort()) {
    const tomlPath = join(here, name, 'shopify.extension.toml');
    if (!existsSync(tomlPath)) continue;
    const toml = readFileSync(tomlPath, 'utf8');
    if (!/type\s*=\s*"ui_extension"/.test(toml)) continue; // theme app extensions are not bundled
    const handle = /^\s*handle\s*=\s*"([^"]+)"/m.exec(toml)[1];
    const targets = targetsOf(toml);
    const entry = targets
      .map(({target, module}, i) => {
        const path = './' + relative(here, join(here, name, module)).split('\\').join('/');
        return `import m${i} from ${JSON.stringify(path)};\nshopify.extend(${JSON.stringify(target)}, (...args) => m${i}(...args));`;
      })
      .join('\n');
    const outfile = join(out, 'extensions', `${handle}.js`);
    await esbuild.build({
      ...shared,
      stdin: {contents: entry, resolveDir: here, sourcefile: `${handle}-entry.js`, loader: 'js'},
      outfile,
      format: 'esm',
      target: 'es2020',
      minify: true,
      legalComments: 'none',
    });
    built.push(outfile);
  }
  return built;
}

async function buildTests() {
  const dir = join(here, 'tests');
  const entryPoints = readdirSync(dir)
    .filter((file) => file.endsWith('.test.jsx') || file.endsWith('.test.js'))
    .map((file) => join(dir, file));
  await esbuild.build({
    ...shared,
    entryPoints,
    outdir: join(out, 'extension-tests'),
    outExtension: {'.js': '.mjs'},
    platform: 'node',
    format: 'esm',
    target: 'node18',
  });
}

writeAppUrl();
mkdirSync(out, {recursive: true});
const bundles = await buildExtensions();
await buildTests();
for (const bundle of bundles) console.log(`built ${relative(root, bundle)}`);
