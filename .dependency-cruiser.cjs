/**
 * Who may import whom (ARCHITECTURE.md). Stages are listed from the top down;
 * a module may import its own folder and any folder below its own, never one
 * above. Type-only imports count too: a type that must reach back is a
 * contract in the wrong place (it belongs in lab/model).
 * Checked by `npm run lint:deps` (part of `npm test`).
 */
const LAYERS = [
  'cli',
  'doctor',
  'workflows', // validate-patch, Buildroot import and candidate: span building and running
  'matrix',
  'report',
  'scenarios',
  'fabric',
  'guest',
  'qemu',
  'bundle', // kernel, libc, probes, userland, rootfs, the bundle writer
  'sources', // pins, overrides, downloads, patch series, prepared trees
  'store', // the content-addressed store and its locks
  'formats', // cpio, host keys
  'catalog', // targets, kernel lines, expectations, source specs (the repository's data)
  'model', // contracts: target, bundle manifest, verdicts, results
  'util',
];

const layerRules = LAYERS.slice(1).map((layer, i) => {
  const above = LAYERS.slice(0, i + 1);
  return {
    name: `${layer}-imports-only-downward`,
    comment: `lab/${layer} may not import ${above.map((l) => `lab/${l}`).join(', ')} (they are above it)`,
    severity: 'error',
    from: { path: `^lab/${layer}/` },
    to: { path: `^lab/(${above.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-cycles',
      comment: 'modules must not import each other in a circle, not even inside one folder',
      severity: 'error',
      from: { path: '^lab/' },
      to: { circular: true },
    },
    {
      name: 'lab-is-a-known-layer',
      comment: `every folder under lab/ is one of the layers (${LAYERS.join(', ')}): add a new one to LAYERS in .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: '^lab/', pathNot: `^lab/(${LAYERS.join('|')})/` },
    },
    {
      name: 'one-process-runner',
      comment: 'child processes start in lab/util/process.ts (the lab\'s signal, logs, die-with-lab) or lab/qemu/vm.ts (the VM\'s own lifetime): use runLogged, runCommand or capture',
      severity: 'error',
      from: { path: '^lab/', pathNot: '^lab/(util/process|qemu/vm)\\.ts$' },
      to: { path: '(^|/)node_modules/execa/|^execa$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-node-child-process',
      comment: 'node:child_process bypasses the lab\'s runner (cancellation, die-with-lab): use lab/util/process.ts',
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: '^(node:)?child_process$' },
    },
    {
      name: 'lab-does-not-import-tests',
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: '^(tests|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // node_modules stay in the graph as leaves (not followed): the one-process-runner rule looks at execa.
  },
};
