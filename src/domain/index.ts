// The rules the API (src/ops), the host agent (src/agent) and the console share, pure and free of
// Node modules (the console bundles them). One file per rule: where X is decided.

export * from './locking.ts';
export * from './qos.ts';
export * from './ipv4.ts';
export * from './pif.ts';
export * from './backend.ts';
