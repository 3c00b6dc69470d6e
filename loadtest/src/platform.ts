// A local platform for one load-test run (see scripts/quickstart/platform.ts) with one
// transactional campaign. Everything started here is stopped by `stop`.
import { campaignReader, startLocalPlatform, until } from '@anshim/dev-platform';
import { GROUP, VERSION, type MessagingCampaign } from '@anshim/api';
import type { CarrierId } from '@anshim/core';

/** Text channels only: a transactional OTP goes out as SMS through the mobile operators. */
const CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus'];
export const CAMPAIGN_NAME = 'otp';

export type CampaignCounts = NonNullable<NonNullable<MessagingCampaign['status']>['counts']>;

export interface Platform {
  namespace: string;
  campaignId: string;
  gatewayUrl: string;
  /** The sending system's bearer token (a ServiceAccount of the namespace). */
  token: string;
  campaign(): Promise<MessagingCampaign>;
  stop(): Promise<void>;
}

export async function startPlatform(o: {
  namespace: string;
  dir: string;
  messagesPerSecond: number;
  say: (line: string) => void;
}): Promise<Platform> {
  const platform = await startLocalPlatform({
    namespace: o.namespace,
    dir: o.dir,
    carriers: CARRIERS,
    simulatorDefaults: { deliveryDelayMs: 20 },
    scaling: { lagPerReplica: 2000, cooldownSeconds: 5, pollSeconds: 1 },
  });
  const ns = o.namespace;
  try {
    platform.apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MessagingCampaign',
      metadata: { name: CAMPAIGN_NAME, namespace: ns },
      spec: {
        purpose: 'transactional',
        channel: 'TEXT',
        template: { body: '[안심은행] 인증번호 #{code}' },
        sender: { name: '안심은행', callbackNumber: '15881234' },
        processors: CARRIERS,
        audience: { datasetRef: { name: 'loadtest-otp' } },
        rateLimit: { messagesPerSecond: o.messagesPerSecond },
        priorityClass: 'transactional',
        retentionAfterCompletion: '1h',
      },
    });
    const read = campaignReader(platform.kc, ns);
    const get = () => read(CAMPAIGN_NAME);
    await until(async () => {
      const phase = (await get()).status?.phase;
      return phase === 'Provisioning' || phase === 'Sending';
    }, 'the campaign to be provisioned');
    o.say(
      `namespace ${ns}: simulators, operator, local runner and gateway (${platform.gatewayUrl}) up; campaign provisioned`,
    );
    return {
      namespace: ns,
      campaignId: `${ns}.${CAMPAIGN_NAME}`,
      gatewayUrl: platform.gatewayUrl,
      token: platform.senderToken,
      campaign: get,
      stop: platform.stop,
    };
  } catch (err) {
    await platform.stop();
    throw err;
  }
}
