// @anshim/api: the contracts gateway, operator, worker and simulator share (as kubelet and the
// controllers share k8s.io/api). They import this, and never each other.
export * from './names.ts';
export * from './vocabulary.ts';
export * from './campaign.ts';
export * from './fleet.ts';
export * from './topics.ts';
export * from './worker-file.ts';
export * from './progress.ts';
export * from './access.ts';
export * from './report-id.ts';
