import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from '#better-sqlite3';
import ivm from '#isolated-vm';
import { BY_NODE_MAJOR, nativePackage } from '../../src/core/native-packages.cjs';

/**
 * The native add-ons whose release depends on the Node major: the table in
 * src/core/native-packages.cjs, the optional npm aliases in package.json, and
 * the alias this Node loads. CI runs this file on Node 20 and on Node 24.
 */
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { optionalDependencies: Record<string, string>; engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { name?: string; engines?: { node?: string } }> };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('native add-ons by Node major', () => {
  it('load the release made for each supported Node', () => {
    expect(pkg.engines.node).toBe('^20.15.0 || ^22.2.0 || ^24.0.0');
    expect([20, 22, 24].map((m) => [nativePackage('isolated-vm', m), nativePackage('better-sqlite3', m)])).toEqual([
      ['isolated-vm-5', 'better-sqlite3-12'],
      ['isolated-vm-6', 'better-sqlite3-13'],
      ['isolated-vm-6', 'better-sqlite3-13'],
    ]);
    expect(() => nativePackage('sharp' as 'isolated-vm', 24)).toThrow('no Node-major table for "sharp"; expected one of isolated-vm, better-sqlite3');
  });

  it('name only optional npm aliases of the dependency, locked, whose engines admit their Node', () => {
    for (const [dependency, rows] of Object.entries(BY_NODE_MAJOR)) {
      for (const [alias, fromMajor] of rows) {
        expect(pkg.optionalDependencies[alias], alias).toMatch(new RegExp(`^npm:${dependency}@\\d+\\.\\d+\\.\\d+$`));
        const locked = lock.packages[`node_modules/${alias}`];
        expect(locked?.name, alias).toBe(dependency);
        // The newer releases say which Node they need; npm skips them on an older one.
        const engines = locked?.engines?.node ?? '';
        if (fromMajor > 20) expect(engines, alias).toMatch(new RegExp(`^>=${fromMajor}(\\.0\\.0)?$`));
      }
    }
  });

  it(`work on this Node (${process.version}): an isolate runs code, SQLite runs a query`, () => {
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    try {
      expect(isolate.createContextSync().evalSync('6 * 7')).toBe(42);
    } finally {
      isolate.dispose();
    }
    const db = new Database(':memory:');
    try {
      db.exec('create table t (x integer)');
      db.prepare('insert into t values (?)').run(5);
      expect(db.prepare('select sum(x) as s from t').get()).toEqual({ s: 5 });
    } finally {
      db.close();
    }
  });

  it('say in one line what is missing and how to fix it when the alias for this Node is not installed', () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-native-'));
    dirs.push(d);
    copyFileSync(join('src', 'core', 'native-packages.cjs'), join(d, 'native-packages.cjs'));
    const lonely = createRequire(join(d, 'x.cjs'))('./native-packages.cjs') as { loadNative(dep: string): unknown };
    const major = Number(process.versions.node.split('.')[0]);
    const alias = nativePackage('better-sqlite3', major);
    let message = '';
    try {
      lonely.loadNative('better-sqlite3');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`better-sqlite3 for Node ${major} (npm alias ${alias}) is not installed`);
    expect(message).toContain(`npm rebuild ${alias} --foreground-scripts`);
    expect(message.split('\n')).toHaveLength(1);
  });
});
