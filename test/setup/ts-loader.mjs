/**
 * The TypeScript loader of tap's test processes (package.json `tap.node-arg`) and of the processes
 * tests start from .ts files: transpile-only (type checking is `npm run typecheck`), with the
 * JavaScript kept in .tap/ts-cache so a module is transpiled once, not once per test process.
 * tap's own TypeScript plugin (ts-node) loads the compiler and transpiles every imported module
 * again in each of the ~100 test processes, about 1 to 2 s of CPU per file, so it is off
 * (package.json `tap.plugin`), with the plugins no test uses (mock, fixture, intercept, snapshot,
 * spawn, stdin, worker): each costs every test process its start-up.
 */
import { register } from 'node:module'

register('./ts-loader-hooks.mjs', import.meta.url)
