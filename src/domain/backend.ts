// The host agent's switch backends, by name: the one list the daemon, the lab, the database's
// host record and the tests choose from.

export const BACKEND_NAMES = ['openvswitch', 'bridge'] as const;
/** Open vSwitch (flows and meters) or the Linux bridge (nftables and tc). */
export type BackendName = typeof BACKEND_NAMES[number];

export const isBackendName = (v: unknown): v is BackendName => (BACKEND_NAMES as readonly unknown[]).includes(v);
