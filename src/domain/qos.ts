// A VIF's rate limit (qos_algorithm_type "ratelimit", qos_algorithm_params:kbps): one reading for
// the agent (which sets it on the switch) and the console (which shows it).

/**
 * kbps in the API is kilobytes per second of what the VM sends, and a kilobyte is 1024 bytes
 * there: xapi hands it to netback as `kbps * 1024` bytes per second (xenopsd Vif.add).
 */
export const bytesPerSecond = (kbps: number): number => kbps * 1024;
export const bitsPerSecond = (kbps: number): number => bytesPerSecond(kbps) * 8;

/** The largest rate a switch can carry: an OpenFlow meter's rate is an unsigned 32-bit count of kbit/s. */
const MAX_KBITS = 0xffffffff;

export type VifRate =
  | { readonly kind: 'none' }
  | { readonly kind: 'limit'; readonly kbps: number }
  /** A ratelimit whose kbps is not a positive integer a switch can carry: no limit is set. */
  | { readonly kind: 'invalid'; readonly value: unknown };

/** The rate limit of a VIF from its qos_algorithm_type and qos_algorithm_params. */
export function vifRate(qosAlgorithmType: unknown, qosAlgorithmParams: unknown): VifRate {
  if (qosAlgorithmType !== 'ratelimit') return { kind: 'none' };
  const params = qosAlgorithmParams && typeof qosAlgorithmParams === 'object' && !Array.isArray(qosAlgorithmParams) ? qosAlgorithmParams as Record<string, unknown> : {};
  const kbps = params.kbps;
  if (kbps === undefined) return { kind: 'none' };
  const n = typeof kbps === 'string' && /^-?\d{1,16}$/.test(kbps) ? Number(kbps) : NaN;
  if (n > 0 && Math.round(bitsPerSecond(n) / 1000) <= MAX_KBITS) return { kind: 'limit', kbps: n };
  return { kind: 'invalid', value: kbps };
}

/** The kbps of a VIF's rate limit, when it has one. */
export function vifRateKbps(qosAlgorithmType: unknown, qosAlgorithmParams: unknown): number | undefined {
  const r = vifRate(qosAlgorithmType, qosAlgorithmParams);
  return r.kind === 'limit' ? r.kbps : undefined;
}
