import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  type Action,
  authorize,
  type Grant,
  ROLES,
  type Role,
  roleAllows,
  roleManagementAction,
} from '../../src/security/rbac';

// Written out by hand, not derived from the module: this table is the specification.
//                       owner  admin  operator viewer
const MATRIX: Record<Action, [boolean, boolean, boolean, boolean]> = {
  'storefront.read': [true, true, true, true],
  'catalog.read': [true, true, true, true],
  'flag.read': [true, true, true, true],
  'killswitch.read': [true, true, true, true],
  'apikey.read': [true, true, true, true],
  'operator.read': [true, true, true, true],
  'audit.read': [true, true, true, true],
  'entitlement.read': [true, true, true, true],
  'customer.read': [true, true, true, true],
  'analytics.read': [true, true, true, true],
  'storefront.write': [true, true, false, false],
  'catalog.write': [true, true, false, false],
  'flag.write': [true, true, true, false],
  'killswitch.write': [true, true, true, false],
  'apikey.write': [true, true, false, false],
  'sandbox.write': [true, true, false, false],
  'entitlement.write': [true, true, true, false],
  'operator.write': [true, true, false, false],
  'owner.write': [true, false, false, false],
};

const grant = (role: Role, overrides: Partial<Grant> = {}): Grant => ({
  tenantId: 'ten_a',
  role,
  storefrontIds: [],
  channels: [],
  ...overrides,
});

describe('role × action matrix', () => {
  it('covers every action', () => {
    expect(Object.keys(MATRIX).sort()).toEqual([...ACTIONS].sort());
  });

  const rows = ACTIONS.flatMap((action) =>
    ROLES.map((role, i) => ({ role, action, allowed: MATRIX[action][i] as boolean })),
  );

  it.each(rows)('$role $action → $allowed', ({ role, action, allowed }) => {
    expect(roleAllows(role, action)).toBe(allowed);
    const result = authorize([grant(role)], {
      tenantId: 'ten_a',
      action,
      storefrontId: 'sf_1',
      channel: 'web',
    });
    expect(result).toEqual(allowed ? { allowed: true } : { allowed: false, reason: 'role' });
    // Tenant-wide (no storefront, no channel) with an unrestricted grant: same answer.
    expect(authorize([grant(role)], { tenantId: 'ten_a', action }).allowed).toBe(allowed);
  });
});

describe('tenant isolation', () => {
  it.each(ROLES)('%s of tenant A can do nothing in tenant B', (role) => {
    for (const action of ACTIONS) {
      expect(authorize([grant(role)], { tenantId: 'ten_b', action, storefrontId: 'sf_1' })).toEqual(
        {
          allowed: false,
          reason: 'wrong_tenant',
        },
      );
    }
  });

  it('no grants at all is wrong_tenant', () => {
    expect(authorize([], { tenantId: 'ten_a', action: 'flag.read' })).toEqual({
      allowed: false,
      reason: 'wrong_tenant',
    });
  });

  it('each tenant uses its own grant', () => {
    const grants = [grant('viewer'), grant('owner', { tenantId: 'ten_b' })];
    expect(authorize(grants, { tenantId: 'ten_a', action: 'flag.write' })).toEqual({
      allowed: false,
      reason: 'role',
    });
    expect(authorize(grants, { tenantId: 'ten_b', action: 'flag.write' })).toEqual({
      allowed: true,
    });
  });
});

describe('storefront and channel scope', () => {
  type Case = {
    name: string;
    grant: Partial<Grant>;
    storefrontId?: string;
    channel?: string;
    expected: true | 'storefront' | 'channel';
  };
  const cases: Case[] = [
    {
      name: 'all/all, specific request',
      grant: {},
      storefrontId: 'sf_1',
      channel: 'web',
      expected: true,
    },
    { name: 'all/all, tenant-wide request', grant: {}, expected: true },
    {
      name: 'sf_1, request sf_1',
      grant: { storefrontIds: ['sf_1'] },
      storefrontId: 'sf_1',
      expected: true,
    },
    {
      name: 'sf_1+sf_2, request sf_2',
      grant: { storefrontIds: ['sf_1', 'sf_2'] },
      storefrontId: 'sf_2',
      expected: true,
    },
    {
      name: 'sf_1, request sf_2',
      grant: { storefrontIds: ['sf_1'] },
      storefrontId: 'sf_2',
      expected: 'storefront',
    },
    {
      name: 'sf_1, tenant-wide request',
      grant: { storefrontIds: ['sf_1'] },
      expected: 'storefront',
    },
    {
      name: 'sf_1, empty-string storefront',
      grant: { storefrontIds: ['sf_1'] },
      storefrontId: '',
      expected: 'storefront',
    },
    {
      name: 'web, request web',
      grant: { channels: ['web'] },
      storefrontId: 'sf_1',
      channel: 'web',
      expected: true,
    },
    {
      name: 'web, request mobile',
      grant: { channels: ['web'] },
      storefrontId: 'sf_1',
      channel: 'mobile',
      expected: 'channel',
    },
    {
      name: 'web, all channels',
      grant: { channels: ['web'] },
      storefrontId: 'sf_1',
      expected: 'channel',
    },
    {
      name: 'sf_1/web, request sf_2/mobile',
      grant: { storefrontIds: ['sf_1'], channels: ['web'] },
      storefrontId: 'sf_2',
      channel: 'mobile',
      expected: 'storefront',
    },
    {
      name: 'sf_1/web, request sf_1/mobile',
      grant: { storefrontIds: ['sf_1'], channels: ['web'] },
      storefrontId: 'sf_1',
      channel: 'mobile',
      expected: 'channel',
    },
    {
      name: 'sf_1/web, request sf_1/web',
      grant: { storefrontIds: ['sf_1'], channels: ['web'] },
      storefrontId: 'sf_1',
      channel: 'web',
      expected: true,
    },
  ];

  it.each(cases)('$name → $expected', ({ grant: g, storefrontId, channel, expected }) => {
    const request = { tenantId: 'ten_a', action: 'flag.write' as const, storefrontId, channel };
    expect(authorize([grant('operator', g)], request)).toEqual(
      expected === true ? { allowed: true } : { allowed: false, reason: expected },
    );
  });

  it('role is checked before scope', () => {
    const g = grant('viewer', { storefrontIds: ['sf_1'] });
    expect(
      authorize([g], { tenantId: 'ten_a', action: 'flag.write', storefrontId: 'sf_2' }),
    ).toEqual({
      allowed: false,
      reason: 'role',
    });
  });

  it('several grants in one tenant: any one that covers the request is enough', () => {
    const grants = [
      grant('viewer'),
      grant('operator', { storefrontIds: ['sf_1'], channels: ['web'] }),
    ];
    const req = { tenantId: 'ten_a', action: 'killswitch.write' as const };
    expect(authorize(grants, { ...req, storefrontId: 'sf_1', channel: 'web' })).toEqual({
      allowed: true,
    });
    expect(authorize(grants, { ...req, storefrontId: 'sf_1', channel: 'ott' })).toEqual({
      allowed: false,
      reason: 'channel',
    });
    expect(authorize(grants, { ...req, storefrontId: 'sf_9' })).toEqual({
      allowed: false,
      reason: 'storefront',
    });
    expect(
      authorize(grants, { tenantId: 'ten_a', action: 'audit.read', storefrontId: 'sf_9' }),
    ).toEqual({
      allowed: true,
    });
  });
});

describe('managing operators', () => {
  it('only owners may touch owners; admins manage everyone else', () => {
    for (const target of ROLES) {
      const action = roleManagementAction(target);
      expect(action).toBe(target === 'owner' ? 'owner.write' : 'operator.write');
      expect(authorize([grant('owner')], { tenantId: 'ten_a', action }).allowed).toBe(true);
      expect(authorize([grant('admin')], { tenantId: 'ten_a', action }).allowed).toBe(
        target !== 'owner',
      );
      expect(authorize([grant('operator')], { tenantId: 'ten_a', action }).allowed).toBe(false);
      expect(authorize([grant('viewer')], { tenantId: 'ten_a', action }).allowed).toBe(false);
    }
  });
});

describe('hostile input', () => {
  it('unknown roles and actions are denied, prototype names included', () => {
    for (const role of ['root', 'constructor', '__proto__', 'toString', '']) {
      expect(roleAllows(role, 'flag.read')).toBe(false);
      const g = { ...grant('viewer'), role: role as Role };
      expect(authorize([g], { tenantId: 'ten_a', action: 'flag.read' })).toEqual({
        allowed: false,
        reason: 'role',
      });
    }
    for (const action of ['flag.delete', 'constructor', '__proto__', '*', '']) {
      expect(roleAllows('owner', action)).toBe(false);
      expect(authorize([grant('owner')], { tenantId: 'ten_a', action: action as Action })).toEqual({
        allowed: false,
        reason: 'role',
      });
    }
  });
});
