// What a tenant namespace's workers unwrap their campaigns' data keys with, kept in the
// namespace's KEK Secret (NAMESPACE_KEK_SECRET) and named in each worker file. Two kinds:
//   - a KMS token (TransitNamespaceKeys): decrypt on that namespace's campaign keys in the KMS,
//     nothing else; shredding deletes the campaign's key there, so the token (and every copy of
//     it in etcd) opens nothing of a shredded campaign;
//   - a derived namespace KEK (LocalNamespaceKeys): development only. Every copy of the Secret,
//     in etcd history or a backup, opens every copy of the wrapped keys for as long as both exist.
import type { WorkerFile } from '@anshim/api';
import type { NamespaceKekProvider } from '@anshim/core';
import type { NamespaceTokens, TransitKekProvider } from '@anshim/kms';

export interface NamespaceKeyAccess {
  /**
   * The namespace Secret's data (plain strings) given what it holds now (decoded), or undefined
   * when it is fine as it is.
   */
  secretData(
    namespace: string,
    current: Record<string, string> | undefined,
  ): Promise<Record<string, string> | undefined>;
  /** The worker file's `kek`, with the Secret mounted at `dir`. */
  workerKek(dir: string): WorkerFile['kek'];
}

export class LocalNamespaceKeys implements NamespaceKeyAccess {
  constructor(private readonly kek: NamespaceKekProvider) {}

  async secretData(namespace: string): Promise<Record<string, string>> {
    // Re-applied every time: a deleted or edited Secret is restored.
    const { id, material } = this.kek.namespaceKek(namespace);
    try {
      return { kek: material.toString('hex'), id };
    } finally {
      material.fill(0);
    }
  }

  workerKek(dir: string): WorkerFile['kek'] {
    return { id: this.kek.id, file: `${dir}/kek` };
  }
}

export class TransitNamespaceKeys implements NamespaceKeyAccess {
  constructor(
    private readonly kek: TransitKekProvider,
    private readonly tokens: NamespaceTokens,
  ) {}

  async secretData(namespace: string, current: Record<string, string> | undefined) {
    const token = await this.tokens.ensure(namespace, current?.token);
    if (token === undefined && current?.id === this.kek.id) return undefined;
    return { token: token ?? current!.token!, id: this.kek.id };
  }

  workerKek(dir: string): WorkerFile['kek'] {
    return {
      id: this.kek.id,
      transit: { address: this.kek.client.address, mount: this.kek.mount, tokenFile: `${dir}/token` },
    };
  }
}
