// What each component may do in Kafka: one table, applied as ACLs by whoever administers the
// cluster (the local stack applies it at `stack up`; a production cluster's team applies the
// same list, printed by the README table a test keeps in step with this one).
//
// The broker runs StandardAuthorizer with `allow.everyone.if.no.acl.found=false`: a principal
// may do only what is granted here. Idempotent producers need no cluster grant (Kafka 3: Write
// on a topic implies IdempotentWrite); the audit chain's transactional producers get their own
// transactional-id prefix per component, so no component can fence another's chain.
import kafkajs, { type AclEntry } from 'kafkajs';

// kafkajs is CommonJS and Node's named-export detection misses these enums.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export type Component = 'operator' | 'gateway' | 'worker';
export const COMPONENTS: readonly Component[] = ['operator', 'gateway', 'worker'];

export type Operation = 'read' | 'write' | 'create' | 'delete' | 'alter' | 'describe' | 'describe-configs';
export type ResourceKind = 'topic' | 'group' | 'transactional-id';

export interface Grant {
  resource: ResourceKind;
  /** A literal name, or a prefix when it ends with `*` (as the README writes it). */
  name: string;
  operations: Operation[];
}

// The names below are the platform's (api/src/topics.ts, compliance's audit store, the consumer
// groups each component uses); spelled out rather than imported so this table reads as the ACL list.
const AUDIT: Grant[] = [
  { resource: 'topic', name: 'anshim.audit', operations: ['read', 'write', 'describe'] },
  // The audit store opens a chain by reading its tail with a fresh group.
  { resource: 'group', name: 'anshim-audit-reader-*', operations: ['read'] },
];

export const GRANTS: Record<Component, Grant[]> = {
  // Creates, grows and deletes every platform topic; reads progress; reads the workers' group offsets (lag).
  operator: [
    { resource: 'topic', name: 'anshim.*', operations: ['create', 'describe', 'describe-configs'] },
    // Deletes (shredding) and grows only a campaign's own topics: the audit, opt-out and report topics stay.
    { resource: 'topic', name: 'anshim.campaign.*', operations: ['delete', 'alter'] },
    { resource: 'topic', name: 'anshim.hold.*', operations: ['delete', 'alter'] },
    { resource: 'topic', name: 'anshim.progress', operations: ['read'] },
    { resource: 'group', name: 'anshim-operator-progress.*', operations: ['read'] },
    { resource: 'group', name: 'anshim.worker.*', operations: ['describe'] },
    ...AUDIT,
    { resource: 'transactional-id', name: 'anshim-audit.operator.*', operations: ['write', 'describe'] },
  ],
  // Writes sealed records to campaign topics and opt-out tags; reads neither.
  gateway: [
    { resource: 'topic', name: 'anshim.campaign.*', operations: ['write', 'describe'] },
    { resource: 'topic', name: 'anshim.optouts', operations: ['write', 'describe'] },
    ...AUDIT,
    { resource: 'transactional-id', name: 'anshim-audit.gateway-*', operations: ['write', 'describe'] },
  ],
  // Reads campaign and hold topics and the opt-out list; writes held ads, reports, progress, dead letters.
  worker: [
    { resource: 'topic', name: 'anshim.campaign.*', operations: ['read', 'describe'] },
    { resource: 'topic', name: 'anshim.hold.*', operations: ['read', 'write', 'describe'] },
    { resource: 'topic', name: 'anshim.optouts', operations: ['read', 'describe'] },
    { resource: 'topic', name: 'anshim.reports', operations: ['write', 'describe'] },
    { resource: 'topic', name: 'anshim.progress', operations: ['write', 'describe'] },
    { resource: 'topic', name: 'anshim.deadletters', operations: ['write', 'describe'] },
    // Campaign groups (anshim.worker.<id>, .hold) and the opt-out list's per-worker group.
    { resource: 'group', name: 'anshim.worker.*', operations: ['read'] },
    { resource: 'group', name: 'anshim.optouts.*', operations: ['read'] },
    ...AUDIT,
    { resource: 'transactional-id', name: 'anshim-audit.worker.*', operations: ['write', 'describe'] },
  ],
};

const OPERATIONS: Record<Operation, kafkajs.AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  create: AclOperationTypes.CREATE,
  delete: AclOperationTypes.DELETE,
  alter: AclOperationTypes.ALTER,
  describe: AclOperationTypes.DESCRIBE,
  'describe-configs': AclOperationTypes.DESCRIBE_CONFIGS,
};
const RESOURCES: Record<ResourceKind, kafkajs.AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
};

/** The ACL entries granting `component`'s table to `principal` (`User:<name>`). */
export function aclsFor(component: Component, principal: string): AclEntry[] {
  return GRANTS[component].flatMap((g) => {
    const prefixed = g.name.endsWith('*');
    return g.operations.map((op) => ({
      resourceType: RESOURCES[g.resource],
      resourceName: prefixed ? g.name.slice(0, -1) : g.name,
      resourcePatternType: prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal,
      host: '*',
      operation: OPERATIONS[op],
      permissionType: AclPermissionTypes.ALLOW,
    }));
  });
}

/** The admin calls applyGrants makes (kafkajs' Admin has them). */
export interface AclAdmin {
  createAcls(options: { acl: AclEntry[] }): Promise<boolean>;
  describeAcls(filter: kafkajs.AclFilter): Promise<{ resources: kafkajs.DescribeAclResource[] }>;
  deleteAcls(options: { filters: kafkajs.AclFilter[] }): Promise<unknown>;
}

const aclKey = (a: AclEntry): string =>
  [a.principal, a.resourceType, a.resourceName, a.resourcePatternType, a.host, a.operation, a.permissionType].join('|');

/**
 * Makes each component's user hold exactly its table: the missing ACLs are created (CreateAcls
 * is idempotent), then any other ACL of that user is deleted, so a grant taken out of the table
 * is taken away from a running cluster too. Created before deleted: no moment without a grant kept.
 */
export async function applyGrants(admin: AclAdmin, users: Record<Component, string>): Promise<void> {
  const wanted = COMPONENTS.flatMap((c) => aclsFor(c, `User:${users[c]}`));
  await admin.createAcls({ acl: wanted });
  const keep = new Set(wanted.map(aclKey));
  const stale: kafkajs.AclFilter[] = [];
  for (const c of COMPONENTS) {
    const { resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: `User:${users[c]}`,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    for (const r of resources)
      for (const acl of r.acls) {
        const entry: AclEntry = {
          ...acl,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          resourcePatternType: r.resourcePatternType,
        };
        if (!keep.has(aclKey(entry))) stale.push(entry);
      }
  }
  if (stale.length) await admin.deleteAcls({ filters: stale });
}
