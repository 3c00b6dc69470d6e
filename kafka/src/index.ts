// @anshim/kafka: how the platform's long-lived processes talk to Kafka.
export { causedByUnknownTopic } from './unknown-topic.ts';
export { durableAdmin, durableProducer, type DurableProducer, type OnReplaced } from './recovering.ts';
