// @anshim/keystore: campaign data keys at rest, shared by the operator (creates, rotates,
// destroys) and the gateway (seals with them); the workers get theirs wrapped in worker.json.
export { KubernetesKeyStore } from './kubernetes-key-store.ts';
