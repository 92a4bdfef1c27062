/**
 * Admission for inbound push-pull streams: a fixed number of slots (and fewer per source
 * address), and one budget of buffered bytes shared by all of them. When the slots are full, a
 * new stream takes the slot of the stream that has been idle longest among those still reading
 * their frame (unauthenticated: nothing in them has been checked yet), so connections opened and
 * left idle cannot keep a real peer out; a stream whose frame is complete and being answered is
 * never evicted. The budget works the same way: a frame's whole announced length is reserved when
 * its header arrives, and longest-idle reading streams are cut to make room for it. No I/O: the
 * transport gives each slot a `cut` to close its stream.
 */
import type { StreamLimits } from './stream-limits.js'

export interface StreamSlot {
  readonly source: string
  /** 'reading' until the whole frame has arrived, then 'answering'. */
  phase: 'reading' | 'answering'
  /** Bytes of this stream held in the budget. */
  buffered: number
  /** Order of the last activity (higher = more recent). */
  touched: number
  /** Closes the stream (after eviction). */
  readonly cut: () => void
}

export class StreamSlots {
  private readonly slots = new Set<StreamSlot>()
  private readonly perSource = new Map<string, number>()
  private total = 0
  private tick = 0

  constructor(private readonly limits: Pick<StreamLimits, 'maxStreams' | 'maxStreamsPerSource' | 'maxBufferedBytes'>) {}

  /** Streams admitted now. */
  get size(): number {
    return this.slots.size
  }

  /** Bytes buffered across all streams now. */
  get buffered(): number {
    return this.total
  }

  /**
   * A slot for a stream from `source`, evicting (cutting) the longest-idle reading stream when
   * its source's share or all slots are taken; undefined when nothing can be evicted.
   */
  admit(source: string, cut: () => void): StreamSlot | undefined {
    if ((this.perSource.get(source) ?? 0) >= this.limits.maxStreamsPerSource && !this.evict((s) => s.source === source)) return undefined
    if (this.slots.size >= this.limits.maxStreams && !this.evict(() => true)) return undefined
    const slot: StreamSlot = { source, phase: 'reading', buffered: 0, touched: ++this.tick, cut }
    this.slots.add(slot)
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1)
    return slot
  }

  /** Marks activity on the stream (bytes arrived). */
  touch(slot: StreamSlot): void {
    slot.touched = ++this.tick
  }

  /**
   * Reserves `bytes` of the shared budget for the stream's frame, evicting (cutting) the
   * longest-idle other reading streams when it would overflow; false (nothing taken) when even
   * that cannot make room.
   */
  reserve(slot: StreamSlot, bytes: number): boolean {
    if (!this.slots.has(slot) || bytes > this.limits.maxBufferedBytes) return false
    while (this.total + bytes > this.limits.maxBufferedBytes) if (!this.evict((s) => s !== slot && s.buffered > 0)) return false
    slot.buffered += bytes
    this.total += bytes
    return true
  }

  /** Gives the stream's bytes back to the budget (its frame is no longer held). */
  discharge(slot: StreamSlot): void {
    this.total -= slot.buffered
    slot.buffered = 0
  }

  /** Frees the slot and its bytes. Idempotent. */
  release(slot: StreamSlot): void {
    if (!this.slots.delete(slot)) return
    this.discharge(slot)
    const n = (this.perSource.get(slot.source) ?? 1) - 1
    if (n <= 0) this.perSource.delete(slot.source)
    else this.perSource.set(slot.source, n)
  }

  private evict(match: (s: StreamSlot) => boolean): boolean {
    let oldest: StreamSlot | undefined
    for (const s of this.slots) if (s.phase === 'reading' && match(s) && (oldest === undefined || s.touched < oldest.touched)) oldest = s
    if (oldest === undefined) return false
    this.release(oldest)
    oldest.cut()
    return true
  }
}
