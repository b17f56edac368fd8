/** A verified shutdown request as the application sees it (veto, onAccepted hooks) and the reason string it ends with. */
import { shutdownReason } from '../decider.js';
import type { ShutdownOptions, ShutdownRequest } from '../request.js';

/** A request that verified: the signed body plus who delivered it. `keyId` is undefined for an unsigned one. */
export interface RemoteRequest {
  readonly request: ShutdownRequest;
  readonly requestId: string;
  readonly issuer: string;
  readonly reason: string;
  readonly options: ShutdownOptions;
  readonly keyId: string | undefined;
  /** LiveKit's caller identity (a random id for a RoomService.PerformRpc caller). */
  readonly callerIdentity: string;
  /** The string handed to ctx.shutdown: `remote shutdown by {issuer} [{request_id}]: {reason}`. */
  readonly shutdownReason: string;
}

export function remoteRequest(request: ShutdownRequest, keyId: string, callerIdentity: string): RemoteRequest {
  return {
    request,
    requestId: request.requestId,
    issuer: request.issuer,
    reason: request.reason,
    options: request.options,
    keyId: keyId === '' ? undefined : keyId,
    callerIdentity,
    shutdownReason: shutdownReason(request),
  };
}

/** The parts of a remote shutdown reason string. */
export interface RemoteShutdownReason {
  issuer: string;
  requestId: string;
  reason: string;
}

// The issuer is matched lazily: the free-text reason is likelier to contain "[<id>]: " than the issuer is.
const REASON_RE = /^remote shutdown by (?<issuer>.+?) \[(?<requestId>[A-Za-z0-9_-]{22,64})\]: (?<reason>.*)$/s;

/** The parts of `text` if it is a remote shutdown reason (spec §11), else null (any other ending). */
export function parseReason(text: string): RemoteShutdownReason | null {
  const groups = REASON_RE.exec(text)?.groups;
  if (!groups) return null;
  return { issuer: groups.issuer ?? '', requestId: groups.requestId ?? '', reason: groups.reason ?? '' };
}
