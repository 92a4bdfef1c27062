/** Keyring (AES-GCM by key length, rotation), cluster name as associated data, replay window, envelope. */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Keyring, ReplayWindow } from '../../src/membership/crypto.js'
import { Envelope, PLAIN_ENVELOPE, SEALED_ENVELOPE } from '../../src/membership/envelope.js'
import { generateKey, parseKey } from '../../src/membership/keygen.js'

const aad = Buffer.from('cluster-a')

t.test('seal/open with 16, 24 and 32 byte keys; tampering and wrong keys fail', async (t) => {
  for (const size of [16, 24, 32]) {
    const ring = new Keyring([randomBytes(size)])
    const sealed = ring.seal(Buffer.from('hello'), aad)
    t.equal(sealed.length, 12 + 5 + 16, `aes-${size * 8}-gcm: nonce + ciphertext + tag`)
    t.equal(ring.open(sealed, aad)?.toString(), 'hello')
    const flipped = Buffer.from(sealed)
    flipped[14]! ^= 1
    t.equal(ring.open(flipped, aad), undefined, 'tampered ciphertext refused')
    t.equal(ring.open(sealed, Buffer.from('cluster-b')), undefined, 'another cluster name refused')
    t.equal(new Keyring([randomBytes(size)]).open(sealed, aad), undefined, 'another key refused')
  }
  t.equal(new Keyring([randomBytes(32)]).open(Buffer.alloc(5), aad), undefined, 'short input refused')
  t.throws(() => new Keyring([randomBytes(20)]), { code: 'COMMY_ERR_GOSSIP_KEY' })
  t.throws(() => new Keyring([]), { code: 'COMMY_ERR_GOSSIP_KEY' })
})

t.test('key rotation: the first key encrypts, all of them decrypt', async (t) => {
  const oldKey = randomBytes(32)
  const newKey = randomBytes(32)
  const before = new Keyring([oldKey])
  const during = new Keyring([newKey, oldKey])
  const after = new Keyring([newKey])
  t.equal(during.open(before.seal(Buffer.from('x'), aad), aad)?.toString(), 'x', 'old senders still understood')
  t.equal(after.open(during.seal(Buffer.from('y'), aad), aad)?.toString(), 'y', 'rotated senders use the new key')
  t.equal(after.open(before.seal(Buffer.from('z'), aad), aad), undefined, 'the retired key no longer works')
})

t.test('replay window: duplicates, out-of-order, too old, forgotten senders', async (t) => {
  const w = new ReplayWindow({ maxAgeMs: 1000, size: 64 })
  t.equal(w.check('s', 1, 0, 0), 'ok')
  t.equal(w.check('s', 1, 0, 0), 'replay')
  t.equal(w.check('s', 3, 0, 0), 'ok')
  t.equal(w.check('s', 2, 0, 0), 'ok', 'late but unseen is fine')
  t.equal(w.check('s', 2, 0, 0), 'replay')
  t.equal(w.check('s', 100, 0, 0), 'ok')
  t.equal(w.check('s', 30, 0, 0), 'stale', 'further behind than the window')
  t.equal(w.check('s', 99, 0, 0), 'ok')
  t.equal(w.check('other', 1, 0, 0), 'ok', 'senders are apart')
  t.equal(w.check('s', 101, 0, 1500), 'stale', 'sent-at older than maxAge')
  t.equal(w.check('s', 102, 5000, 0), 'stale', 'sent-at in the future beyond maxAge')
})

t.test('envelope: plaintext carries the cluster name; sealed packets are replay-protected', async (t) => {
  let now = 1_000_000
  const plainA = new Envelope({ keys: [], cluster: 'a', wallNow: () => now })
  const plainB = new Envelope({ keys: [], cluster: 'b', wallNow: () => now })
  const p = plainA.seal(Buffer.from('hi'), 'packet')
  t.equal(p[0], PLAIN_ENVELOPE)
  t.equal(p.length, 2 + 1 + 2)
  t.same(plainA.open(p, 'packet'), { ok: true, payload: Buffer.from('hi') })
  t.same(plainB.open(p, 'packet'), { ok: false, reason: 'cluster' }, 'another cluster is refused')
  t.same(plainA.open(Buffer.from([0x99, 1, 2]), 'packet'), { ok: false, reason: 'version' })

  const key = randomBytes(32)
  const tx = new Envelope({ keys: [key], cluster: 'a', wallNow: () => now, replayWindowMs: 10_000 })
  const rx = new Envelope({ keys: [key], cluster: 'a', wallNow: () => now, replayWindowMs: 10_000 })
  const otherCluster = new Envelope({ keys: [key], cluster: 'b', wallNow: () => now })
  const s1 = tx.seal(Buffer.from('one'), 'packet')
  t.equal(s1[0], SEALED_ENVELOPE)
  t.equal(s1.length, 3 + tx.overhead, `sealed overhead ${tx.overhead} bytes`)
  t.same(rx.open(s1, 'packet'), { ok: true, payload: Buffer.from('one') })
  t.same(rx.open(s1, 'packet'), { ok: false, reason: 'replay' }, 'the same packet twice is a replay')
  t.same(rx.open(s1, 'stream'), { ok: false, reason: 'replay' }, 'a packet is not accepted as a stream frame')
  t.same(otherCluster.open(tx.seal(Buffer.from('x'), 'packet'), 'packet'), { ok: false, reason: 'auth' }, 'same key, other cluster')
  t.same(rx.open(p, 'packet'), { ok: false, reason: 'plaintext' }, 'plaintext refused when keys are set')
  t.same(plainA.open(s1, 'packet'), { ok: false, reason: 'encrypted' }, 'sealed refused without keys')
  const s2 = tx.seal(Buffer.from('two'), 'stream')
  now += 11_000
  t.same(rx.open(s2, 'stream'), { ok: false, reason: 'stale' }, 'older than the window')
})

t.test('keygen: base64 of 32 random bytes; parseKey checks sizes', async (t) => {
  const k = generateKey()
  t.equal(Buffer.from(k, 'base64').length, 32)
  t.not(generateKey(), k, 'random')
  t.equal(parseKey(k).length, 32)
  t.equal(parseKey(randomBytes(16).toString('base64')).length, 16)
  t.throws(() => parseKey('not base64!'), { code: 'COMMY_ERR_GOSSIP_KEY' })
  t.throws(() => parseKey(randomBytes(20).toString('base64')), { code: 'COMMY_ERR_GOSSIP_KEY' })
})
