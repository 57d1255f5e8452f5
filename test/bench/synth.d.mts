/** Types of synth.mjs (the benchmark's capture synthesiser), for the tests that reuse it. */
export function synthesize(
  seedPath: string,
  outPath: string,
  targetBytes: number,
  opts?: { staggerUs?: number },
): Promise<{ bytes: number; packets: number; copies: number }>;
/** Copies, exact file size and packets that synthesize() writes for this seed and target. */
export function plan(seedPath: string, targetBytes: number): { copies: number; bytes: number; packets: number };
/** What stretch() writes: one connection per seed connection and copy, the steady state repeated `loops` times. */
export interface StretchPlan {
  connections: number;
  requests: number;
  packets: number;
  bytes: number;
  seedRequests: number;
  seedConnections: number;
  loops: number;
  copies: number;
}
export function planStretch(seedPath: string, opts: { loops: number; copies?: number; warm?: number }): StretchPlan;
/** The fewest loops giving at least `requests` requests per copy. */
export function loopsFor(seedPath: string, requests: number, opts?: { warm?: number }): number;
export function stretch(
  seedPath: string,
  outPath: string,
  opts: { loops: number; copies?: number; warm?: number; staggerUs?: number },
): Promise<StretchPlan>;
