// How the addon is found (core/native.ts addonFile): the file node-gyp-build would pick, required
// directly where the package's layout makes that choice plain, and node-gyp-build itself
// everywhere else. Each layout is made in a temporary folder (empty files: nothing is loaded) and
// the choice compared with node-gyp-build's own resolve() of the same folder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonFile } from '../src/core/native.js';
import { REPO } from './helpers/vectors.js';

const require = createRequire(import.meta.url);
const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
const PLATFORM = `${process.platform}-${process.arch}`;

/** node-gyp-build's choice in `root`, or null where it finds nothing. */
function theirs(root: string): string | null {
  try {
    return nodeGypBuild.resolve(root);
  } catch {
    return null;
  }
}

/** A package folder with these files (empty), removed after `body`. */
function withLayout(files: string[], body: (root: string) => void): void {
  const root = `${mkdtempSync(join(tmpdir(), 'nc-addon-'))}/`;
  try {
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'netconsole' }));
    for (const f of files) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), '');
    }
    body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const PREBUILD = `prebuilds/${PLATFORM}/netconsole.node`;
const RELEASE = 'build/Release/netconsole.node';
const DEBUG = 'build/Debug/netconsole.node';

describe("the addon file: node-gyp-build's choice, found without it where the layout is plain", () => {
  test('an installed package (a prebuild only): the prebuild, as node-gyp-build picks it', () => {
    withLayout([PREBUILD], (root) => {
      assert.equal(addonFile(root), join(root, PREBUILD));
      assert.equal(addonFile(root), theirs(root));
    });
  });

  test('a checkout with a build: build/Release before the prebuild, as node-gyp-build', () => {
    withLayout([RELEASE, PREBUILD], (root) => {
      assert.equal(addonFile(root), join(root, RELEASE));
      assert.equal(addonFile(root), theirs(root));
    });
  });

  test('a debug build, no file at all, or its overrides: left to node-gyp-build', () => {
    withLayout([DEBUG, PREBUILD], (root) => {
      assert.equal(addonFile(root), null);
      assert.equal(theirs(root), join(root, DEBUG)); // what it would have missed
    });
    withLayout([], (root) => {
      assert.equal(addonFile(root), null);
      assert.equal(theirs(root), null);
    });
    withLayout([RELEASE, PREBUILD], (root) => {
      for (const env of [
        { NETCONSOLE_PREBUILD: '/elsewhere' },
        { PREBUILDS_ONLY: '1' },
        { npm_config_arch: 'arm64' },
        { npm_config_platform: 'darwin' },
      ])
        assert.equal(addonFile(root, env), null, JSON.stringify(env));
    });
  });

  test("another platform's prebuild is not this one's", () => {
    withLayout(['prebuilds/linux-riscv64/netconsole.node'], (root) => {
      assert.equal(addonFile(root, {}, 'linux', 'x64'), null);
      assert.equal(addonFile(root, {}, 'linux', 'riscv64'), join(root, 'prebuilds/linux-riscv64/netconsole.node'));
    });
  });

  test('this checkout: the file node-gyp-build picks, found without it', () => {
    const root = REPO.pathname;
    const mine = addonFile(root);
    assert.notEqual(mine, null, 'a checkout after npm install has a build or a prebuild, and no debug build');
    assert.equal(mine, theirs(root));
  });
});
