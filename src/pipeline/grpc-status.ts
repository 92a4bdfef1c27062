/**
 * gRPC status codes (grpc/doc/statuscodes.md), below both the proxy (which reads and answers
 * them, proxy/grpc.ts) and the rules that judge them (failure classifier, retry rules).
 */

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const GrpcStatus = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const)

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus]

/** The status's name (`UNAVAILABLE`), or its number as text for a code outside the table. */
export function grpcStatusName(code: number): string {
  for (const [name, value] of Object.entries(GrpcStatus)) if (value === code) return name
  return String(code)
}
