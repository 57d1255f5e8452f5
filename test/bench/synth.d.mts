/** Types of synth.mjs (the benchmark's capture synthesiser), for the tests that reuse it. */
export function synthesize(
  seedPath: string,
  outPath: string,
  targetBytes: number,
  opts?: { staggerUs?: number },
): Promise<{ bytes: number; packets: number; copies: number }>;
