// @anshim/kafka: how the platform's long-lived processes talk to Kafka.
export { causedByUnknownTopic } from './unknown-topic.ts';
export { durableAdmin, durableProducer, type DurableProducer, type OnReplaced } from './recovering.ts';
export {
  credentialsFromEnv,
  readCredentials,
  saslConfig,
  KafkaCredentialsError,
  type KafkaCredentials,
  type KafkaCredentialFiles,
  type SaslMechanism,
} from './credentials.ts';
export { aclsFor, applyGrants, COMPONENTS, GRANTS, type Component, type Grant, type Operation } from './grants.ts';
