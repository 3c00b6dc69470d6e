export * from './rule.ts';
export * from './volume-spike.ts';
export * from './off-hours-access.ts';
export * from './decrypt-failures.ts';
export * from './bulk-read.ts';
export * from './registry.ts';
export * from './monitor.ts';
