#!/usr/bin/env node
// Runs Shopify Theme Check (@shopify/theme-check-node, pinned in the root package.json) on one theme app
// extension and prints {"root", "config", "offenses": [...]} as JSON. Exit code 0 means the run worked,
// whatever it found; the caller decides what an offence means.
//
// Usage: node tests/extensions/run_theme_check.js /ABSOLUTE/path/to/extensions/order-tracking [config]
// config defaults to the package's "theme-check:theme-app-extension" preset.
//
// Theme Check normally refreshes its Liquid docs and JSON schemas from the network at start-up and falls
// back to the copy bundled in @shopify/theme-check-docs-updater. Here it always uses that bundled copy
// (a private, empty cache and a local docs root that has nothing in it), so a run is offline and
// reproducible: the result depends only on the pinned package version.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = process.argv[2];
const configPath = process.argv[3] || 'theme-check:theme-app-extension';
if (!root || !path.isAbsolute(root)) {
  console.error('usage: run_theme_check.js /ABSOLUTE/extension/path [config]');
  process.exit(2);
}

if (!process.env.AFTERCART_THEME_CHECK_ONLINE) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'theme-check-'));
  process.env.XDG_CACHE_HOME = path.join(tmp, 'cache');
  process.env.SHOPIFY_TLD_ROOT = path.join(tmp, 'no-remote-docs');
}

const { themeCheckRun } = require('@shopify/theme-check-node');

const logs = [];
themeCheckRun(root, configPath, (line) => logs.push(line))
  .then(({ config, theme, offenses }) => {
    const out = {
      root,
      config: configPath,
      context: config.context,
      checks: config.checks.map((c) => c.meta.code).sort(),
      files: theme.map((f) => path.relative(root, decodeURIComponent(new URL(f.uri).pathname))).sort(),
      offenses: offenses.map((o) => ({
        check: o.check,
        severity: o.severity,
        message: o.message,
        file: path.relative(root, decodeURIComponent(new URL(o.uri).pathname)),
        line: o.start ? o.start.line + 1 : null,
      })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  })
  .catch((err) => {
    console.error(logs.join('\n'));
    console.error(err && err.stack ? err.stack : err);
    process.exit(3);
  });
