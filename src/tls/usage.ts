/** The usage lines of `commy ca create` / `commy cert create` (here, apart from the commands, so `commy --help` loads no X.509 code). */
export const TLS_USAGE = `  commy ca create --out DIR [--name N] [--days N] [--force]
                            write DIR/ca.pem and DIR/ca-key.pem (mode 0600) for a new mesh CA
                            (10 years by default; an existing ca-key.pem is kept unless --force)
  commy cert create --ca DIR --service NAME --out DIR2 [--days N] [--cluster C]
                            write DIR2/cert.pem, DIR2/key.pem (0600) and DIR2/ca.pem (a copy of
                            DIR/ca.pem): identity spiffe://C/service/NAME (C: gossip.cluster,
                            default commy), signed by DIR/ca-key.pem, 90 days by default`
