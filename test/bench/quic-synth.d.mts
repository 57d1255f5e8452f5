/** Types of quic-synth.mjs (the benchmark's QUIC capture synthesiser), for the tests that reuse it. */
/** Copies, exact file size and packets that synthesizeQuic() writes for this seed and target. */
export function planQuic(seedPath: string, targetBytes: number): { copies: number; bytes: number; packets: number };
export function synthesizeQuic(
  seedPath: string,
  keysPath: string,
  outPath: string,
  targetBytes: number,
  opts?: { staggerUs?: number },
): Promise<{ bytes: number; packets: number; copies: number; connectionsPerCopy: number }>;
