/** How a caller proved who they are. `local` is the unauthenticated caller of a loopback-only drey. */
export type Authenticator = 'local' | 'mtls' | 'oidc' | 'apiToken';

/**
 * Who a request comes from, as every authenticator reports it: a user name and the names of its
 * groups, both without the `User:`/`Group:` prefixes role bindings write them with.
 */
export interface Principal {
  user: string;
  groups: string[];
  authenticator: Authenticator;
  /** When the credential stops being accepted (tokens), for `whoami`. */
  expiresAt?: Date;
}

/** A principal as role bindings name it: `User:alice` or `Group:ops`. */
export type Subject = `User:${string}` | `Group:${string}`;

/** The subjects a principal acts as: its user and each of its groups. */
export function subjectsOf(principal: Pick<Principal, 'user' | 'groups'>): Subject[] {
  return [`User:${principal.user}`, ...principal.groups.map((g) => `Group:${g}` as const)];
}

/**
 * A credential was presented and is not accepted. `reason` is for drey's debug log only: the client
 * is told no more than that its credentials are not valid.
 */
export class CredentialRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CredentialRejected';
  }
}
