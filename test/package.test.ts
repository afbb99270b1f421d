import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as users get it: `npm pack`, installed into an empty project from the tarball, then the CLI and the
 * library used from there. Needs the npm registry for the dependencies (npm's cache serves them after `npm ci`); with
 * no registry it skips with the reason printed, and fails under CI=true.
 */
const ROOT = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'ftm-pack-'));
const project = join(work, 'project');
// Without a TTY npm may prompt nothing; a non-interactive install that skips onnxruntime-node's CUDA download.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

let installError: string | undefined;

beforeAll(() => {
  const pack = run('npm', ['pack', '--pack-destination', work, '--silent'], ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.out}`);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball in ${work}`);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const install = run('npm', ['install', '--prefer-offline', join(work, tarball)], project);
  if (install.status !== 0) {
    installError = `npm install of the packed tarball failed:\n${install.out}`;
    if (process.env.CI === 'true') throw new Error(installError);
    console.warn(`SKIPPING package tests: ${installError}`);
  }
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships the library, the rules and the fixture, and no tests, benchmarks or sources of the build', () => {
    if (installError) return;
    const pkg = join(project, 'node_modules', 'ftm-compress');
    for (const f of ['dist/src/cli.js', 'dist/src/index.js', 'dist/rewrites/index.js', 'fixtures/resnet20/model.onnx', 'README.md']) {
      expect(existsSync(join(pkg, f)), f).toBe(true);
    }
    for (const f of ['dist/bench', 'test', 'src', 'rewrites/ftm.test.ts', 'dist/rewrites/ftm.test.js', 'fixtures/resnet20/test']) {
      expect(existsSync(join(pkg, f)), f).toBe(false);
    }
  });

  it('runs the CLI with npx on the packaged fixture', () => {
    if (installError) return;
    const fixture = join(project, 'node_modules', 'ftm-compress', 'fixtures', 'resnet20');
    const out = join(work, 'out.onnx');
    const r = run('npx', ['--no-install', 'ftm-compress', join(fixture, 'model.onnx'), '--calib', join(fixture, 'calib'), '--preprocess', join(fixture, 'preprocess.json'), '--target-ratio', '0.5', '--calib-limit', '48', '--no-distill', '--allow-slower', '-o', out], project);
    expect(r.status, r.out).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('imports the library and the built-in rules by package name', () => {
    if (installError) return;
    const script = "const m = await import('ftm-compress'); const r = await import('ftm-compress/rewrites'); console.log(JSON.stringify({ compress: typeof m.compressModel, load: typeof m.loadModel, rules: Object.keys(r.builtinRules).sort() }));";
    const r = run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(r.status, r.out).toBe(0);
    const seen = JSON.parse(r.out.trim().split('\n')[0]);
    expect(seen.compress).toBe('function');
    expect(seen.load).toBe('function');
    expect(seen.rules).toContain('ftm');
  });
});
