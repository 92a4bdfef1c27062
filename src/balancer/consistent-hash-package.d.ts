/**
 * Types for the `consistent-hash` package (it ships none). Only what commy uses; see
 * hash-ring.ts for how the package is driven (points always passed, never Math.random()).
 */
declare module 'consistent-hash' {
  interface ConsistentHashOptions {
    /** Ring size: control points and key positions are integers in [0, range). */
    range?: number
    /** Default number of control points per node. */
    weight?: number
    controlPoints?: number
    distribution?: 'random' | 'uniform'
    orderNodes?: <T>(nodes: T[]) => T[]
  }
  class ConsistentHash<T = unknown> {
    constructor(options?: ConsistentHashOptions)
    readonly nodeCount: number
    readonly keyCount: number
    /** Adds `node` with `n` control points, or exactly the given `points`. Adding twice adds more points. */
    add(node: T, n?: number, points?: readonly number[]): this
    /** Removes every instance of `node`. */
    remove(node: T): this
    /** The node owning `name`, or null when the ring is empty. */
    get(name: string): T | null
    /** The first `count` distinct nodes from `name`'s position around the ring. */
    get(name: string, count: number): T[] | null
    getNodes(): T[]
    getPoints(node: T): number[] | undefined
  }
  export = ConsistentHash
}
