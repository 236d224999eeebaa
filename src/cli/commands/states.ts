// The words virsh prints for domain states and state reasons (virshDomainStateToString and
// virshDomainStateReasonToString), indexed by the virDomainState / *Reason enum values.

const STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

const REASONS: string[][] = [
  /* NOSTATE */ ['unknown'],
  /* RUNNING */ [
    'unknown',
    'booted',
    'migrated',
    'restored',
    'from snapshot',
    'unpaused',
    'migration canceled',
    'save canceled',
    'event wakeup',
    'crashed',
    'post-copy',
    'post-copy failed',
  ],
  /* BLOCKED */ ['unknown'],
  /* PAUSED */ [
    'unknown',
    'user',
    'migrating',
    'saving',
    'dumping',
    'I/O error',
    'watchdog',
    'from snapshot',
    'shutting down',
    'creating snapshot',
    'crashed',
    'starting up',
    'post-copy',
    'post-copy failed',
    'api error',
  ],
  /* SHUTDOWN */ ['unknown', 'user'],
  /* SHUTOFF */ ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  /* CRASHED */ ['unknown', 'panicked'],
  /* PMSUSPENDED */ ['unknown'],
];

export function domainStateString(state: number): string {
  return STATES[state] ?? 'no state';
}

export function domainReasonString(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? 'unknown';
}
