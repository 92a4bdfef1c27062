/** The test helper's `local` profile is what the real config loader makes of `profile: local`. */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { localGossipConfig } from '../helpers/gossip-cluster.js'

t.test('localGossipConfig matches the normalised local profile', async (t) => {
  const cfg = parseConfig(`listeners: [{ name: out, listen: "127.0.0.1:0", routes: [] }]\nservices: {}\ngossip: { listen: "127.0.0.1:0", profile: local, cluster: test }\n`, '<test>')
  t.same(localGossipConfig(), cfg.gossip)
})
