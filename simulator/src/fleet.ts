// Starts the carriers a SimulatorConfig names plus the admin API: what main.ts runs, and
// what an in-process test can run too.
import { createLogger, type CarrierId, type Logger } from '@anshim/core';
import { startAdminServer } from './admin.ts';
import { failureRatesByCode, readPem, type SimulatorConfig } from './config.ts';
import { parsePskHex, simulatorTransportKey } from './keys.ts';
import { startCarrierSimulator, type CarrierSimulator } from './server.ts';

/** The JSON line main.ts prints when ready. */
export interface FleetReady {
  carriers: Partial<Record<CarrierId, { port: number; keyId: string }>>;
  admin: { port: number };
}

export interface SimulatorFleet {
  ready: FleetReady;
  simulators: ReadonlyMap<CarrierId, CarrierSimulator>;
  stop(): Promise<void>;
}

export async function startSimulatorFleet(
  config: SimulatorConfig,
  log: Logger = createLogger('simulator'),
): Promise<SimulatorFleet> {
  const tls = config.tls && {
    ca: readPem(config.tls.ca),
    cert: readPem(config.tls.cert),
    key: readPem(config.tls.key),
  };
  const simulators = new Map<CarrierId, CarrierSimulator>();
  const ready: FleetReady = { carriers: {}, admin: { port: 0 } };
  const stopCarriers = () => Promise.all([...simulators.values()].map((s) => s.close()));
  try {
    for (const [id, own] of Object.entries(config.carriers) as [CarrierId, SimulatorConfig['defaults']][]) {
      const c = { ...config.defaults, ...own };
      const psk = parsePskHex((own.pskHex ?? config.pskHex) as string);
      const transportKey = simulatorTransportKey(id, psk);
      psk.fill(0);
      const sim = await startCarrierSimulator({
        carrier: id,
        host: config.host,
        port: c.port ?? 0,
        transportKey,
        tls,
        latencyMs: c.latencyMs,
        deliveryDelayMs: c.deliveryDelayMs,
        failureRates: failureRatesByCode(c.failureRates),
        throttle: c.throttle ?? null,
        dedupeWindowMs: c.dedupeWindowMs,
        kakaoTemplates: c.kakaoTemplates,
        kakaoAudience: c.kakaoAudience,
        maxBufferedReports: c.maxBufferedReports,
        seed: config.seed,
        logger: log,
      });
      simulators.set(id, sim);
      ready.carriers[id] = { port: sim.port, keyId: transportKey.id };
    }
    const admin = await startAdminServer(simulators, { host: config.host, port: config.admin.port });
    ready.admin.port = admin.port;
    return {
      ready,
      simulators,
      stop: async () => {
        await admin.close();
        await stopCarriers();
      },
    };
  } catch (error) {
    await stopCarriers();
    throw error;
  }
}
