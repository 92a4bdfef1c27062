/**
 * The TypeScript loader of tap's test processes: transpile-only (type checking is
 * `npm run typecheck`), with the JavaScript kept in .tap/ts-cache so a module is transpiled once,
 * not once per test process. tap's own loader (ts-node) loads the TypeScript compiler and
 * transpiles every imported module again in each of the ~100 test processes, about 1 to 2 s of
 * CPU per file; this made the unit tier several times faster.
 *
 * tap stands its loader aside when TAP_TYPE_STRIP_ONLY=1 (package.json `tap.test-env`); the
 * variable is removed again here, so processes a test spawns get tap's ordinary loader.
 */
import { register } from 'node:module'

delete process.env.TAP_TYPE_STRIP_ONLY
register('./ts-loader-hooks.mjs', import.meta.url)
