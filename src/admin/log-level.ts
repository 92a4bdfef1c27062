/**
 * `GET /v1/log-level` and `PUT /v1/log-level` (write access): the run-time log levels, as Envoy's
 * `/logging`. A PUT body is one change:
 *
 *   {"level":"debug"}                          the default level of every component
 *   {"component":"gossip","level":"debug"}     one component's own level
 *   {"component":"gossip","level":null}        that component follows the default again
 *
 * Both answer the levels after the change (`{level, components, known}`). Each change is logged
 * (who: the admin path; what: before and after) and counted in
 * `commy_admin_actions_total{action="log-level"}`. Run-time changes last until the process ends;
 * a reload that changes `log.level` sets the default again and keeps component overrides.
 */
import type { IncomingMessage } from 'node:http'
import { isLevel, LEVELS, type Level, type LogLevels } from '../log-levels.js'
import { AdminBadRequestError } from './errors.js'
import { sendJson } from './responses.js'
import type { AdminRoute } from './routes.js'

/** Largest PUT body read (a change is a few dozen bytes). */
const MAX_BODY = 4096

export interface LogLevelDeps {
  readonly levels: LogLevels
  /** Counts the action (`commy_admin_actions_total`). */
  readonly counted: (action: 'log-level') => void
  readonly log?: { info(obj: object, msg?: string): void }
}

export type LevelChange = { readonly component?: undefined; readonly level: Level } | { readonly component: string; readonly level: Level | undefined }

/** The change a PUT body asks for, or the reason it cannot be read. */
export function parseLevelChange(body: unknown, known: (component: string) => boolean): LevelChange {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AdminBadRequestError('the body must be a JSON object such as {"level":"debug"} or {"component":"gossip","level":"debug"}')
  const { component, level, ...rest } = body as Record<string, unknown>
  const extra = Object.keys(rest)
  if (extra.length > 0) throw new AdminBadRequestError(`unknown key "${extra[0]}" (expected level and, optionally, component)`)
  const levels = LEVELS.join(', ')
  if (component === undefined) {
    if (!isLevel(level)) throw new AdminBadRequestError(`level must be one of ${levels}`)
    return { level }
  }
  if (typeof component !== 'string' || component === '') throw new AdminBadRequestError('component must be a non-empty string')
  if (!known(component)) throw new AdminBadRequestError(`no component "${component.slice(0, 64)}" logs here`)
  if (level === null) return { component, level: undefined }
  if (!isLevel(level)) throw new AdminBadRequestError(`level must be one of ${levels}, or null to follow the default`)
  return { component, level }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new AdminBadRequestError(`the body is larger than ${MAX_BODY} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    throw new AdminBadRequestError('the body is not JSON')
  }
}

export function logLevelRoutes({ levels, counted, log }: LogLevelDeps): AdminRoute[] {
  return [
    { method: 'GET', path: '/v1/log-level', access: 'read', handle: ({ res }) => sendJson(res, 200, levels.view()) },
    {
      method: 'PUT',
      path: '/v1/log-level',
      access: 'write',
      handle: async ({ req, res }) => {
        const change = parseLevelChange(await readJson(req), (c) => levels.knows(c))
        const previous = change.component === undefined ? levels.setDefault(change.level) : levels.setComponent(change.component, change.level)
        counted('log-level')
        const level = change.level ?? levels.levelOf(change.component)
        log?.info({ target: change.component ?? '*', from: previous, to: level }, 'admin: log level changed')
        sendJson(res, 200, levels.view())
      },
    },
  ]
}
