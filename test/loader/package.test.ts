// The package as users get it: `import('fa-onnx')` and `require('fa-onnx')` in child node processes,
// resolved by the package's own name through package.json "exports", with types for both, and the
// errors a broken install gives. The ESM build is made into a temporary copy of the package (only
// what src/index.ts reaches), so this test neither needs nor disturbs the repo's dist/.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bert = path.join(root, 'models/corpus/bert.ts17_eager.onnx');
let pkg: string;

function node(args: string[], env: Record<string, string> = {}, cwd = pkg) {
  const result = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'fa-onnx-package-'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.symlinkSync(path.join(root, 'build'), path.join(pkg, 'build'));
  fs.writeFileSync(
    path.join(pkg, 'tsconfig.build.json'),
    JSON.stringify({
      extends: path.join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: path.join(root, 'src'), outDir: path.join(pkg, 'dist', 'esm') },
      files: [path.join(root, 'src', 'index.ts')],
      include: [],
    }),
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(pkg, 'tsconfig.build.json')], { stdio: 'pipe' });
  execFileSync(process.execPath, [path.join(root, 'scripts', 'write-cjs-entry.mjs'), path.join(pkg, 'dist')], { stdio: 'pipe' });
});

afterAll(() => {
  if (pkg) fs.rmSync(pkg, { recursive: true, force: true });
});

// Runs bert through the package and prints what the test checks.
const bertScript = (load: string) => `
  const fa = ${load};
  const { Tensor } = fa;
  const s = await fa.createSession(${JSON.stringify(bert)});
  const ids = new Tensor('int64', BigInt64Array.from([101n, 7n, 8n, 102n]), [1, 4]);
  const mask = new Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n]), [1, 4]);
  const out = (await s.run({ input_ids: ids, attention_mask: mask }))[s.outputNames[0]];
  await s.release();
  console.log(JSON.stringify({
    exports: Object.keys(fa).sort(), opsLibraryPath: fa.opsLibraryPath, dims: out.dims, type: out.type,
    finite: Array.from(out.data).every(Number.isFinite),
  }));`;

describe('package entry points', () => {
  it("import('fa-onnx') resolves by name to the ESM build and runs a session", () => {
    const r = node(['--input-type=module', '-e', bertScript("await import('fa-onnx')")]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.exports).toEqual(expect.arrayContaining(['Tensor', 'backendNames', 'createSession', 'opsLibraryPath', 'runtimeInfo']));
    expect(out.opsLibraryPath).toBe(path.join(pkg, 'build', 'Release', 'libfa_onnx_ops.so'));
    expect(out).toMatchObject({ dims: [1, 4, 64], type: 'float32', finite: true });
  });

  it("require('fa-onnx') resolves by name to the CJS entry, the same module as import()", () => {
    const script = `(async () => { ${bertScript("require('fa-onnx')")}
      const esm = await import('fa-onnx');
      if (esm.createSession !== require('fa-onnx').createSession) throw new Error('two copies of fa-onnx');
      if (require.resolve('fa-onnx') !== ${JSON.stringify(path.join(pkg, 'dist', 'cjs', 'index.cjs'))}) throw new Error(require.resolve('fa-onnx'));
    })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = node(['--input-type=commonjs', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dims: [1, 4, 64], type: 'float32', finite: true });
  });

  it("works in worker threads creating sessions at once (ONNX Runtime's custom-domain race), with one runtime", () => {
    const script = `
      import { Worker } from 'node:worker_threads';
      const job = \`
        const fa = await import('fa-onnx');
        const { parentPort } = await import('node:worker_threads');
        const s = await fa.createSession(${JSON.stringify(bert)});
        const t = new fa.Tensor('int64', BigInt64Array.from([101n, 7n, 102n]), [1, 3]);
        const m = new fa.Tensor('int64', BigInt64Array.from([1n, 1n, 1n]), [1, 3]);
        const out = (await s.run({ input_ids: t, attention_mask: m }))[s.outputNames[0]];
        await s.release();
        parentPort.postMessage({ sum: Array.from(out.data).reduce((a, b) => a + b, 0), lib: fa.runtimeInfo().libraryPath });
      \`;
      const inWorker = () => new Promise((resolve, reject) => {
        const w = new Worker(job, { eval: true, type: 'module' });
        w.once('message', resolve); w.once('error', reject);
      });
      const results = await Promise.all([inWorker(), inWorker(), inWorker(), inWorker()]);
      const fa = await import('fa-onnx');
      if (results.some((r) => r.sum !== results[0].sum || !Number.isFinite(r.sum))) throw new Error(JSON.stringify(results));
      if (results[0].lib !== fa.runtimeInfo().libraryPath) throw new Error('two runtimes');
      console.log('ok');`;
    const r = node(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('types resolve for ESM and CJS consumers', () => {
    fs.writeFileSync(
      path.join(pkg, 'consumer.mts'),
      `import { createSession, opsLibraryPath, Tensor, type SessionOptions, type InferenceSession } from 'fa-onnx';
       const options: SessionOptions = { executionProviders: [{ name: 'cuda', deviceId: 0 }, 'cpu'], graphOptimizationLevel: 'all' };
       const s: Promise<InferenceSession> = createSession(opsLibraryPath, options);
       const t: Tensor = new Tensor('float32', new Float32Array(1), [1]);
       export { s, t };`,
    );
    fs.writeFileSync(
      path.join(pkg, 'consumer.cts'),
      `import fa = require('fa-onnx');
       const s: Promise<fa.InferenceSession> = fa.createSession(new Uint8Array(0));
       // @ts-expect-error: not an execution provider fa-onnx knows
       fa.createSession('m.onnx', { executionProviders: ['webgl'] });
       export = s;`,
    );
    fs.writeFileSync(
      path.join(pkg, 'tsconfig.consumer.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], skipLibCheck: false },
        files: ['consumer.mts', 'consumer.cts'],
      }),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = node([tsc, '-p', 'tsconfig.consumer.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a broken install says what is missing and how to fix it', () => {
    const run = `import('fa-onnx').then((fa) => fa.createSession(${JSON.stringify(bert)})).then(() => console.log('ok'), (e) => { console.error(e.message); process.exit(3); });`;
    const noOps = node(['-e', run], { FA_ONNX_OPS_LIBRARY: path.join(pkg, 'missing', 'libfa_onnx_ops.so') });
    expect(noOps.status).toBe(3);
    expect(noOps.stderr).toContain(`fa-onnx: the ops library is not built (${path.join(pkg, 'missing', 'libfa_onnx_ops.so')} is missing); build it with \`npm run build:native\``);

    const noRuntime = node(['-e', run], { FA_ONNX_ORT_LIBRARY: path.join(pkg, 'missing', 'libonnxruntime.so.1') });
    expect(noRuntime.status).toBe(3);
    expect(noRuntime.stderr).toContain(`fa-onnx: FA_ONNX_ORT_LIBRARY names ${path.join(pkg, 'missing', 'libonnxruntime.so.1')}, which does not exist`);

    const notOrt = node(['-e', run], { FA_ONNX_ORT_LIBRARY: path.join(root, 'build', 'Release', 'fa_onnx_addon.node') });
    expect(notOrt.status).toBe(3);
    expect(notOrt.stderr).toMatch(/is not an ONNX Runtime library \(no OrtGetApiBase\)/);

    // A copy of the package whose build folder is empty: the addon is not built.
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'fa-onnx-bare-'));
    try {
      fs.copyFileSync(path.join(pkg, 'package.json'), path.join(bare, 'package.json'));
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(bare, 'node_modules'));
      fs.cpSync(path.join(pkg, 'dist'), path.join(bare, 'dist'), { recursive: true });
      const noAddon = node(['-e', run], {}, bare);
      expect(noAddon.status).toBe(3);
      expect(noAddon.stderr).toContain(
        `fa-onnx: the native addon is not built (${path.join(bare, 'build', 'Release', 'fa_onnx_addon.node')} is missing); build it with \`npm run build:native\``,
      );
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });
});
