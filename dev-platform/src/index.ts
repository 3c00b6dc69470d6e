// @anshim/dev-platform: everything the quick start, the load test, the integration tests and
// the benchmarks need to run Anshim on one machine. Development only: no runtime package
// (gateway, operator, worker, simulator, the libraries) depends on it.
export * from '@anshim/stack';
export * from './data-plane.ts';
export * from './control-plane.ts';
export * from './local-runner.ts';
export * from './processes.ts';
export * from './platform.ts';
export * from './callers.ts';
// A bare carrier simulator and its test client, for a component's tests that talk gRPC to one
// carrier (TestCarriers runs the mTLS fleet the stack runs).
export {
  startCarrierSimulator,
  simulatorTransportKey,
  dialCarrier,
  sealForCarrier,
  submitBatches,
  type CarrierSimulator,
} from '@anshim/simulator';
