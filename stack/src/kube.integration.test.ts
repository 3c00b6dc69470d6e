import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { requireStack } from './stack.ts';

const group = 'smoke.anshim.io';
const plural = 'widgets';

function widgetCrd(): k8s.V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
              },
            },
          },
        },
      ],
    },
  };
}

// Smoke test: the API server is real (etcd-backed, TLS, RBAC) and both client-node and kubectl talk to it.
test(
  'kube-apiserver: install a CRD, create, watch and read back an object with client-node and kubectl',
  { timeout: 120_000 },
  async () => {
    const stack = requireStack();
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(stack.kubeconfig);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const crdName = `${plural}.${group}`;

    // A CRD left by an interrupted run is deleted asynchronously: wait until it is gone.
    await ext.deleteCustomResourceDefinition({ name: crdName }).catch(() => undefined);
    for (
      let i = 0;
      await ext.readCustomResourceDefinition({ name: crdName }).then(
        () => true,
        () => false,
      );
      i++
    ) {
      assert.ok(i < 300, 'a leftover CRD was removed');
      await sleep(100);
    }
    await ext.createCustomResourceDefinition({ body: widgetCrd() });
    for (let i = 0; ; i++) {
      const crd = await ext.readCustomResourceDefinition({ name: crdName });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      assert.ok(i < 100, 'CRD became Established');
      await sleep(100);
    }

    const namespace = 'default';
    // A new CRD's storage answers 429 for a moment after Established; wait until it lists.
    for (let i = 0; ; i++) {
      const listed = await objects.listNamespacedCustomObject({ group, version: 'v1', namespace, plural }).then(
        () => true,
        () => false,
      );
      if (listed) break;
      assert.ok(i < 100, 'the new resource became servable');
      await sleep(100);
    }
    const name = `w-${process.pid}`;
    const events: Array<{ phase: string; size: number }> = [];
    let sawMod: () => void = () => undefined;
    let watchFailed: (err: Error) => void = () => undefined;
    const sawModified = new Promise<void>((resolve, reject) => {
      sawMod = resolve;
      watchFailed = reject;
    });
    // watch() answers once the API server has sent the response headers: the watch is open
    // before the first write, however long that took.
    const watch = await new k8s.Watch(kc).watch(
      `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
      {},
      (phase, obj: { spec?: { size?: number } }) => {
        events.push({ phase, size: obj.spec?.size ?? 0 });
        if (phase === 'MODIFIED') sawMod();
      },
      (err: unknown) => (err ? watchFailed(err as Error) : undefined),
    );
    void sawModified.then(
      () => watch.abort(),
      () => watch.abort(),
    );

    await objects.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural,
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec: { size: 3 } },
    });
    const current = (await objects.getNamespacedCustomObject({ group, version: 'v1', namespace, plural, name })) as {
      spec: { size: number };
    };
    current.spec.size = 5;
    await objects.replaceNamespacedCustomObject({ group, version: 'v1', namespace, plural, name, body: current });
    await sawModified;
    assert.deepEqual(
      events.map((e) => e.phase),
      ['ADDED', 'MODIFIED'],
    );
    assert.equal(events[1]?.size, 5);

    // The schema is enforced by the server, not by us.
    await assert.rejects(
      objects.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: `${name}-bad` }, spec: { size: 0 } },
      }),
      (err: Error) => /spec.size/.test(err.message),
    );

    const yaml = execFileSync(stack.tools.kubectl, ['get', 'widget', name, '-o', 'yaml'], {
      env: { ...process.env, KUBECONFIG: stack.kubeconfig },
      encoding: 'utf8',
    });
    assert.match(yaml, /kind: Widget/);
    assert.match(yaml, /size: 5/);
    const version = execFileSync(stack.tools.kubectl, ['version', '-o', 'json'], {
      env: { ...process.env, KUBECONFIG: stack.kubeconfig },
      encoding: 'utf8',
    });
    assert.equal(
      (JSON.parse(version) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
      'v1.32.3',
    );

    await ext.deleteCustomResourceDefinition({ name: crdName });
  },
);
