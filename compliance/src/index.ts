// @anshim/compliance: the audit chain, destruction certificates, shred proofs and anomaly rules.
export * from './errors.ts';
export * from './canonical.ts';
export * from './personal-data.ts';
export * from './audit-entry.ts';
export * from './audit-store.ts';
export * from './file-audit-store.ts';
export * from './memory-audit-store.ts';
export * from './audit-chain.ts';
export * from './audit-verify.ts';
export * from './signing-key.ts';
export * from './certificate.ts';
export * from './shred-proof.ts';
export * from './report-format.ts';
export * from './anomaly/index.ts';
export * from './kafka-audit-store.ts';
export * from './etcd-history.ts';
export * from './shredded.ts';
