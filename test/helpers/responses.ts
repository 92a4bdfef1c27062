/** Pipeline responses for layer tests: an UpstreamResponse whose body is done at once. */
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import type { UpstreamResponse } from '../../src/pipeline/pipeline.js'

export const doneResponse = (ep: Endpoint, status: number): UpstreamResponse => ({
  status,
  statusText: '',
  headers: [],
  endpoint: ep,
  requestBodyBytes: 0,
  body: { pipe() {}, resume() {}, destroy() {}, onDone: (cb) => cb(undefined) },
})
