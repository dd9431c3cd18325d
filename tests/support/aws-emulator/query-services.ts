/**
 * Query-protocol services: STS (2011-06-15) and a minimal IAM (2010-05-08) for an idempotent setup command.
 * IAM returns policy documents URL-encoded, as the real service does.
 */
import { randomBytes } from 'node:crypto';
import { ServiceError, type XmlValue } from './protocol.js';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

export interface IamRole {
  roleName: string;
  roleId: string;
  arn: string;
  path: string;
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  createDate: Date;
  inlinePolicies: Map<string, string>;
  attachedPolicies: Set<string>;
}

function uniqueId(prefix: string): string {
  return prefix + randomBytes(10).toString('hex').toUpperCase().slice(0, 17);
}

function param(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new ServiceError(
      'ValidationError',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function handleSts(
  action: string,
  _params: URLSearchParams,
  identity: { account: string; arn: string; userId: string },
): { [key: string]: XmlValue } {
  if (action === 'GetCallerIdentity') {
    return { UserId: identity.userId, Account: identity.account, Arn: identity.arn };
  }
  throw new ServiceError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
}

export class IamState {
  readonly roles = new Map<string, IamRole>();

  constructor(private readonly account: string) {}

  private role(params: URLSearchParams): IamRole {
    const name = param(params, 'RoleName');
    const role = this.roles.get(name);
    if (role === undefined) throw new ServiceError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
    return role;
  }

  private roleXml(role: IamRole): { [key: string]: XmlValue } {
    return {
      Path: role.path,
      RoleName: role.roleName,
      RoleId: role.roleId,
      Arn: role.arn,
      CreateDate: role.createDate,
      AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
      Description: role.description,
      MaxSessionDuration: role.maxSessionDuration,
    };
  }

  handle(action: string, params: URLSearchParams): { [key: string]: XmlValue } | undefined {
    switch (action) {
      case 'GetRole':
        return { Role: this.roleXml(this.role(params)) };
      case 'CreateRole': {
        const name = param(params, 'RoleName');
        const document = param(params, 'AssumeRolePolicyDocument');
        if (this.roles.has(name)) {
          throw new ServiceError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
        }
        try {
          JSON.parse(document);
        } catch {
          throw new ServiceError('MalformedPolicyDocument', 'This policy contains invalid Json');
        }
        const path = params.get('Path') ?? '/';
        const role: IamRole = {
          roleName: name,
          roleId: uniqueId('AROA'),
          arn: `arn:aws:iam::${this.account}:role${path}${name}`,
          path,
          assumeRolePolicyDocument: document,
          description: params.get('Description') ?? undefined,
          maxSessionDuration: Number(params.get('MaxSessionDuration') ?? 3600),
          createDate: new Date(),
          inlinePolicies: new Map(),
          attachedPolicies: new Set(),
        };
        this.roles.set(name, role);
        return { Role: this.roleXml(role) };
      }
      case 'PutRolePolicy': {
        const role = this.role(params);
        const policyName = param(params, 'PolicyName');
        const document = param(params, 'PolicyDocument');
        try {
          JSON.parse(document);
        } catch {
          throw new ServiceError('MalformedPolicyDocument', 'Syntax errors in policy.');
        }
        role.inlinePolicies.set(policyName, document);
        return undefined;
      }
      case 'GetRolePolicy': {
        const role = this.role(params);
        const policyName = param(params, 'PolicyName');
        const document = role.inlinePolicies.get(policyName);
        if (document === undefined) {
          throw new ServiceError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
        }
        return { RoleName: role.roleName, PolicyName: policyName, PolicyDocument: encodeURIComponent(document) };
      }
      case 'ListRolePolicies': {
        const role = this.role(params);
        return { PolicyNames: [...role.inlinePolicies.keys()].sort(), IsTruncated: false };
      }
      case 'DeleteRolePolicy': {
        const role = this.role(params);
        const policyName = param(params, 'PolicyName');
        if (!role.inlinePolicies.delete(policyName)) {
          throw new ServiceError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
        }
        return undefined;
      }
      case 'AttachRolePolicy': {
        this.role(params).attachedPolicies.add(param(params, 'PolicyArn'));
        return undefined;
      }
      case 'ListAttachedRolePolicies': {
        const role = this.role(params);
        return {
          AttachedPolicies: [...role.attachedPolicies].sort().map((arn) => ({
            PolicyArn: arn,
            PolicyName: arn.split('/').at(-1) ?? arn,
          })),
          IsTruncated: false,
        };
      }
      case 'DeleteRole': {
        const role = this.role(params);
        if (role.inlinePolicies.size > 0 || role.attachedPolicies.size > 0) {
          throw new ServiceError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
        }
        this.roles.delete(role.roleName);
        return undefined;
      }
      default:
        throw new ServiceError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`);
    }
  }
}
