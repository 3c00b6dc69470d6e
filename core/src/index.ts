// @anshim/core: code both the gateway and the worker run (never copied between them).
export * from './envelope.ts';
export * from './keys.ts';
export * from './namespace-kek.ts';
export * from './carrier-keys.ts';
export * from './korean-bytes.ts';
export * from './phone.ts';
export * from './log.ts';
export * from './carrier-payload.ts';
export * from './channels.ts';
export * from './campaign-record.ts';
export * from './key-store.ts';
export * from './ad-rules.ts';
export * from './aead.ts';
export * from './template.ts';
