// @anshim/simulator: carrier simulators for tests, the local stack and benchmarks.
export {
  startCarrierSimulator,
  DEFAULT_DEDUPE_WINDOW_MS,
  DEFAULT_DELIVERY_DELAY_MS,
  DEFAULT_MAX_BUFFERED_REPORTS,
  type CarrierSimulator,
  type CarrierSimulatorOptions,
  type LatencyRange,
  type MutualTlsOptions,
} from './server.ts';
export {
  CarrierLedger,
  type CampaignSummary,
  type LedgerSummary,
  type ResultCounts,
  type ResultName,
} from './ledger.ts';
export {
  CARRIER_PROFILES,
  kakaoMembershipOf,
  mobileOperatorProfile,
  type CarrierProfile,
  type CarrierProfileFactory,
  type KakaoAudience,
  type KakaoMembership,
  type OpenedMessage,
  type ProfileOptions,
} from './carriers/index.ts';
export { startAdminServer, ledgerSnapshot, type AdminServer } from './admin.ts';
export { startSimulatorFleet, type FleetReady, type SimulatorFleet } from './fleet.ts';
export { parseConfig, failureRatesByCode, type SimulatorConfig, type CarrierConfig } from './config.ts';
export { parsePskHex, simulatorTransportKey } from './keys.ts';
export { SimulatorError, type SimulatorErrorReason } from './errors.ts';
export { TokenBucket } from './throttle.ts';
export { DedupeWindow } from './dedupe.ts';
export { sealForCarrier, dialCarrier, submitBatches, collectReports, type PlainMessage } from './testing.ts';
