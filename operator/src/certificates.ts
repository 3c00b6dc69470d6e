import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  certificateDigest,
  issueCertificate,
  type AuditChain,
  type AuditEvent,
  type SigningKeyPair,
} from '@anshim/compliance';
import { CAMPAIGN_LABEL, campaignIdOf, type MessagingCampaign } from '@anshim/api';
import { destructionRecordName, type DestructionRecord, type DestructionRecorder } from './destruction.ts';

/** The audit chain the operator writes, opened lazily and reopened after a failure (Kafka may be down). */
export class OperatorAudit {
  private chain: Promise<AuditChain> | undefined;
  constructor(private readonly open: () => Promise<AuditChain>) {}

  async append(event: AuditEvent): Promise<void> {
    this.chain ??= this.open();
    try {
      await (await this.chain).append(event);
    } catch (err) {
      this.chain = undefined;
      throw err;
    }
  }

  async head() {
    this.chain ??= this.open();
    return (await this.chain).head;
  }
}

/** Outcome names as a certificate lists them: delivered, no-such-number, dead-letter-…; no personal data. */
export function outcomeCounts(record: DestructionRecord): Record<string, number> {
  const out: Record<string, number> = { delivered: record.counts?.delivered ?? 0 };
  for (const [result, n] of Object.entries(record.counts?.failedByResult ?? {}))
    out[result.toLowerCase().replace(/_/g, '-')] = n;
  return out;
}

/**
 * Crypto-shredding's proof: appends the destruction to the audit chain, signs a destruction
 * certificate (Ed25519) citing the chain head, and keeps it in a ConfigMap without an owner
 * (and optionally a directory), so it outlives the campaign. Issued once per campaign.
 */
export class SignedCertificateRecorder implements DestructionRecorder {
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly audit: OperatorAudit,
    private readonly key: SigningKeyPair,
    private readonly issuer: string,
    private readonly certificateDir?: string,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async record(mc: MessagingCampaign, record: DestructionRecord): Promise<string> {
    const name = destructionRecordName(mc);
    const namespace = mc.metadata.namespace;
    const existing = await this.core.readNamespacedConfigMap({ namespace, name }).catch(() => undefined);
    if (existing) return name;
    const subject = campaignIdOf(mc);
    const actor = 'system:anshim-operator';
    const labels = { [CAMPAIGN_LABEL]: mc.metadata.name, 'app.kubernetes.io/managed-by': 'anshim-operator' };
    if (record.keyIds.length === 0) {
      // Never provisioned (e.g. refused for its purpose): nothing was shredded, so nothing is certified.
      await this.core
        .createNamespacedConfigMap({
          namespace,
          body: { metadata: { name, namespace, labels }, data: { 'record.json': JSON.stringify(record, null, 2) } },
        })
        .catch((err: { code?: number }) => (err.code === 409 ? undefined : Promise.reject(err)));
      return name;
    }
    await this.audit.append({
      actor,
      action: 'key-destroyed',
      subject,
      details: { keyIds: record.keyIds, kmsKeys: record.kmsDestructions.map((k) => k.keyName) },
    });
    await this.audit.append({ actor, action: 'topics-deleted', subject, details: { topics: record.topicsDeleted } });
    const signed = issueCertificate(
      {
        campaign: subject,
        keyIdsDestroyed: record.keyIds,
        kmsDestructions: record.kmsDestructions,
        counts: outcomeCounts(record),
        // A campaign deleted before it completed is certified as of its destruction.
        completedAt: record.completedAt ?? record.destroyedAt,
        destroyedAt: record.destroyedAt,
        topicsDeleted: record.topicsDeleted,
        auditHeads: [await this.audit.head()],
        issuer: this.issuer,
      },
      this.key,
    );
    await this.audit.append({
      actor,
      action: 'certificate-issued',
      subject,
      details: { certificateId: signed.certificate.certificateId, sha256: certificateDigest(signed) },
    });
    const certificate = JSON.stringify(signed, null, 2);
    await this.core
      .createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name,
            namespace,
            labels,
            annotations: {
              'messaging.anshim.io/campaign-id': subject,
              'messaging.anshim.io/signing-key-id': this.key.keyId,
            },
          },
          data: { 'certificate.json': certificate, 'record.json': JSON.stringify(record, null, 2) },
        },
      })
      .catch((err: { code?: number }) => (err.code === 409 ? undefined : Promise.reject(err)));
    if (this.certificateDir) {
      mkdirSync(this.certificateDir, { recursive: true });
      writeFileSync(join(this.certificateDir, `${subject}.certificate.json`), certificate);
    }
    return name;
  }
}
