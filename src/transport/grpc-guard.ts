/**
 * The run-time half of the gRPC/protocol rule (config/grpc-routes.ts has the config half): a gRPC
 * request (POST with content-type `application/grpc*`) is never sent over HTTP/1.1, where its
 * trailers (the call's status) would be lost; it fails with GrpcOverHttp1Error (502, neutral for
 * the endpoint). Only POSTs are looked at, so other requests pay one string compare.
 */
import { isGrpcContentType } from '../config/grpc-routes.js'

/** True when the request is gRPC. `headers`: flat `[name, value, ...]`. */
export function isGrpcRequest(method: string, headers: readonly string[]): boolean {
  if (method !== 'POST') return false
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!
    if (name.length === 12 && name.toLowerCase() === 'content-type') return isGrpcContentType(headers[i + 1]!)
  }
  return false
}
